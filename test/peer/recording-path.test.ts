import { describe, expect, test } from 'vitest';
import { recordingPathFor } from '../../src/peer/recording-path.js';

describe('recordingPathFor', () => {
  const none = (): boolean => false;

  test('call 1 records to the path given, later calls get a numbered suffix', () => {
    expect(recordingPathFor('out/rec.webm', 1, false, none)).toBe('out/rec.webm');
    expect(recordingPathFor('out/rec.webm', 2, false, none)).toBe('out/rec-2.webm');
    expect(recordingPathFor('rec.mkv', 3, false, none)).toBe('rec-3.mkv');
    expect(recordingPathFor('noext', 2, false, none)).toBe('noext-2');
  });

  test('skips numbers whose file exists instead of overwriting, unless forced', () => {
    const existing = new Set(['rec-2.webm', 'rec-3.webm']);
    const exists = (p: string): boolean => existing.has(p);
    expect(recordingPathFor('rec.webm', 2, false, exists)).toBe('rec-4.webm');
    expect(recordingPathFor('rec.webm', 2, true, exists)).toBe('rec-2.webm');
  });
});
