/**
 * The words and JSON fields `rtc-peer` makes of the library's events, and the reporter that prints them.
 */
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { Reporter } from '../../src/cli/reporter.js';
import {
  mediaFields,
  mediaText,
  multiStatusLine,
  statsFields,
  statusLine,
  warningFields,
  warningText,
} from '../../src/cli/wording.js';
import {
  summarizeStats,
  type CallStats,
  type Peer,
  type PeerEvents,
  type PeerWarning,
} from '../../src/peer/index.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

/** A sample as `summarizeStats` makes one, with the figures of a receive-only call. */
const stats: CallStats = {
  ...summarizeStats([], 0),
  fpsReceived: 29.6,
  kbpsReceived: 1565.2,
  rttMs: 1.2,
  route: 'host',
  receiveResolution: '640x480',
};

describe('wording', () => {
  test('what is sent', () => {
    const video = {
      kind: 'video',
      source: { kind: 'test-pattern' },
      width: 640,
      height: 480,
      fps: 30,
    } as const;
    expect(mediaText(video)).toBe('test pattern 640x480@30');
    expect(mediaFields(video)).toEqual({ ...video, description: 'test pattern 640x480@30' });
    expect(
      mediaText({
        kind: 'video',
        source: { kind: 'v4l2', device: '/dev/video0' },
        width: 1280,
        height: 720,
        fps: 30,
      }),
    ).toBe('camera /dev/video0 1280x720@30');
    expect(mediaText({ kind: 'audio', source: { kind: 'test-tone' }, sampleRate: 48_000, channels: 1 })).toBe(
      'test tone 48 kHz mono',
    );
    expect(
      mediaText({
        kind: 'audio',
        source: { kind: 'alsa', device: 'hw:1,0' },
        sampleRate: 48_000,
        channels: 2,
      }),
    ).toBe('microphone hw:1,0 (ALSA) 48 kHz stereo');
  });

  test('warnings: words, and fields with errors as their messages', () => {
    const died = new Error('ffmpeg exited (code null, signal SIGKILL)');
    const failed: PeerWarning = {
      kind: 'media-failed',
      failures: [
        { media: 'video', error: died },
        { media: 'audio', error: new Error('gone') },
      ],
    };
    expect(warningText(failed)).toBe(
      'video source failed: ffmpeg exited (code null, signal SIGKILL); audio source failed: gone',
    );
    expect(warningFields(failed)).toEqual({
      kind: 'media-failed',
      message: warningText(failed),
      failures: [
        { media: 'video', error: died.message },
        { media: 'audio', error: 'gone' },
      ],
    });
    expect(warningText({ kind: 'no-audio-track', path: 'a.mp4' })).toBe(
      'file a.mp4 has no audio track: sending its video only',
    );
    expect(
      warningText({ kind: 'negotiation-failed', call: 2, step: 'apply-answer', error: new Error('bad sdp') }),
    ).toBe('the answer could not be applied: bad sdp');
    expect(warningText({ kind: 'negotiation-failed', call: 2, step: 'offer', error: new Error('x') })).toBe(
      'offer failed: x',
    );
    expect(warningFields({ kind: 'signal-error', code: 'ROLE_TAKEN', message: 'taken' })).toEqual({
      kind: 'signal-error',
      message: 'signaling server: ROLE_TAKEN: taken',
      code: 'ROLE_TAKEN',
    });
  });

  test('a call with no network path: what ICE tried on each side, and what to do', () => {
    const counts = (host: number, srflx: number, relay = 0) => ({ host, srflx, prflx: 0, relay });
    const warning: PeerWarning = {
      kind: 'ice-timeout',
      call: 1,
      afterSec: 6,
      ice: { local: counts(1, 1), remote: counts(2, 1), stun: 'answered', turn: 'none' },
    };
    expect(warningText(warning)).toBe(
      'call 1: no network path after 6 s (here: host, srflx; there: host, srflx; STUN answered; no TURN server): ' +
        'both sides may be behind symmetric NATs; add a TURN server (--turn)',
    );
    expect(warningFields(warning)).toMatchObject({
      kind: 'ice-timeout',
      call: 1,
      afterSec: 6,
      ice: warning.ice,
    });
    const refused = { ...warning, ice: { ...warning.ice, turn: 'refused' as const } };
    expect(warningText(refused)).toMatch(
      /TURN refused our credentials\): check --turn-user and --turn-pass$/,
    );
    // The TURN server and its credentials came from the signaling server (its join ack): no flag to check.
    const given = { ...refused, ice: { ...refused.ice, turnFromServer: true } };
    expect(warningText(given)).toMatch(
      /TURN refused our credentials\): the TURN credentials the signaling server gave were refused: expired \(they last its --turn-ttl from our join\), or its --turn-secret-file is not coturn's static-auth-secret/,
    );
    const silent = {
      ...warning,
      ice: { ...warning.ice, turn: 'no answer' as const, stun: 'no answer' as const },
    };
    expect(warningText(silent)).toMatch(
      /here: host, srflx; .*STUN did not answer; TURN did not answer\): check --turn's/,
    );
    const alone = { ...warning, ice: { ...warning.ice, remote: counts(0, 0) } };
    expect(warningText(alone)).toMatch(/there: none; .*no candidates came from the other side/);
  });

  test('the status line says "recorded" only when recording; the stats event says null', () => {
    expect(statusLine('connected', 3.4, stats, 111)).toBe(
      'connected 0:03 | recv 640x480 30 fps 1565 kb/s | rtt 1 ms via host | loss 0.0% | recorded 111',
    );
    expect(statusLine('connected', 3.4, stats, undefined)).not.toMatch(/recorded/);
    expect(statusLine('connected', 3.4, stats, 0)).toMatch(/recorded 0$/);
    expect(statsFields(1, stats, undefined).framesRecorded).toBeNull();
    expect(statsFields(1, stats, 86).framesRecorded).toBe(86);
  });

  test("a caller's status line with several viewers names each, with what is sent to it; stats events name the remote", () => {
    const sending: CallStats = {
      ...stats,
      sendResolution: '640x480',
      fpsSent: 30.2,
      kbpsSent: 1490.4,
      rttMs: 1.2,
    };
    const second: CallStats = { ...sending, fpsSent: 28.7, kbpsSent: 1502, rttMs: undefined };
    expect(
      multiStatusLine('connected', 12, 'caller', [
        { call: 1, remote: 'q3Xa9cTzAbCdEfGh', stats: sending, recorded: undefined },
        { call: 3, remote: 'Lk2b0Z00AbCdEfGh', stats: second, recorded: 40 },
      ]),
    ).toBe(
      'connected 0:12 | 2 viewers | call 1 q3Xa9c: 30 fps 1490 kb/s rtt 1 ms | call 3 Lk2b0Z: 29 fps 1502 kb/s rtt - rec 40',
    );
    expect(statusLine('connected', 3, sending, undefined, undefined, 'q3Xa9cTzAbCdEfGh')).toMatch(
      /^connected 0:03 \| viewer q3Xa9c \| send 640x480 30 fps/,
    );
    expect(statsFields(1, stats, undefined, undefined, 'q3Xa9cTzAbCdEfGh').remote).toBe('q3Xa9cTzAbCdEfGh');
  });
});

/** A stream that keeps what is written, and says whether it is a terminal. */
function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY });
  return { stream, text: () => text };
}

describe('Reporter', () => {
  test("a named peer's milestones: prefixed words, or events with its name; nothing else", () => {
    const peer = new TypedEmitter<PeerEvents>();
    const emitAll = (): void => {
      peer.emit('media-started', {
        kind: 'audio',
        source: { kind: 'test-tone' },
        sampleRate: 48_000,
        channels: 1,
      });
      peer.emit('joined', 'demo', 'caller', false, 'q3Xa9cTz');
      peer.emit('connected', 1, 28.4);
      peer.emit('stats', 1, stats, undefined, undefined, 'q3Xa9cTz');
    };
    const out = sink(true);
    const err = sink(true);
    new Reporter({ out: out.stream, err: err.stream }).attach(peer as unknown as Peer, {
      name: 'caller',
      detail: 'milestones',
    });
    emitAll();
    expect(err.text()).toBe('caller: sending test tone 48 kHz mono\ncaller: call 1: connected in 28 ms\n');
    expect(out.text()).toBe('');

    const json = sink(false);
    const peer2 = new TypedEmitter<PeerEvents>();
    new Reporter({ out: json.stream, err: sink(false).stream }).attach(peer2 as unknown as Peer, {
      name: 'caller',
      detail: 'milestones',
    });
    peer2.emit('connected', 1, 28.4);
    peer2.emit('joined', 'demo', 'caller', false, 'q3Xa9cTz');
    const events = json
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual([
      { event: 'connected', t: expect.any(Number), peer: 'caller', call: 1, ms: 28.4 },
    ]);
  });

  test('all events of a peer: the status line on the terminal, rewritten in place', () => {
    const peer = new TypedEmitter<PeerEvents>();
    const err = sink(true);
    new Reporter({ out: sink(true).stream, err: err.stream }).attach(peer as unknown as Peer);
    peer.emit('connected', 1, 10);
    peer.emit('stats', 1, stats, 5, undefined, 'q3Xa9cTz');
    peer.emit('warning', { kind: 'no-audio-track', path: 'a.mp4' });
    // \r and "erase line" (ESC [K) rewrite the status line in place; a line of words clears it first.
    const clear = '\r\u001b[K';
    const lines = err.text().split(clear);
    expect(lines[0]).toBe('call 1: connected in 10 ms\n');
    expect(lines[1]).toMatch(/^connected 0:00 \| .* \| recorded 5$/);
    expect(lines[2]).toBe('warning: file a.mp4 has no audio track: sending its video only\n');
  });

  test('--data: stdout carries the messages alone, raw (even when a pipe); words, summary on stderr; no status line in a log', () => {
    const peer = new TypedEmitter<PeerEvents>();
    const out = sink(false);
    const err = sink(false);
    const reporter = new Reporter({ out: out.stream, err: err.stream, dataOut: true });
    expect(reporter.json).toBe(false);
    reporter.attach(peer as unknown as Peer);
    peer.emit('connected', 1, 10);
    peer.emit('data-open', 1, 'q3Xa9cTz');
    peer.emit('data', '{"key":"ArrowUp"}', 1, 'q3Xa9cTz');
    peer.emit('stats', 1, stats, undefined, undefined, 'q3Xa9cTz');
    peer.emit('data', 'telemetry 2', 1, 'q3Xa9cTz');
    peer.emit('warning', { kind: 'data-dropped', call: 1, count: 3, total: 3 });
    reporter.peerSummary({
      role: 'answerer',
      calls: [],
      framesCaptured: 0,
      framesDroppedAtCapture: 0,
      recordings: [],
    });
    expect(out.text()).toBe('{"key":"ArrowUp"}\ntelemetry 2\n');
    expect(err.text()).toBe(
      'call 1: connected in 10 ms\ncall 1: data channel open\n' +
        'warning: call 1: data: 3 message(s) dropped, the oldest (3 so far): sent faster than the channel carries them\n' +
        'answerer: 0 call(s)\n',
    );

    const json = sink(false);
    const peer2 = new TypedEmitter<PeerEvents>();
    new Reporter({ out: json.stream, err: sink(false).stream, json: true, dataOut: true }).attach(
      peer2 as unknown as Peer,
    );
    peer2.emit('data', 'a "quoted"\nline', 2, 'Lk2b0Z');
    expect(JSON.parse(json.text())).toEqual({
      event: 'data',
      t: expect.any(Number),
      call: 2,
      from: 'Lk2b0Z',
      text: 'a "quoted"\nline',
    });
  });
});
