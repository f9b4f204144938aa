/**
 * The peak level of sound over an interval, from the samples themselves. WebRTC's `audioLevel` stat is an
 * instantaneous value (a short beep is missed between two samples of it, and wrtc reports 0 for most of a
 * call); a peak since the last reading is what a user watching a status line wants to see.
 */
export class PeakMeter {
  #peak = 0;
  #seen = false;

  /** Takes 16-bit samples (any channel layout). */
  add(samples: Int16Array): void {
    let peak = this.#peak;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i] ?? 0;
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
    }
    this.#peak = peak;
    this.#seen = true;
  }

  /** The peak since the previous call, 0..1 (full scale), and starts a new interval. Undefined: no samples. */
  take(): number | undefined {
    if (!this.#seen) return undefined;
    const level = Math.min(1, this.#peak / 32768);
    this.#peak = 0;
    this.#seen = false;
    return level;
  }
}

/** A 0..1 level in dBFS for display (`-inf` for silence). */
export function toDbfs(level: number): string {
  return level > 0 ? `${(20 * Math.log10(level)).toFixed(0)} dBFS` : '-inf dBFS';
}
