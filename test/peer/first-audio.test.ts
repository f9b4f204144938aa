/**
 * The answerer's `first-audio` event reports the sound as it is received: libwebrtc hands the audio sink
 * muted 16 kHz silence from the moment the track exists, before any packet arrived, and the decoded Opus
 * that follows is 48 kHz. A real call: two Calls over a real signaling server, the caller sending a tone.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { isStartupSilence } from '../../src/peer/first-sound.js';
import { Call } from '../../src/peer/call.js';
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
    const caller = kit.client(server.url, 'caller', { room: 'sound' }).client;
    const answerer = kit.client(server.url, 'answerer', { room: 'sound' }).client;
    await answerer.connect();
    await caller.connect();

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

    const callerCall = new Call({
      role: 'caller',
      signal: caller,
      rtcConfiguration: NO_ICE,
      audioTrack: track,
      index: 1,
    });
    const answererCall = new Call({ role: 'answerer', signal: answerer, rtcConfiguration: NO_ICE, index: 1 });
    open.push({ close: () => callerCall.close('hangup') }, { close: () => answererCall.close('hangup') });
    const firstAudio: Array<[number, number]> = [];
    answererCall.on('first-audio', (rate, channels) => firstAudio.push([rate, channels]));

    let offer: string | undefined;
    answerer.on('offer', (sdp) => (offer = sdp));
    answerer.on('candidate', (c) => void answererCall.addRemoteCandidate(c));
    caller.on('answer', (sdp) => void callerCall.acceptAnswer(sdp));
    caller.on('candidate', (c) => void callerCall.addRemoteCandidate(c));
    await callerCall.offer();
    await answererCall.answer(await waitFor('the offer', () => offer));

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

const NO_ICE: RTCConfiguration = { iceServers: [] };
