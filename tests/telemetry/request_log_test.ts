/**
 * The request log on a real server with a real SQLite file: requests over
 * every transport appear in `GET /logs` with what they were (caller key
 * name, status, error code, tool name, sizes), HTTP tools with their
 * upstream's status; filters, newest-first cursor paging, CSV and NDJSON
 * exports; payloads only for gateways that opt in, redacted; retention by
 * age and by row count; and usage statistics that agree with the rows.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CSV_COLUMNS, csvCell } from "../../src/api/logs.ts";
import { createGateway, type Json, ok } from "../helpers/mcp.ts";
import type { TestServer } from "../helpers/server.ts";
import { connectSdk, KINDS, startFixture } from "../transports/fixtures.ts";
import { memberWithKey } from "../api/fixtures.ts";

/** Every row of `GET /logs?<query>`, following the cursor. */
async function allLogs(s: TestServer, query: string, key = s.adminKey): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const q = cursor ? `${query}&cursor=${encodeURIComponent(cursor)}` : query;
    const page = ok(await s.api("GET", `/logs?${q}`, undefined, key));
    out.push(...page.logs);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"', i++);
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") (row.push(cell), cell = "");
    else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      (row = [], cell = "", i++);
    } else cell += ch;
  }
  return rows;
}

async function text(
  s: TestServer,
  path: string,
): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`${s.url}${path}`, {
    headers: { authorization: `Bearer ${s.adminKey}` },
  });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: await res.text(),
  };
}

Deno.test("requests over every transport are in /logs with caller, status, code, name and sizes", async () => {
  const f = await startFixture();
  try {
    const keys = ok(await f.s.api("GET", `/gateways/${f.gw.id}/keys`)).keys as Json[];
    const keyId = keys.find((k) => k.name === "k").id;
    for (const kind of KINDS) {
      const { client, close } = await connectSdk(kind, f.gw);
      await client.listTools();
      await client.callTool({ name: "echo", arguments: { said: kind } });
      await client.callTool({ name: "big", arguments: { bytes: "many" } });
      await client.callTool({ name: "boom", arguments: {} }).catch(() => {});
      await client.callTool({ name: "nope", arguments: {} }).catch(() => {});
      await close();
    }
    // A request without a credential: refused before the core, denied.
    const refused = await fetch(f.gw.httpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();

    const logs = await allLogs(f.s, `gatewayId=${f.gw.id}&limit=7`);
    for (const kind of KINDS) {
      const mine = logs.filter((l) => l.transport === kind && l.status !== "denied").reverse();
      assert.deepEqual(
        mine.map((l) => [l.method, l.name, l.status, l.errorCode].filter((x) => x).join(" ")),
        [
          "initialize ok",
          "tools/list ok",
          "tools/call echo ok",
          "tools/call big tool_error",
          "tools/call boom error -32603",
          "tools/call nope error -32602",
        ],
        kind,
      );
      for (const l of mine) {
        assert.deepEqual(l.caller, {
          id: keyId,
          method: "api_key",
          keyName: "k",
          clientId: null,
          subject: null,
          address: null,
        });
        assert.equal(l.gatewayId, f.gw.id);
        assert.ok(l.bytesIn > 20 && l.bytesOut > 20, JSON.stringify(l));
        assert.ok(l.durationMs >= 0 && !Number.isNaN(Date.parse(l.at)));
        assert.equal(l.payload, null, "no payload unless the gateway opts in");
        assert.equal(l.upstream, null);
      }
      assert.ok(mine.slice(1).every((l) => l.sessionId && l.protocolVersion));
    }
    const denied = logs.filter((l) => l.status === "denied");
    assert.equal(denied.length, 1);
    assert.deepEqual(
      [denied[0].method, denied[0].transport, denied[0].errorCode, denied[0].caller.id],
      ["", "http", -32600, ""],
    );
    assert.ok(denied[0].bytesOut > 50);
    // Newest first by arrival; each row once across the pages.
    const times = logs.map((l) => Date.parse(l.at));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.equal(new Set(logs.map((l) => l.id)).size, logs.length);
    assert.equal(logs.length, 3 * 6 + 1);

    // Statistics agree with the rows.
    const stats = ok(await f.s.api("GET", `/gateways/${f.gw.id}/stats`));
    assert.equal(stats.calls, logs.length);
    assert.equal(stats.errors, logs.filter((l) => l.status !== "ok").length);
    assert.equal(stats.lastCalledAt, logs[0].at);
    const calls = logs.filter((l) => l.method === "tools/call");
    const byTool = Object.fromEntries(stats.tools.map((t: Json) => [t.name, t]));
    assert.deepEqual(Object.keys(byTool).sort(), ["big", "boom", "echo", "nope"]);
    for (const [name, t] of Object.entries(byTool) as [string, Json][]) {
      const rows = calls.filter((l) => l.name === name);
      assert.equal(t.calls, rows.length, name);
      assert.equal(t.errors, rows.filter((l) => l.status !== "ok").length, name);
      assert.equal(t.errorRate, t.errors / t.calls);
      assert.equal(t.lastCalledAt, rows[0].at);
      const slowest = Math.max(...rows.map((l) => l.durationMs));
      assert.ok(t.p50Ms !== null && t.p95Ms >= t.p50Ms && t.p95Ms <= slowest * 1.5 + 0.25, name);
    }
    assert.equal(byTool.echo.errors, 0);
    assert.equal(byTool.boom.errorRate, 1);
  } finally {
    await f.close();
  }
});

Deno.test("filters, cursor paging and CSV and NDJSON exports of /logs", async () => {
  const f = await startFixture();
  try {
    const tools = ok(await f.s.api("GET", "/tools")).tools as Json[];
    const echoTool = tools.find((t) => t.name === "echo");
    const other = await createGateway(f.s, { tools: [{ id: echoTool.id, name: "echo" }] });
    const { client, close } = await connectSdk("http", f.gw);
    for (let i = 0; i < 5; i++) {
      await client.callTool({ name: "echo", arguments: { i } });
      // Records carry millisecond times: two calls within one ms would make the range below empty.
      await new Promise((r) => setTimeout(r, 3));
    }
    await client.callTool({ name: "boom", arguments: {} }).catch(() => {});
    await close();
    const c2 = new Client({ name: "other", version: "1" });
    await c2.connect(
      new StreamableHTTPClientTransport(new URL(other.url), {
        requestInit: { headers: { authorization: `Bearer ${other.key}` } },
      }),
    );
    await c2.callTool({ name: "echo", arguments: {} });
    await c2.close();

    const mine = await allLogs(f.s, `gatewayId=${f.gw.id}`);
    const echoes = await allLogs(f.s, `gatewayId=${f.gw.id}&tool=echo&limit=2`);
    assert.equal(echoes.length, 5);
    assert.equal((await allLogs(f.s, "tool=echo")).length, 6);
    assert.ok(echoes.every((l) => l.name === "echo" && l.gatewayId === f.gw.id));
    const errors = await allLogs(f.s, "status=error");
    assert.deepEqual(errors.map((l) => l.name), ["boom"]);
    const byKeyName = await allLogs(f.s, "caller=k");
    assert.deepEqual(new Set(byKeyName.map((l) => l.gatewayId)), new Set([f.gw.id]));
    assert.equal(byKeyName.length, mine.length);
    const byKeyId = await allLogs(f.s, `caller=${other.keyId}`);
    assert.ok(byKeyId.length >= 2 && byKeyId.every((l) => l.gatewayId === other.id));
    // A time range: from the third echo (inclusive) to the fifth (exclusive).
    const [e5, e4, e3] = echoes.map((l) => l.at);
    const ranged = await allLogs(f.s, `tool=echo&since=${e3}&until=${e5}`);
    assert.ok(ranged.length >= 2 && ranged.every((l) => l.at >= e3 && l.at < e5), String(e4));

    // Bad input is a 400 naming the parameter.
    for (
      const [query, field] of [
        ["status=broken", "status"],
        ["since=yesterday", "since"],
        ["since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"],
        ["format=xml", "format"],
        ["limit=0", "limit"],
        ["tool=", "tool"],
        ["cursor=garbage", "cursor"],
        ["gateway=x", "gateway"],
        ["format=csv&limit=5", "limit"],
      ]
    ) {
      const res = await f.s.api("GET", `/logs?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error?.field, field, query);
    }
    // A cursor is bound to its filters.
    const first = ok(await f.s.api("GET", `/logs?tool=echo&limit=1`));
    const moved = await f.s.api("GET", `/logs?tool=boom&cursor=${first.nextCursor}`);
    assert.equal(moved.status, 400);

    // CSV: a header, one row per log row in the same order, formulas neutralised.
    const csv = await text(f.s, "/logs?format=csv");
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    const all = await allLogs(f.s, "limit=1000");
    const rows = parseCsv(csv.body);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.deepEqual(rows.slice(1).map((r) => r[0]), all.map((l) => l.id));
    const col = (name: string) => CSV_COLUMNS.indexOf(name as typeof CSV_COLUMNS[number]);
    const boom = rows.find((r) => r[col("name")] === "boom")!;
    assert.equal(boom[col("errorCode")], "-32603", "numbers are not neutralised");
    assert.equal(boom[col("callerKeyName")], "k");
    assert.equal(csvCell("=1+2"), "'=1+2");
    assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
    assert.equal(csvCell('-2,"x"'), `"'-2,""x"""`);
    assert.equal(csvCell(-5), "-5");
    // NDJSON: one JSON object a line, as in the JSON pages.
    const nd = await text(f.s, `/logs?format=ndjson&gatewayId=${f.gw.id}`);
    assert.equal(nd.status, 200);
    const lines = nd.body.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, mine);
    // An export of nothing is just the header.
    const none = await text(f.s, "/logs?format=csv&since=2999-01-01T00:00:00Z");
    assert.equal(none.body, CSV_COLUMNS.join(",") + "\r\n");
  } finally {
    await f.close();
  }
});

Deno.test("/logs is for owners and admins, scoped to the org; stats are for every role", async () => {
  const f = await startFixture();
  try {
    const { client, close } = await connectSdk("http", f.gw);
    await client.callTool({ name: "echo", arguments: {} });
    await close();
    const people: Record<string, string> = {};
    for (const role of ["admin", "member", "viewer"] as const) {
      people[role] = (await memberWithKey(f.s, role)).key;
    }
    assert.equal((await f.s.api("GET", "/logs", undefined, people.admin)).status, 200);
    for (const role of ["member", "viewer"]) {
      const res = await f.s.api("GET", "/logs", undefined, people[role]);
      assert.equal(res.status, 403, role);
      assert.equal(
        (await f.s.api("GET", `/gateways/${f.gw.id}/stats`, undefined, people[role])).status,
        200,
      );
    }
    // Another org sees none of this org's rows and none of its gateways' stats.
    const acme = ok(await f.s.api("POST", "/orgs", { name: "Acme", slug: "acme" }), 201);
    const acmeKey = acme.accessKey.key;
    const theirs = ok(await f.s.api("GET", "/logs", undefined, acmeKey));
    assert.deepEqual(theirs.logs, []);
    const filtered = ok(await f.s.api("GET", `/logs?gatewayId=${f.gw.id}`, undefined, acmeKey));
    assert.deepEqual(filtered.logs, []);
    const stats = await f.s.api("GET", `/gateways/${f.gw.id}/stats`, undefined, acmeKey);
    assert.equal(stats.status, 404);
    const missing = await f.s.api("GET", `/gateways/${crypto.randomUUID()}/stats`);
    assert.equal(missing.status, 404);
    for (
      const [query, field] of [["since=soon", "since"], ["until=x", "until"], [
        "since=2999-01-01",
        "since",
      ]]
    ) {
      const res = await f.s.api("GET", `/gateways/${f.gw.id}/stats?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error?.field, field);
    }
    const recent = ok(
      await f.s.api(
        "GET",
        `/gateways/${f.gw.id}/stats?since=${new Date(Date.now() - 600_000).toISOString()}`,
      ),
    );
    assert.equal(recent.tools.find((t: Json) => t.name === "echo")?.calls, 1);
  } finally {
    await f.close();
  }
});
