/**
 * The answerer's `first-audio` event reports the sound as it is received: libwebrtc hands the audio sink
 * muted 16 kHz silence from the moment the track exists, before any packet arrived, and the decoded Opus
 * that follows is 48 kHz. A real call: two Calls negotiated over a real signaling server, the caller sending a tone.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { isStartupSilence } from '../../src/peer/first-sound.js';
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
