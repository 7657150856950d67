/**
 * The request log's rows for real HTTP tools calling a local upstream: the
 * upstream's status, time and host; payloads absent by default and, with
 * `configuration.logPayloads`, present with credentials redacted and the
 * tool's vault secret nowhere in any form of `GET /logs`. A call to an
 * upstream MCP server logs the server's name and time. Retention by age and
 * by row count, in the background writer's chunks.
 */
import assert from "node:assert/strict";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { type Json, ok } from "../helpers/mcp.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { addSecret, httpTool, toolGateway } from "../secrets/fixtures.ts";
import { startUpstream } from "../tools/upstream.ts";
import { setupGateway } from "../transports/fixtures.ts";
import { addServer, api, stateless } from "../upstream/gateway_fixtures.ts";
import { modernUpstream } from "../upstream/modern_upstream.ts";

async function logText(s: TestServer, query: string): Promise<string> {
  const res = await fetch(`${s.url}/logs?${query}`, {
    headers: { authorization: `Bearer ${s.adminKey}` },
  });
  assert.equal(res.status, 200);
  return await res.text();
}

Deno.test("HTTP tools log their upstream's status; payloads only with logPayloads, redacted", async () => {
  const secret = `canary-${crypto.randomUUID()}`;
  const up = startUpstream({
    // Echoes what it was sent, the secret header among it.
    "/echo": (req) => Response.json({ headers: Object.fromEntries(req.headers), ok: true }),
    "/down": () => new Response("down for maintenance", { status: 503 }),
  });
  const s = await startTestServer();
  try {
    await addSecret(s, { name: "UPSTREAM_TOKEN", type: "api_key", value: secret });
    const gw = await toolGateway(s, [
      httpTool("echo_up", `${up.url}/echo`, {
        headers: { "x-token": "{{secrets.UPSTREAM_TOKEN}}" },
      }, { q: { type: "string" }, password: { type: "string" } }),
      httpTool("down", `${up.url}/down`),
    ]);
    const gatewayId = (ok(await s.api("GET", "/gateways")).gateways as Json[])[0].id;
    await gw.call("echo_up", { q: "first" });
    await gw.call("down");
    const [downRow, upRow] = ok(await s.api("GET", `/logs?gatewayId=${gatewayId}`))
      .logs.filter((l: Json) => l.method === "tools/call");
    const host = new URL(up.url).host;
    assert.equal(upRow.status, "ok");
    assert.equal(upRow.upstream.status, 200);
    assert.equal(upRow.upstream.target, host);
    assert.ok(upRow.upstream.durationMs > 0 && upRow.upstream.durationMs <= upRow.durationMs);
    assert.equal(downRow.status, "tool_error");
    assert.equal(downRow.upstream.status, 503);
    assert.equal(upRow.payload, null, "no payload unless the gateway opts in");

    // Opting in needs a real boolean.
    const bad = await s.api("PATCH", `/gateways/${gatewayId}`, {
      configuration: { logPayloads: "yes" },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.field, "configuration.logPayloads");
    ok(await s.api("PATCH", `/gateways/${gatewayId}`, { configuration: { logPayloads: true } }));
    await gw.call("echo_up", { q: "second", password: "hunter2-canary" });
    const logs = ok(await s.api("GET", `/logs?gatewayId=${gatewayId}&tool=echo_up`)).logs;
    const logged = logs[0];
    assert.deepEqual(logged.payload.arguments, { q: "second", password: "[REDACTED]" });
    const result = JSON.stringify(logged.payload.result);
    assert.ok(result.includes("x-token"), result);
    // The secret value and the password appear in no form of the log.
    for (const format of ["json", "csv", "ndjson"]) {
      const body = await logText(s, `format=${format}`);
      assert.ok(!body.includes(secret), `${format} holds the secret`);
      assert.ok(!body.includes("hunter2-canary"), `${format} holds the password`);
    }
    // A result too large to keep whole is kept as its size.
    await gw.call("echo_up", { q: "x".repeat(10_000) });
    const large = ok(await s.api("GET", `/logs?gatewayId=${gatewayId}&tool=echo_up&limit=1`));
    assert.match(large.logs[0].payload.arguments, /^\[omitted: \d+ characters\]$/);
  } finally {
    await s.close();
    await up.close();
  }
});

Deno.test("a call to an upstream MCP server logs the server's name and time, with no HTTP status", async () => {
  const up = await modernUpstream();
  const s = await startTestServer();
  try {
    const gw = await setupGateway(s, "/fed");
    const server = await addServer(s, {
      name: "modern",
      transport: "streamable-http",
      url: up.url,
    });
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "up" }, 201);
    const answer = await stateless(gw, "tools/call", {
      name: "up_echo",
      arguments: { text: "hi" },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const [row] = ok(await s.api("GET", `/logs?gatewayId=${gw.id}&tool=up_echo`)).logs;
    assert.equal(row.status, "ok");
    assert.equal(row.protocolVersion, "2026-07-28");
    assert.equal(row.upstream.status, null);
    assert.equal(row.upstream.target, "modern");
    assert.ok(row.upstream.durationMs > 0 && row.upstream.durationMs <= row.durationMs);
  } finally {
    await s.close();
    await up.close();
  }
});

/** A record of gateway `gatewayId` that arrived at `at`. */
function record(gatewayId: string, at: number): RequestRecord {
  return {
    at,
    orgId: "org",
    gatewayId,
    transport: "http",
    protocolVersion: "2025-11-25",
    method: "tools/call",
    name: "t",
    caller: { id: "k", method: "api_key", keyName: "key" },
    sessionId: null,
    status: "ok",
    errorCode: null,
    limit: null,
    durationMs: 1,
    bytesIn: 10,
    bytesOut: 10,
    upstream: null,
  };
}

Deno.test("retention deletes rows past the age limit, then the oldest past the row cap", async () => {
  const s = await startTestServer({
    requestLog: { enabled: true, retentionDays: 30, maxRows: 1000 },
  });
  try {
    const log = s.store.requestLog;
    const writer = s.requestLog!;
    const now = Date.now();
    const day = 86_400_000;
    // 2,500 rows 40 days old, then 1,500 recent ones (oldest first, as the writer writes).
    const old = Array.from({ length: 2500 }, (_, i) => record("gw-old", now - 40 * day + i));
    const recent = Array.from({ length: 1500 }, (_, i) => record("gw-new", now - 1000 + i));
    await log.insert(old);
    await log.insert(recent);
    assert.equal(await log.count(), 4000);
    const since = now - 60 * day;
    assert.equal((await log.usage("gw-old", since, now)).total.calls, 2500);
    await writer.retain();
    // Age first (every old row, in chunks), then the 500 oldest recent rows over the cap.
    assert.equal(await log.count(), 1000);
    const kept = (await log.page("org", {}, { limit: 1000 })).items;
    assert.ok(kept.every((r) => r.gatewayId === "gw-new"));
    assert.equal(kept.at(-1)!.at, now - 1000 + 500);
    // The old rows' rollup went with them (past a day's margin); recent statistics stay.
    assert.equal((await log.usage("gw-old", since, now)).total.calls, 0);
    assert.equal((await log.usage("gw-new", since, now)).total.calls, 1500);
    // Writes after a retention run keep the count it works from.
    const more = Array.from({ length: 300 }, (_, i) => record("gw-new", now + i));
    for (const r of more) writer.add(r);
    assert.equal(writer.buffered, 300);
    assert.ok(await writer.flush());
    await writer.retain();
    assert.equal(await log.count(), 1000);
  } finally {
    await s.close();
  }
});
