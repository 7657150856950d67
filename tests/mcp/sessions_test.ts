/**
 * Streamable HTTP sessions: expiry and re-initialization, DELETE, the GET
 * stream, the per-gateway cap and many concurrent sessions.
 */
import assert from "node:assert/strict";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  apiIn,
  connectClient,
  createGateway,
  expectRpcError,
  fetchWithoutGetStream,
  initializeRequest,
  type Json,
  ok,
  openSession,
  req,
  rpc,
  send,
  sleep,
  sseMessages,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

Deno.test("an idle session expires: its next request gets 404 and a new client re-initializes", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    // This client holds no GET stream open, so nothing keeps its session alive.
    const first = await connectClient(gw.url, gw.key, { fetch: fetchWithoutGetStream });
    try {
      const oldId = first.transport.sessionId!;
      assert.equal((await first.client.listTools()).tools.length, 4);
      await sleep(600);
      const err = await first.client.listTools().then(
        () => assert.fail("the expired session answered"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StreamableHTTPError, String(err));
      assert.equal(err.code, 404);
      // The same id stays unknown for raw requests too.
      expectRpcError(
        await rpc(gw.url, req(9, "tools/list"), { key: gw.key, session: oldId }),
        404,
        -32001,
      );
      const second = await connectClient(gw.url, gw.key, { fetch: fetchWithoutGetStream });
      try {
        assert.notEqual(second.transport.sessionId, oldId);
        assert.equal((await second.client.listTools()).tools.length, 4);
      } finally {
        await second.client.close();
      }
    } finally {
      await first.client.close();
    }
  }, { sessionIdleMs: 300 });
});

Deno.test("a session in use does not expire while requests keep coming", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const session = await openSession(gw.url, gw.key);
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      assert.equal((await session.rpc(req(i, "ping"))).status, 200);
    }
  }, { sessionIdleMs: 300 });
});

Deno.test("DELETE ends a session: later requests and a second DELETE get 404", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client, transport } = await connectClient(gw.url, gw.key);
    const id = transport.sessionId!;
    try {
      await transport.terminateSession();
      assert.equal(transport.sessionId, undefined);
    } finally {
      await client.close();
    }
    const headers = { authorization: `Bearer ${gw.key}`, "mcp-session-id": id };
    expectRpcError(
      await rpc(gw.url, req(1, "tools/list"), { key: gw.key, session: id, version: "2025-11-25" }),
      404,
      -32001,
    );
    assert.equal((await send(gw.url, "DELETE", headers)).status, 404);
    const get = await send(gw.url, "GET", { ...headers, accept: "text/event-stream" });
    assert.equal(get.status, 404);

    // A raw DELETE answers 200 with no body and ends that session too.
    const raw = await openSession(gw.url, gw.key);
    const del = await send(gw.url, "DELETE", {
      authorization: `Bearer ${gw.key}`,
      "mcp-session-id": raw.id,
    });
    assert.equal(del.status, 200);
    assert.equal(del.text, "");
    assert.equal((await raw.rpc(req(1, "ping"))).status, 404);
  });
});

Deno.test("a session belongs to its key: another key of the same gateway gets 404", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const other = ok(
      await apiIn(s, "default")("POST", `/gateways/${gw.id}/keys`, { name: "other" }),
      201,
    ).key;
    const session = await openSession(gw.url, gw.key);
    expectRpcError(
      await rpc(gw.url, req(1, "ping"), {
        key: other,
        session: session.id,
        version: session.version,
      }),
      404,
      -32001,
    );
    assert.equal((await session.rpc(req(2, "ping"))).status, 200);
  });
});

/** Reads SSE messages from a GET stream as they arrive. */
function streamReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    /** The next event block (including comment-only and priming blocks). */
    async nextBlock(): Promise<string> {
      while (!buffer.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += value;
      }
      const at = buffer.indexOf("\n\n");
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      return block;
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("the GET stream carries tools/list_changed with event ids and resumes after Last-Event-ID", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const api = apiIn(s, "default");
    const session = await openSession(gw.url, gw.key);
    const headers = {
      authorization: `Bearer ${gw.key}`,
      "mcp-session-id": session.id,
      "mcp-protocol-version": session.version,
      accept: "text/event-stream",
    };
    const res = await fetch(gw.url, { headers });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const stream = streamReader(res);
    try {
      // 2025-11-25: a priming event with an id and empty data comes first.
      const priming = await stream.nextBlock();
      assert.match(priming, /^id: \S+\ndata: $/m);
      const wait = gw.toolIds.wait;
      assert.equal((await api("DELETE", `/gateways/${gw.id}/tools/${wait}`)).status, 204);
      const first = await stream.nextBlock();
      ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: wait }), 201);
      const second = await stream.nextBlock();
      for (const block of [first, second]) {
        assert.match(block, /^event: message$/m);
        assert.deepEqual(sseMessages(block), [
          { jsonrpc: "2.0", method: "notifications/tools/list_changed" },
        ]);
      }
      const idOf = (block: string) => /^id: (.+)$/m.exec(block)![1];
      assert.notEqual(idOf(first), idOf(second));

      // A reconnect with Last-Event-ID replays what came after that event.
      await stream.cancel();
      const again = await fetch(gw.url, { headers: { ...headers, "last-event-id": idOf(first) } });
      assert.equal(again.status, 200);
      const resumed = streamReader(again);
      try {
        const replayed = await resumed.nextBlock();
        assert.equal(idOf(replayed), idOf(second));
      } finally {
        await resumed.cancel();
      }
    } finally {
      await stream.cancel().catch(() => {});
    }
  });
});

Deno.test("200 concurrent sessions on one gateway all initialize and list tools", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const session = await openSession(gw.url, gw.key);
        const list = await session.rpc(req(i, "tools/list"));
        assert.equal(list.status, 200, list.text);
        assert.equal(list.body.id, i);
        assert.deepEqual(
          list.body.result.tools.map((t: Json) => t.name),
          ["boom", "chatty", "echo", "wait"],
        );
        return session.id;
      }),
    );
    assert.equal(new Set(results).size, 200);
  });
});

Deno.test("200 concurrent SDK clients on one gateway all connect and call a tool", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const clients = await Promise.all(
      Array.from({ length: 200 }, () => connectClient(gw.url, gw.key)),
    );
    try {
      const texts = await Promise.all(
        clients.map(async ({ client }, i) => {
          const r = await client.callTool({ name: "echo", arguments: { text: `c${i}` } });
          return r.structuredContent.echoed.text;
        }),
      );
      assert.deepEqual(texts, clients.map((_, i) => `c${i}`));
      assert.equal(new Set(clients.map((c) => c.transport.sessionId)).size, 200);
    } finally {
      await Promise.all(clients.map(({ client }) => client.close()));
    }
  });
});

Deno.test("the session cap evicts the oldest idle session first; a newer one keeps working", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const a = await openSession(gw.url, gw.key);
    await sleep(5);
    const b = await openSession(gw.url, gw.key);
    await sleep(5);
    const c = await openSession(gw.url, gw.key);
    await sleep(5);
    // Touch `a` so that `b` is now the least recently used.
    assert.equal((await a.rpc(req(1, "ping"))).status, 200);
    await sleep(5);
    const d = await openSession(gw.url, gw.key);
    expectRpcError(await b.rpc(req(2, "ping")), 404, -32001);
    for (const live of [a, c, d]) assert.equal((await live.rpc(req(3, "ping"))).status, 200);

    // A session with a call in flight is not idle: c is the least recently used
    // session once a and d are touched, but it is busy, so a goes instead.
    const running = c.rpc(req(4, "tools/call", { name: "wait", arguments: {} }), {
      accept: "application/json",
    });
    await s.executor.until(() => s.executor.calls.length === 1);
    await sleep(5);
    assert.equal((await a.rpc(req(5, "ping"))).status, 200);
    await sleep(5);
    assert.equal((await d.rpc(req(5, "ping"))).status, 200);
    await sleep(5);
    const e = await openSession(gw.url, gw.key);
    expectRpcError(await a.rpc(req(6, "ping")), 404, -32001);
    for (const live of [c, d, e]) assert.equal((await live.rpc(req(7, "ping"))).status, 200);

    // Ending c's session aborts its running call.
    const del = await send(gw.url, "DELETE", {
      authorization: `Bearer ${gw.key}`,
      "mcp-session-id": c.id,
    });
    assert.equal(del.status, 200);
    await s.executor.until(() => s.executor.aborts.length === 1);
    const answer = await running;
    assert.equal(answer.status, 202, answer.text);
  }, { maxSessionsPerGateway: 3 });
});

Deno.test("when every session is busy the cap refuses a new one with 429", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const a = await openSession(gw.url, gw.key);
    const running = a.rpc(req(1, "tools/call", { name: "wait", arguments: {} }), {
      accept: "application/json",
    });
    await s.executor.until(() => s.executor.calls.length === 1);
    const init = await rpc(gw.url, initializeRequest(), { key: gw.key });
    assert.equal(init.status, 429, init.text);
    assert.equal(init.headers.get("mcp-session-id"), null);
    assert.ok(init.headers.get("retry-after"));
    await rpc(gw.url, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 1 },
    }, {
      key: gw.key,
      session: a.id,
      version: a.version,
    });
    assert.equal((await running).status, 202);
  }, { maxSessionsPerGateway: 1 });
});
