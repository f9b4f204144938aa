/**
 * Nearest-neighbour scaling of I420 frames, in node, with the index tables cached per size pair. Used by the
 * recorder when the remote encoder changes resolution mid-call: the file keeps its first size.
 * Nearest-neighbour is cheap (one table lookup per byte, ~1 ms for 640x480) and keeps edges sharp; the
 * picture is already a lossy, temporarily degraded one when this happens.
 */

interface Tables {
  lumaX: Uint32Array;
  lumaY: Uint32Array;
  chromaX: Uint32Array;
  chromaY: Uint32Array;
}

const cache = new Map<string, Tables>();

function table(src: number, dst: number): Uint32Array {
  const t = new Uint32Array(dst);
  for (let i = 0; i < dst; i++) t[i] = Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst));
  return t;
}

function tables(sw: number, sh: number, dw: number, dh: number): Tables {
  const key = `${sw}x${sh}>${dw}x${dh}`;
  let t = cache.get(key);
  if (!t) {
    t = {
      lumaX: table(sw, dw),
      lumaY: table(sh, dh),
      chromaX: table(sw >> 1, dw >> 1),
      chromaY: table(sh >> 1, dh >> 1),
    };
    if (cache.size > 16) cache.clear();
    cache.set(key, t);
  }
  return t;
}

function plane(
  src: Uint8Array | Uint8ClampedArray,
  srcOffset: number,
  srcStride: number,
  dst: Uint8Array | Uint8ClampedArray,
  dstOffset: number,
  dstStride: number,
  xs: Uint32Array,
  ys: Uint32Array,
): void {
  for (let y = 0; y < ys.length; y++) {
    const s = srcOffset + (ys[y] ?? 0) * srcStride;
    const d = dstOffset + y * dstStride;
    for (let x = 0; x < xs.length; x++) dst[d + x] = src[s + (xs[x] ?? 0)] ?? 0;
  }
}

/** Scales an I420 frame `sw`x`sh` in `src` into `dst` (`dw`x`dh`, preallocated). Sizes must be even. */
export function scaleI420(
  src: Uint8Array | Uint8ClampedArray,
  sw: number,
  sh: number,
  dst: Uint8Array | Uint8ClampedArray,
  dw: number,
  dh: number,
): void {
  const t = tables(sw, sh, dw, dh);
  const sY = sw * sh;
  const dY = dw * dh;
  const sC = (sw >> 1) * (sh >> 1);
  const dC = (dw >> 1) * (dh >> 1);
  plane(src, 0, sw, dst, 0, dw, t.lumaX, t.lumaY);
  plane(src, sY, sw >> 1, dst, dY, dw >> 1, t.chromaX, t.chromaY);
  plane(src, sY + sC, sw >> 1, dst, dY + dC, dw >> 1, t.chromaX, t.chromaY);
}

/** The size of a frame `w`x`h` halved, each side rounded down to even (I420 wants even sizes). */
export function halvedSize(w: number, h: number): { width: number; height: number } {
  return { width: (w >> 1) & ~1, height: (h >> 1) & ~1 };
}

function halvePlane(
  src: Uint8Array | Uint8ClampedArray,
  srcOffset: number,
  srcStride: number,
  dst: Uint8Array | Uint8ClampedArray,
  dstOffset: number,
  dw: number,
  dh: number,
): void {
  for (let y = 0; y < dh; y++) {
    let s = srcOffset + 2 * y * srcStride;
    const d = dstOffset + y * dw;
    for (let x = 0; x < dw; x++, s += 2) {
      const sum =
        (src[s] ?? 0) + (src[s + 1] ?? 0) + (src[s + srcStride] ?? 0) + (src[s + srcStride + 1] ?? 0);
      dst[d + x] = (sum + 2) >> 2;
    }
  }
}

/**
 * Halves an I420 frame `sw`x`sh` (even sizes) into `dst` ({@link halvedSize}, preallocated), each output pixel
 * the mean of its 2x2 block: a box filter, which keeps fine lines (the barcode's cells, text) that dropping
 * every other pixel would alias, at ~0.5 ms for 640x480. Used by the sender to send a smaller picture.
 */
export function halveI420(
  src: Uint8Array | Uint8ClampedArray,
  sw: number,
  sh: number,
  dst: Uint8Array | Uint8ClampedArray,
): void {
  const { width: dw, height: dh } = halvedSize(sw, sh);
  const sY = sw * sh;
  const sC = (sw >> 1) * (sh >> 1);
  const dY = dw * dh;
  const dC = (dw >> 1) * (dh >> 1);
  halvePlane(src, 0, sw, dst, 0, dw, dh);
  halvePlane(src, sY, sw >> 1, dst, dY, dw >> 1, dh >> 1);
  halvePlane(src, sY + sC, sw >> 1, dst, dY + dC, dw >> 1, dh >> 1);
}
