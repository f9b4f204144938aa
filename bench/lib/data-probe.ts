/**
 * The data channel's figures, on a standard `RTCDataChannel` (the same code in a node child with
 * @roamhq/wrtc and in a Chromium page): round trips one at a time (`p N` echoed back), then throughput, one
 * run per message size (`t N payload` as fast as the channel takes them, with the backpressure rtc-peer's
 * DataLink uses: wait for `bufferedamountlow` above 1 MiB buffered), judged by the echoing side's `done N ok`
 * once it has every message, checked in order. No imports: served to the page as it is (types stripped).
 */

/** One throughput run: `count` messages of `size` bytes. */
export interface ThroughputRun {
  size: number;
  count: number;
}

/** What the measuring side reports. */
export interface DataProbeResult {
  /** Round-trip times, ms, one per ping. */
  rttMs: number[];
  runs: {
    size: number;
    count: number;
    /** First send to the echoing side's `done`, s. */
    seconds: number;
    /** The echoing side got every message once, in order. */
    intact: boolean;
  }[];
}

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * Resolves once the channel's buffer is below its low water: at `bufferedamountlow`, or at a look every
 * 5 ms (@roamhq/wrtc never fires the event; rtc-peer's DataLink does the same).
 */
function room(channel: RTCDataChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearInterval(timer);
      channel.removeEventListener('bufferedamountlow', done);
      resolve();
    };
    const timer = setInterval(() => {
      if (channel.bufferedAmount <= LOW_WATER) done();
    }, 5);
    channel.addEventListener('bufferedamountlow', done);
  });
}

/** The next message on `channel` (one listener; messages queue until read). */
function inbox(channel: RTCDataChannel): () => Promise<string> {
  const queued: string[] = [];
  let waiting: ((text: string) => void) | undefined;
  channel.addEventListener('message', (event: MessageEvent) => {
    const text = String(event.data);
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(text);
    } else queued.push(text);
  });
  return () => {
    const next = queued.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => (waiting = resolve));
  };
}

/** The measuring side, once `channel` is open. */
export async function measure(
  channel: RTCDataChannel,
  pings: number,
  runs: ThroughputRun[],
): Promise<DataProbeResult> {
  const next = inbox(channel);
  channel.bufferedAmountLowThreshold = LOW_WATER;
  const rttMs: number[] = [];
  for (let i = 0; i < pings; i++) {
    const t0 = performance.now();
    channel.send(`p ${i}`);
    const back = await next();
    if (back !== `p ${i}`) throw new Error(`ping ${i}: got ${back.slice(0, 40)}`);
    rttMs.push(performance.now() - t0);
  }
  const results: DataProbeResult['runs'] = [];
  for (const run of runs) {
    const head = (i: number): string => `t ${i} `;
    const pad = 'x'.repeat(run.size);
    const t0 = performance.now();
    for (let i = 0; i < run.count; i++) {
      if (channel.bufferedAmount > HIGH_WATER) await room(channel);
      const h = head(i);
      channel.send(h + pad.slice(h.length));
    }
    const done = await next();
    const seconds = (performance.now() - t0) / 1000;
    results.push({ size: run.size, count: run.count, seconds, intact: done === `done ${run.count} ok` });
  }
  channel.send('end');
  return { rttMs, runs: results };
}

/** The echoing side: pings back, counts each run and says `done N ok|bad` once it has `count` messages. */
export function echo(channel: RTCDataChannel, runs: ThroughputRun[]): void {
  let run = 0;
  let got = 0;
  let ok = true;
  channel.addEventListener('message', (event: MessageEvent) => {
    const text = String(event.data);
    if (text.startsWith('p ')) {
      channel.send(text);
      return;
    }
    if (!text.startsWith('t ')) return;
    const current = runs[run];
    if (current === undefined) return;
    const n = Number(text.slice(2, text.indexOf(' ', 2)));
    if (n !== got || text.length !== current.size) ok = false;
    got++;
    if (got === current.count) {
      channel.send(`done ${got} ${ok ? 'ok' : 'bad'}`);
      run++;
      got = 0;
      ok = true;
    }
  });
}
