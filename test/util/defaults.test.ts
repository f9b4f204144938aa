import { describe, expect, test } from 'vitest';
import { withDefaults } from '../../src/util/defaults.js';

describe('withDefaults', () => {
  test('fills what is missing or undefined, keeps what is given (0 and false too)', () => {
    const defaults = { width: 640, height: 480, once: true } as const;
    const options: { width?: number; height?: number; once?: boolean; name: string } = {
      width: 0,
      height: undefined,
      name: 'x',
    };
    expect(withDefaults(options, defaults)).toEqual({ width: 0, height: 480, once: true, name: 'x' });
    expect(withDefaults({ once: false }, defaults)).toEqual({ width: 640, height: 480, once: false });
    // the options object is not changed
    expect(options.height).toBeUndefined();
  });
});
