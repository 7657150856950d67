/**
 * The request log's segments, on a real SQLite file: what is written reads
 * back as it was, pages are newest first across segments whose times
 * overlap, retention trims without renumbering, and a database from before
 * segments keeps its rows.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { LoggedRequest } from "../../src/store/log_segments.ts";
import type { LogFilter } from "../../src/store/request_log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { openTestStore } from "../helpers/database.ts";

const T0 = Date.UTC(2026, 11, 1, 12);

function record(i: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    at: T0 + i * 10,
    orgId: "org-a",
    gatewayId: i % 3 === 0 ? "gw-2" : "gw-1",
    transport: (["http", "sse", "ws"] as const)[i % 3],
    protocolVersion: i % 4 === 0 ? null : "2025-11-25",
    method: i % 2 === 0 ? "tools/call" : "tools/list",
    name: i % 2 === 0 ? `tool-${i % 5}` : null,
    caller: i % 5 === 0
      ? { id: "jwt:iss:alice", method: "jwt", subject: "alice" }
      : { id: `key-${i % 2}`, method: "api_key", keyName: `k${i % 2}` },
    sessionId: i % 7 === 0 ? null : `s-${i % 3}`,
    status: i % 6 === 0 ? "tool_error" : "ok",
    errorCode: i % 11 === 0 ? -32602 : null,
    limit: null,
    durationMs: 1.25 + i,
    bytesIn: 100 + i,
    bytesOut: 200 + i,
    upstream: i % 2 === 0
      ? { status: 200, durationMs: 0.5, ...(i % 4 === 0 ? {} : { target: "api.example.com" }) }
      : null,
    ...(i % 8 === 0 ? { payload: { arguments: { q: `ü "${i}"` }, result: [1, null] } } : {}),
    ...over,
  };
}

/** Every record of `orgId` passing `filter`, read a page of `limit` at a time. */
async function readAll(
  store: Store,
  orgId: string,
  filter: LogFilter,
  limit: number,
): Promise<LoggedRequest[]> {
  const out: LoggedRequest[] = [];
  let after: readonly string[] | undefined;
  do {
    const page = await store.requestLog.page(orgId, filter, { limit, after });
    out.push(...page.items);
    after = page.next;
  } while (after);
  return out;
}

const withoutId = ({ id: _, ...r }: LoggedRequest) => r;

/** A store in the suite's database (SQLite, or PostgreSQL with GATEHOUSE_TEST_DATABASE). */
async function withStore(fn: (store: Store) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-segments-" });
  const store = await openTestStore(`${dir}/gatehouse.db`);
  try {
    await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A store in a SQLite file, for the tests that open the file themselves. */
async function withSqliteStore(fn: (store: Store, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-segments-" });
  const store = openStore(`${dir}/gatehouse.db`);
  try {
    await fn(store, `${dir}/gatehouse.db`);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("records read back as they were written, each org its own", () =>
  withStore(async (store) => {
    const a = Array.from({ length: 40 }, (_, i) => record(i));
    const b = Array.from({ length: 5 }, (_, i) => record(100 + i, { orgId: "org-b" }));
    await store.requestLog.insert([...a.slice(0, 20), ...b, ...a.slice(20)]);
    const newestFirst = [...a].reverse();
    assert.deepEqual((await readAll(store, "org-a", {}, 7)).map(withoutId), newestFirst);
    assert.deepEqual((await readAll(store, "org-b", {}, 50)).map(withoutId), [...b].reverse());
    assert.equal(await store.requestLog.count(), 45);
  }));

Deno.test("filters and pages stay newest first across segments whose times overlap", () =>
  withStore(async (store) => {
    // Each batch holds requests that arrived over the last second plus one long one that arrived
    // far earlier and ended now, as a slow tool call does.
    const all: RequestRecord[] = [];
    for (let b = 0; b < 6; b++) {
      const batch = Array.from({ length: 30 }, (_, i) => record(b * 100 + i));
      batch.push(record(b * 100 - 250, { name: "slow", method: "tools/call" }));
      await store.requestLog.insert(batch);
      all.push(...batch);
    }
    const ids = new Set<string>();
    const filters: LogFilter[] = [
      {},
      { gatewayId: "gw-1" },
      { name: "slow" },
      { caller: "k1" },
      { caller: "jwt:iss:alice" },
      { status: "tool_error", gatewayId: "gw-2" },
      { since: T0 + 1000, until: T0 + 4000 },
    ];
    for (const filter of filters) {
      for (const limit of [1, 4, 1000]) {
        const got = await readAll(store, "org-a", filter, limit);
        for (let i = 1; i < got.length; i++) {
          const [p, q] = [got[i - 1], got[i]];
          assert.ok(p.at > q.at || (p.at === q.at && Number(p.id) > Number(q.id)), "newest first");
        }
        const want = all.filter((r) =>
          (filter.gatewayId === undefined || r.gatewayId === filter.gatewayId) &&
          (filter.name === undefined || r.name === filter.name) &&
          (filter.caller === undefined || r.caller.id === filter.caller ||
            r.caller.keyName === filter.caller) &&
          (filter.status === undefined || r.status === filter.status) &&
          (filter.since === undefined || r.at >= filter.since) &&
          (filter.until === undefined || r.at < filter.until)
        );
        assert.equal(got.length, want.length, JSON.stringify(filter));
        assert.ok(want.length > 0, JSON.stringify(filter));
        if (Object.keys(filter).length === 0) { for (const r of got) ids.add(r.id); }
      }
    }
    assert.equal(ids.size, all.length, "ids are unique");
  }));

Deno.test("retention trims the oldest records without renumbering the rest", () =>
  withStore(async (store) => {
    await store.requestLog.insert(Array.from({ length: 10 }, (_, i) => record(i)));
    await store.requestLog.insert(Array.from({ length: 10 }, (_, i) => record(10 + i)));
    const before = await readAll(store, "org-a", {}, 100);
    assert.equal(await store.requestLog.deleteOldest(13), 13);
    const after = await readAll(store, "org-a", {}, 100);
    assert.deepEqual(after, before.slice(0, 7), "the 7 newest stay, with their ids");
    assert.equal(await store.requestLog.count(), 7);
    // Age: only a segment whose every record is older than the cutoff goes.
    await store.requestLog.insert([record(30), record(40)]);
    assert.equal(await store.requestLog.deleteOlder(T0 + 350, 1000), 7);
    assert.equal(await store.requestLog.count(), 2, "a segment with a newer record stays whole");
    assert.equal(await store.requestLog.deleteOlder(T0 + 350, 1000), 0);
    assert.equal(await store.requestLog.deleteOlder(T0 + 401, 1000), 2);
    assert.equal(await store.requestLog.count(), 0);
  }));

Deno.test("a database from before segments keeps its log rows", async () => {
  await withSqliteStore(async (store, path) => {
    await store.close();
    // Back to schema 12: its request_log table, two rows, and the version (no later tables).
    const raw = new DatabaseSync(path);
    raw.exec(
      `DROP TABLE mcp_session_messages; DROP TABLE mcp_sessions; DROP TABLE request_log_terms;
      DROP TABLE request_log_segments;
      CREATE TABLE request_log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
        org_id TEXT NOT NULL, gateway_id TEXT NOT NULL, transport TEXT NOT NULL,
        protocol_version TEXT, method TEXT NOT NULL, name TEXT, caller_id TEXT NOT NULL,
        caller_method TEXT NOT NULL, caller_key_name TEXT, caller_client_id TEXT,
        caller_subject TEXT, caller_address TEXT, session_id TEXT, status TEXT NOT NULL,
        error_code INTEGER, rate_limit TEXT, duration_ms REAL NOT NULL,
        bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, upstream_status INTEGER,
        upstream_ms REAL, upstream_target TEXT, payload TEXT);
      INSERT INTO request_log VALUES
        (1, ${T0}, 'org-a', 'gw-1', 'http', '2025-11-25', 'tools/call', 'echo', 'key-1',
         'api_key', 'k1', NULL, NULL, NULL, 's-1', 'ok', NULL, NULL, 2.5, 10, 20, 200, 1.5,
         'api.example.com', '{"arguments":{"x":1}}'),
        (2, ${T0 + 5}, 'org-a', 'gw-1', 'sse', NULL, 'ping', NULL, '203.0.113.9', 'none', NULL,
         NULL, NULL, '203.0.113.9', NULL, 'rate_limited', -32029, 'caller', 0.1, 5, 0, NULL,
         NULL, NULL, NULL);
      PRAGMA user_version = 12;`,
    );
    raw.close();
    const again = openStore(path);
    try {
      assert.deepEqual((await readAll(again, "org-a", {}, 10)).map(withoutId), [
        {
          at: T0 + 5,
          orgId: "org-a",
          gatewayId: "gw-1",
          transport: "sse",
          protocolVersion: null,
          method: "ping",
          name: null,
          caller: { id: "203.0.113.9", method: "none", address: "203.0.113.9" },
          sessionId: null,
          status: "rate_limited",
          errorCode: -32029,
          limit: "caller",
          durationMs: 0.1,
          bytesIn: 5,
          bytesOut: 0,
          upstream: null,
        },
        {
          at: T0,
          orgId: "org-a",
          gatewayId: "gw-1",
          transport: "http",
          protocolVersion: "2025-11-25",
          method: "tools/call",
          name: "echo",
          caller: { id: "key-1", method: "api_key", keyName: "k1" },
          sessionId: "s-1",
          status: "ok",
          errorCode: null,
          limit: null,
          durationMs: 2.5,
          bytesIn: 10,
          bytesOut: 20,
          upstream: { status: 200, durationMs: 1.5, target: "api.example.com" },
          payload: { arguments: { x: 1 } },
        },
      ]);
      assert.equal((await readAll(again, "org-a", { caller: "k1" }, 10)).length, 1);
      assert.equal((await readAll(again, "org-a", { status: "rate_limited" }, 10)).length, 1);
    } finally {
      await again.close();
    }
  });
});
