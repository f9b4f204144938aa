import { describe, expect, it } from 'vitest';
import { formatSegmentName, segmentNameMatcher, segmentPattern } from '../../src/record/segment-name.js';

describe('segment names', () => {
  const at = new Date(2026, 11, 1, 7, 5, 9, 42);

  it('fills strftime fields with the start time (local time)', () => {
    expect(formatSegmentName('cam-%Y%m%d-%H%M%S.webm', at)).toBe('cam-20261201-070509.webm');
    expect(formatSegmentName('rec/%Y-%m-%d_%H-%M-%S-%L.mkv', at)).toBe('rec/2026-12-01_07-05-09-042.mkv');
    expect(formatSegmentName('t%s.webm', at)).toBe(`t${Math.floor(at.getTime() / 1000)}.webm`);
    expect(formatSegmentName('100%%-%H.webm', at)).toBe('100%-07.webm');
  });

  it('a name without fields gets the start time before its extension', () => {
    expect(segmentPattern('rec/cam.webm', 600)).toBe('rec/cam-%Y%m%d-%H%M%S.webm');
    expect(segmentPattern('cam-%H%M.webm', 600)).toBe('cam-%H%M.webm');
  });

  it('refuses a pattern that would give two segments one name, an unknown field, fields in a directory', () => {
    expect(() => segmentPattern('cam-%H.webm', 600)).toThrow(/two segments 600 s apart would share a name/);
    expect(() => segmentPattern('cam-%H%M.webm', 10)).toThrow(/share a name.*%Y%m%d-%H%M%S/);
    expect(() => segmentPattern('cam-%Q.webm', 10)).toThrow(/unknown field %Q \(known: %Y/);
    expect(() => segmentPattern('%Y/cam-%H%M%S.webm', 10)).toThrow(/not in its directory/);
    // seconds are fine for 1 s segments, milliseconds for anything
    expect(segmentPattern('cam-%H%M%S.webm', 1)).toBe('cam-%H%M%S.webm');
  });

  it('names sort by time when the fields go from years to seconds', () => {
    const names = [0, 1, 59, 60, 3599, 3600, 86_399, 86_400].map((s) =>
      formatSegmentName('cam-%Y%m%d-%H%M%S.webm', new Date(at.getTime() + s * 1000)),
    );
    expect([...names].sort()).toEqual(names);
  });

  it('the matcher takes the names the pattern makes (and their -N), nothing else', () => {
    const m = segmentNameMatcher('rec/cam-%Y%m%d-%H%M%S.webm');
    expect(m.test('cam-20261201-070509.webm')).toBe(true);
    expect(m.test('cam-20261201-070509-2.webm')).toBe(true);
    expect(m.test('cam-20261201-070509.mkv')).toBe(false);
    expect(m.test('cam-2026-070509.webm')).toBe(false);
    expect(m.test('notes.webm')).toBe(false);
    expect(m.test('xcam-20261201-070509.webm')).toBe(false);
  });
});
