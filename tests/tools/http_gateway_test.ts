/**
 * HTTP tools end to end: a real gateway (default executors), a tool created
 * through the management API, and `tools/call` over MCP reaching a real
 * upstream with exactly the request the tool describes.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstream } from "./upstream.ts";

/** Creates a gateway at `endpoint` with `tool` assigned and auth `none`; returns the MCP URL. */
async function gatewayWith(s: TestServer, endpoint: string, tool: unknown): Promise<string> {
  const created = await s.api("POST", "/tools", tool);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const gw = await s.api("POST", "/gateways", {
    name: `Gateway ${endpoint}`,
    type: "mcp",
    endpoint,
    configuration: { transport: "http" },
  });
  assert.equal(gw.status, 201, JSON.stringify(gw.body));
  const assigned = await s.api("POST", `/gateways/${gw.body.id}/tools`, {
    toolId: created.body.id,
  });
  assert.equal(assigned.status, 201, JSON.stringify(assigned.body));
  const auth = await s.api("POST", `/gateways/${gw.body.id}/auth`, { type: "none" });
  assert.equal(auth.status, 201, JSON.stringify(auth.body));
  return `${s.url}/mcp/default${endpoint}`;
}

async function callTool(url: string, name: string, args: Record<string, unknown>) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args },
    }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("tools/call through a gateway sends exactly the described request upstream", async () => {
  const up = startUpstream({
    "/users/..%2Fadmin%3Fx%3D1%23y/posts": () => Response.json({ posts: [{ id: 1 }], page: 2 }),
  });
  const s = await startTestServer();
  try {
    const url = await gatewayWith(s, "/my-tools", {
      name: "get_posts",
      description: "Posts of a user",
      inputSchema: {
        type: "object",
        properties: {
          user: { type: "string" },
          page: { type: "integer" },
          limit: { type: "integer" },
          filter: { type: "object" },
        },
        required: ["user"],
      },
      outputSchema: { type: "object" },
      type: "http",
      executionConfig: {
        method: "PUT",
        url: `${up.url}/users/{{parameters.user}}/posts`,
        headers: { "X-Page": "{{parameters.page}}" },
        queryParams: { page: "{{parameters.page}}", limit: "{{parameters.limit}}" },
        body: { page: "{{parameters.page}}", filter: "{{parameters.filter}}" },
      },
    });
    const reply = await callTool(url, "get_posts", {
      user: "../admin?x=1#y",
      page: 2,
      filter: { tag: "a" },
    });
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    assert.deepEqual(reply.result, {
      content: [{ type: "text", text: '{"posts":[{"id":1}],"page":2}' }],
      structuredContent: { posts: [{ id: 1 }], page: 2 },
    });
    assert.equal(up.requests.length, 1);
    const req = up.requests[0];
    assert.equal(req.method, "PUT");
    assert.equal(req.path, "/users/..%2Fadmin%3Fx%3D1%23y/posts");
    assert.equal(req.query, "page=2");
    assert.equal(req.headers["x-page"], "2");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(req.body), { page: 2, filter: { tag: "a" } });
  } finally {
    await s.close();
    await up.close();
  }
});

Deno.test("an upstream error comes back through the gateway as an isError result", async () => {
  const up = startUpstream({ "/users": () => Response.json({ error: "nope" }, { status: 403 }) });
  const s = await startTestServer();
  try {
    const url = await gatewayWith(s, "/errs", {
      name: "get_users",
      description: "Users",
      inputSchema: { type: "object", properties: {} },
      type: "http",
      executionConfig: { method: "GET", url: `${up.url}/users` },
    });
    const reply = await callTool(url, "get_users", {});
    assert.deepEqual(reply.result, {
      content: [{ type: "text", text: 'HTTP 403 Forbidden: {"error":"nope"}' }],
      isError: true,
    });
  } finally {
    await s.close();
    await up.close();
  }
});
