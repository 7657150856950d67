import assert from "node:assert/strict";
import {
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  type Json,
  toolBody,
  withServer,
} from "./fixtures.ts";

Deno.test("a tool in the MCP tool format is stored with its execution defaults", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const body = toolBody("get_users", {
      title: "Get users",
      annotations: { readOnlyHint: true },
      executionConfig: {
        method: "get",
        url: "https://api.example.com/users",
        headers: { Authorization: "Bearer {{secrets.USERS_API}}" },
        queryParams: { page: "{{ parameters.page }}" },
      },
    });
    const tool = await create(admin, "/tools", body);
    assert.equal(tool.name, "get_users");
    assert.equal(tool.title, "Get users");
    assert.deepEqual(tool.inputSchema, body.inputSchema);
    assert.deepEqual(tool.annotations, { readOnlyHint: true });
    assert.deepEqual(tool.executionConfig, {
      method: "GET",
      url: "https://api.example.com/users",
      headers: { Authorization: "Bearer {{secrets.USERS_API}}" },
      queryParams: { page: "{{ parameters.page }}" },
      timeout: 30_000,
      retries: 0,
    });
    assert.deepEqual((await admin("GET", `/tools/${tool.id}`)).body, tool);
    assert.deepEqual((await admin("GET", "/tools")).body.tools, [tool]);
    // Without inputSchema a tool takes no arguments, in the object form MCP requires.
    const bare = await create(admin, "/tools", {
      name: "ping",
      type: "http",
      executionConfig: { method: "HEAD", url: "https://example.com" },
    });
    assert.deepEqual(bare.inputSchema, { type: "object", properties: {} });
    assert.equal(bare.description, "");
  });
});

Deno.test("tool names follow the MCP rules", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    for (const name of ["a", "get_users", "Users.List-v2", "x".repeat(128)]) {
      expectStatus(await admin("POST", "/tools", toolBody(name)), 201);
    }
    for (const name of ["", "has space", "slash/name", "x".repeat(129), "ünïcode", "emoji😀", 7]) {
      expectError(await admin("POST", "/tools", toolBody(name as string)), 400, "name");
    }
  });
});

Deno.test("inputSchema must be a valid JSON Schema for an object", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const bad: [unknown, string][] = [
      ["object", "inputSchema"],
      [{ properties: {} }, "inputSchema.type"],
      [{ type: "array", items: {} }, "inputSchema.type"],
      [{ type: "object", properties: { a: { type: "text" } } }, "inputSchema"],
      [{ type: "object", required: "a" }, "inputSchema"],
      [{ type: "object", properties: { a: { minLength: -1 } } }, "inputSchema"],
      [{ type: "object", properties: { a: { pattern: "(" } } }, "inputSchema"],
      [{ type: "object", anyOf: [] }, "inputSchema"],
    ];
    for (const [inputSchema, field] of bad) {
      const res = await admin("POST", "/tools", toolBody("t", { inputSchema }));
      expectError(res, 400, field);
    }
    const rich = {
      type: "object",
      properties: {
        page: { type: "integer", minimum: 1 },
        limit: { type: "integer", maximum: 100 },
        filter: { anyOf: [{ type: "string" }, { type: "null" }] },
        tags: { type: "array", items: { type: "string", pattern: "^[a-z]+$" } },
      },
      required: ["page"],
      additionalProperties: false,
    };
    const ok = await create(admin, "/tools", toolBody("rich", { inputSchema: rich }));
    assert.deepEqual(ok.inputSchema, rich);
    expectError(
      await admin("POST", "/tools", toolBody("out", { outputSchema: { type: "string" } })),
      400,
      "outputSchema.type",
    );
  });
});

Deno.test("the execution config is checked against the tool's parameters", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const config = (extra: Record<string, unknown>) =>
      toolBody("t", {
        executionConfig: { method: "POST", url: "https://api.example.com/x", ...extra },
      });
    const bad: [Record<string, unknown>, string][] = [
      [{ verb: "POST" }, "executionConfig.verb"],
      [{ url: "/relative" }, "executionConfig.url"],
      [{ url: "https://x.io/{{parameters.missing}}" }, "executionConfig.url"],
      [{ headers: { "X-Page": "{{parameters.nope}}" } }, "executionConfig.headers"],
      [{ headers: { "X-Num": 5 } }, "executionConfig.headers"],
      [{ queryParams: ["page"] }, "executionConfig.queryParams"],
      [{ body: { nested: ["{{ env.HOME }}"] } }, "executionConfig.body"],
      [{ timeout: 0 }, "executionConfig.timeout"],
      [{ timeout: 300_001 }, "executionConfig.timeout"],
      [{ retries: 6 }, "executionConfig.retries"],
      [{ retries: 1.5 }, "executionConfig.retries"],
    ];
    for (const [extra, field] of bad) {
      expectError(await admin("POST", "/tools", config(extra)), 400, field);
    }
    const ok = await create(
      admin,
      "/tools",
      config({
        url: "https://api.example.com/users/{{parameters.page}}",
        body: { limit: "{{parameters.limit}}", key: "{{secrets.API_KEY}}" },
        timeout: 5000,
        retries: 2,
      }),
    );
    assert.equal(ok.executionConfig.timeout, 5000);
    assert.equal(ok.executionConfig.retries, 2);
  });
});

Deno.test("PATCH changes given fields and keeps the tool valid; PUT replaces it", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const tool = await create(admin, "/tools", toolBody("t", { title: "Title" }));
    const patched = expectStatus(
      await admin("PATCH", `/tools/${tool.id}`, { description: "new", title: null }),
      200,
    ).body;
    assert.equal(patched.description, "new");
    assert.ok(!("title" in patched));
    assert.deepEqual(patched.executionConfig, tool.executionConfig);
    assert.ok(patched.updatedAt >= tool.updatedAt);
    // Dropping a parameter the execution config still uses is refused, as a whole.
    const res = await admin("PATCH", `/tools/${tool.id}`, {
      description: "lost",
      inputSchema: { type: "object", properties: {} },
    });
    expectError(res, 400, "executionConfig.queryParams");
    assert.deepEqual((await admin("GET", `/tools/${tool.id}`)).body, patched);

    const replaced = expectStatus(
      await admin("PUT", `/tools/${tool.id}`, {
        name: "t2",
        type: "http",
        executionConfig: { method: "DELETE", url: "https://x.io" },
      }),
      200,
    ).body;
    assert.equal(replaced.id, tool.id);
    assert.equal(replaced.description, "");
    assert.deepEqual(replaced.inputSchema, { type: "object", properties: {} });
    expectError(await admin("PUT", `/tools/${tool.id}`, { name: "t3" }), 400, "type");
  });
});

Deno.test("deleting a tool removes it from every gateway", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const tool = await create(admin, "/tools", toolBody("doomed"));
    const keep = await create(admin, "/tools", toolBody("kept"));
    const gws = [
      await create(admin, "/gateways", gatewayBody("/one")),
      await create(admin, "/gateways", gatewayBody("/two")),
    ];
    for (const gw of gws) {
      await create(admin, `/gateways/${gw.id}/tools`, { toolIds: [tool.id, keep.id] });
    }
    expectStatus(await admin("DELETE", `/tools/${tool.id}`), 204);
    expectError(await admin("GET", `/tools/${tool.id}`), 404);
    expectError(await admin("DELETE", `/tools/${tool.id}`), 404);
    for (const gw of gws) {
      const assigned = (await admin("GET", `/gateways/${gw.id}/tools`)).body.tools;
      assert.deepEqual(assigned.map((a: Json) => a.toolId), [keep.id]);
    }
    // The name is free again.
    await create(admin, "/tools", toolBody("doomed"));
  });
});
