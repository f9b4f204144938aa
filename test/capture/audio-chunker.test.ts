import { describe, expect, it } from 'vitest';
import { AudioChunker } from '../../src/capture/audio-chunker.js';

/** `count` samples of a ramp starting at `from`, as s16le bytes. */
function pcm(from: number, count: number, channels = 1): Uint8Array {
  const samples = new Int16Array(count * channels);
  for (let i = 0; i < samples.length; i++) samples[i] = (from + i) % 30000;
  return new Uint8Array(samples.buffer);
}

function drain(chunker: AudioChunker): Int16Array[] {
  const out: Int16Array[] = [];
  for (let c = chunker.take(); c; c = chunker.take()) out.push(c);
  return out;
}

describe('AudioChunker', () => {
  it('cuts 48 kHz mono into 480-sample chunks, whatever the push sizes (odd byte counts included)', () => {
    const chunker = new AudioChunker({ maxQueued: 1000 });
    expect(chunker.frames).toBe(480);
    expect(chunker.chunkBytes).toBe(960);
    const bytes = pcm(0, 4800); // 100 ms
    // odd sizes: a sample's two bytes land in different pushes
    const sizes = [1, 3, 7, 959, 961, 2, 1001, 13];
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length] ?? 1;
      chunker.push(bytes.subarray(at, at + n));
      at += n;
    }
    const chunks = drain(chunker);
    expect(chunks).toHaveLength(10);
    const joined = chunks.flatMap((c) => [...c]);
    expect(joined).toEqual([...new Int16Array(bytes.buffer)]);
    for (const c of chunks) expect(c.length).toBe(480);
    expect(chunker.pendingBytes).toBe(0);
    expect(chunker.stats).toMatchObject({ chunksRead: 10, chunksDropped: 0 });
  });

  it('stereo chunks hold 480 frames of 2 interleaved samples', () => {
    const chunker = new AudioChunker({ channels: 2 });
    chunker.push(pcm(0, 480 * 3, 2));
    const chunks = drain(chunker);
    expect(chunks).toHaveLength(3);
    for (const c of chunks) expect(c.length).toBe(960);
  });

  it('keeps a partial chunk until it is complete', () => {
    const chunker = new AudioChunker();
    chunker.push(pcm(0, 479));
    expect(chunker.take()).toBeUndefined();
    expect(chunker.pendingBytes).toBe(958);
    chunker.push(pcm(479, 1));
    expect(chunker.take()?.length).toBe(480);
  });

  it('end of stream: the partial chunk is faded out and padded with silence to exactly 10 ms', () => {
    const chunker = new AudioChunker();
    const loud = new Int16Array(480 + 200).fill(10_000);
    chunker.push(new Uint8Array(loud.buffer).subarray(0, loud.byteLength - 1)); // and half a sample
    chunker.end();
    const [full, last] = drain(chunker);
    expect(full?.every((s) => s === 10_000)).toBe(true);
    expect(last?.length).toBe(480);
    // 199 whole samples kept: the first ones untouched, the last 120 ramping down, then silence
    expect(last?.[0]).toBe(10_000);
    expect(last?.[78]).toBe(10_000);
    const ramp = [...(last ?? new Int16Array(0)).subarray(79, 199)];
    for (let i = 1; i < ramp.length; i++) expect(ramp[i]).toBeLessThan(ramp[i - 1] ?? Infinity);
    expect(Math.abs(last?.[198] ?? 1)).toBeLessThan(100);
    expect([...(last ?? new Int16Array(0)).subarray(199)].every((s) => s === 0)).toBe(true);
    expect(chunker.stats.paddedSamples).toBe(281);
    // nothing more after the end
    chunker.push(pcm(0, 960));
    expect(chunker.take()).toBeUndefined();
  });

  it('end of stream on a chunk boundary adds nothing', () => {
    const chunker = new AudioChunker();
    chunker.push(pcm(0, 960));
    chunker.end();
    chunker.end();
    expect(drain(chunker)).toHaveLength(2);
    expect(chunker.stats.paddedSamples).toBe(0);
    expect(chunker.isEnded).toBe(true);
  });

  it('bounded: beyond maxQueued the oldest chunk is dropped and counted', () => {
    const chunker = new AudioChunker({ maxQueued: 3 });
    chunker.push(pcm(0, 480 * 5));
    expect(chunker.queued).toBe(3);
    expect(chunker.stats).toMatchObject({ chunksRead: 5, chunksDropped: 2 });
    // the newest three remain
    expect(chunker.take()?.[0]).toBe(960);
  });

  it('rejects sizes that are not whole samples, and bad options', () => {
    expect(() => new AudioChunker({ sampleRate: 22_050 })).toThrow(/not a whole number of samples/);
    expect(() => new AudioChunker({ channels: 3 })).toThrow(TypeError);
    expect(() => new AudioChunker({ maxQueued: 0 })).toThrow(TypeError);
    expect(new AudioChunker({ sampleRate: 16_000 }).frames).toBe(160);
  });
});
