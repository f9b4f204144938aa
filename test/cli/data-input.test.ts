/** The `--data` input: lines split from bytes, long lines skipped as they stream, backpressure honoured. */
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LineSplitter, pumpLines, type LongLine } from '../../src/cli/data-input.js';

describe('LineSplitter', () => {
  test('lines across chunks, CRLF, UTF-8 split inside a character, a last line without newline', () => {
    const s = new LineSplitter(100);
    const bytes = Buffer.from('one\r\ntwo é\nthr');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
    expect(s.push(bytes.subarray(0, cut)).lines).toEqual(['one']);
    expect(s.push(bytes.subarray(cut)).lines).toEqual(['two é']);
    expect(s.push(Buffer.from('ee\n\nfour')).lines).toEqual(['three', '']);
    expect(s.end().lines).toEqual(['four']);
    expect(s.end().lines).toEqual([]);
  });

  test('a line over the limit is skipped as it streams, counted with its size; the next ones go on', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('ok\n' + 'x'.repeat(8))).lines).toEqual(['ok']);
    // Never buffered whole: the splitter keeps nothing of it once over the limit.
    expect(s.push(Buffer.from('x'.repeat(5000)))).toEqual({ lines: [], long: [] });
    expect(s.push(Buffer.from('xx\nnext\n'))).toEqual({ lines: ['next'], long: [{ line: 2, bytes: 5010 }] });
    expect(s.push(Buffer.from('x'.repeat(10) + '\r\n')).lines).toEqual(['x'.repeat(10)]);
    expect(s.push(Buffer.from('y'.repeat(11) + '\n')).long).toEqual([{ line: 5, bytes: 11 }]);
  });
});

describe('pumpLines', () => {
  test('waits for drained() whenever send() says so, and sends every line once, in order', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    const got: string[] = [];
    let waits = 0;
    const sent = await pumpLines(Readable.from([Buffer.from(lines.join('\n') + '\n')]), 100, {
      send: (line) => {
        got.push(line);
        return got.length % 100 !== 0; // "full" every 100 lines
      },
      drained: async () => {
        waits++;
        await new Promise((r) => setTimeout(r, 1));
      },
      tooLong: () => undefined,
    });
    expect(sent).toBe(1000);
    expect(got).toEqual(lines);
    expect(waits).toBe(10);
  });

  test('reports long lines, and stops when told', async () => {
    const long: LongLine[] = [];
    const got: string[] = [];
    let stop = false;
    await pumpLines(
      Readable.from([Buffer.from(`a\n${'z'.repeat(50)}\nb\nSTOP\nc\n`)]),
      10,
      {
        send: (line) => {
          got.push(line);
          if (line === 'STOP') stop = true;
          return true;
        },
        drained: () => Promise.resolve(),
        tooLong: (l) => long.push(l),
      },
      () => stop,
    );
    expect(got).toEqual(['a', 'b', 'STOP']);
    expect(long).toEqual([{ line: 2, bytes: 50 }]);
  });
});
