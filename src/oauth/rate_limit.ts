/**
 * A small in-memory sliding-window limiter for the authorization servers'
 * abuse-prone endpoints (registration, login). In memory on purpose: the
 * state is worthless after a restart and Gatehouse runs as one process.
 *
 * @module
 */

/** Counts events per key within a window and says when a key is over its limit. */
export class RateLimiter {
  readonly #events = new Map<string, number[]>();

  /**
   * A limiter allowing `limit` events per key in any `windowMs`; at most
   * `maxKeys` keys are tracked (the least recently touched are forgotten
   * first, so a flood of distinct keys cannot exhaust memory).
   */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  #recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.#events.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.#events.delete(key);
    return list;
  }

  /** Seconds until `key` may act again, or 0 when it is under its limit now. */
  retryAfter(key: string): number {
    const list = this.#recent(key);
    if (list.length < this.limit) return 0;
    return Math.max(
      1,
      Math.ceil((list[list.length - this.limit] + this.windowMs - this.now()) / 1000),
    );
  }

  /** Records one event for `key`. */
  record(key: string): void {
    const list = this.#recent(key);
    list.push(this.now());
    // Re-inserted so iteration order is least recently touched first.
    this.#events.delete(key);
    this.#events.set(key, list);
    while (this.#events.size > this.maxKeys) {
      this.#events.delete(this.#events.keys().next().value!);
    }
  }

  /** Records an event unless `key` is over its limit; returns the wait in seconds (0 when recorded). */
  take(key: string): number {
    const wait = this.retryAfter(key);
    if (wait === 0) this.record(key);
    return wait;
  }

  /** Forgets `key` (e.g. an account's failures after a successful login). */
  clear(key: string): void {
    this.#events.delete(key);
  }
}
