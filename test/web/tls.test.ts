/**
 * The page over https, in headless Chromium that trusts the server's certificate the way a user's browser
 * would: the test CA (made by openssl, certs.ts) imported into the NSS database of the browser's own HOME
 * (not `ignoreHTTPSErrors`: a certificate the browser does not trust must fail, and a browser without that
 * database is shown to refuse it). The page is a secure context, and watches a real `rtc-peer call --ca`
 * over wss.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, waitForPage, type OpenedPage } from '../helpers/browser.js';
import { makeTestCa, type TestCa } from '../helpers/certs.js';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';

describe('the page over https', () => {
  let ca: TestCa;
  let trusting: Browser;
  let plain: Browser;
  const pages: OpenedPage[] = [];

  beforeAll(async () => {
    ca = makeTestCa();
    trusting = await launchBrowser({ home: ca.browserHome() });
    plain = await launchBrowser();
  }, 40_000);
  afterAll(async () => {
    await trusting?.close();
    await plain?.close();
    ca?.remove();
  });
  afterEach(async () => {
    await killAll();
    for (const { page } of pages.splice(0)) await page.context().close();
  });

  it('Chromium trusting the CA watches rtc-peer call over wss; one without it refuses the certificate', async () => {
    const cert = ca.issue('page');
    const { url } = await startSignalCli(['--cert', cert.cert, '--key', cert.key]);
    expect(url).toMatch(/^https:/);
    // A browser that does not trust the CA refuses the page.
    const context = await plain.newContext();
    await expect(context.newPage().then((p) => p.goto(`${url}/`))).rejects.toThrow(
      /ERR_CERT_AUTHORITY_INVALID/,
    );
    await context.close();

    const watcher = await openPage(trusting, `${url}/?room=tls`);
    pages.push(watcher);
    expect(await watcher.page.evaluate(() => [location.protocol, window.isSecureContext])).toEqual([
      'https:',
      true,
    ]);
    await waitForPage(watcher.page, 'wait for a caller', (s) => s.state === 'waiting');
    const caller = startCli([
      'call',
      ...['--signal', url, '--ca', ca.caFile, '--room', 'tls', '--size', '320x240'],
      ...['--once', '--json', '--stun', 'none'],
    ]);
    await caller.waitFor('connected', 20_000);
    const state = await waitForPage(
      watcher.page,
      'decode the call',
      (s) => s.state === 'connected' && (s.stats?.inbound?.framesDecoded ?? 0) >= 15,
      20_000,
    );
    expect(state.stats?.inbound).toMatchObject({ width: 320, height: 240 });
    expect(watcher.errors).toEqual([]);
    caller.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
  }, 60_000);
});
