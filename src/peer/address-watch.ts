/**
 * Our network addresses, watched: a device that moves from Wi-Fi to LTE, or a DHCP lease that changes, gets
 * new addresses and loses the old ones, and its calls must then restart ICE (and its signaling reconnect)
 * instead of waiting for the old path to time out. Node offers no event for it, so the interfaces are polled
 * (`os.networkInterfaces()`: one `getifaddrs` call, cheap).
 */
import { networkInterfaces } from 'node:os';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';

const log = logger('address-watch');

/** Options of an {@link AddressWatch}. */
export interface AddressWatchOptions {
  /** Poll interval, ms. Default 500. */
  intervalMs?: number;
  /** Where the interfaces are read from. Default `os.networkInterfaces`. */
  read?: () => NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
}

/** Defaults of {@link AddressWatchOptions}. */
export const ADDRESS_WATCH_DEFAULTS = { intervalMs: 500 } as const;

/** Events of an {@link AddressWatch}. */
export type AddressWatchEvents = {
  /** The set of addresses changed: what is there now, what went, what came. */
  change: [now: string[], gone: string[], added: string[]];
};

/**
 * The addresses ICE could use, sorted: every interface's, but loopback (internal) and IPv6 link-local ones
 * (the ones the OS makes up for each interface, which come and go with it and name no network). Pure.
 */
export function usableAddresses(interfaces: NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces))
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv6' && /^fe80:/i.test(info.address)) continue;
      out.add(info.address);
    }
  return [...out].sort();
}

/**
 * Watches our addresses and says when the set changes.
 *
 * @example
 * const watch = new AddressWatch();
 * watch.on('change', () => negotiator.restartAll('our network addresses changed'));
 * watch.start();
 * // ...
 * watch.stop();
 */
export class AddressWatch extends TypedEmitter<AddressWatchEvents> {
  readonly #intervalMs: number;
  readonly #read: NonNullable<AddressWatchOptions['read']>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: string[] = [];

  /** @throws TypeError on a bad interval. */
  constructor(options: AddressWatchOptions = {}) {
    super();
    const intervalMs = options.intervalMs ?? ADDRESS_WATCH_DEFAULTS.intervalMs;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0))
      throw new TypeError(`intervalMs must be a positive number of ms, not ${intervalMs}`);
    this.#intervalMs = intervalMs;
    this.#read = options.read ?? networkInterfaces;
  }

  /** The addresses seen last. */
  get addresses(): readonly string[] {
    return this.#last;
  }

  /** Starts polling (idempotent); the addresses now are the baseline. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = usableAddresses(this.#read());
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    // A watch alone does not keep the process alive.
    this.#timer.unref();
  }

  /** Reads the addresses now, and emits `change` if they differ from the last reading. */
  check(): void {
    let now: string[];
    try {
      now = usableAddresses(this.#read());
    } catch (error) {
      log('cannot read the network interfaces: %s', (error as Error).message);
      return;
    }
    const before = new Set(this.#last);
    const after = new Set(now);
    const gone = this.#last.filter((a) => !after.has(a));
    const added = now.filter((a) => !before.has(a));
    this.#last = now;
    if (gone.length === 0 && added.length === 0) return;
    log('addresses changed: gone %o, added %o', gone, added);
    this.emit('change', now, gone, added);
  }

  /** Stops polling (idempotent). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
