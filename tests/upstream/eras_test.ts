/**
 * Translation between protocol eras through a gateway, against an upstream
 * that speaks only 2026-07-28 (`modern_upstream.ts`) and one that speaks
 * both eras and lists differently in each: legacy SDK clients on each
 * transport answer its `input_required` questions as ordinary requests;
 * 2026-07-28 clients get them back as `input_required` from Gatehouse.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { openListenStream } from "../helpers/mcp.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  type Gateway,
  type Json,
  KINDS,
  sdkTransport,
  setupGateway,
} from "../transports/fixtures.ts";
import { until } from "./fixtures.ts";
import { addServer, api, stateless } from "./gateway_fixtures.ts";
import { type ModernUpstream, modernUpstream } from "./modern_upstream.ts";
import { sessionServer } from "./session_server.ts";

/** A gateway serving `url` (prefix `up`), with the server's status once ready. */
async function withGateway(
  url: string,
  fn: (s: TestServer, gw: Gateway, server: Json) => Promise<void>,
) {
  const s = await startTestServer();
  try {
    const gw = await setupGateway(s, "/eras");
    const server = await addServer(s, { name: "up", transport: "streamable-http", url });
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "up" }, 201);
    await fn(s, gw, server);
  } finally {
    await s.close();
  }
}

/** A gateway in front of a 2026-07-28-only upstream. */
async function withModern(fn: (s: TestServer, gw: Gateway, up: ModernUpstream) => Promise<void>) {
  const up = await modernUpstream();
  try {
    await withGateway(up.url, (s, gw) => fn(s, gw, up));
  } finally {
    await up.close();
  }
}

/** A legacy SDK client that answers elicitation, sampling and roots as `tag`. */
async function legacyClient(kind: (typeof KINDS)[number], gw: Gateway, tag: string) {
  const client = new Client({ name: `eras-${tag}`, version: "1.0.0" }, {
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
  });
  client.setRequestHandler(ElicitRequestSchema, () => ({
    action: "accept",
    content: { name: tag },
  }));
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: "assistant",
    model: "test",
    content: { type: "text", text: `draft by ${tag}` },
  }));
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: `file:///${tag}/a` }, { uri: `file:///${tag}/b` }],
  }));
  await client.connect(sdkTransport(kind, gw, gw.key));
  return client;
}

function text(result: Json): string {
  return result.content.map((c: Json) => c.text).join("");
}

for (const kind of KINDS) {
  Deno.test(`a legacy client (${kind}) answers a 2026-07-28 upstream's input_required as ordinary requests`, async () => {
    await withModern(async (_s, gw, up) => {
      const client = await legacyClient(kind, gw, "Ada");
      try {
        const hello = await client.callTool({ name: "up_ask_name", arguments: {} });
        assert.equal(text(hello), "Hello, Ada");
        // Two rounds: sampling first, then roots, each answered by this client.
        const summary = await client.callTool({
          name: "up_summarize",
          arguments: { text: "t" },
        });
        assert.equal(text(summary), "Summary: draft by Ada (2 roots)");
        // The upstream was asked in its own era, with the calling client's capabilities.
        const calls = up.requests.filter((r) => r.method === "tools/call");
        assert.ok(calls.length >= 5, `three rounds of summarize and two of ask_name`);
        for (const r of calls) {
          assert.equal(r.headers["mcp-protocol-version"], "2026-07-28");
          assert.equal(r.headers["mcp-method"], "tools/call");
          assert.equal(r.headers["mcp-name"], (r.params as Json).name);
          const caps = (r.params as Json)._meta["io.modelcontextprotocol/clientCapabilities"];
          assert.deepEqual(Object.keys(caps).sort(), ["elicitation", "roots", "sampling"]);
        }
      } finally {
        await client.close();
      }
    });
  });
}

Deno.test("a 2026-07-28-only upstream is ready with its version, tools and prompts", async () => {
  const up = await modernUpstream();
  try {
    await withGateway(up.url, async (s, _gw, server) => {
      assert.deepEqual(server.status.protocolVersions, ["2026-07-28"]);
      assert.equal(server.status.protocolVersion, "2026-07-28");
      assert.equal(server.status.serverInfo.name, "modern-upstream");
      const { tools } = await api(s, "GET", "/tools");
      const names = tools.filter((t: Json) => t.serverId === server.id).map((t: Json) => t.name);
      assert.ok(names.includes("ask_name") && names.includes("echo"), JSON.stringify(names));
      // Nothing but this era reached it: no initialize, no session.
      assert.ok(
        !up.requests.some((r) =>
          r.method === "initialize" && r.headers["mcp-protocol-version"] === "2026-07-28"
        ),
      );
    });
  } finally {
    await up.close();
  }
});

Deno.test("a 2026-07-28 client gets a 2026-07-28 upstream's questions under its keys, sealed by Gatehouse", async () => {
  await withModern(async (_s, gw) => {
    const call = { name: "up_ask_name", arguments: {} };
    const caps = { elicitation: { form: {} } };
    const first = await stateless(gw, "tools/call", call, caps);
    const asked = first.body.result;
    assert.equal(asked.resultType, "input_required", JSON.stringify(first.body));
    assert.deepEqual(Object.keys(asked.inputRequests), ["name"]);
    assert.equal(asked.inputRequests.name.method, "elicitation/create");

    const tampered = await stateless(gw, "tools/call", {
      ...call,
      requestState: `${asked.requestState}x`,
      inputResponses: { name: { action: "accept", content: { name: "Eve" } } },
    }, caps);
    assert.equal(tampered.body.error.code, -32602);
    assert.match(tampered.body.error.message, /requestState/);

    const done = await stateless(gw, "tools/call", {
      ...call,
      requestState: asked.requestState,
      inputResponses: { name: { action: "accept", content: { name: "Grace" } } },
    }, caps);
    assert.equal(done.body.result.resultType, "complete", JSON.stringify(done.body));
    assert.equal(text(done.body.result), "Hello, Grace");
  });
});

Deno.test("a 2026-07-28 upstream's missing-capability error reaches a 2026-07-28 client as HTTP 400", async () => {
  await withModern(async (_s, gw) => {
    const res = await stateless(gw, "tools/call", { name: "up_ask_name", arguments: {} }, {});
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, -32021);
    assert.ok(res.body.error.data.requiredCapabilities.elicitation);
  });
});

Deno.test("progress of a 2026-07-28 upstream reaches a legacy client, increasing", async () => {
  await withModern(async (_s, gw) => {
    const client = await legacyClient("http", gw, "p");
    try {
      const seen: number[] = [];
      const result = await client.callTool({ name: "up_slow", arguments: { ms: 200 } }, undefined, {
        onprogress: (p: { progress: number }) => seen.push(p.progress),
      });
      assert.equal(text(result), "slept 200ms");
      assert.ok(seen.length >= 2, `progress seen: ${seen}`);
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    } finally {
      await client.close();
    }
  });
});

Deno.test("a 2026-07-28 upstream's list change (on its listen stream) reaches both eras' clients", async () => {
  await withModern(async (_s, gw, up) => {
    const client = await legacyClient("http", gw, "l");
    const listen = await openListenStream(gw.httpUrl, gw.key, { toolsListChanged: true });
    try {
      let changed = false;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed = true;
      });
      await until(
        () => up.requests.some((r) => r.method === "subscriptions/listen"),
        10_000,
        "listen",
      );
      up.changeTools();
      await until(() => changed, 10_000, "tools/list_changed on the legacy session");
      const { tools } = await client.listTools();
      assert.ok(tools.some((t: Json) => t.name === "up_extra"));
      const note = await until(
        () => listen.frames.find((m: Json) => m.method === "notifications/tools/list_changed"),
        10_000,
        "tools/list_changed on the listen stream",
      );
      assert.equal(note.params._meta["io.modelcontextprotocol/subscriptionId"], "sub-1");
    } finally {
      await listen.close();
      await client.close();
    }
  });
});

/**
 * A server that speaks both eras: 2026-07-28 requests (by their header) go
 * to a modern upstream, the rest to a session-era SDK server; each lists
 * its own tools.
 */
async function dualServer() {
  const modern = await modernUpstream();
  const legacy = sessionServer();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const to = req.headers.get("mcp-protocol-version") === "2026-07-28" ? modern.url : legacy.url;
    return fetch(to, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/mcp`,
    async close() {
      await server.shutdown();
      await Promise.all([modern.close(), legacy.stop()]);
    },
  };
}

Deno.test("a server speaking both eras lists to each era's clients what it lists in that era", async () => {
  const dual = await dualServer();
  try {
    await withGateway(dual.url, async (_s, gw, server) => {
      assert.deepEqual(server.status.protocolVersions, ["2025-11-25", "2026-07-28"]);
      const client = await legacyClient("http", gw, "d");
      try {
        const legacyNames = (await client.listTools()).tools.map((t: Json) => t.name);
        assert.ok(legacyNames.includes("up_whoami"), JSON.stringify(legacyNames));
        assert.ok(!legacyNames.includes("up_ask_name"), JSON.stringify(legacyNames));
        // A legacy client cannot call what only the other era lists.
        const refused = await client.callTool({ name: "up_ask_name", arguments: {} }).catch((
          e: Json,
        ) => e);
        assert.match(String(refused.message ?? refused), /Unknown tool/);
      } finally {
        await client.close();
      }
      const listed = await stateless(gw, "tools/list", {});
      const names = listed.body.result.tools.map((t: Json) => t.name);
      assert.ok(
        names.includes("up_ask_name") && !names.includes("up_whoami"),
        JSON.stringify(names),
      );
      const echoed = await stateless(gw, "tools/call", {
        name: "up_echo",
        arguments: { text: "through the 2026-07-28 connection" },
      });
      assert.equal(text(echoed.body.result), "through the 2026-07-28 connection");
    });
  } finally {
    await dual.close();
  }
});

Deno.test("a legacy client's cancelled call cancels the 2026-07-28 upstream's request", async () => {
  await withModern(async (_s, gw, up) => {
    const client = await legacyClient("http", gw, "c");
    try {
      const controller = new AbortController();
      const call = client.callTool({ name: "up_slow", arguments: { ms: 10_000 } }, undefined, {
        signal: controller.signal,
      });
      await until(
        () => up.requests.some((r) => (r.params as Json)?.name === "slow"),
        10_000,
        "the call reaches the upstream",
      );
      controller.abort();
      await assert.rejects(call);
      await until(
        () => up.requests.some((r) => (r.params as Json)?.name === "slow" && r.aborted),
        10_000,
        "the upstream's request aborted",
      );
    } finally {
      await client.close();
    }
  });
});
