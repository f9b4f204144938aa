/**
 * One connection's messages, applied one after the other in the order they came, even when applying one
 * waits for Redis: the protocol promises that messages from one client are processed in the order sent.
 */

/**
 * Runs tasks one at a time, in order. A task that returns synchronously runs at once when nothing is
 * waiting (the in-memory registry: no delay, no reordering); one that returns a promise holds the tasks
 * after it until it settles. At most `limit` tasks wait: more are refused and counted in `dropped`.
 *
 * @example
 * const queue = new SerialQueue(256);
 * socket.on('signal', (m, ack) => {
 *   if (!queue.push(() => handle(m, ack))) ack(busy());
 * });
 */
export class SerialQueue {
  /** Tasks refused because `limit` were waiting. */
  dropped = 0;
  readonly #limit: number;
  readonly #waiting: (() => unknown)[] = [];
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #markIdle: () => void = () => undefined;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`queue limit must be >= 1, got ${limit}`);
    this.#limit = limit;
  }

  /** Tasks waiting for the one running. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` after the tasks before it. Returns false, without running it, when `limit` tasks are
   * waiting already, unless `force` (a disconnect must always be applied). A task's errors are its own:
   * one that throws or rejects does not stop the queue.
   */
  push(task: () => unknown, force = false): boolean {
    if (this.#running) {
      if (!force && this.#waiting.length >= this.#limit) {
        this.dropped++;
        return false;
      }
      this.#waiting.push(task);
      return true;
    }
    this.#drain(task);
    return true;
  }

  /** Resolves once no task is running or waiting. */
  idle(): Promise<void> {
    return this.#running ? this.#idle : Promise.resolve();
  }

  #drain(first: () => unknown): void {
    for (let task: (() => unknown) | undefined = first; task !== undefined; task = this.#waiting.shift()) {
      let result: unknown;
      try {
        result = task();
      } catch {
        continue; // the task reports its own errors
      }
      if (result instanceof Promise) {
        if (!this.#running) {
          this.#running = true;
          this.#idle = new Promise<void>((resolve) => (this.#markIdle = resolve));
        }
        const next = (): void => {
          const task = this.#waiting.shift();
          if (task !== undefined) {
            this.#drain(task);
            return;
          }
          this.#running = false;
          this.#markIdle();
        };
        result.then(next, next);
        return;
      }
    }
    if (this.#running) {
      this.#running = false;
      this.#markIdle();
    }
  }
}
