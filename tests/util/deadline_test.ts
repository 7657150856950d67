/**
 * `Deadline`: the cancellation of one piece of work, which aborts with its
 * sources or when its time runs out, and lets go of both once disposed.
 */
import assert from "node:assert/strict";
import { Deadline, DeadlineExceeded } from "../../src/util/deadline.ts";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a deadline aborts with DeadlineExceeded when its time runs out", async () => {
  const caller = new AbortController();
  const d = new Deadline(20, caller.signal);
  assert.equal(d.signal.aborted, false);
  await wait(60);
  assert.equal(d.signal.aborted, true);
  assert.equal(d.expired, true);
  assert.ok(d.signal.reason instanceof DeadlineExceeded);
  assert.equal(d.signal.reason.name, "TimeoutError");
  assert.equal(d.signal.reason.message, "timed out after 20 ms");
});

Deno.test("a deadline follows any source's abort, with that source's reason", () => {
  const a = new AbortController();
  const b = new AbortController();
  using d = new Deadline(60_000, a.signal, undefined, b.signal);
  b.abort(new Error("client went away"));
  assert.equal(d.signal.aborted, true);
  assert.equal(d.expired, false);
  assert.equal((d.signal.reason as Error).message, "client went away");
});

Deno.test("a deadline made from an aborted source starts aborted", () => {
  using d = new Deadline(60_000, AbortSignal.abort("gone"));
  assert.equal(d.signal.aborted, true);
  assert.equal(d.signal.reason, "gone");
  assert.equal(d.expired, false);
});

Deno.test("a disposed deadline lets go: neither its timer nor its sources abort it", async () => {
  const caller = new AbortController();
  const d = new Deadline(20, caller.signal);
  d[Symbol.dispose]();
  caller.abort();
  assert.equal(d.signal.aborted, false, "a source's abort after disposal");
  await wait(80);
  assert.equal(d.signal.aborted, false, "the timer after disposal");
});

/**
 * Resolves with the time `d` aborts at, measured from `from`. A deadline's
 * timer does not keep the process alive, so a timer of the test does.
 */
function abortedAt(d: Deadline, from: number): Promise<number> {
  const alive = setTimeout(() => {}, 5000);
  return new Promise((resolve) =>
    d.signal.addEventListener("abort", () => {
      clearTimeout(alive);
      resolve(performance.now() - from);
    }, { once: true })
  );
}

Deno.test("deadlines of one length each end on time, whichever of them were disposed", async () => {
  const deadlines: Deadline[] = [];
  const ends: Promise<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const d = new Deadline(60);
    deadlines.push(d);
    // Only the ones that are not disposed below are waited for.
    ends.push(i === 0 || i === 2 ? Promise.resolve(0) : abortedAt(d, performance.now()));
    await wait(5);
  }
  // The first (for which the shared timer is armed) and one in the middle are done early.
  deadlines[0][Symbol.dispose]();
  deadlines[2][Symbol.dispose]();
  for (const i of [1, 3, 4]) {
    const end = await ends[i];
    assert.ok(
      end >= 59 && end < 60 + 30,
      `deadline ${i} ended ${end.toFixed(1)} ms after its start`,
    );
  }
  await wait(40);
  assert.equal(deadlines[0].signal.aborted, false);
  assert.equal(deadlines[2].signal.aborted, false);
});

Deno.test("a short deadline started after a long one ends on its own time", async () => {
  const start = performance.now();
  using long = new Deadline(400);
  const short = new Deadline(30);
  const end = await abortedAt(short, start);
  assert.ok(end >= 29 && end < 30 + 30, `ended ${end.toFixed(1)} ms after its start`);
  assert.equal(long.signal.aborted, false);
});

Deno.test("a deadline started by work that another one's end stopped still ends", async () => {
  const first = new Deadline(20);
  const alive = setTimeout(() => {}, 5000);
  const second = await new Promise<{ d: Deadline; start: number }>((resolve) =>
    first.signal.addEventListener("abort", () => {
      resolve({ d: new Deadline(20), start: performance.now() });
    })
  );
  clearTimeout(alive);
  const end = await abortedAt(second.d, second.start);
  assert.ok(end >= 19 && end < 20 + 30, `ended ${end.toFixed(1)} ms after its start`);
});

Deno.test("a length used again after its timer went idle still ends on time", async () => {
  const length = 15;
  const first = new Deadline(length);
  first[Symbol.dispose]();
  await wait(50);
  const again = new Deadline(length);
  const end = await abortedAt(again, performance.now());
  assert.ok(end >= 14 && end < 15 + 30, `ended ${end.toFixed(1)} ms after its start`);
});
