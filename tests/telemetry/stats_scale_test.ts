/**
 * Usage statistics stay fast for dashboards over a large log: a real
 * SQLite file with 1,000,000 request log rows over 30 days (and the rollup
 * they make), and a gateway's figures since the start of it read in under
 * 100 ms (the median of several reads). Also the time one flush of 1,000
 * rows takes in that file, which runs on the main thread.
 *
 * The rows are made by SQL in one transaction, and their rollup is built
 * here from the same formulas (the writer's own path would take a minute
 * for a million rows); the figures read back are checked against counts
 * over the log's rows.
 */
import assert from "node:assert/strict";
import { batchOf, bucketOf, HISTOGRAM_BUCKETS, packOf } from "../../src/store/log_segments.ts";
import { MINUTES_KEPT_MS, quantileOf } from "../../src/store/request_log.ts";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { openTestStore } from "../helpers/database.ts";

const ROWS = 1_000_000;
const RANGE_MS = 30 * 86_400_000;
const TOOLS = 20;
/** The durations rows take, in turn (ms). */
const DURATIONS = [0.8, 1.5, 3, 5, 8, 12, 20, 35, 60, 250];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

Deno.test("a gateway's statistics over 1,000,000 log rows are read in under 100 ms", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-stats-" });
  const store = await openTestStore(`${dir}/gatehouse.db`);
  try {
    const now = Date.now();
    const t0 = now - RANGE_MS;
    const step = RANGE_MS / ROWS;
    // Record i: gateway gw2 for every tenth, else gw1; tool i % 20; an error every 17th. Written
    // as the log's thread writes them (segments of 1,000), without their rollup, built below.
    const recordOf = (i: number): RequestRecord => ({
      at: t0 + Math.trunc(i * step),
      orgId: "org",
      gatewayId: i % 10 === 0 ? "gw2" : "gw1",
      transport: "http",
      protocolVersion: "2025-11-25",
      method: "tools/call",
      name: `tool${i % TOOLS}`,
      caller: { id: `key${i % 5}`, method: "api_key", keyName: `k${i % 5}` },
      sessionId: "s",
      status: i % 17 === 0 ? "error" : "ok",
      errorCode: null,
      limit: null,
      durationMs: DURATIONS[i % DURATIONS.length],
      bytesIn: 100,
      bytesOut: 200,
      upstream: null,
    });
    const written = performance.now();
    await store.tx(async () => {
      for (let i = 0; i < ROWS; i += 1000) {
        const records = Array.from({ length: 1000 }, (_, k) => recordOf(i + k));
        await store.requestLog.write({ ...batchOf(packOf(records)), rollups: [] });
      }
    });
    console.log(`1,000,000 records written in ${Math.round(performance.now() - written)} ms`);
    // The rollup of those rows: minute rows for the last two days, hours and days throughout.
    type Roll = { calls: number; errors: number; last: number; h: number[] };
    const rolls = new Map<string, Roll>();
    const spans: [number, number][] = [[60_000, now - MINUTES_KEPT_MS], [3_600_000, 0], [
      86_400_000,
      0,
    ]];
    for (let i = 0; i < ROWS; i++) {
      const at = t0 + Math.trunc(i * step);
      const gw = i % 10 === 0 ? "gw2" : "gw1";
      const name = `tool${i % TOOLS}`;
      const bucket = bucketOf(DURATIONS[i % DURATIONS.length]);
      for (const [span, keepFrom] of spans) {
        const start = at - (at % span);
        if (start < keepFrom) continue;
        const key = `${gw}\n${span}\n${start}\n${name}`;
        let r = rolls.get(key);
        if (!r) {
          rolls.set(
            key,
            r = { calls: 0, errors: 0, last: at, h: Array(HISTOGRAM_BUCKETS).fill(0) },
          );
        }
        r.calls++;
        if (i % 17 === 0) r.errors++;
        r.last = Math.max(r.last, at);
        r.h[bucket]++;
      }
    }
    const h = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}`);
    const insert = `INSERT INTO request_stats (gateway_id, span, start, name, calls, errors,
      last_at, ${h.join(", ")}) VALUES (${Array(7 + HISTOGRAM_BUCKETS).fill("?").join(", ")})`;
    await store.tx(async () => {
      for (const [key, r] of rolls) {
        const [gw, span, start, name] = key.split("\n");
        await store.db.run(
          insert,
          gw,
          Number(span),
          Number(start),
          name,
          r.calls,
          r.errors,
          r.last,
          ...r.h,
        );
      }
    });
    assert.equal(await store.requestLog.count(), ROWS);

    const since = t0 - 3_600_000;
    const times: number[] = [];
    let usage = await store.requestLog.usage("gw1", since, now);
    for (let k = 0; k < 9; k++) {
      const started = performance.now();
      usage = await store.requestLog.usage("gw1", since, now);
      times.push(performance.now() - started);
    }
    const took = median(times);
    console.log(`stats over ${ROWS} rows: median ${took.toFixed(1)} ms (${times.map(Math.round)})`);
    assert.ok(took < 100, `the median read took ${took.toFixed(1)} ms`);

    // The figures are those of the log's rows.
    const counted = new Map<string, [number, number, number]>();
    for (let i = 0; i < ROWS; i++) {
      if (i % 10 === 0) continue;
      const name = `tool${i % TOOLS}`;
      const c = counted.get(name) ?? [0, 0, 0];
      counted.set(name, [c[0] + 1, c[1] + (i % 17 === 0 ? 1 : 0), t0 + Math.trunc(i * step)]);
    }
    assert.deepEqual(
      usage.tools.map((t) => [t.name, t.calls, t.errors, t.lastAt]),
      [...counted].sort(([a], [b]) => a < b ? -1 : 1).map(([name, c]) => [name, ...c]),
    );
    assert.equal(usage.total.calls, ROWS * 0.9);
    // Each tool of gw1 sees its own share of the durations; the estimates fall in the right bucket.
    const tool3 = usage.tools.find((t) => t.name === "tool3")!;
    const exact = Array(HISTOGRAM_BUCKETS).fill(0);
    for (let i = 3; i < ROWS; i += TOOLS) {
      if (i % 10 !== 0) exact[bucketOf(DURATIONS[i % DURATIONS.length])]++;
    }
    assert.equal(tool3.p50Ms, quantileOf(exact, 0.5));
    assert.equal(tool3.p95Ms, quantileOf(exact, 0.95));

    // Pages of the log over those rows: the newest 50, and the newest 50 of a rarer kind (the
    // errors of tool3 on gw1, one record in 340).
    const rare = { gatewayId: "gw1", name: "tool3", status: "error" } as const;
    const expected: number[] = [];
    for (let i = ROWS - 1; expected.length < 51; i--) {
      if (i % TOOLS === 3 && i % 17 === 0 && i % 10 !== 0) expected.push(t0 + Math.trunc(i * step));
    }
    const pageTimes: number[] = [];
    for (let k = 0; k < 5; k++) {
      const started = performance.now();
      const newest = await store.requestLog.page("org", {}, { limit: 50 });
      const first = performance.now();
      const rarer = await store.requestLog.page("org", rare, { limit: 50 });
      pageTimes.push(first - started, performance.now() - first);
      assert.deepEqual(
        newest.items.map((r) => r.at),
        Array.from({ length: 50 }, (_, j) => recordOf(ROWS - 1 - j).at),
      );
      assert.deepEqual(rarer.items.map((r) => r.at), expected.slice(0, 50));
      const next = await store.requestLog.page("org", rare, { limit: 1, after: rarer.next });
      assert.deepEqual(next.items.map((r) => r.at), [expected[50]]);
    }
    console.log(
      `log pages over ${ROWS} rows (newest, rare): ${pageTimes.map((t) => t.toFixed(1))} ms`,
    );

    // One flush of 1,000 rows arriving within a second, into this file.
    const batch = (k: number): RequestRecord[] =>
      Array.from({ length: 1000 }, (_, i) => ({
        at: now + k * 1000 + i,
        orgId: "org",
        gatewayId: "gw1",
        transport: "http",
        protocolVersion: "2025-11-25",
        method: "tools/call",
        name: `tool${i % TOOLS}`,
        caller: { id: `key${i % 5}`, method: "api_key", keyName: `k${i % 5}` },
        sessionId: "s",
        status: "ok",
        errorCode: null,
        limit: null,
        durationMs: 3.2,
        bytesIn: 120,
        bytesOut: 480,
        upstream: { status: 200, durationMs: 2.1, target: "api.example.com" },
      }));
    const flushes: number[] = [];
    for (let k = 0; k < 5; k++) {
      const rows = batch(k);
      const started = performance.now();
      await store.requestLog.insert(rows);
      flushes.push(performance.now() - started);
    }
    console.log(
      `flush of 1000 rows: median ${median(flushes).toFixed(1)} ms (${flushes.map(Math.round)})`,
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
