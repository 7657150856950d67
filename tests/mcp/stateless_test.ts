/**
 * The stateless era (2026-07-28) on the same endpoint: per-request `_meta`,
 * the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers, server/discover,
 * cacheable results and the era's error codes.
 */
import assert from "node:assert/strict";
import {
  createGateway,
  expectRpcError,
  type Json,
  type McpGateway,
  type McpTestServer,
  rpc,
  type RpcAnswer,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

const V = "2026-07-28";
const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPS = "io.modelcontextprotocol/clientCapabilities";
const META_INFO = "io.modelcontextprotocol/clientInfo";
const SERVER_INFO = "io.modelcontextprotocol/serverInfo";

function meta(over: Record<string, unknown> = {}): Record<string, unknown> {
  const m: Record<string, unknown> = {
    [META_VERSION]: V,
    [META_CAPS]: {},
    [META_INFO]: { name: "stateless-test", version: "1" },
    ...over,
  };
  for (const [k, v] of Object.entries(m)) if (v === undefined) delete m[k];
  return m;
}

interface Call {
  id?: number | string;
  method: string;
  params?: Record<string, unknown>;
  /** Header overrides; `null` leaves a header out. */
  version?: string | null;
  mcpMethod?: string | null;
  mcpName?: string | null;
  metaOver?: Record<string, unknown>;
}

/** A modern request with matching headers unless a call overrides them. */
async function modern(gw: McpGateway, c: Call): Promise<RpcAnswer> {
  const params = { ...c.params, _meta: meta(c.metaOver) };
  const headers: Record<string, string> = {};
  const version = c.version === undefined ? V : c.version;
  if (version !== null) headers["mcp-protocol-version"] = version;
  const method = c.mcpMethod === undefined ? c.method : c.mcpMethod;
  if (method !== null) headers["mcp-method"] = method;
  const name = c.mcpName === undefined
    ? (typeof c.params?.name === "string" ? c.params.name : null)
    : c.mcpName;
  if (name !== null) headers["mcp-name"] = name;
  return await rpc(gw.url, { jsonrpc: "2.0", id: c.id ?? 1, method: c.method, params }, {
    key: gw.key,
    headers,
  });
}

async function setup(s: McpTestServer): Promise<McpGateway> {
  return await createGateway(s, {
    tools: STANDARD_TOOLS,
    description: "Stateless gateway",
  });
}

function noSession(a: RpcAnswer): void {
  assert.equal(a.headers.get("mcp-session-id"), null, "no session in the stateless era");
}

Deno.test("stateless: server/discover describes the server with cache hints and serverInfo in _meta", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const a = await modern(gw, { id: "d1", method: "server/discover" });
    assert.equal(a.status, 200, a.text);
    noSession(a);
    assert.equal(a.body.id, "d1");
    const r = a.body.result;
    assert.equal(r.resultType, "complete");
    assert.ok(Array.isArray(r.supportedVersions));
    assert.ok(r.supportedVersions.includes(V));
    for (const v of r.supportedVersions) assert.equal(typeof v, "string");
    assert.deepEqual(r.capabilities.tools !== undefined, true);
    assert.equal(Number.isInteger(r.ttlMs) && r.ttlMs >= 0, true);
    assert.ok(["public", "private"].includes(r.cacheScope));
    assert.equal(r._meta[SERVER_INFO].name, "gatehouse");
    assert.equal(typeof r._meta[SERVER_INFO].version, "string");
    assert.equal(r.serverInfo, undefined);
    assert.equal(r.instructions, "Stateless gateway");
    // clientInfo is optional.
    const bare = await modern(gw, {
      method: "server/discover",
      metaOver: { [META_INFO]: undefined },
    });
    assert.equal(bare.status, 200, bare.text);
  });
});

Deno.test("stateless: tools/list and tools/call work without initialize or session", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const list = await modern(gw, { id: 2, method: "tools/list" });
    assert.equal(list.status, 200, list.text);
    noSession(list);
    const r = list.body.result;
    assert.equal(r.resultType, "complete");
    assert.deepEqual(r.tools.map((t: Json) => t.name), ["boom", "chatty", "echo", "wait"]);
    assert.equal(Number.isInteger(r.ttlMs) && r.ttlMs >= 0, true);
    assert.ok(["public", "private"].includes(r.cacheScope));
    assert.equal(r._meta[SERVER_INFO].name, "gatehouse");

    const call = await modern(gw, {
      id: 3,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "now" } },
    });
    assert.equal(call.status, 200, call.text);
    noSession(call);
    assert.equal(call.body.id, 3);
    assert.equal(call.body.result.resultType, "complete");
    assert.deepEqual(call.body.result.structuredContent, { echoed: { text: "now" } });
    assert.deepEqual(s.executor.calls.map((c) => c.args), [{ text: "now" }]);

    // No logLevel in _meta: the call sends no notifications/message.
    const chatty = await modern(gw, {
      id: 4,
      method: "tools/call",
      params: { name: "chatty", arguments: {} },
    });
    assert.equal(chatty.status, 200, chatty.text);
    assert.equal(
      chatty.messages.filter((m: Json) => m.method === "notifications/message").length,
      0,
    );
    assert.equal(chatty.body.result.resultType, "complete");
    // With a logLevel, messages at that level and above come first on the stream.
    const logged = await modern(gw, {
      id: 5,
      method: "tools/call",
      params: { name: "chatty", arguments: {} },
      metaOver: { "io.modelcontextprotocol/logLevel": "warning" },
    });
    assert.deepEqual(
      logged.messages.filter((m: Json) => m.method === "notifications/message").map((m: Json) =>
        m.params.level
      ),
      ["warning", "error"],
    );
    // A session header is ignored, and none is issued.
    const withSession = await rpc(gw.url, {
      jsonrpc: "2.0",
      id: 6,
      method: "tools/list",
      params: { _meta: meta() },
    }, {
      key: gw.key,
      session: "ignored-session-id",
      headers: { "mcp-protocol-version": V, "mcp-method": "tools/list" },
    });
    assert.equal(withSession.status, 200, withSession.text);
    noSession(withSession);
  });
});

Deno.test("stateless: missing protocolVersion or clientCapabilities in _meta is 400/-32602", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const noVersion = await modern(gw, {
      id: 102,
      method: "server/discover",
      metaOver: { [META_VERSION]: undefined },
    });
    expectRpcError(noVersion, 400, -32602, 102);
    noSession(noVersion);
    expectRpcError(
      await rpc(gw.url, { jsonrpc: "2.0", id: 101, method: "server/discover", params: {} }, {
        key: gw.key,
        headers: { "mcp-protocol-version": V, "mcp-method": "server/discover" },
      }),
      400,
      -32602,
      101,
    );
    for (const caps of [undefined, null, "all", [1]]) {
      expectRpcError(
        await modern(gw, { id: 104, method: "tools/list", metaOver: { [META_CAPS]: caps } }),
        400,
        -32602,
        104,
      );
    }
  });
});

Deno.test("stateless: header and body versions must match (-32020); an unsupported one is -32022", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    // Body says v999, header says the real version: a mismatch, checked first.
    expectRpcError(
      await modern(gw, {
        id: 302,
        method: "server/discover",
        metaOver: { [META_VERSION]: "v999.0.0" },
      }),
      400,
      -32020,
      302,
    );
    // Header says another (supported) version than the body.
    expectRpcError(
      await modern(gw, { id: 303, method: "tools/list", version: "2025-06-18" }),
      400,
      -32020,
      303,
    );
    // Header missing.
    expectRpcError(
      await modern(gw, { id: 304, method: "tools/list", version: null }),
      400,
      -32020,
      304,
    );
    // Both say v999: unsupported, with what is supported and what was asked.
    const unsupported = await modern(gw, {
      id: 301,
      method: "server/discover",
      version: "v999.0.0",
      metaOver: { [META_VERSION]: "v999.0.0" },
    });
    const err = expectRpcError(unsupported, 400, -32022, 301);
    assert.equal(err.data.requested, "v999.0.0");
    assert.ok(Array.isArray(err.data.supported) && err.data.supported.length > 0);
    const discover = await modern(gw, { method: "server/discover" });
    for (const v of err.data.supported) {
      assert.ok(discover.body.result.supportedVersions.includes(v), v);
    }
  });
});

Deno.test("stateless: Mcp-Method and Mcp-Name must match the body (-32020)", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    expectRpcError(
      await modern(gw, { id: 401, method: "tools/list", mcpMethod: "tools/call" }),
      400,
      -32020,
      401,
    );
    expectRpcError(
      await modern(gw, { id: 402, method: "tools/list", mcpMethod: null }),
      400,
      -32020,
      402,
    );
    // Values are case-sensitive.
    expectRpcError(
      await modern(gw, { id: 403, method: "tools/list", mcpMethod: "Tools/List" }),
      400,
      -32020,
      403,
    );
    const params = { name: "echo", arguments: { text: "x" } };
    expectRpcError(
      await modern(gw, { id: 404, method: "tools/call", params, mcpName: "boom" }),
      400,
      -32020,
      404,
    );
    expectRpcError(
      await modern(gw, { id: 405, method: "tools/call", params, mcpName: null }),
      400,
      -32020,
      405,
    );
    // None of them ran the tool.
    assert.equal(s.executor.calls.length, 0);
  });
});

Deno.test("stateless: initialize, ping, logging/setLevel and unknown methods are 404/-32601", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    const methods = [
      "initialize",
      "ping",
      "logging/setLevel",
      "resources/subscribe",
      "unknown/method",
    ];
    for (const [i, method] of methods.entries()) {
      const a = await modern(gw, {
        id: `m${i}`,
        method,
        params: method === "initialize"
          ? {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "x", version: "1" },
          }
          : method === "logging/setLevel"
          ? { level: "info" }
          : {},
      });
      expectRpcError(a, 404, -32601, `m${i}`);
      noSession(a);
    }
  });
});

Deno.test("stateless: tool errors keep their codes and echo the id", async () => {
  await withMcpServer(async (s) => {
    const gw = await setup(s);
    expectRpcError(
      await modern(gw, {
        id: "unknown-tool",
        method: "tools/call",
        params: { name: "nope", arguments: {} },
      }),
      200,
      -32602,
      "unknown-tool",
    );
    const bad = await modern(gw, {
      id: 7,
      method: "tools/call",
      params: { name: "echo", arguments: {} },
    });
    assert.equal(bad.status, 200, bad.text);
    assert.equal(bad.body.result.isError, true);
    assert.equal(bad.body.result.resultType, "complete");
    expectRpcError(
      await modern(gw, { id: 8, method: "tools/call", params: { name: "boom", arguments: {} } }),
      200,
      -32603,
      8,
    );
  });
});
