/**
 * Federation end to end: real upstream MCP servers (server-everything and
 * server-memory from npm, over stdio and Streamable HTTP) attached to a
 * gateway, and SDK clients on each of Gatehouse's three transports listing
 * and calling what they offer.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  connectSdk,
  type Gateway,
  type Json,
  KINDS,
  setupGateway,
} from "../transports/fixtures.ts";
import {
  denoServer,
  EVERYTHING_COUNTS,
  everythingOverHttp,
  MEMORY,
  MEMORY_COUNTS,
  SCRATCH,
} from "./fixtures.ts";
import { addServer, api, everythingStdio, stateless } from "./gateway_fixtures.ts";
import { sessionServer } from "./session_server.ts";
import { loadConfig } from "../../src/config.ts";

/** The settings `env` gives (as if set in the environment), for a test server. */
function loadConfigWith(env: Record<string, string>) {
  const { upstreamSessionsPerServer } = loadConfig([], (n) => env[n]);
  return { upstreamSessionsPerServer };
}

function memoryStdio(name = "memory") {
  return {
    name,
    transport: "stdio",
    ...denoServer(MEMORY),
    env: { MEMORY_FILE_PATH: `${SCRATCH}/memory-${crypto.randomUUID()}.jsonl` },
  };
}

async function withGateway(fn: (s: TestServer, gw: Gateway) => Promise<void>) {
  const s = await startTestServer();
  try {
    await fn(s, await setupGateway(s, "/fed"));
  } finally {
    await s.close();
  }
}

for (const over of ["stdio", "streamable-http"] as const) {
  Deno.test(`SDK clients on all three transports use server-everything (${over}) and server-memory through a gateway`, async () => {
    const http = over === "stdio" ? undefined : await everythingOverHttp();
    try {
      await withGateway((s, gw) =>
        everythingAndMemory(
          s,
          gw,
          http
            ? { name: "everything", transport: "streamable-http", url: http.url }
            : everythingStdio(),
        )
      );
    } finally {
      await http?.stop();
    }
  });
}

/** Attaches server-everything (`everythingBody`) and server-memory, and uses both on every transport. */
async function everythingAndMemory(
  s: TestServer,
  gw: Gateway,
  everythingBody: Record<string, unknown>,
) {
  const everything = await addServer(s, everythingBody);
  const memory = await addServer(s, memoryStdio());
  assert.equal(everything.status.tools, EVERYTHING_COUNTS.tools);
  await api(
    s,
    "POST",
    `/gateways/${gw.id}/servers`,
    { serverId: everything.id, prefix: "ev" },
    201,
  );
  const attached = await api(s, "POST", `/gateways/${gw.id}/servers`, {
    serverId: memory.id,
    prefix: "mem",
  }, 201);
  assert.equal(attached.serves.tools, MEMORY_COUNTS.tools);

  for (const kind of KINDS) {
    const { client, close } = await connectSdk(kind, gw);
    try {
      const caps = client.getServerCapabilities()!;
      assert.ok(caps.tools && caps.resources && caps.prompts && caps.completions, kind);
      const tools = (await client.listTools()).tools.map((t: Json) => t.name);
      assert.ok(tools.includes("echo"), "the gateway's own tools stay");
      assert.ok(tools.includes("ev_echo") && tools.includes("mem_create_entities"), kind);
      assert.equal(
        tools.filter((t: string) => t.startsWith("ev_")).length,
        EVERYTHING_COUNTS.tools,
      );

      const echoed = await client.callTool({ name: "ev_echo", arguments: { message: kind } });
      assert.deepEqual(echoed.content, [{ type: "text", text: `Echo: ${kind}` }]);
      const sum = await client.callTool({ name: "ev_get-sum", arguments: { a: 2, b: 3 } });
      assert.match(JSON.stringify(sum.content), /5/);
      const image = await client.callTool({ name: "ev_get-tiny-image", arguments: {} });
      assert.ok((image.content as Json[]).some((c) => c.type === "image" && c.data), kind);
      const structured = await client.callTool({
        name: "ev_get-structured-content",
        arguments: { location: "New York" },
      });
      assert.ok(structured.structuredContent, "structuredContent passes through");

      // Arguments are checked against the upstream's schema before anything is sent.
      const bad = await client.callTool({ name: "ev_get-sum", arguments: { a: "two" } });
      assert.equal(bad.isError, true);
      assert.match(JSON.stringify(bad.content), /Invalid arguments for tool ev_get-sum/);

      const entity = `e-${kind}`;
      await client.callTool({
        name: "mem_create_entities",
        arguments: { entities: [{ name: entity, entityType: "test", observations: ["x"] }] },
      });
      const graph = await client.callTool({ name: "mem_read_graph", arguments: {} });
      assert.match(JSON.stringify(graph.content), new RegExp(entity));

      const resources = (await client.listResources()).resources;
      assert.equal(
        resources.length,
        EVERYTHING_COUNTS.resources + MEMORY_COUNTS.resources,
        JSON.stringify(resources.map((r: Json) => r.uri)),
      );
      const doc = resources.find((r: Json) => r.uri.endsWith("architecture.md"))!;
      const read = await client.readResource({ uri: doc.uri });
      assert.equal(read.contents[0].uri, doc.uri);
      assert.ok(String(read.contents[0].text).length > 0);
      const templates = (await client.listResourceTemplates()).resourceTemplates;
      assert.ok(templates.some((t: Json) => t.uriTemplate.includes("{resourceId}")));
      // A URI no server listed goes to the server whose template it fits.
      const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/7" });
      assert.match(String(dynamic.contents[0].text), /7/);

      const prompts = (await client.listPrompts()).prompts.map((p: Json) => p.name);
      assert.deepEqual(
        prompts.sort(),
        ["ev_args-prompt", "ev_completable-prompt", "ev_resource-prompt", "ev_simple-prompt"],
      );
      const prompt = await client.getPrompt({
        name: "ev_args-prompt",
        arguments: { city: "Lyon" },
      });
      assert.match(JSON.stringify(prompt.messages), /Lyon/);
      // The upstream's own JSON-RPC error comes back with its code and message.
      const refused = await client.getPrompt({ name: "ev_args-prompt", arguments: {} }).catch((
        e: { code?: number; message: string },
      ) => e);
      assert.equal((refused as { code?: number }).code, -32602, JSON.stringify(refused));
      const completion = await client.complete({
        ref: { type: "ref/prompt", name: "ev_completable-prompt" },
        argument: { name: "department", value: "E" },
      });
      assert.ok(completion.completion.values.includes("Engineering"), kind);
    } finally {
      await close();
    }
  }
}

Deno.test("an attachment whose names are taken is refused with 409 naming both; a prefix makes room", async () => {
  await withGateway(async (s, gw) => {
    const everything = await addServer(s, everythingStdio());
    // The gateway already serves its own tool named echo.
    const refused = await s.api("POST", `/gateways/${gw.id}/servers`, { serverId: everything.id });
    assert.equal(refused.status, 409);
    assert.match(
      refused.body.error!.message,
      /tool 'echo' of server 'everything' would be served as 'echo', a name taken by tool 'echo'/,
    );
    assert.equal((await api(s, "GET", `/gateways/${gw.id}/servers`)).servers.length, 0);

    await api(
      s,
      "POST",
      `/gateways/${gw.id}/servers`,
      { serverId: everything.id, prefix: "a" },
      201,
    );
    // A second attachment of the same tools, one by one, collides with the attached ones' names
    // only when unprefixed: the individual tool keeps the server's name, `echo`, taken locally.
    const tools = (await api(s, "GET", "/tools")).tools as Json[];
    const upstreamEcho = tools.find((t) => t.serverId === everything.id && t.name === "echo")!;
    assert.equal(upstreamEcho.type, "mcp");
    const clash = await s.api("POST", `/gateways/${gw.id}/tools`, { toolId: upstreamEcho.id });
    assert.equal(clash.status, 409);
    assert.match(
      clash.body.error!.message,
      /of server 'everything' would be served as 'echo', a name taken by tool 'echo'/,
    );
    const sum = tools.find((t) => t.serverId === everything.id && t.name === "get-sum")!;
    await api(s, "POST", `/gateways/${gw.id}/tools`, { toolId: sum.id }, 201);
    // A server's tools change only upstream.
    assert.equal((await s.api("PATCH", `/tools/${sum.id}`, { description: "x" })).status, 409);

    const { client, close } = await connectSdk("http", gw);
    try {
      const names = (await client.listTools()).tools.map((t: Json) => t.name);
      assert.ok(names.includes("a_echo") && names.includes("echo") && names.includes("get-sum"));
      const result = await client.callTool({ name: "get-sum", arguments: { a: 1, b: 1 } });
      assert.match(JSON.stringify(result.content), /2/);
    } finally {
      await close();
    }
    // Detaching takes the attached items away; the one assigned by itself stays.
    const del = await s.api("DELETE", `/gateways/${gw.id}/servers/${everything.id}`);
    assert.equal(del.status, 204);
    const again = await connectSdk("http", gw);
    try {
      const names = (await again.client.listTools()).tools.map((t: Json) => t.name);
      assert.ok(!names.includes("a_echo") && names.includes("get-sum"));
    } finally {
      await again.close();
    }
  });
});

Deno.test("a dead upstream next to a live one: the live one lists and calls, the dead one fails fast naming itself", async () => {
  await withGateway(async (s, gw) => {
    const live = await everythingOverHttp();
    try {
      const everything = await addServer(s, {
        name: "live",
        transport: "streamable-http",
        url: live.url,
      });
      const dead = await api(s, "POST", "/servers", {
        name: "dead",
        transport: "streamable-http",
        url: "http://127.0.0.1:9/mcp",
        timeout: 2000,
      }, 201);
      await api(
        s,
        "POST",
        `/gateways/${gw.id}/servers`,
        { serverId: everything.id, prefix: "ev" },
        201,
      );
      await api(
        s,
        "POST",
        `/gateways/${gw.id}/servers`,
        { serverId: dead.id, prefix: "dead" },
        201,
      );
      const { client, close } = await connectSdk("http", gw);
      try {
        const echoed = await client.callTool({ name: "ev_echo", arguments: { message: "up" } });
        assert.deepEqual(echoed.content, [{ type: "text", text: "Echo: up" }]);
        // The dead server never listed anything: its tools are unknown names.
        const unknown = await client.callTool({ name: "dead_x", arguments: {} }).catch((e: Error) =>
          e
        );
        assert.match(String(unknown), /Unknown tool: dead_x/);
      } finally {
        await close();
      }
      // Once it stops, a listed server's calls fail fast as isError results naming it.
      await live.stop();
      const { client: c2, close: close2 } = await connectSdk("http", gw);
      try {
        const started = Date.now();
        const down = await c2.callTool({ name: "ev_echo", arguments: { message: "x" } });
        assert.equal(down.isError, true);
        assert.match(JSON.stringify(down.content), /server 'live'/);
        assert.ok(Date.now() - started < 10_000);
        // The gateway's own tools still answer.
        assert.ok((await c2.listTools()).tools.some((t: Json) => t.name === "echo"));
      } finally {
        await close2();
      }
    } finally {
      await live.stop().catch(() => {});
    }
  });
});

Deno.test("a 2026-07-28 client calls, reads and gets federated items statelessly, with resultType", async () => {
  await withGateway(async (s, gw) => {
    const everything = await addServer(s, everythingStdio());
    await api(
      s,
      "POST",
      `/gateways/${gw.id}/servers`,
      { serverId: everything.id, prefix: "ev" },
      201,
    );
    const discover = await stateless(gw, "server/discover", {});
    assert.deepEqual(
      Object.keys(discover.body.result.capabilities).sort(),
      ["completions", "logging", "prompts", "resources", "tools"],
    );
    const call = await stateless(gw, "tools/call", {
      name: "ev_echo",
      arguments: { message: "now" },
    });
    assert.equal(call.body.result.resultType, "complete");
    assert.deepEqual(call.body.result.content, [{ type: "text", text: "Echo: now" }]);
    const prompt = await stateless(gw, "prompts/get", { name: "ev_simple-prompt" });
    assert.equal(prompt.body.result.resultType, "complete");
    assert.ok(prompt.body.result.messages.length > 0);
    const uri = "demo://resource/dynamic/text/3";
    const read = await stateless(gw, "resources/read", { uri });
    assert.equal(read.body.result.resultType, "complete");
    assert.equal(typeof read.body.result.ttlMs, "number");
    // A URI nothing serves is invalid params in this era (-32002 before it).
    const missing = await stateless(gw, "resources/read", { uri: "nope://x" });
    assert.equal(missing.body.error.code, -32602);
    // The header must repeat the name.
    const mismatch = await stateless(gw, "prompts/get", { name: "ev_simple-prompt" }, {}, "other");
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error.code, -32020);
  });
});

Deno.test("a secret given to a server never comes back through it: get-env answers it redacted", async () => {
  await withGateway(async (s, gw) => {
    const secret = "env-secret-value-5c81d2";
    await api(
      s,
      "POST",
      "/secrets",
      { name: "ENV_TOKEN", type: "bearer_token", value: secret },
      201,
    );
    const everything = await addServer(s, {
      ...everythingStdio(),
      env: { GIVEN_TOKEN: "{{secrets.ENV_TOKEN}}" },
    });
    await api(
      s,
      "POST",
      `/gateways/${gw.id}/servers`,
      { serverId: everything.id, prefix: "ev" },
      201,
    );
    const { client, close } = await connectSdk("http", gw);
    try {
      const env = JSON.stringify(await client.callTool({ name: "ev_get-env", arguments: {} }));
      assert.match(env, /GIVEN_TOKEN/, "the variable reached the process");
      assert.ok(!env.includes(secret), "its value did not come back");
      assert.match(env, /\[REDACTED\]/);
    } finally {
      await close();
    }
  });
});

Deno.test("GATEHOUSE_UPSTREAM_SESSIONS_PER_SERVER bounds the upstream sessions a server holds", async () => {
  const upstream = sessionServer();
  const s = await startTestServer(loadConfigWith({ GATEHOUSE_UPSTREAM_SESSIONS_PER_SERVER: "1" }));
  try {
    const gw = await setupGateway(s, "/capped");
    const server = await addServer(s, {
      name: "st",
      transport: "streamable-http",
      url: upstream.url,
    });
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "st" }, 201);
    const first = await connectSdk("http", gw);
    const second = await connectSdk("ws", gw);
    try {
      for (const c of [first, second, first]) {
        const r = await c.client.callTool({ name: "st_count", arguments: {} });
        assert.equal(r.isError, undefined, JSON.stringify(r));
      }
      assert.equal((await api(s, "GET", `/servers/${server.id}`)).status.sessions, 1);
      // Each turn made room by closing the other session's idle upstream session.
      assert.ok(upstream.deleted.length >= 2, `ended: ${upstream.deleted.length}`);
    } finally {
      await first.close();
      await second.close();
    }
  } finally {
    await s.close();
    await upstream.stop();
  }
});

Deno.test("an upstream restarted mid-session: the client's next call through the gateway just works", async () => {
  let upstream = sessionServer();
  const port = upstream.port;
  const s = await startTestServer();
  try {
    const gw = await setupGateway(s, "/restart");
    const server = await addServer(s, {
      name: "st",
      transport: "streamable-http",
      url: upstream.url,
    });
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "st" }, 201);
    const c = await connectSdk("http", gw);
    try {
      const first = await c.client.callTool({ name: "st_count", arguments: {} });
      assert.deepEqual(first.content, [{ type: "text", text: "1" }]);
      // The upstream goes away and comes back on the same port, knowing no session.
      await upstream.stop();
      upstream = sessionServer({ port });
      const again = await c.client.callTool({ name: "st_count", arguments: {} });
      assert.equal(again.isError, undefined, JSON.stringify(again));
      // A new upstream session, made for the same downstream session, counts from 1 again.
      assert.deepEqual(again.content, [{ type: "text", text: "1" }]);
      assert.ok(upstream.opened.length >= 1);
    } finally {
      await c.close();
    }
  } finally {
    await s.close();
    await upstream.stop();
  }
});
