/**
 * `Retry-After` (RFC 9110 section 10.2.3), as a WHIP/WHEP server sends it with `503 Service Unavailable`
 * (RFC 9725 section 4.7): delay-seconds or an HTTP-date. Pure: no I/O.
 */

/**
 * How long to wait, in ms, before trying again, or undefined when the header is absent or unreadable.
 * Clamped to `[0, maxMs]`: a server asking for an hour does not park the client for an hour.
 *
 * @example
 * retryAfterMs('3')                                  // 3000
 * retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', now) // the time until then
 */
export function retryAfterMs(
  value: string | null | undefined,
  now: number = Date.now(),
  maxMs = 60_000,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at) || !/[A-Za-z]/.test(v)) return undefined;
    ms = at - now;
  }
  return Math.min(maxMs, Math.max(0, ms));
}
