/**
 * The answerer's `first-audio` event reports the sound as it is received: libwebrtc hands the audio sink
 * muted 16 kHz silence from the moment the track exists, before any packet arrived, and the decoded Opus
 * that follows is 48 kHz. A real call: two Calls negotiated over a real signaling server, the caller sending a tone.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { CONFIRM_CHUNKS, FirstSound, isStartupSilence } from '../../src/peer/first-sound.js';
import { callPair } from '../helpers/call-pair.js';
import { SignalTestKit, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  await kit.closeAll();
});

describe('isStartupSilence', () => {
  test('is the all-zero chunks at the start-up rate, and nothing else', () => {
    expect(isStartupSilence({ samples: new Int16Array(160), sampleRate: 16_000 }, 16_000)).toBe(true);
    const tone = new Int16Array(160);
    tone[7] = -3;
    expect(isStartupSilence({ samples: tone, sampleRate: 16_000 }, 16_000)).toBe(false);
    // Decoded silence at the decoder's rate is sound: the rate changed, the decoder is running.
    expect(isStartupSilence({ samples: new Int16Array(480), sampleRate: 48_000 }, 16_000)).toBe(false);
  });
});

describe('FirstSound', () => {
  const silence16 = { samples: new Int16Array(160), sampleRate: 16_000 };
  const noise16 = { samples: new Int16Array(160).fill(3), sampleRate: 16_000 };
  const opus = { samples: new Int16Array(480).fill(-20), sampleRate: 48_000, channelCount: 1 };
  /** The chunks in order, 10 ms apart: what was heard, and at which chunk. */
  const run = (chunks: Array<{ samples: Int16Array; sampleRate: number }>) => {
    const first = new FirstSound();
    const heard = chunks.flatMap((c, i) => {
      const h = first.push(c, i * 10);
      return h ? [{ ...h, at: i }] : [];
    });
    return heard;
  };

  test('the decoded rate, at the first chunk at another rate than the start-up silence', () => {
    expect(run([silence16, silence16, opus, opus])).toEqual([
      { sampleRate: 48_000, channels: 1, atMs: 20, at: 2 },
    ]);
  });

  test('a chunk with sound at the start-up rate just before the decoder starts is not its rate (seen once in 40)', () => {
    expect(run([silence16, noise16, silence16, opus, opus])).toEqual([
      { sampleRate: 48_000, channels: 1, atMs: 30, at: 3 },
    ]);
  });

  test('sound at the start-up rate that holds is the first sound, from its first chunk', () => {
    const chunks = [silence16, noise16, ...Array.from({ length: CONFIRM_CHUNKS + 3 }, () => silence16)];
    expect(run(chunks)).toEqual([{ sampleRate: 16_000, channels: 1, atMs: 10, at: 1 + CONFIRM_CHUNKS }]);
  });

  test('once only', () => {
    expect(run([opus, { ...opus, sampleRate: 16_000 }, opus])).toHaveLength(1);
  });
});

describe('first-audio', () => {
  test('reports the rate of the decoded sound (48 kHz Opus), not the sink start-up silence', async () => {
    const server = await kit.server();
    // 10 ms chunks of a 440 Hz tone, 48 kHz mono, as the audio capture sends them.
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    let chunk = 0;
    const pump = setInterval(() => {
      const samples = new Int16Array(480);
      for (let i = 0; i < samples.length; i++) {
        samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (chunk * 480 + i)) / 48_000));
      }
      chunk++;
      source.onData({ samples, sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }, 10);
    open.push({ close: () => (clearInterval(pump), track.stop()) });

    // The answer side's call, as it is created: first-audio may come before the pair is complete.
    const firstAudio: Array<[number, number]> = [];
    const pair = await callPair(server.url, 'sound', { caller: { audioTrack: track } }, (call, role) => {
      if (role === 'answerer') call.on('first-audio', (rate, channels) => firstAudio.push([rate, channels]));
    });
    open.push(pair);
    const answererCall = pair.answererCall;

    await waitFor('first-audio', () => (firstAudio.length > 0 ? true : undefined), 10_000);
    // Sound has been decoded for a while: the event fired once, with what the decoder delivers.
    await waitFor(
      'a second of sound',
      () => (answererCall.audioChunksReceived > 100 ? true : undefined),
      10_000,
    );
    expect(firstAudio).toEqual([[48_000, 1]]);
  }, 30_000);
});
