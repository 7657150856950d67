/**
 * Malformed input to the Streamable HTTP endpoint: each gets its exact HTTP
 * status and, where JSON-RPC applies, its exact error code.
 */
import assert from "node:assert/strict";
import {
  createGateway,
  expectRpcError,
  initializeRequest,
  issueKey,
  type McpGateway,
  type McpTestServer,
  openSession,
  req,
  rpc,
  type RpcAnswer,
  send,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

async function setup(s: McpTestServer): Promise<McpGateway> {
  return await createGateway(s, { tools: STANDARD_TOOLS });
}

/** An HTTP-level refusal: the status and a JSON-RPC error body without an id. */
function expectHttpError(a: RpcAnswer, status: number): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.text}`);
  assert.match(a.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(a.body.jsonrpc, "2.0");
  assert.equal(a.body.id, null);
  assert.equal(typeof a.body.error.code, "number");
  assert.equal(typeof a.body.error.message, "string");
}

Deno.test("400/-32700 for a body that is not JSON", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const body of ["{", '{"jsonrpc":"2.0",', "", "nul", "\u00ff"]) {
      expectRpcError(await rpc(gw.url, body, { key: gw.key }), 400, -32700, null);
    }
    // Also inside a session.
    const session = await openSession(gw.url, gw.key);
    expectRpcError(await session.rpc("[{]"), 400, -32700, null);
  });
});

Deno.test("400/-32600 for invalid requests, echoing the id when it can be read", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const cases: [unknown, number | string | null][] = [
      [{ id: 5, method: "tools/list" }, 5], // jsonrpc missing
      [{ jsonrpc: "1.0", id: "a", method: "tools/list" }, "a"],
      [{ jsonrpc: "2.0", id: null, method: "tools/list" }, null],
      [{ jsonrpc: "2.0", id: 1.5, method: "tools/list" }, null],
      [{ jsonrpc: "2.0", id: { x: 1 }, method: "tools/list" }, null],
      [{ jsonrpc: "2.0", id: 6, method: 42 }, 6],
      [{ jsonrpc: "2.0", id: 7, method: "" }, 7],
      [{ jsonrpc: "2.0", id: 8 }, 8], // neither request nor response
      ['"tools/list"', null], // JSON, but a string
      ["42", null],
      ["null", null],
    ];
    for (const [body, id] of cases) {
      expectRpcError(await rpc(gw.url, body, { key: gw.key }), 400, -32600, id);
    }
    const session = await openSession(gw.url, gw.key);
    expectRpcError(
      await session.rpc({ jsonrpc: "2.0", id: 9, method: ["ping"] }),
      400,
      -32600,
      9,
    );
  });
});

Deno.test("-32601 on HTTP 200 for an unknown method (legacy era), with and without a session", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const plain = await rpc(gw.url, req(1, "tools/frobnicate"), { key: gw.key });
    const err = expectRpcError(plain, 200, -32601, 1);
    assert.match(err.message, /tools\/frobnicate/);
    const session = await openSession(gw.url, gw.key);
    for (const method of ["resources/list", "prompts/list", "sampling/createMessage", "nope"]) {
      expectRpcError(await session.rpc(req("m", method)), 200, -32601, "m");
    }
    // An unknown notification is accepted and ignored.
    const note = await session.rpc({ jsonrpc: "2.0", method: "notifications/whatever" });
    assert.equal(note.status, 202);
    assert.equal(note.text, "");
  });
});

Deno.test("-32602 for invalid params", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const session = await openSession(gw.url, gw.key);
    const bad: [string, unknown][] = [
      ["logging/setLevel", { level: "loud" }],
      ["logging/setLevel", {}],
      ["tools/call", { arguments: {} }],
      ["tools/list", { cursor: 3 }],
    ];
    for (const [method, params] of bad) {
      expectRpcError(
        await session.rpc({ jsonrpc: "2.0", id: 11, method, params }),
        200,
        -32602,
        11,
      );
    }
    // Positional params are not MCP's: -32602 before any method is looked at.
    expectRpcError(
      await session.rpc({ jsonrpc: "2.0", id: 12, method: "tools/list", params: [1] }),
      400,
      -32602,
      12,
    );
    // initialize without a protocolVersion starts no session.
    const init = await rpc(gw.url, {
      jsonrpc: "2.0",
      id: 13,
      method: "initialize",
      params: { capabilities: {} },
    }, { key: gw.key });
    expectRpcError(init, 200, -32602, 13);
    assert.equal(init.headers.get("mcp-session-id"), null);
  });
});

Deno.test("-32603 when the executor fails inside the server", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const a = await rpc(gw.url, req(21, "tools/call", { name: "boom", arguments: {} }), {
      key: gw.key,
    });
    const err = expectRpcError(a, 200, -32603, 21);
    assert.doesNotMatch(err.message, /blew up/);
    assert.equal(s.executor.calls.length, 1);
  });
});

Deno.test("406 when Accept allows neither JSON nor SSE; 415 when the body is not declared JSON", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const accept of ["text/html", "image/png, text/plain", "application/json;q=0"]) {
      expectHttpError(await rpc(gw.url, req(1, "tools/list"), { key: gw.key, accept }), 406);
    }
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      expectHttpError(
        await rpc(gw.url, req(1, "tools/list"), {
          key: gw.key,
          headers: { "content-type": type },
        }),
        415,
      );
    }
    // JSON with a charset is fine.
    const ok = await rpc(gw.url, req(1, "tools/list"), {
      key: gw.key,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assert.equal(ok.status, 200, ok.text);
  });
});

Deno.test("413 for a body over mcp.maxBodyBytes, with or without Content-Length", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const big = JSON.stringify(
      req(1, "tools/call", { name: "echo", arguments: { text: "x".repeat(5000) } }),
    );
    expectHttpError(await rpc(gw.url, big, { key: gw.key }), 413);
    const chunked = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gw.key}` },
      body: ReadableStream.from([new TextEncoder().encode(big)]),
    });
    const text = await chunked.text();
    assert.equal(chunked.status, 413, text);
    // Just under the limit is read.
    const fits = JSON.stringify(
      req(2, "tools/call", { name: "echo", arguments: { text: "x".repeat(3000) } }),
    );
    assert.equal((await rpc(gw.url, fits, { key: gw.key })).status, 200);
  }, { maxBodyBytes: 4096 });
});

Deno.test("405 with Allow: GET, POST, DELETE for other methods", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const method of ["PUT", "PATCH"]) {
      const a = await send(gw.url, method, {
        authorization: `Bearer ${gw.key}`,
        "content-type": "application/json",
      }, JSON.stringify(req(1, "tools/list")));
      expectHttpError(a, 405);
      assert.equal(a.headers.get("allow"), "GET, POST, DELETE");
    }
  });
});

Deno.test("400 without Mcp-Session-Id on GET and DELETE; 404 for an unknown session", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const auth = { authorization: `Bearer ${gw.key}` };
    expectHttpError(await send(gw.url, "GET", { ...auth, accept: "text/event-stream" }), 400);
    expectHttpError(await send(gw.url, "DELETE", auth), 400);
    // GET must accept SSE.
    expectHttpError(await send(gw.url, "GET", { ...auth, accept: "application/json" }), 406);

    const unknown = { ...auth, "mcp-session-id": "0123456789abcdef0123456789abcdef" };
    expectRpcError(
      await send(gw.url, "GET", { ...unknown, accept: "text/event-stream" }),
      404,
      -32001,
      null,
    );
    expectRpcError(await send(gw.url, "DELETE", unknown), 404, -32001, null);
    expectRpcError(
      await rpc(gw.url, req(1, "tools/list"), {
        key: gw.key,
        session: "0123456789abcdef0123456789abcdef",
      }),
      404,
      -32001,
      null,
    );
    // initialize must not carry a session id.
    expectHttpError(
      await rpc(gw.url, initializeRequest(), { key: gw.key, session: "abc" }),
      400,
    );
  });
});

Deno.test("400 for an unsupported MCP-Protocol-Version header", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const version of ["1999-01-01", "2025-13-45", "latest"]) {
      const a = await rpc(gw.url, req(1, "tools/list"), { key: gw.key, version });
      expectHttpError(a, 400);
      assert.match(a.body.error.message, new RegExp(version));
    }
    const session = await openSession(gw.url, gw.key);
    expectHttpError(await session.rpc(req(1, "tools/list"), { version: "2099-01-01" }), 400);
    // GET and DELETE check the header too.
    const auth = { authorization: `Bearer ${gw.key}`, "mcp-session-id": session.id };
    const sse = { ...auth, accept: "text/event-stream" };
    expectHttpError(
      await send(gw.url, "GET", { ...sse, "mcp-protocol-version": "2099-01-01" }),
      400,
    );
    expectHttpError(
      await send(gw.url, "DELETE", { ...auth, "mcp-protocol-version": "2099-01-01" }),
      400,
    );
    // The stateless era has no GET stream and no DELETE: 405.
    for (const method of ["GET", "DELETE"]) {
      const a = await send(gw.url, method, { ...sse, "mcp-protocol-version": "2026-07-28" });
      expectHttpError(a, 405);
      assert.ok(a.headers.get("allow"));
    }
    // None of that ended the session.
    assert.equal((await session.rpc(req(2, "ping"))).status, 200);
    // Every supported version is accepted.
    for (const version of ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]) {
      assert.equal((await rpc(gw.url, req(1, "ping"), { key: gw.key, version })).status, 200);
    }
  });
});

Deno.test("403 for a foreign Origin or a foreign Host (DNS-rebinding protection)", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const port = new URL(s.url).port;
    for (const origin of ["http://evil.example.com", "null", "http://localhost.evil.example"]) {
      const a = await rpc(gw.url, initializeRequest(), {
        key: gw.key,
        headers: { origin },
      });
      expectHttpError(a, 403);
      assert.equal(a.headers.get("mcp-session-id"), null);
    }
    // The server's own origin is allowed.
    const same = await rpc(gw.url, initializeRequest(), {
      key: gw.key,
      headers: { origin: `http://127.0.0.1:${port}` },
    });
    assert.equal(same.status, 200, same.text);

    const client = Deno.createHttpClient({ allowHost: true });
    try {
      const foreign = await rpc(gw.url, initializeRequest(), {
        key: gw.key,
        headers: { host: "evil.example.com" },
        client,
      });
      expectHttpError(foreign, 403);
      const rebinding = await rpc(gw.url, initializeRequest(), {
        key: gw.key,
        headers: { host: "evil.example.com", origin: "http://evil.example.com" },
        client,
      });
      expectHttpError(rebinding, 403);
      // Refused before authentication: no key needed to get the 403.
      expectHttpError(
        await rpc(gw.url, initializeRequest(), { headers: { host: "evil.example.com" }, client }),
        403,
      );
      const local = await rpc(gw.url, initializeRequest(), {
        key: gw.key,
        headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` },
        client,
      });
      assert.equal(local.status, 200, local.text);
    } finally {
      client.close();
    }
  });
});

Deno.test("404 for a path with no gateway", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    for (const path of ["/mcp/default/nope", "/mcp/other-org" + gw.endpoint, "/mcp/default"]) {
      const a = await rpc(`${s.url}${path}`, req(1, "tools/list"), { key: gw.key });
      assert.equal(a.status, 404, `${path}: ${a.text}`);
    }
  });
});

Deno.test("a client accepting only SSE still gets the HTTP status of a refusal, and 202 for a notification", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const accept = "text/event-stream";
    const reader = await issueKey(s, gw, ["tools:read"]);
    const refused = await rpc(gw.url, req(1, "tools/call", { name: "echo", arguments: {} }), {
      key: reader.key,
      accept,
    });
    expectRpcError(refused, 403, -32600, 1);
    assert.match(refused.headers.get("www-authenticate") ?? "", /insufficient_scope/);
    const mismatch = await rpc(gw.url, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/list",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }, {
      key: gw.key,
      accept,
      headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call" },
    });
    expectRpcError(mismatch, 400, -32020, 2);
    const note = await rpc(gw.url, { jsonrpc: "2.0", method: "notifications/whatever" }, {
      key: gw.key,
      accept,
    });
    assert.equal(note.status, 202, note.text);
    assert.equal(note.text, "");
    // A success is still streamed as the client asked.
    const ok = await rpc(gw.url, req(3, "tools/list"), { key: gw.key, accept });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(ok.body.result.tools.length, 4);
  });
});
