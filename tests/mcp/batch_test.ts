/**
 * JSON-RPC batches: required by 2025-03-26 (and assumed when a request names
 * no version), removed in 2025-06-18.
 */
import assert from "node:assert/strict";
import {
  createGateway,
  expectRpcError,
  initializeRequest,
  type Json,
  type McpGateway,
  type McpTestServer,
  openSession,
  req,
  rpc,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

async function setup(s: McpTestServer): Promise<McpGateway> {
  return await createGateway(s, { tools: STANDARD_TOOLS });
}

const MIXED = [
  req(1, "ping"),
  req("two", "tools/list"),
  { jsonrpc: "2.0", method: "notifications/whatever" },
  req(3, "tools/call", { name: "echo", arguments: { text: "b" } }),
  req(4, "no/such/method"),
];

function byId(responses: Json[]): Map<unknown, Json> {
  return new Map(responses.map((r) => [r.id, r]));
}

function checkMixed(a: { status: number; text: string; body: Json }): void {
  assert.equal(a.status, 200, a.text);
  assert.ok(Array.isArray(a.body), a.text);
  // One response per request; none for the notification.
  assert.equal(a.body.length, 4);
  const r = byId(a.body);
  assert.deepEqual(r.get(1), { jsonrpc: "2.0", id: 1, result: {} });
  assert.equal(r.get("two").result.tools.length, 4);
  assert.deepEqual(r.get(3).result.structuredContent, { echoed: { text: "b" } });
  assert.equal(r.get(4).error.code, -32601);
}

Deno.test("batch without a session or version header (2025-03-26 assumed) returns an array", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const a = await rpc(gw.url, MIXED, { key: gw.key });
    assert.match(a.headers.get("content-type") ?? "", /^application\/json/);
    checkMixed(a);
    // An explicit 2025-03-26 header is the same.
    checkMixed(await rpc(gw.url, MIXED, { key: gw.key, version: "2025-03-26" }));
    // Invalid members get their own error; the rest still run.
    const partly = await rpc(gw.url, [req(1, "ping"), { jsonrpc: "2.0", id: 2 }, 7], {
      key: gw.key,
    });
    assert.equal(partly.status, 200, partly.text);
    assert.deepEqual(partly.body[0], { jsonrpc: "2.0", id: 1, result: {} });
    assert.equal(partly.body[1].error.code, -32600);
    assert.equal(partly.body[1].id, 2);
    assert.equal(partly.body[2].error.code, -32600);
    assert.equal(partly.body[2].id, null);
  });
});

Deno.test("batch in a session initialized at 2025-03-26 returns an array", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const session = await openSession(gw.url, gw.key, "2025-03-26");
    assert.equal(session.version, "2025-03-26");
    checkMixed(await session.rpc(MIXED));
    // The batch's calls belong to the session: setLevel in a batch applies to it.
    const set = await session.rpc([req(1, "logging/setLevel", { level: "error" })]);
    assert.deepEqual(set.body, [{ jsonrpc: "2.0", id: 1, result: {} }]);
    const call = await session.rpc(req(2, "tools/call", { name: "chatty", arguments: {} }));
    assert.equal(call.status, 200, call.text);
    const logs = call.messages.filter((m: Json) => m.method === "notifications/message");
    assert.deepEqual(logs.map((m: Json) => m.params.level), ["error"]);
    assert.deepEqual(call.body, {
      jsonrpc: "2.0",
      id: 2,
      result: { content: [{ type: "text", text: "done" }] },
    });
  });
});

Deno.test("a batch of notifications only is answered 202 with no body", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const notes = [
      { jsonrpc: "2.0", method: "notifications/whatever" },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 99 } },
    ];
    const a = await rpc(gw.url, notes, { key: gw.key });
    assert.equal(a.status, 202, a.text);
    assert.equal(a.text, "");
    const session = await openSession(gw.url, gw.key, "2025-03-26");
    const b = await session.rpc(notes);
    assert.equal(b.status, 202, b.text);
    assert.equal(b.text, "");
    // Responses from the client count as nothing to answer as well.
    const c = await session.rpc([{ jsonrpc: "2.0", id: 5, result: {} }]);
    assert.equal(c.status, 202, c.text);
  });
});

Deno.test("batches are refused with 400/-32600 from 2025-06-18 on", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const version of ["2025-06-18", "2025-11-25"]) {
      const session = await openSession(gw.url, gw.key, version);
      assert.equal(session.version, version);
      expectRpcError(await session.rpc([req(1, "ping")]), 400, -32600, null);
      // Without a session, the header alone decides.
      expectRpcError(
        await rpc(gw.url, [req(1, "ping")], { key: gw.key, version }),
        400,
        -32600,
        null,
      );
    }
    assert.equal(s.executor.calls.length, 0);
  });
});

Deno.test("a batch holding initialize, and an empty batch, are 400", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const withInit = await rpc(gw.url, [initializeRequest("2025-03-26"), req(2, "ping")], {
      key: gw.key,
    });
    expectRpcError(withInit, 400, -32600, null);
    assert.equal(withInit.headers.get("mcp-session-id"), null);
    const alone = await rpc(gw.url, [initializeRequest("2025-03-26")], { key: gw.key });
    expectRpcError(alone, 400, -32600, null);
    assert.equal(alone.headers.get("mcp-session-id"), null);
    expectRpcError(await rpc(gw.url, [], { key: gw.key }), 400, -32600, null);
    const session = await openSession(gw.url, gw.key, "2025-03-26");
    expectRpcError(await session.rpc([]), 400, -32600, null);
    expectRpcError(
      await session.rpc([req(1, "ping"), initializeRequest("2025-03-26", 2)]),
      400,
      -32600,
      null,
    );
  });
});

Deno.test("a batch over the size limit is 400", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const ok = await rpc(gw.url, Array.from({ length: 100 }, (_, i) => req(i, "ping")), {
      key: gw.key,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 100);
    const tooMany = Array.from({ length: 101 }, (_, i) => req(i, "ping"));
    expectRpcError(await rpc(gw.url, tooMany, { key: gw.key }), 400, -32600, null);
  });
});
