/**
 * Drawing into and reading from a frame's luma plane (the Y plane of I420, `width` bytes per row): the marks
 * rtc-peer stamps into the test pattern (the barcode, the flash). Pure.
 */

/** Luma of white and of black in video range (BT.601), as the marks draw them. */
export const LUMA_WHITE = 235;
/** See {@link LUMA_WHITE}. */
export const LUMA_BLACK = 16;

/** A rectangle of a plane, `[x0, x1, y0, y1)` in pixels. */
export type Rect = readonly [x0: number, x1: number, y0: number, y1: number];

/** Fills `rect` of a luma plane `width` pixels wide with `value`. */
export function fillRect(y: Uint8Array | Uint8ClampedArray, width: number, rect: Rect, value: number): void {
  const [x0, x1, y0, y1] = rect;
  for (let row = y0; row < y1; row++) y.fill(value, row * width + x0, row * width + x1);
}

/**
 * The mean luma of the central half of `rect` (a quarter of it left out on each side, where a lossy codec
 * blurs a mark into its neighbours); 0 for an empty one.
 */
export function centralMean(y: Uint8Array | Uint8ClampedArray, width: number, rect: Rect): number {
  const [x0, x1, y0, y1] = rect;
  const mx = Math.max(0, Math.floor((x1 - x0) / 4));
  const my = Math.max(0, Math.floor((y1 - y0) / 4));
  let sum = 0;
  let n = 0;
  for (let row = y0 + my; row < y1 - my; row++) {
    for (let x = x0 + mx; x < x1 - mx; x++) {
      sum += y[row * width + x] ?? 0;
      n++;
    }
  }
  return n ? sum / n : 0;
}
