/**
 * An in-memory sliding-window rate limiter keyed by strings: O(1) per
 * check, no timers, bounded memory.
 *
 * Each key keeps two counters, the current fixed window's and the previous
 * one's (windows are aligned to multiples of their length since the epoch).
 * A request is admitted when the previous window's count, weighted by the
 * share of it still inside the sliding window, plus the current window's
 * count stays below the quota:
 *
 *     used = previous * (1 - elapsed / window) + current
 *     admitted when used + 1 <= requests
 *
 * Unlike a token bucket this never lets a burst through above the quota
 * (200 requests at once against a quota of 50 admit exactly 50, however
 * long the burst takes), and unlike a plain fixed window it does not admit
 * twice the quota around a window boundary.
 *
 * Checking and counting are synchronous, so concurrent requests (which the
 * event loop runs one at a time) are counted exactly.
 *
 * @module
 */

/** A quota: at most `requests` requests per `windowMs` milliseconds. */
export interface Quota {
  requests: number;
  windowMs: number;
}

/** One key's counters, got with {@link RateLimiter.counter}. */
export interface Counter {
  /** Start of the current window, epoch ms (a multiple of `windowMs`). */
  start: number;
  windowMs: number;
  previous: number;
  current: number;
}

/** Settings of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Keys kept at most; past it, the oldest go (default 100,000). */
  maxKeys?: number;
  /** How often, at most, idle keys are swept, in ms (default 60,000). */
  sweepEveryMs?: number;
}

/** Sliding-window counters by key. */
export class RateLimiter {
  readonly #counters = new Map<string, Counter>();
  readonly #maxKeys: number;
  readonly #sweepEveryMs: number;
  #lastSweep = 0;

  /** A limiter with the given bounds. */
  constructor(options: RateLimiterOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#sweepEveryMs = options.sweepEveryMs ?? 60_000;
  }

  /** Keys currently kept (for tests of the memory bound). */
  get size(): number {
    return this.#counters.size;
  }

  /**
   * The counters of `key` under `quota`, moved to the window holding `now`
   * (made when `key` has none). One map lookup; check it with {@link wait}
   * and count a request with {@link take}.
   */
  counter(key: string, quota: Quota, now: number): Counter {
    let c = this.#counters.get(key);
    if (c) {
      roll(c, quota.windowMs, now);
      return c;
    }
    if (now - this.#lastSweep >= this.#sweepEveryMs) this.#sweep(now);
    // Still full: the oldest key goes (its caller starts afresh), one per new key, so a flood of
    // new keys costs O(1) each.
    if (this.#counters.size >= this.#maxKeys) {
      this.#counters.delete(this.#counters.keys().next().value!);
    }
    c = { start: now - (now % quota.windowMs), windowMs: quota.windowMs, previous: 0, current: 0 };
    this.#counters.set(key, c);
    return c;
  }

  /**
   * How long `c` must wait before one more request fits `quota`, in ms at
   * `now` (the time `c` was got at); 0 when it fits now.
   */
  wait(c: Counter, quota: Quota, now: number): number {
    const elapsed = now - c.start;
    const w = quota.windowMs;
    const used = c.previous * (1 - elapsed / w) + c.current;
    if (used + 1 <= quota.requests) return 0;
    const room = quota.requests - 1;
    if (c.current > room) {
      // The current window alone is too full: wait until it is the previous one and has
      // slid out far enough.
      return w - elapsed + w * (1 - room / c.current);
    }
    // The previous window's remainder is what is in the way: wait until enough of it slid out.
    return Math.max(0, w * (1 - (room - c.current) / c.previous) - elapsed);
  }

  /** Counts one request on `c`. */
  take(c: Counter): void {
    c.current++;
  }

  /** Drops keys whose counts have slid out entirely (idle for two windows). */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, c] of this.#counters) {
      if (now >= c.start + 2 * c.windowMs) this.#counters.delete(key);
    }
  }
}

/** Moves `b` to the window holding `now` (and to a new window length, starting afresh). */
function roll(b: Counter, windowMs: number, now: number): void {
  if (b.windowMs !== windowMs) {
    b.windowMs = windowMs;
    b.start = now - (now % windowMs);
    b.previous = 0;
    b.current = 0;
    return;
  }
  if (now < b.start + windowMs) return;
  const start = now - (now % windowMs);
  b.previous = start === b.start + windowMs ? b.current : 0;
  b.current = 0;
  b.start = start;
}
