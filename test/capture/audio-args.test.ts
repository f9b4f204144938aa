import { describe, expect, it } from 'vitest';
import {
  audioSourceFromDevice,
  audioSourceLabel,
  buildAudioCaptureArgs,
  resolveAudioCaptureOptions,
} from '../../src/capture/audio-args.js';
import { audioDeviceErrorFromStderr } from '../../src/capture/audio-capture.js';

const ffmpegPath = '/usr/bin/ffmpeg';
const OUTPUT = ['-map', '0:a:0', '-vn', '-f', 's16le', '-acodec', 'pcm_s16le', '-ar', '48000'];

function inputOf(args: string[]): string[] {
  return args.slice(4, args.indexOf('-map'));
}

describe('buildAudioCaptureArgs', () => {
  it('ALSA device, mono s16le 48 kHz on stdout, flushed per packet', () => {
    const args = buildAudioCaptureArgs({ source: { kind: 'alsa', device: 'hw:1,0' }, ffmpegPath });
    expect(args.slice(0, 4)).toEqual(['-hide_banner', '-nostats', '-loglevel', 'warning']);
    expect(inputOf(args)).toEqual(['-f', 'alsa', '-i', 'hw:1,0']);
    expect(args.slice(args.indexOf('-map'))).toEqual([
      ...OUTPUT,
      '-ac',
      '1',
      '-flush_packets',
      '1',
      'pipe:1',
    ]);
  });

  it('PulseAudio, AVFoundation (audio index after the colon), DirectShow (audio=NAME)', () => {
    expect(
      inputOf(buildAudioCaptureArgs({ source: { kind: 'pulse', device: 'default' }, ffmpegPath })),
    ).toEqual(['-f', 'pulse', '-i', 'default']);
    expect(
      inputOf(buildAudioCaptureArgs({ source: { kind: 'avfoundation', device: '0' }, ffmpegPath })),
    ).toEqual(['-f', 'avfoundation', '-i', ':0']);
    expect(
      inputOf(buildAudioCaptureArgs({ source: { kind: 'dshow', device: 'Microphone (USB)' }, ffmpegPath })),
    ).toEqual(['-f', 'dshow', '-i', 'audio=Microphone (USB)']);
  });

  it("a file's own audio, paced and looped (or not); stereo on request", () => {
    const looped = buildAudioCaptureArgs({
      source: { kind: 'file', path: 'a.mp4' },
      ffmpegPath,
      channels: 2,
    });
    expect(inputOf(looped)).toEqual(['-re', '-stream_loop', '-1', '-i', 'a.mp4']);
    expect(looped[looped.indexOf('-ac') + 1]).toBe('2');
    const once = buildAudioCaptureArgs({ source: { kind: 'file', path: 'a.mp4', loop: false }, ffmpegPath });
    expect(inputOf(once)).toEqual(['-re', '-i', 'a.mp4']);
  });

  it('the test tone: ffmpeg sine in 10 ms frames, paced', () => {
    expect(inputOf(buildAudioCaptureArgs({ source: { kind: 'test-tone' }, ffmpegPath }))).toEqual([
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=1000:sample_rate=48000:samples_per_frame=480',
    ]);
  });

  it('validates options', () => {
    expect(() => resolveAudioCaptureOptions({ source: { kind: 'alsa', device: '' }, ffmpegPath })).toThrow(
      /needs a device/,
    );
    expect(() => resolveAudioCaptureOptions({ source: { kind: 'test-tone' }, ffmpegPath: '' })).toThrow(
      /ffmpegPath/,
    );
    expect(() =>
      resolveAudioCaptureOptions({ source: { kind: 'test-tone' }, ffmpegPath, channels: 6 }),
    ).toThrow(/channels/);
    expect(() =>
      resolveAudioCaptureOptions({ source: { kind: 'test-tone' }, ffmpegPath, prebufferChunks: 50 }),
    ).toThrow(/prebufferChunks/);
  });
});

describe('audioSourceFromDevice', () => {
  it('Linux: ALSA by default, pulse / pulse:NAME for PulseAudio, alsa:NAME explicitly', () => {
    expect(audioSourceFromDevice('default', 'linux')).toEqual({ kind: 'alsa', device: 'default' });
    expect(audioSourceFromDevice('hw:1,0', 'linux')).toEqual({ kind: 'alsa', device: 'hw:1,0' });
    expect(audioSourceFromDevice('alsa:plughw:1', 'linux')).toEqual({ kind: 'alsa', device: 'plughw:1' });
    expect(audioSourceFromDevice('pulse', 'linux')).toEqual({ kind: 'pulse', device: 'default' });
    expect(audioSourceFromDevice('pulse:alsa_input.usb-mic', 'linux')).toEqual({
      kind: 'pulse',
      device: 'alsa_input.usb-mic',
    });
  });

  it('macOS AVFoundation, Windows DirectShow; elsewhere a clear TypeError', () => {
    expect(audioSourceFromDevice('0', 'darwin')).toEqual({ kind: 'avfoundation', device: '0' });
    expect(audioSourceFromDevice('Mic', 'win32')).toEqual({ kind: 'dshow', device: 'Mic' });
    expect(() => audioSourceFromDevice('x', 'aix')).toThrow(/not supported on aix/);
    expect(() => audioSourceFromDevice('', 'linux')).toThrow(/a microphone device is required/);
  });

  it('labels name the device and the system', () => {
    expect(audioSourceLabel({ kind: 'alsa', device: 'hw:1,0' })).toBe('microphone hw:1,0 (ALSA)');
    expect(audioSourceLabel({ kind: 'test-tone' })).toBe('test tone');
  });
});

describe('audioDeviceErrorFromStderr', () => {
  it('a missing ALSA card: DEVICE_NOT_FOUND naming the device, quoting ffmpeg, saying what to do', () => {
    const err = audioDeviceErrorFromStderr({ kind: 'alsa', device: 'hw:9,0' }, [
      'ALSA lib pcm_hw.c:1822:(_snd_pcm_hw_open) Invalid value for card',
      '[alsa @ 0x89f2b80] cannot open audio device hw:9,0 (No such file or directory)',
      'hw:9,0: Input/output error',
    ]);
    expect(err?.code).toBe('DEVICE_NOT_FOUND');
    expect(err?.device).toBe('hw:9,0');
    expect(err?.kind).toBe('microphone');
    expect(err?.message).toMatch(/^microphone hw:9,0 \(ALSA\) not found/);
    expect(err?.message).toMatch(/\(ffmpeg: "hw:9,0: Input\/output error"\)/);
    // What to do in rtc-peer's flags is the command line's hint (test/cli/hints.test.ts), not the message.
    expect(err?.message).not.toMatch(/--/);
  });

  it('busy and permission, per system; files and the test tone are never device errors', () => {
    expect(
      audioDeviceErrorFromStderr({ kind: 'alsa', device: 'hw:0' }, ['Device or resource busy'])?.code,
    ).toBe('DEVICE_BUSY');
    const perm = audioDeviceErrorFromStderr({ kind: 'avfoundation', device: '0' }, ['not authorized']);
    expect(perm?.code).toBe('DEVICE_PERMISSION');
    expect(perm?.message).toMatch(/privacy settings/);
    expect(audioDeviceErrorFromStderr({ kind: 'file', path: 'x' }, ['No such file or directory'])).toBe(
      undefined,
    );
    expect(audioDeviceErrorFromStderr({ kind: 'alsa', device: 'hw:0' }, ['something else'])).toBe(undefined);
  });
});
