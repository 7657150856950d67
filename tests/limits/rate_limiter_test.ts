/**
 * The sliding-window limiter by itself, on a clock the test moves: the
 * quota holds within a window and across its boundary, the wait it
 * reports is when a retry first fits, and idle keys do not pile up.
 */
import assert from "node:assert/strict";
import { RateLimiter } from "../../src/limits/rate_limiter.ts";

const quota = { requests: 10, windowMs: 1000 };

/** Admits (and counts) requests of `key` at `now` while they fit; how many did. */
function burst(l: RateLimiter, key: string, now: number, tries: number): number {
  let admitted = 0;
  for (let i = 0; i < tries; i++) {
    const c = l.counter(key, quota, now);
    if (l.wait(c, quota, now) > 0) continue;
    l.take(c);
    admitted++;
  }
  return admitted;
}

Deno.test("a window admits its quota, and the boundary does not double it", () => {
  const l = new RateLimiter();
  assert.equal(burst(l, "a", 100_000, 25), 10);
  // Just past the boundary the previous window still weighs almost fully.
  assert.equal(burst(l, "a", 101_010, 25), 0);
  // Halfway through the next window, half of the previous one has slid out.
  assert.equal(burst(l, "a", 101_500, 25), 5);
  // Two windows later everything has slid out.
  assert.equal(burst(l, "a", 103_000, 25), 10);
  assert.equal(burst(l, "b", 103_000, 25), 10, "keys are counted apart");
});

Deno.test("the wait reported is when a retry first fits", () => {
  const l = new RateLimiter();
  const start = 200_000;
  burst(l, "a", start + 250, 10);
  const at = (t: number) => l.wait(l.counter("a", quota, t), quota, t);
  const wait = at(start + 250);
  assert.ok(wait > 0);
  assert.ok(at(start + 250 + wait - 5) > 0, "not before");
  assert.equal(at(start + 250 + Math.ceil(wait)), 0, "then it fits");
});

Deno.test("idle keys are swept, and the key count stays under its bound", () => {
  const l = new RateLimiter({ maxKeys: 100, sweepEveryMs: 1000 });
  for (let i = 0; i < 500; i++) l.take(l.counter(`k${i}`, quota, 300_000));
  assert.ok(l.size <= 100, `kept ${l.size}`);
  // Two windows on, a new key sweeps away every idle one.
  l.take(l.counter("late", quota, 303_000));
  assert.equal(l.size, 1);
});
