/**
 * Two headless Chromium pages in the network lab: one in the caller's namespace sends a canvas stream, one in
 * the answerer's receives it; the offer, the answer and every candidate are passed across by this script.
 * For the NAT investigation of docs/network-lab.md (does the lab's NAT defeat Chromium's ICE too?); not part
 * of the suite.
 *
 *   npx tsx test/net/experiments/chromium-lab.ts [--nat port-preserving|port-preserving-open|symmetric]
 *     [--turn] [--seconds N]
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../helpers/browser.js';
import { startTurnServer, type TurnServer } from '../../helpers/turn-server.js';
import { systemCommand } from '../../system/find-command.js';
import { createLab, type NatKind } from '../lab.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const nat = (opt('nat') ?? 'port-preserving') as NatKind;
const seconds = Number(opt('seconds') ?? 20);

const lab = await createLab({ callerNat: nat, answererNat: nat });
const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-chromium-lab-'));
let turn: TurnServer | undefined;
const browsers: Browser[] = [];
const t0 = Date.now();
const say = (line: string): void =>
  console.log(`${((Date.now() - t0) / 1000).toFixed(2).padStart(6)} ${line}`);
try {
  turn = await startTurnServer({ ip: lab.middle.ip, netns: lab.middle.ns });
  const iceServers: RTCIceServer[] = [{ urls: [`stun:${lab.middle.ip}:3478`] }];
  if (argv.includes('--turn'))
    iceServers.push({ urls: [turn.url], username: turn.user, credential: turn.pass });
  /** Chromium started inside a namespace: playwright talks to it over a pipe, which crosses namespaces. */
  const launchIn = async (ns: string): Promise<Browser> => {
    const wrapper = path.join(dir, `chromium-${ns}`);
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${systemCommand('chromium')} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const b = await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS, headless: true });
    browsers.push(b);
    return b;
  };
  const pages: Record<'send' | 'recv', Page> = {
    send: await (await launchIn(lab.caller.ns)).newPage(),
    recv: await (await launchIn(lab.answerer.ns)).newPage(),
  };
  for (const [name, page] of Object.entries(pages) as ['send' | 'recv', Page][]) {
    const other = pages[name === 'send' ? 'recv' : 'send'];
    await page.exposeFunction('signal', async (m: { kind: string; data: unknown }) => {
      if (m.kind === 'candidate') say(`${name} candidate ${(m.data as { candidate: string }).candidate}`);
      if (m.kind === 'state') say(`${name} ${JSON.stringify(m.data)}`);
      if (m.kind === 'sdp' || m.kind === 'candidate')
        await other.evaluate((msg) => (window as unknown as { onSignal(m: unknown): void }).onSignal(msg), m);
    });
    await page.evaluate(
      ({ role, servers }) => {
        const w = window as unknown as {
          signal(m: unknown): Promise<void>;
          onSignal(m: { kind: string; data: unknown }): void;
          pc: RTCPeerConnection;
        };
        const pc = new RTCPeerConnection({ iceServers: servers });
        w.pc = pc;
        pc.onicecandidate = (e) => {
          if (e.candidate) void w.signal({ kind: 'candidate', data: e.candidate.toJSON() });
        };
        pc.onconnectionstatechange = () =>
          void w.signal({
            kind: 'state',
            data: { connection: pc.connectionState, ice: pc.iceConnectionState },
          });
        w.onSignal = (m) => {
          void (async () => {
            if (m.kind === 'candidate') await pc.addIceCandidate(m.data as RTCIceCandidateInit);
            else {
              await pc.setRemoteDescription(m.data as RTCSessionDescriptionInit);
              if ((m.data as RTCSessionDescriptionInit).type === 'offer') {
                await pc.setLocalDescription();
                void w.signal({ kind: 'sdp', data: pc.localDescription?.toJSON() });
              }
            }
          })();
        };
        if (role === 'send') {
          const canvas = document.createElement('canvas');
          canvas.width = 640;
          canvas.height = 480;
          const ctx = canvas.getContext('2d');
          let n = 0;
          setInterval(() => {
            if (!ctx) return;
            ctx.fillStyle = `hsl(${(n * 7) % 360} 80% 50%)`;
            ctx.fillRect(0, 0, 640, 480);
            ctx.fillStyle = '#000';
            ctx.font = '64px sans-serif';
            ctx.fillText(String(n++), 40, 240);
          }, 33);
          const stream = canvas.captureStream(30);
          for (const t of stream.getTracks()) pc.addTrack(t, stream);
        }
      },
      { role: name, servers: iceServers },
    );
  }
  // Both pages listen: now the offer.
  await pages.send.evaluate(async () => {
    const w = window as unknown as { signal(m: unknown): Promise<void>; pc: RTCPeerConnection };
    await w.pc.setLocalDescription();
    void w.signal({ kind: 'sdp', data: w.pc.localDescription?.toJSON() });
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const [name, page] of Object.entries(pages)) {
    const s = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const report = await pc.getStats();
      const all = new Map<string, Record<string, unknown>>();
      report.forEach((v: Record<string, unknown>) => all.set(v.id as string, v));
      let transport: Record<string, unknown> | undefined;
      let video: Record<string, unknown> | undefined;
      all.forEach((v) => {
        if (v.type === 'transport') transport = v;
        if ((v.type === 'inbound-rtp' || v.type === 'outbound-rtp') && v.kind === 'video') video = v;
      });
      const pair = all.get(transport?.selectedCandidatePairId as string);
      return {
        state: pc.connectionState,
        local: all.get(pair?.localCandidateId as string)?.candidateType ?? null,
        remote: all.get(pair?.remoteCandidateId as string)?.candidateType ?? null,
        frames: video?.framesDecoded ?? video?.framesSent ?? null,
      };
    });
    say(`${name} ${JSON.stringify(s)}`);
  }
  say(`caller router mappings:\n${lab.caller.mappings()}`);
  say(`answerer router mappings:\n${lab.answerer.mappings()}`);
  say(`caller router counters ${JSON.stringify(lab.caller.counters())}`);
  say(`answerer router counters ${JSON.stringify(lab.answerer.counters())}`);
  console.log(`TURN log: ${JSON.stringify({ ...turn.read(), peerBytes: [...turn.read().peerBytes] })}`);
} finally {
  await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
  await turn?.stop();
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
