/**
 * What one client (one connection, one address) may cost the signaling server, and the pure pieces that
 * enforce it: a token bucket per connection for messages, counters per address for connections, rooms and
 * held bytes, and the back-off of an address that keeps presenting wrong tokens. No I/O: the clock is
 * passed in, so every rule is unit-tested without sockets (server-guard.ts wires them to Socket.IO).
 */

/**
 * The server's limits. `0` means unlimited for the count and byte limits. Defaults in
 * {@link SIGNAL_LIMITS_DEFAULTS}; `rtc-peer signal --limit NAME=VALUE` sets any of them.
 */
export interface SignalLimits {
  /** Messages per second one connection may send on average (its token bucket's refill). Default 50. */
  messagesPerSecond: number;
  /** Messages one connection may send at once (the bucket's size). Default 200. */
  messageBurst: number;
  /**
   * Messages refused for the rate in a row (nothing accepted in between) after which the connection is cut:
   * a client that honours its acks slows down long before. Default 100.
   */
  maxRefusedMessages: number;
  /** Connections (authenticated or not) from one IP address at once. Default 32. */
  connectionsPerAddress: number;
  /** Connections in all at once. Default 2000. */
  connections: number;
  /** Rooms the connections of one address may create (be the first member of) and keep. Default 16. */
  roomsPerAddress: number;
  /** Rooms in all. Default 1000. */
  rooms: number;
  /**
   * Bytes of held offers and candidates (what waits for an answerer) the callers of one address may make
   * the server keep. Default 4 MiB (a room holds at most 64 KiB + 200 × 1 KiB).
   */
  heldBytesPerAddress: number;
  /**
   * Held bytes in all. Default 32 MiB: a thousand rooms of what browsers and rtc-peer hold (an offer of
   * 3-8 KB and a few candidates) take under 10 MiB; under the memory fill of issue 15 (every address at its
   * budget with the largest rooms) 64 MiB took a 256 MB server to its line, 32 MiB leaves it ~30 MB of room.
   */
  heldBytes: number;
  /**
   * A protocol-2 caller's held offer is dropped (with its candidates) this long after it was held, ms, and
   * the caller is told (`held-expired`) so that it holds a fresh one: a lease it renews. 0: never. Default
   * 1 h. Protocol-1 callers cannot renew, so theirs are kept (their bytes stay in the budget).
   */
  heldOfferTtlMs: number;
  /** A client that has not finished its handshake (token included) within this is cut, ms. Default 10 s. */
  authTimeoutMs: number;
  /** Wrong tokens from one address before it must wait ({@link authBackoffMs}, doubling). Default 5. */
  authFailures: number;
  /** The first wait of an address past {@link authFailures}, doubled at each further failure, ms. Default 1 s. */
  authBackoffMs: number;
  /** The longest wait of {@link authBackoffMs}, ms; an hour without failure forgets the address. Default 60 s. */
  authBackoffMaxMs: number;
}

/** Defaults of {@link SignalLimits}, in one place. */
export const SIGNAL_LIMITS_DEFAULTS: Readonly<SignalLimits> = Object.freeze({
  messagesPerSecond: 50,
  messageBurst: 200,
  maxRefusedMessages: 100,
  connectionsPerAddress: 32,
  connections: 2000,
  roomsPerAddress: 16,
  rooms: 1000,
  heldBytesPerAddress: 4 * 1024 * 1024,
  heldBytes: 32 * 1024 * 1024,
  heldOfferTtlMs: 3_600_000,
  authTimeoutMs: 10_000,
  authFailures: 5,
  authBackoffMs: 1000,
  authBackoffMaxMs: 60_000,
});

/** The names of {@link SignalLimits}, for `--limit NAME=VALUE`. */
export const LIMIT_NAMES = Object.keys(SIGNAL_LIMITS_DEFAULTS) as Array<keyof SignalLimits>;

/** Fields that must be ≥ 1 (a zero would refuse everything rather than lift the limit). */
const POSITIVE: ReadonlySet<keyof SignalLimits> = new Set([
  'messagesPerSecond',
  'messageBurst',
  'maxRefusedMessages',
  'authTimeoutMs',
  'authFailures',
  'authBackoffMs',
  'authBackoffMaxMs',
]);

/** The limits with their defaults, checked: a TypeError names the wrong one. */
export function resolveLimits(given: Partial<SignalLimits> = {}): SignalLimits {
  const out = { ...SIGNAL_LIMITS_DEFAULTS };
  for (const [name, value] of Object.entries(given) as Array<[keyof SignalLimits, unknown]>) {
    if (value === undefined) continue;
    if (!LIMIT_NAMES.includes(name)) {
      throw new TypeError(
        `unknown signal server limit ${JSON.stringify(name)}; known: ${LIMIT_NAMES.join(', ')}`,
      );
    }
    const min = POSITIVE.has(name) ? 1 : 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new TypeError(
        `signal server limit ${name} must be a number ≥ ${min}${min === 0 ? ' (0: unlimited)' : ''}, got ${String(value)}`,
      );
    }
    out[name] = value;
  }
  return out;
}

/**
 * Parses `NAME=VALUE` (the CLI's `--limit`), e.g. `connectionsPerAddress=64`. Throws TypeError.
 *
 * @example
 * parseLimit('heldBytes=128Mi') // ['heldBytes', 134217728]
 */
export function parseLimit(text: string): [keyof SignalLimits, number] {
  const m = /^([A-Za-z]+)=(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(text.trim());
  if (m === null) {
    throw new TypeError(
      `--limit ${JSON.stringify(text)}: expected NAME=NUMBER, e.g. connectionsPerAddress=64`,
    );
  }
  const name = m[1] as keyof SignalLimits;
  if (!LIMIT_NAMES.includes(name)) {
    throw new TypeError(
      `--limit ${JSON.stringify(text)}: unknown limit ${name}; known: ${LIMIT_NAMES.join(', ')}`,
    );
  }
  const unit = m[3] === 'Ki' ? 1024 : m[3] === 'Mi' ? 1024 ** 2 : m[3] === 'Gi' ? 1024 ** 3 : 1;
  return [name, Number(m[2]) * unit];
}

/** `count + 1 > limit`, where a limit of 0 is no limit. */
export function over(limit: number, count: number, adding = 1): boolean {
  return limit > 0 && count + adding > limit;
}

/**
 * A token bucket: `burst` tokens, refilled at `perSecond`; each message takes one.
 *
 * @example
 * const bucket = new TokenBucket(50, 200, performance.now());
 * if (!bucket.take(performance.now())) refuse('RATE_LIMITED');
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.#tokens = burst;
    this.#at = nowMs;
  }

  /** Takes one token if there is one; false when the bucket is empty. */
  take(nowMs: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#at) / 1000) * this.perSecond);
    this.#at = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Counts per key (an address), forgetting a key at zero so that the map stays as small as the live set. */
export class Counter {
  readonly #counts = new Map<string, number>();
  #total = 0;

  /** The count of `key`. */
  of(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** The sum over every key. */
  get total(): number {
    return this.#total;
  }

  /** Adds `n` (negative to remove) to `key`; never goes below zero. */
  add(key: string, n: number): void {
    const was = this.of(key);
    const now = Math.max(0, was + n);
    this.#total += now - was;
    if (now === 0) this.#counts.delete(key);
    else this.#counts.set(key, now);
  }
}

/**
 * Wrong tokens per address: after `limits.authFailures` of them an address must wait before it may try
 * again, `authBackoffMs` doubled at each further failure up to `authBackoffMaxMs`. A success forgets the
 * address. Bounded: the oldest addresses are forgotten past `maxAddresses`.
 */
export class AuthBackoff {
  readonly #failures = new Map<string, { count: number; until: number; last: number }>();

  constructor(
    private readonly limits: Pick<SignalLimits, 'authFailures' | 'authBackoffMs' | 'authBackoffMaxMs'>,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Milliseconds `address` must still wait before its next try (0: it may try now). */
  waitMs(address: string, nowMs: number): number {
    const f = this.#failures.get(address);
    if (f === undefined) return 0;
    if (nowMs - f.last > 3_600_000) {
      this.#failures.delete(address);
      return 0;
    }
    return Math.max(0, f.until - nowMs);
  }

  /** A wrong token from `address`; returns the wait it now has, ms (0 while under the allowance). */
  failed(address: string, nowMs: number): number {
    const f = this.#failures.get(address) ?? { count: 0, until: 0, last: nowMs };
    f.count++;
    f.last = nowMs;
    const beyond = f.count - this.limits.authFailures;
    if (beyond > 0) {
      f.until = nowMs + Math.min(this.limits.authBackoffMaxMs, this.limits.authBackoffMs * 2 ** (beyond - 1));
    }
    this.#failures.delete(address); // re-inserted last: the map's order is the age order
    this.#failures.set(address, f);
    if (this.#failures.size > this.maxAddresses) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    return Math.max(0, f.until - nowMs);
  }

  /** A right token from `address`: its failures are forgotten. */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }
}

/**
 * A log that lets through at most `perWindow` lines per `windowMs` per kind, then one line saying how
 * many it held back: a flood of refusals cannot flood the operator's terminal.
 */
export class RateLimitedLog {
  readonly #windows = new Map<string, { start: number; lines: number; suppressed: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly perWindow = 5,
    private readonly windowMs = 10_000,
  ) {}

  /** Writes `line` unless `kind` is over its allowance in this window. */
  line(kind: string, line: string, nowMs: number): void {
    let w = this.#windows.get(kind);
    if (w === undefined || nowMs - w.start >= this.windowMs) {
      if (w !== undefined && w.suppressed > 0) {
        this.write(
          `${w.suppressed} more ${kind} refusals in the last ${Math.round((nowMs - w.start) / 1000)} s`,
        );
      }
      w = { start: nowMs, lines: 0, suppressed: 0 };
      this.#windows.set(kind, w);
    }
    if (w.lines < this.perWindow) {
      w.lines++;
      this.write(line);
    } else w.suppressed++;
  }
}

/** `text` cut to `max` characters, with the cut said: for quoting what a client sent in an error. */
export function truncate(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
