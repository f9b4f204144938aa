/**
 * An event map: event name -> tuple of listener arguments. One style for the whole project
 * (as mediasoup's `enhancedEvents.ts`).
 *
 * @example
 * type CaptureEvents = { frame: [Frame]; exit: [code: number | null, signal: NodeJS.Signals | null] };
 * class Capture extends TypedEmitter<CaptureEvents> {}
 */
export type EventMap = Record<string, unknown[]>;

// Stored untyped; the public methods are what checks listeners against the event map.
type Listener = (...args: unknown[]) => void;

/**
 * An event emitter whose `on`/`once`/`off`/`emit` are checked against an event map. It behaves like Node's
 * `EventEmitter` for what the project uses (listeners called in order, synchronously; `once`; an `error`
 * event with no listener throws its argument), and depends on nothing, so that the code shared with the
 * browser page (the negotiation rules, the signaling client) runs there too.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, { fn: Listener; once: boolean }[]>();

  /** Calls `listener` on every `event`. */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#add(event, listener as Listener, false);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#add(event, listener as Listener, true);
    return this;
  }

  /** Removes `listener` from `event` (the first registration of it, as Node does). */
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.#listeners.get(event);
    const i = list?.findIndex((l) => l.fn === (listener as Listener)) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    return this;
  }

  /**
   * Calls the listeners of `event` with `args`, in order; returns whether there were any. An `error` event
   * nobody listens to throws its first argument (as Node does): an error never goes unnoticed.
   */
  emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(String(args[0]));
      return false;
    }
    for (const entry of [...list]) {
      if (entry.once) {
        const i = list.indexOf(entry);
        if (i >= 0) list.splice(i, 1);
      }
      entry.fn(...args);
    }
    return true;
  }

  /** Listeners of `event`. */
  listenerCount(event: keyof E & string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Removes every listener (of `event`, or of all events). */
  removeAllListeners(event?: keyof E & string): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  #add(event: keyof E, fn: Listener, once: boolean): void {
    let list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, (list = []));
    list.push({ fn, once });
  }
}
