/**
 * `tools/list` and `tools/call` semantics: paging, freshness after
 * assignment changes, argument validation, unknown tools and scopes.
 */
import assert from "node:assert/strict";
import {
  apiIn,
  connectClient,
  createGateway,
  createTool,
  expectRpcError,
  issueKey,
  type Json,
  ok,
  openSession,
  req,
  rpc,
  STANDARD_TOOLS,
  type ToolSpec,
  withMcpServer,
} from "../helpers/mcp.ts";

const many = (n: number, prefix = "t"): ToolSpec[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}${String(i).padStart(2, "0")}` }));

Deno.test("tools/list pages by nextCursor and returns every tool exactly once", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: many(10) });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page: Json = await client.listTools(cursor === undefined ? undefined : { cursor });
        sizes.push(page.tools.length);
        seen.push(...page.tools.map((t: Json) => t.name));
        cursor = page.nextCursor;
        assert.ok(sizes.length <= 10, "paging must end");
      } while (cursor !== undefined);
      assert.deepEqual(sizes, [3, 3, 3, 1]);
      assert.deepEqual(seen, many(10).map((t) => t.name));
    } finally {
      await client.close();
    }
  }, { pageSize: 3 });
});

Deno.test("tools/list paging: an exact multiple ends without an empty page; changes between pages neither repeat nor skip", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: many(6) });
    const session = await openSession(gw.url, gw.key);
    const list = async (cursor?: string) => {
      const a = await session.rpc(req(1, "tools/list", cursor ? { cursor } : {}));
      assert.equal(a.status, 200, a.text);
      return a.body.result;
    };
    const p1 = await list();
    assert.deepEqual(p1.tools.map((t: Json) => t.name), ["t00", "t01", "t02"]);
    const p2 = await list(p1.nextCursor);
    assert.deepEqual(p2.tools.map((t: Json) => t.name), ["t03", "t04", "t05"]);
    assert.equal(p2.nextCursor, undefined);
    assert.equal("nextCursor" in p2, false);

    // Remove an already-listed tool and add one past the cursor, then continue paging.
    const api = apiIn(s, "default");
    assert.equal((await api("DELETE", `/gateways/${gw.id}/tools/${gw.toolIds.t00}`)).status, 204);
    const extra = await createTool(api, { name: "t025" });
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: extra }), 201);
    const p2b = await list(p1.nextCursor);
    assert.deepEqual(p2b.tools.map((t: Json) => t.name), ["t025", "t03", "t04"]);
  }, { pageSize: 3 });
});

Deno.test("tools/list: a cursor the server did not issue is -32602", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: many(4) });
    const session = await openSession(gw.url, gw.key);
    for (const cursor of ["not a cursor!", "", btoa('{"after":5}'), 42, null]) {
      const err = expectRpcError(
        await session.rpc(req(7, "tools/list", { cursor })),
        200,
        -32602,
        7,
      );
      assert.match(err.message, /cursor/);
    }
  }, { pageSize: 2 });
});

Deno.test("tools/list reflects assign, disable, enable, rename and unassign at once", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: [{ name: "alpha" }] });
    const api = apiIn(s, "default");
    const beta = await createTool(api, { name: "beta" });
    const session = await openSession(gw.url, gw.key);
    const names = async () => {
      const a = await session.rpc(req(1, "tools/list"));
      assert.equal(a.status, 200, a.text);
      return a.body.result.tools.map((t: Json) => t.name);
    };
    assert.deepEqual(await names(), ["alpha"]);
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: beta }), 201);
    assert.deepEqual(await names(), ["alpha", "beta"]);
    ok(await api("PATCH", `/gateways/${gw.id}/tools/${beta}`, { enabled: false }));
    assert.deepEqual(await names(), ["alpha"]);
    ok(await api("PATCH", `/gateways/${gw.id}/tools/${beta}`, { enabled: true }));
    assert.deepEqual(await names(), ["alpha", "beta"]);
    ok(await api("PATCH", `/tools/${beta}`, { name: "gamma", description: "renamed" }));
    const a = await session.rpc(req(2, "tools/list"));
    assert.deepEqual(a.body.result.tools[1], {
      name: "gamma",
      description: "renamed",
      inputSchema: { type: "object", properties: {} },
    });
    assert.equal((await api("DELETE", `/gateways/${gw.id}/tools/${beta}`)).status, 204);
    assert.deepEqual(await names(), ["alpha"]);
    assert.equal((await api("DELETE", `/tools/${gw.toolIds.alpha}`)).status, 204);
    assert.deepEqual(await names(), []);
  });
});

Deno.test("tools/call: arguments that break the inputSchema give an isError result naming the problem", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const cases: [Record<string, unknown> | undefined, RegExp][] = [
        [{}, /text/],
        [undefined, /text/],
        [{ text: 5 }, /text/],
        [{ text: "a", count: "many" }, /count/],
        [{ text: "a", count: 11 }, /count/],
        [{ text: "a", colour: "red" }, /colour/],
      ];
      for (const [args, names] of cases) {
        const r: Json = await client.callTool({ name: "echo", arguments: args });
        assert.equal(r.isError, true, JSON.stringify(args));
        assert.equal(r.content.length, 1);
        assert.equal(r.content[0].type, "text");
        assert.match(r.content[0].text, /Invalid arguments for tool echo/);
        assert.match(r.content[0].text, names, r.content[0].text);
      }
      // None of them reached the executor.
      assert.equal(s.executor.calls.length, 0);
      const good: Json = await client.callTool({ name: "echo", arguments: { text: "a" } });
      assert.equal(good.isError, undefined);
      assert.equal(s.executor.calls.length, 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("tools/call: unknown, unassigned and disabled tools are -32602", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const api = apiIn(s, "default");
    const unassigned = await createTool(api, { name: "unassigned" });
    assert.ok(unassigned);
    const disabled = await createTool(api, { name: "disabled" });
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: disabled, enabled: false }), 201);
    // A tool of another gateway of the same org.
    await createGateway(s, { tools: [{ name: "foreign" }] });
    const session = await openSession(gw.url, gw.key);
    for (const name of ["nope", "unassigned", "disabled", "foreign", "ECHO"]) {
      const err = expectRpcError(
        await session.rpc(req("call-1", "tools/call", { name, arguments: {} })),
        200,
        -32602,
        "call-1",
      );
      assert.match(err.message, new RegExp(name), err.message);
    }
    // Bad call shapes are invalid params too.
    for (const params of [{}, { name: 5 }, { name: "echo", arguments: [1] }]) {
      expectRpcError(await session.rpc(req(3, "tools/call", params)), 200, -32602, 3);
    }
    assert.equal(s.executor.calls.length, 0);
  });
});

Deno.test("scopes: a tools:read key lists but its tools/call is refused 403 insufficient_scope", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const reader = await issueKey(s, gw, ["tools:read"]);
    const session = await openSession(gw.url, reader.key);
    const list = await session.rpc(req(1, "tools/list"));
    assert.equal(list.status, 200);
    assert.equal(list.body.result.tools.length, 4);
    const call = await session.rpc(
      req(2, "tools/call", { name: "echo", arguments: { text: "x" } }),
    );
    const err = expectRpcError(call, 403, -32600, 2);
    assert.match(err.message, /tools:execute/);
    const www = call.headers.get("www-authenticate") ?? "";
    assert.match(www, /^Bearer /);
    assert.match(www, /error="insufficient_scope"/);
    assert.match(www, /scope="tools:execute"/);
    // Also without a session (a plain JSON-RPC POST).
    const plain = await rpc(gw.url, req(3, "tools/call", { name: "echo", arguments: {} }), {
      key: reader.key,
      accept: null,
    });
    expectRpcError(plain, 403, -32600, 3);
    assert.equal(s.executor.calls.length, 0);

    // A tools:execute-only key calls but cannot list.
    const runner = await issueKey(s, gw, ["tools:execute"]);
    const listed = await rpc(gw.url, req(4, "tools/list"), { key: runner.key });
    expectRpcError(listed, 403, -32600, 4);
    assert.match(listed.headers.get("www-authenticate") ?? "", /scope="tools:read"/);
    const called = await rpc(
      gw.url,
      req(5, "tools/call", { name: "echo", arguments: { text: "y" } }),
      {
        key: runner.key,
        accept: "application/json",
      },
    );
    assert.equal(called.status, 200, called.text);
    assert.deepEqual(called.body.result.structuredContent, { echoed: { text: "y" } });
  });
});
