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

/** One key's counters. */
interface Bucket {
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
  readonly #buckets = new Map<string, Bucket>();
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
    return this.#buckets.size;
  }

  /**
   * How long `key` must wait before one more request fits `quota`, in ms at
   * `now`; 0 when it fits now. Counts nothing: see {@link take}.
   */
  wait(key: string, quota: Quota, now: number): number {
    const b = this.#buckets.get(key);
    if (!b) return 0;
    roll(b, quota.windowMs, now);
    const elapsed = now - b.start;
    const w = quota.windowMs;
    const used = b.previous * (1 - elapsed / w) + b.current;
    if (used + 1 <= quota.requests) return 0;
    const room = quota.requests - 1;
    if (b.current > room) {
      // The current window alone is too full: wait until it is the previous one and has
      // slid out far enough.
      return w - elapsed + w * (1 - room / b.current);
    }
    // The previous window's remainder is what is in the way: wait until enough of it slid out.
    return Math.max(0, w * (1 - (room - b.current) / b.previous) - elapsed);
  }

  /** What `key` has left of `quota` at `now`, in whole requests. */
  remaining(key: string, quota: Quota, now: number): number {
    const b = this.#buckets.get(key);
    if (!b) return quota.requests;
    roll(b, quota.windowMs, now);
    const used = b.previous * (1 - (now - b.start) / quota.windowMs) + b.current;
    return Math.max(0, Math.floor(quota.requests - used));
  }

  /** Counts one request of `key` under `quota` at `now`. */
  take(key: string, quota: Quota, now: number): void {
    let b = this.#buckets.get(key);
    if (b) {
      roll(b, quota.windowMs, now);
    } else {
      if (now - this.#lastSweep >= this.#sweepEveryMs) this.#sweep(now);
      // Still full: the oldest key goes (its caller starts afresh), one per new key, so a
      // flood of new keys costs O(1) each.
      if (this.#buckets.size >= this.#maxKeys) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
      b = {
        start: now - (now % quota.windowMs),
        windowMs: quota.windowMs,
        previous: 0,
        current: 0,
      };
      this.#buckets.set(key, b);
    }
    b.current++;
  }

  /** Drops keys whose counts have slid out entirely (idle for two windows). */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, b] of this.#buckets) {
      if (now >= b.start + 2 * b.windowMs) this.#buckets.delete(key);
    }
  }
}

/** Moves `b` to the window holding `now` (and to a new window length, starting afresh). */
function roll(b: Bucket, windowMs: number, now: number): void {
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
