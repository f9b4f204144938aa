import { EventEmitter } from 'node:events';

/**
 * An event map: event name -> tuple of listener arguments. One style for the whole project
 * (as mediasoup's `enhancedEvents.ts`).
 *
 * @example
 * type CaptureEvents = { frame: [Frame]; exit: [code: number | null, signal: NodeJS.Signals | null] };
 * class Capture extends TypedEmitter<CaptureEvents> {}
 */
export type EventMap = Record<string, unknown[]>;

/** A Node `EventEmitter` whose `on`/`once`/`off`/`emit` are checked against an event map. */
export class TypedEmitter<E extends EventMap> extends EventEmitter {
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args);
  }
}
