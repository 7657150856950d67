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
import {
  bucketOf,
  HISTOGRAM_BUCKETS,
  MINUTES_KEPT_MS,
  quantileOf,
} from "../../src/store/request_log.ts";
import { openStore } from "../../src/store/store.ts";
import type { RequestRecord } from "../../src/telemetry/requests.ts";

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
  const store = openStore(`${dir}/gatehouse.db`);
  try {
    const now = Date.now();
    const t0 = now - RANGE_MS;
    const step = RANGE_MS / ROWS;
    // Row i: gateway gw2 for every tenth, else gw1; tool i % 20; an error every 17th.
    await store.db.run(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS - 1})
      INSERT INTO request_log (at, org_id, gateway_id, transport, protocol_version, method, name,
        caller_id, caller_method, caller_key_name, session_id, status, duration_ms, bytes_in,
        bytes_out)
      SELECT ${t0} + CAST(i * ${step} AS INTEGER), 'org', CASE WHEN i % 10 = 0 THEN 'gw2'
        ELSE 'gw1' END, 'http', '2025-11-25', 'tools/call', 'tool' || (i % ${TOOLS}),
        'key' || (i % 5), 'api_key', 'k' || (i % 5), 's',
        CASE WHEN i % 17 = 0 THEN 'error' ELSE 'ok' END,
        CASE i % ${DURATIONS.length} ${DURATIONS.map((d, k) => `WHEN ${k} THEN ${d}`).join(" ")}
        END, 100, 200
      FROM n`);
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
    assert.equal((await store.db.get("SELECT COUNT(*) AS n FROM request_log"))?.n, ROWS);

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
    const counted = await store.db.all(
      `SELECT name, COUNT(*) AS calls, SUM(status <> 'ok') AS errors, MAX(at) AS last
       FROM request_log WHERE gateway_id = 'gw1' GROUP BY name ORDER BY name`,
    );
    assert.deepEqual(
      usage.tools.map((t) => [t.name, t.calls, t.errors, t.lastAt]),
      counted.map((r) => [r.name, r.calls, r.errors, r.last]),
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
