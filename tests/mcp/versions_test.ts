/**
 * Protocol version negotiation in `initialize`, and the shape of the answer
 * across Accept headers.
 */
import assert from "node:assert/strict";
import {
  createGateway,
  expectRpcError,
  initializeRequest,
  openSession,
  req,
  rpc,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

Deno.test("initialize echoes every supported version and answers others with 2025-11-25", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const cases: [string, string][] = [
      ["2024-11-05", "2024-11-05"],
      ["2025-03-26", "2025-03-26"],
      ["2025-06-18", "2025-06-18"],
      ["2025-11-25", "2025-11-25"],
      ["2024-10-07", "2025-11-25"],
      ["1999-01-01", "2025-11-25"],
      ["not-a-version", "2025-11-25"],
      // The stateless era has no initialize: asking for it this way gets the latest session era.
      ["2026-07-28", "2025-11-25"],
    ];
    for (const [requested, answered] of cases) {
      const a = await rpc(gw.url, initializeRequest(requested, requested), { key: gw.key });
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.id, requested);
      assert.equal(a.body.result.protocolVersion, answered, requested);
      assert.deepEqual(a.body.result.capabilities, { tools: { listChanged: true }, logging: {} });
      assert.equal(a.body.result.serverInfo.name, "gatehouse");
      assert.equal(typeof a.body.result.serverInfo.version, "string");
      assert.ok(a.headers.get("mcp-session-id"));
    }
    expectRpcError(
      await rpc(gw.url, {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: 20250618, capabilities: {} },
      }, { key: gw.key }),
      200,
      -32602,
      1,
    );
  });
});

Deno.test("sessions opened at every version serve requests (with the version header from 2025-06-18 on)", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    for (const version of ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]) {
      const session = await openSession(gw.url, gw.key, version);
      assert.equal(session.version, version);
      const list = await session.rpc(req(1, "tools/list"));
      assert.equal(list.status, 200, list.text);
      assert.equal(list.body.result.tools.length, 4);
    }
  });
});

Deno.test("initialize answers JSON or SSE as the client accepts; both carry the session id", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    for (const accept of ["application/json", "text/event-stream", "*/*", null]) {
      const a = await rpc(gw.url, initializeRequest(), { key: gw.key, accept });
      assert.equal(a.status, 200, `${accept}: ${a.text}`);
      const type = a.headers.get("content-type") ?? "";
      if (accept === "text/event-stream") {
        assert.match(type, /^text\/event-stream/);
        assert.equal(a.messages.length, 1);
      } else {
        assert.match(type, /^application\/json/);
      }
      assert.equal(a.body.result.protocolVersion, "2025-11-25");
      const id = a.headers.get("mcp-session-id");
      assert.ok(id, `${accept}: no session id`);
      const ping = await rpc(gw.url, req(2, "ping"), {
        key: gw.key,
        session: id,
        version: "2025-11-25",
        accept,
      });
      assert.equal(ping.status, 200, ping.text);
      assert.deepEqual(ping.body, { jsonrpc: "2.0", id: 2, result: {} });
    }
  });
});
