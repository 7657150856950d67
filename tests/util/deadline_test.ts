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
