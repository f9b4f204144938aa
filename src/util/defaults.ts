/**
 * Applying an object's defaults, which live in one `XXX_DEFAULTS` constant beside its `XxxOptions`. Pure.
 */

/** `options`, with each field of `defaults` that it leaves undefined (or sets to `undefined`) filled in. */
export type WithDefaults<O, D> = Omit<O, keyof D> & {
  [K in keyof D]-?: Exclude<K extends keyof O ? O[K] : never, undefined> | D[K];
};

/**
 * Fills the fields `options` leaves undefined from `defaults`. Unlike `{ ...defaults, ...options }`, a field
 * given as `undefined` (an option passed along unset) gets its default too.
 *
 * @example
 * const { width, height, fps } = withDefaults(options, CAPTURE_DEFAULTS); // 640, 480, 30 when not given
 */
export function withDefaults<O extends object, D extends object>(
  options: O,
  defaults: D,
): WithDefaults<O, D> {
  const out = { ...options } as Record<string, unknown>;
  for (const [key, value] of Object.entries(defaults)) if (out[key] === undefined) out[key] = value;
  return out as WithDefaults<O, D>;
}
