import assert from "node:assert/strict";
import {
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  ids,
  type Json,
  toolBody,
  withServer,
} from "./fixtures.ts";

Deno.test("the seed document's gateway body creates a gateway with ready-to-use MCP URLs", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", {
      name: "My MCP Gateway",
      type: "mcp",
      endpoint: "/my-tools",
      configuration: { transport: "http" },
    });
    assert.equal(gw.name, "My MCP Gateway");
    assert.equal(gw.description, "");
    assert.equal(gw.org, "default");
    const http = `${s.url}/mcp/default/my-tools`;
    assert.deepEqual(gw.urls, {
      http,
      sse: `${http}/sse`,
      websocket: `${http.replace("http://", "ws://")}/ws`,
    });
    assert.equal(gw.clients.url, http);
    assert.deepEqual(gw.clients.cursor.config.mcpServers, {
      "my-tools": { url: http, headers: { Authorization: "Bearer <gateway key>" } },
    });
    assert.deepEqual((await admin("GET", `/gateways/${gw.id}`)).body, gw);
    assert.deepEqual((await admin("GET", "/gateways")).body.gateways, [gw]);
  });
});

Deno.test("gateway URLs use the configured public URL behind a proxy", async () => {
  await withServer(async (s) => {
    const gw = await create(client(s, s.adminKey), "/gateways", {
      ...gatewayBody("/team/tools"),
      configuration: { transport: "websocket" },
    });
    assert.equal(gw.urls.http, "https://gw.example.com/base/mcp/default/team/tools");
    assert.equal(gw.urls.websocket, "wss://gw.example.com/base/mcp/default/team/tools/ws");
    // Clients speak Streamable HTTP, which every gateway serves besides WebSocket.
    assert.equal(gw.clients.url, "https://gw.example.com/base/mcp/default/team/tools");
    assert.deepEqual(Object.keys(gw.clients.cursor.config.mcpServers), ["team-tools"]);
  }, { publicUrl: "https://gw.example.com/base" });
});

Deno.test("endpoints start with / and are URL-safe", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    for (const endpoint of ["/a", "/my-tools", "/team/tools_v2", "/x.y~z", "/sse-tools"]) {
      expectStatus(await admin("POST", "/gateways", gatewayBody(endpoint)), 201);
    }
    const bad = [
      "",
      "/",
      "my-tools",
      "/my tools",
      "/a//b",
      "/a/",
      "/../x",
      "/.hidden",
      "/a?b",
      "/a#b",
      "/ü",
      "/a%20b",
      "/x/ws",
      "/x/messages",
      `/${"a".repeat(200)}`,
    ];
    for (const endpoint of bad) {
      const body = { ...gatewayBody(endpoint), name: "n" };
      expectError(await admin("POST", "/gateways", body), 400, "endpoint");
    }
  });
});

Deno.test("a gateway is updated field by field with PATCH and replaced with PUT", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", {
      ...gatewayBody("/g", { description: "first" }),
      configuration: { transport: "http", note: "kept" },
    });
    const patched = expectStatus(
      await admin("PATCH", `/gateways/${gw.id}`, { configuration: { transport: "sse" } }),
      200,
    ).body;
    assert.deepEqual(patched.configuration, { transport: "sse", note: "kept" });
    assert.equal(patched.clients.url, `${s.url}/mcp/default/g/sse`);
    assert.equal(patched.description, "first");
    const moved = expectStatus(await admin("PATCH", `/gateways/${gw.id}`, { endpoint: "/h" }), 200);
    assert.equal(moved.body.urls.http, `${s.url}/mcp/default/h`);
    // The old endpoint is free for another gateway.
    await create(admin, "/gateways", gatewayBody("/g"));

    const replaced = expectStatus(
      await admin("PUT", `/gateways/${gw.id}`, gatewayBody("/h", { name: "Replaced" })),
      200,
    ).body;
    assert.equal(replaced.name, "Replaced");
    assert.equal(replaced.description, "");
    assert.deepEqual(replaced.configuration, { transport: "http" });
    expectError(await admin("PUT", `/gateways/${gw.id}`, { name: "only a name" }), 400);
    assert.deepEqual((await admin("GET", `/gateways/${gw.id}`)).body, replaced);
  });
});

Deno.test("deleting a gateway deletes its assignments, keys and auth methods but not its tools", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/gone"));
    const tool = await create(admin, "/tools", toolBody("survivor"));
    await create(admin, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    const key = await create(admin, `/gateways/${gw.id}/keys`, { name: "k" });
    await create(admin, `/gateways/${gw.id}/auth`, { type: "api_key" });
    expectStatus(await admin("DELETE", `/gateways/${gw.id}`), 204);
    for (const sub of ["", "/tools", "/keys", "/auth"]) {
      expectError(await admin("GET", `/gateways/${gw.id}${sub}`), 404);
    }
    expectError(await admin("DELETE", `/gateways/${gw.id}`), 404);
    expectStatus(await admin("GET", `/tools/${tool.id}`), 200);
    assert.deepEqual((await admin("GET", "/gateways")).body.gateways, []);
    const count = await s.store.db.get(
      "SELECT (SELECT COUNT(*) FROM gateway_tools) + (SELECT COUNT(*) FROM gateway_keys) + " +
        "(SELECT COUNT(*) FROM gateway_auth_methods) AS n",
    );
    assert.equal(count?.n, 0, `key ${key.id} or others left behind`);
  });
});

Deno.test("tools are assigned one at a time or in bulk, each with its own enabled switch", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/assign"));
    const url = `/gateways/${gw.id}/tools`;
    const tools = [];
    for (const name of ["alpha", "beta", "gamma", "delta"]) {
      tools.push(await create(admin, "/tools", toolBody(name)));
    }
    const one = await create(admin, url, { toolId: tools[0].id });
    assert.deepEqual(one.tools.map((a: Json) => [a.name, a.enabled]), [["alpha", true]]);
    assert.deepEqual(one.tools[0].tool, tools[0]);

    const bulk = await create(admin, url, {
      toolIds: [tools[1].id, tools[2].id, tools[2].id],
      enabled: false,
    });
    assert.deepEqual(
      bulk.tools.map((a: Json) => [a.name, a.enabled]),
      [["alpha", true], ["beta", false], ["gamma", false]],
    );

    const switched = expectStatus(
      await admin("PATCH", `${url}/${tools[1].id}`, { enabled: true }),
      200,
    ).body;
    assert.equal(switched.enabled, true);
    assert.equal(switched.toolId, tools[1].id);
    // Assigning again keeps one row and takes the new switch.
    await create(admin, url, { toolId: tools[0].id, enabled: false });
    const listed = (await admin("GET", url)).body.tools;
    assert.deepEqual(
      listed.map((a: Json) => [a.name, a.enabled]),
      [["alpha", false], ["beta", true], ["gamma", false]],
    );

    expectStatus(await admin("DELETE", `${url}/${tools[2].id}`), 204);
    expectError(await admin("DELETE", `${url}/${tools[2].id}`), 404);
    expectError(await admin("PATCH", `${url}/${tools[3].id}`, { enabled: true }), 404);
    assert.deepEqual(ids(await admin("GET", url), "tools", "toolId"), [tools[0].id, tools[1].id]);
  });
});

Deno.test("a bulk assignment with one unknown tool assigns none of them", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/atomic"));
    const toolIds = [];
    for (let i = 0; i < 20; i++) {
      toolIds.push((await create(admin, "/tools", toolBody(`t${i}`))).id);
    }
    const missing = crypto.randomUUID();
    const res = await admin("POST", `/gateways/${gw.id}/tools`, {
      toolIds: [...toolIds.slice(0, 10), missing, ...toolIds.slice(10)],
    });
    expectError(res, 404, "toolIds");
    assert.ok(res.body.error.message.includes(missing));
    assert.deepEqual((await admin("GET", `/gateways/${gw.id}/tools`)).body.tools, []);
    const all = await create(admin, `/gateways/${gw.id}/tools`, { toolIds });
    assert.equal(all.tools.length, 20);
  });
});

Deno.test("auth methods are added once per type, listed and removed", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/authd"));
    const url = `/gateways/${gw.id}/auth`;
    assert.deepEqual((await admin("GET", url)).body.methods, []);
    const apiKey = await create(admin, url, { type: "api_key" });
    assert.equal(apiKey.type, "api_key");
    assert.equal(apiKey.gatewayId, gw.id);
    assert.deepEqual(apiKey.configuration, {});
    const none = await create(admin, url, { type: "none", configuration: {} });
    assert.deepEqual(ids(await admin("GET", url), "methods"), [apiKey.id, none.id]);
    expectError(await admin("POST", url, { type: "none" }), 409, "type");
    expectStatus(await admin("DELETE", `${url}/${none.id}`), 204);
    expectError(await admin("DELETE", `${url}/${none.id}`), 404);
    assert.deepEqual(ids(await admin("GET", url), "methods"), [apiKey.id]);
    await create(admin, url, { type: "none" });
  });
});
