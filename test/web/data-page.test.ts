/**
 * The data channel between the browser page and the real CLI (dist/cli.js): typed text and arrow keys
 * (while the video has focus) reach `rtc-peer`'s stdout, and the lines written to its stdin are shown in the
 * page; with the page watching a Node caller, and with the page as the caller (its fake camera) and a Node
 * answerer.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, type OpenedPage } from '../helpers/browser.js';
import { killAll, startCli, startSignalCli, type CliProcess } from '../helpers/cli.js';

const NO_STUN = ['--stun', 'none'];

/** The page's data messages (`window.rtcPeer.data`) and what its list shows. */
async function pageData(page: Page): Promise<{ direction: string; text: string; from?: string }[]> {
  return page.evaluate(
    () => (window as unknown as { rtcPeer: { data: { direction: string; text: string }[] } }).rtcPeer.data,
  );
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Types a message into the page's box and sends it with Enter; then arrow keys on the focused video. */
async function typeAndSteer(page: Page): Promise<void> {
  await page.locator('#data-input').fill('hello from the page');
  await page.locator('#data-input').press('Enter');
  await page.locator('#remote').focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowLeft');
  // Arrow keys do nothing where the video has no focus: this one, in the box, is not a command.
  await page.locator('#data-input').press('ArrowDown');
  await page.locator('#data-input').fill('end');
  await page.locator('#data-input').press('Enter');
}

const EXPECTED_FROM_PAGE = 'hello from the page\n{"key":"ArrowUp"}\n{"key":"ArrowLeft"}\nend\n';

describe('browser page <-> rtc-peer --data', { timeout: 90_000 }, () => {
  let browser: Browser;
  const pages: OpenedPage[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await killAll();
    for (const { page } of pages.splice(0)) await page.context().close();
  });

  async function dataOpen(page: Page, cli: CliProcess): Promise<void> {
    await until("the page's data box to be enabled", async () =>
      (await page.locator('#data-input').isEnabled()) ? true : undefined,
    );
    await until("the CLI's data channel", () => (/data channel open/.test(cli.stderr()) ? true : undefined));
  }

  it('the page watching `rtc-peer call --data`: text and arrow keys to its stdout, its lines in the page', async () => {
    const { url } = await startSignalCli();
    const opened = await openPage(browser, `${url}/?room=data-view`);
    pages.push(opened);
    const { page } = opened;
    const call = startCli(
      [
        'call',
        '--signal',
        url,
        '--room',
        'data-view',
        '--data',
        '--once',
        '--size',
        '160x120',
        '--fps',
        '10',
        ...NO_STUN,
      ],
      { stdin: 'pipe' },
    );
    await dataOpen(page, call);
    await typeAndSteer(page);
    await until("the page's messages on stdout", () => (call.stdout().endsWith('end\n') ? true : undefined));
    expect(call.stdout()).toBe(EXPECTED_FROM_PAGE);

    call.child.stdin?.write('telemetry 1\n{"battery":0.93}\n');
    const got = await until("the CLI's lines in the page", async () => {
      const data = (await pageData(page)).filter((d) => d.direction === '<');
      return data.length >= 2 ? data : undefined;
    });
    expect(got.map((d) => d.text)).toEqual(['telemetry 1', '{"battery":0.93}']);
    expect(await page.locator('#data-log').innerText()).toContain('< {"battery":0.93}');
    expect(opened.errors).toEqual([]);
    call.child.kill('SIGINT');
    expect((await call.exited).code, call.stderr()).toBe(0);
  });

  it('the page calling (its camera) into `rtc-peer answer --data`: both ways, the page tags the viewer', async () => {
    const { url } = await startSignalCli();
    const opened = await openPage(browser, `${url}/?room=data-cam&role=call`);
    pages.push(opened);
    const { page } = opened;
    const answer = startCli(
      ['answer', '--signal', url, '--room', 'data-cam', '--data', '--once', ...NO_STUN],
      {
        stdin: 'pipe',
      },
    );
    await dataOpen(page, answer);
    // The page calls: its box sends to every viewer (one here).
    await page.locator('#data-input').fill('hello from the page');
    await page.locator('#data-input').press('Enter');
    await until("the page's message on stdout", () => (answer.stdout().endsWith('\n') ? true : undefined));
    expect(answer.stdout()).toBe('hello from the page\n');

    const id = /joined room "data-cam" as answerer \(id (\S+)\)/.exec(answer.stderr())?.[1];
    answer.child.stdin?.write('status ok\n');
    const got = await until("the answerer's line in the page", async () =>
      (await pageData(page)).find((d) => d.direction === '<'),
    );
    expect(got).toEqual({ direction: '<', text: 'status ok', from: id });
    expect(opened.errors).toEqual([]);
    answer.child.kill('SIGINT');
    expect((await answer.exited).code, answer.stderr()).toBe(0);
  });
});
