/**
 * The seed document's "Custom MCP Client" (httpx) replayed with plain fetch,
 * exactly as written: JSON body, `Authorization: Bearer`, no Accept header,
 * no initialize and no session.
 */
import assert from "node:assert/strict";
import { createGateway, type Json, withMcpServer } from "../helpers/mcp.ts";

/** The seed's `get_users` tool. */
const GET_USERS = {
  name: "get_users",
  description: "Retrieve a list of users with pagination",
  inputSchema: {
    type: "object",
    properties: {
      page: { type: "integer", description: "Page number" },
      limit: { type: "integer", description: "Items per page" },
    },
    required: [],
  },
};

/** What httpx.post(url, json=..., headers={"Authorization": ...}) sends, give or take httpx's own headers. */
async function httpxPost(url: string, json: unknown, key: string): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${key}` },
    body: JSON.stringify(json),
  });
}

Deno.test("seed: tools/list as the httpx example sends it; response.json()['result']['tools']", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { endpoint: "/my-tools", tools: [GET_USERS] });
    assert.equal(gw.url, `${s.url}/mcp/default/my-tools`);
    const response = await httpxPost(gw.url, {
      "jsonrpc": "2.0",
      "method": "tools/list",
      "id": 1,
    }, gw.key);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(response.headers.get("mcp-session-id"), null);
    const body: Json = await response.json();
    assert.equal(body.jsonrpc, "2.0");
    assert.equal(body.id, 1);
    const tools = body["result"]["tools"];
    assert.deepEqual(tools, [GET_USERS]);
  });
});

Deno.test("seed: tools/call get_users as the httpx example sends it; response.json()['result']", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { endpoint: "/my-tools", tools: [GET_USERS] });
    const response = await httpxPost(gw.url, {
      "jsonrpc": "2.0",
      "method": "tools/call",
      "params": {
        "name": "get_users",
        "arguments": { "page": 1, "limit": 10 },
      },
      "id": 2,
    }, gw.key);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const body: Json = await response.json();
    assert.equal(body.id, 2);
    const result = body["result"];
    assert.deepEqual(result, {
      content: [{ type: "text", text: '{"page":1,"limit":10}' }],
      structuredContent: { echoed: { page: 1, limit: 10 } },
    });
    assert.deepEqual(s.executor.calls.map((c) => [c.tool, c.args]), [
      ["get_users", { page: 1, limit: 10 }],
    ]);
  });
});

Deno.test("seed: the error example's shape for an unknown method and a bad request", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { endpoint: "/my-tools", tools: [GET_USERS] });
    const unknown = await httpxPost(
      gw.url,
      { jsonrpc: "2.0", method: "users/list", id: 3 },
      gw.key,
    );
    assert.equal(unknown.status, 200);
    const u: Json = await unknown.json();
    assert.deepEqual(Object.keys(u).sort(), ["error", "id", "jsonrpc"]);
    assert.equal(u.id, 3);
    assert.equal(u.error.code, -32601);
    const bad = await httpxPost(gw.url, { jsonrpc: "1.0", method: "tools/list", id: 4 }, gw.key);
    assert.equal(bad.status, 400);
    const b: Json = await bad.json();
    assert.equal(b.id, 4);
    assert.equal(b.error.code, -32600);
    assert.equal(typeof b.error.message, "string");
  });
});
