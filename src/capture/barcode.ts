/**
 * A frame id and a timestamp drawn as large black/white cells into the top band of a luma (Y) plane, and
 * read back after encoding, transport, decoding and scaling. Used by the test pattern, by the tests that
 * decode recordings, and by latency measurement.
 *
 * Layout: {@link BARCODE_ROWS} rows of {@link BARCODE_COLUMNS} cells; a cell is width/40 x height/20 pixels
 * (16x24 at 640x480), so positions scale with the frame. Each row starts with a white and ends with a black
 * reference cell (the reader thresholds halfway between them, which survives brightness shifts); the 76
 * cells between carry 4 magic bits, 24 bits of frame id, 32 bits of timestamp and a CRC-16 of those 7 bytes.
 * The reader averages the central half of each cell, so blurred edges (VP8 at low bitrate) do not matter.
 *
 * The benchmark's browser pages run this very file (bench/scenarios/chromium.ts serves it, with luma.ts beside
 * it): it imports nothing but `./luma.js`, which imports nothing.
 */
import { centralMean, fillRect, LUMA_BLACK, LUMA_WHITE, type Rect } from './luma.js';

/** What a barcode carries. */
export interface BarcodePayload {
  /** Frame counter, modulo 2^24. */
  frameId: number;
  /** `Date.now()` modulo 2^32 when the frame was stamped. */
  timestampMs: number;
}

/** Cells per row. */
export const BARCODE_COLUMNS = 40;
/** Rows of cells. */
export const BARCODE_ROWS = 2;
/** A cell is `height / 20` pixels high; the band is `BARCODE_ROWS` cells high. */
const ROW_DIVISOR = 20;
const MAGIC = [1, 0, 1, 0];
const DATA_CELLS = (BARCODE_COLUMNS - 2) * BARCODE_ROWS; // 76
const PAYLOAD_BITS = MAGIC.length + 24 + 32 + 16; // 76

/** Height in pixels of the band the barcode covers at the top of a frame `height` pixels high (even). */
export function barcodeBandHeight(height: number): number {
  const band = Math.floor((BARCODE_ROWS * height) / ROW_DIVISOR);
  return band + (band % 2);
}

/** The smallest frame the barcode fits in legibly (cells of at least 4x4 pixels). */
export const BARCODE_MIN_WIDTH = BARCODE_COLUMNS * 4;
/** See {@link BARCODE_MIN_WIDTH}. */
export const BARCODE_MIN_HEIGHT = ROW_DIVISOR * 4;

if (PAYLOAD_BITS !== DATA_CELLS) throw new Error('barcode layout mismatch');

function crc16(bytes: number[]): number {
  // CRC-16/CCITT-FALSE: catches every 1- and 2-bit error and all bursts up to 16 bits.
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function payloadBytes(frameId: number, timestampMs: number): number[] {
  return [
    (frameId >>> 16) & 0xff,
    (frameId >>> 8) & 0xff,
    frameId & 0xff,
    (timestampMs >>> 24) & 0xff,
    (timestampMs >>> 16) & 0xff,
    (timestampMs >>> 8) & 0xff,
    timestampMs & 0xff,
  ];
}

function toBits(value: number, count: number): number[] {
  const bits: number[] = [];
  for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  return bits;
}

function fromBits(bits: number[]): number {
  let v = 0;
  for (const b of bits) v = v * 2 + b;
  return v;
}

/** Pixel bounds of a cell: [x0, x1) x [y0, y1). */
function cell(col: number, row: number, width: number, height: number): Rect {
  return [
    Math.floor((col * width) / BARCODE_COLUMNS),
    Math.floor(((col + 1) * width) / BARCODE_COLUMNS),
    Math.floor((row * height) / ROW_DIVISOR),
    Math.floor(((row + 1) * height) / ROW_DIVISOR),
  ];
}

function checkSize(y: ArrayLike<number>, width: number, height: number): void {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < BARCODE_MIN_WIDTH ||
    height < BARCODE_MIN_HEIGHT
  )
    throw new TypeError(
      `barcode: frame ${width}x${height} is too small (min ${BARCODE_MIN_WIDTH}x${BARCODE_MIN_HEIGHT})`,
    );
  if (y.length < width * height)
    throw new TypeError(
      `barcode: luma plane has ${y.length} bytes, ${width}x${height} needs ${width * height}`,
    );
}

/**
 * Writes `p` into the top band (`2 * height / 20` rows) of the luma plane `y` (the first `width * height`
 * bytes of an I420 buffer will do). Chroma is left alone.
 *
 * @example
 * writeBarcode(frame.data, frame.width, frame.height, { frameId: n, timestampMs: Date.now() % 2 ** 32 });
 */
export function writeBarcode(
  y: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  p: BarcodePayload,
): void {
  checkSize(y, width, height);
  const frameId = ((p.frameId % 2 ** 24) + 2 ** 24) % 2 ** 24;
  const timestampMs = ((p.timestampMs % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const bits = [
    ...MAGIC,
    ...toBits(frameId, 24),
    ...toBits(timestampMs, 32),
    ...toBits(crc16(payloadBytes(frameId, timestampMs)), 16),
  ];
  for (let row = 0; row < BARCODE_ROWS; row++) {
    for (let col = 0; col < BARCODE_COLUMNS; col++) {
      let white: boolean;
      if (col === 0) white = true;
      else if (col === BARCODE_COLUMNS - 1) white = false;
      else white = bits[row * (BARCODE_COLUMNS - 2) + col - 1] === 1;
      fillRect(y, width, cell(col, row, width, height), white ? LUMA_WHITE : LUMA_BLACK);
    }
  }
}

/**
 * Reads a barcode written by {@link writeBarcode} from a luma plane of any size (the frame may have been
 * scaled). Returns null when there is none or its checksum fails.
 */
export function readBarcode(
  y: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
): BarcodePayload | null {
  if (width < BARCODE_MIN_WIDTH || height < BARCODE_MIN_HEIGHT || y.length < width * height) return null;
  const bits: number[] = [];
  for (let row = 0; row < BARCODE_ROWS; row++) {
    const white = centralMean(y, width, cell(0, row, width, height));
    const black = centralMean(y, width, cell(BARCODE_COLUMNS - 1, row, width, height));
    // No barcode (or a washed-out one) when the references are not clearly apart.
    if (white - black < 64) return null;
    const threshold = (white + black) / 2;
    for (let col = 1; col < BARCODE_COLUMNS - 1; col++) {
      bits.push(centralMean(y, width, cell(col, row, width, height)) >= threshold ? 1 : 0);
    }
  }
  if (MAGIC.some((b, i) => bits[i] !== b)) return null;
  let at = MAGIC.length;
  const frameId = fromBits(bits.slice(at, (at += 24)));
  const timestampMs = fromBits(bits.slice(at, (at += 32)));
  const crc = fromBits(bits.slice(at, at + 16));
  if (crc !== crc16(payloadBytes(frameId, timestampMs))) return null;
  return { frameId, timestampMs };
}
