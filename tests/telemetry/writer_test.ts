/**
 * The request log writer's buffer: written on its timer and as soon as a
 * batch is full, a batch per transaction; kept while the store refuses
 * writes, bounded by dropping the oldest (counted), and written once the
 * store is back.
 */
import assert from "node:assert/strict";
import { batchOf, decodeSegment, type PackedRecords } from "../../src/store/log_segments.ts";
import type { RequestLog } from "../../src/store/request_log.ts";
import { RequestLogWriter } from "../../src/telemetry/request_log.ts";
import type { RequestRecord } from "../../src/telemetry/requests.ts";

/** A stand-in for the store's log: keeps batches (their records, unpacked), or throws while `down`. */
class FakeLog {
  batches: RequestRecord[][] = [];
  down = false;
  writePacked(packed: PackedRecords): void {
    if (this.down) throw new Error("database is locked");
    this.batches.push(
      batchOf(packed).segments.flatMap((s) => decodeSegment(0, s.orgId, s.records, 0)),
    );
  }
  count(): number {
    return this.batches.flat().length;
  }
  deleteOlder(): number {
    return 0;
  }
  deleteOldest(): number {
    return 0;
  }
}

function record(n: number): RequestRecord {
  return {
    at: n,
    orgId: "o",
    gatewayId: "g",
    transport: "http",
    protocolVersion: null,
    method: "tools/list",
    name: null,
    caller: { id: "k", method: "api_key" },
    sessionId: null,
    status: "ok",
    errorCode: null,
    limit: null,
    durationMs: 1,
    bytesIn: 1,
    bytesOut: 1,
    upstream: null,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("records are written on the timer, and at once when a batch is full", async () => {
  const options = { retentionMs: 86_400_000, maxRows: 1_000_000, batchSize: 50 };
  const log = new FakeLog();
  const timed = new RequestLogWriter(log as unknown as RequestLog, { ...options, flushMs: 100 });
  timed.start();
  try {
    timed.add(record(1));
    assert.equal(log.batches.length, 0, "add writes nothing itself");
    await sleep(300);
    assert.deepEqual(log.batches.map((b) => b.length), [1]);
  } finally {
    await timed.close();
  }
  // A timer that never fires here: a full batch starts the writing, of full batches only; the rest
  // waits for the timer (or shutdown), so a steady load is not written in dribbles.
  const full = new FakeLog();
  const eager = new RequestLogWriter(full as unknown as RequestLog, {
    ...options,
    flushMs: 60_000,
  });
  eager.start();
  try {
    for (let i = 0; i < 120; i++) eager.add(record(i));
    assert.equal(full.batches.length, 0);
    await sleep(100);
    assert.deepEqual(full.batches.map((b) => b.length), [50, 50]);
    assert.equal(eager.buffered, 20);
  } finally {
    await eager.close();
  }
  assert.deepEqual(full.batches.map((b) => b.length), [50, 50, 20], "shutdown writes the rest");
});

Deno.test("while the store refuses writes the buffer keeps the newest batches, counting the dropped", async () => {
  const log = new FakeLog();
  const writer = new RequestLogWriter(log as unknown as RequestLog, {
    retentionMs: 86_400_000,
    maxRows: 1_000_000,
    batchSize: 40,
    maxBuffered: 100,
  });
  log.down = true;
  for (let i = 0; i < 250; i++) writer.add(record(i));
  assert.equal(await writer.flush(), false);
  // Whole batches of 40 go, oldest first, once more than 100 are held.
  assert.equal(writer.buffered, 90);
  assert.equal(writer.dropped, 160);
  log.down = false;
  assert.equal(await writer.flush(), true);
  assert.equal(writer.buffered, 0);
  assert.deepEqual(log.batches.map((b) => b.length), [40, 40, 10]);
  assert.deepEqual(
    log.batches.flat().map((r) => r.at),
    Array.from({ length: 90 }, (_, i) => 160 + i),
  );
});
