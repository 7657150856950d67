/**
 * Every MCP request makes one record, on every transport: its method and
 * tool name, how it ended, the caller's credential, the transport, sizes and
 * timing. Notifications and a client's answers make none.
 */
import assert from "node:assert/strict";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { connectSdk, KINDS, startFixture } from "../transports/fixtures.ts";

for (const kind of KINDS) {
  Deno.test(`each request over ${kind} makes one record with what it was and how it ended`, async () => {
    const f = await startFixture();
    const records: RequestRecord[] = [];
    f.s.telemetry.addSink({ add: (r) => records.push(r) });
    try {
      const { client, close } = await connectSdk(kind, f.gw);
      const since = Date.now();
      await client.listTools();
      await client.callTool({ name: "echo", arguments: { said: "hi" } });
      await client.callTool({ name: "big", arguments: { bytes: 5000 } });
      // Arguments its schema refuses: a result the model reads, marked isError.
      await client.callTool({ name: "big", arguments: { bytes: "many" } });
      await client.callTool({ name: "boom", arguments: {} }).catch(() => {});
      await client.callTool({ name: "nope", arguments: {} }).catch(() => {});
      await close();
      // initialize and the six requests; notifications/initialized makes none.
      const methods = records.map((r) => `${r.method} ${r.name ?? ""}`.trim());
      assert.deepEqual(methods, [
        "initialize",
        "tools/list",
        "tools/call echo",
        "tools/call big",
        "tools/call big",
        "tools/call boom",
        "tools/call nope",
      ]);
      assert.deepEqual(records.map((r) => r.status), [
        "ok",
        "ok",
        "ok",
        "ok",
        "tool_error",
        "error",
        "error",
      ]);
      assert.deepEqual(records.map((r) => r.errorCode), [
        null,
        null,
        null,
        null,
        null,
        -32603,
        -32602,
      ]);
      const calls = records.slice(1);
      for (const r of calls) {
        assert.equal(r.transport, kind);
        assert.equal(r.gatewayId, f.gw.id);
        assert.equal(r.caller.method, "api_key");
        assert.ok(r.sessionId, "a session's request names it");
        assert.equal(r.protocolVersion, records[0].protocolVersion);
        assert.ok(r.at >= since - 1000 && r.durationMs >= 0, JSON.stringify(r));
        assert.ok(r.bytesIn > 20, `bytes in: ${r.bytesIn}`);
      }
      // The 5,000 characters of the big result are in its size.
      const big = records[3];
      assert.ok(big.bytesOut > 5000 && big.bytesOut < 5300, `bytes out: ${big.bytesOut}`);
    } finally {
      await f.close();
    }
  });
}

Deno.test("a request sent without Content-Length (chunked) records the bytes it carried", async () => {
  const f = await startFixture();
  const records: RequestRecord[] = [];
  f.s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const res = await fetch(f.gw.httpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${f.gw.key}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      // A stream of unknown length goes chunked: the request declares no length.
      body: ReadableStream.from([new TextEncoder().encode(body)]),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(records.map((r) => [r.method, r.bytesIn]), [["tools/list", body.length]]);
  } finally {
    await f.close();
  }
});
