/**
 * Streams across replicas: a Streamable HTTP session's GET stream is held by
 * replica A while its other requests go to replica B, and what arises for
 * the client on B reaches it on A's stream: a tool list change made through
 * B, a resource update of a subscription made on B, the progress and log
 * messages of a call B answers in JSON, and a sampling request of a call
 * running on B, whose answer the client sends to A (also when either is
 * larger than a PostgreSQL notice may carry). A cancellation sent to A stops
 * the call running on B, and with no stream open anywhere a request to the
 * client is refused at once. The official SDK's client behind a round-robin
 * proxy has its sampling answers reach the replica that asked. The delays
 * are measured and printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { type Json, readSseMessages, req, rpc, type RpcOptions } from "../helpers/mcp.ts";
import {
  createEchoTool,
  createGateway,
  delayUntil,
  echoBackend,
  expect,
  roundRobin,
  startReplicas,
} from "../helpers/replicas.ts";
import { sessionServer } from "../upstream/session_server.ts";

const VERSION = "2025-11-25";
const NOTE = "note://shared";

/**
 * An upstream MCP server over Streamable HTTP (a server per session): tools
 * `chatty` (reports progress and logs, then answers), `sample` (asks its
 * client to sample its `prompt`) and `hang` (answers only when cancelled), and resource
 * {@link NOTE}, whose subscribers `update` tells it changed.
 */
function streamsUpstream() {
  const subscribed = new Set<Server>();
  const counts = { hanging: 0, cancelled: 0, rootsChanged: 0 };
  const text = (t: string) => ({ content: [{ type: "text", text: t }] });
  const upstream = sessionServer({
    make: () => {
      const server = new Server({ name: "streams", version: "1.0.0" }, {
        capabilities: { tools: {}, resources: { subscribe: true }, logging: {} },
      });
      const schema = { type: "object", properties: {} };
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [
          { name: "chatty", description: "Reports progress and logs.", inputSchema: schema },
          { name: "sample", description: "Asks the client to sample.", inputSchema: schema },
          { name: "hang", description: "Answers only when cancelled.", inputSchema: schema },
        ],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (r: Json, extra: Json) => {
        if (r.params.name === "chatty") {
          const token = extra._meta?.progressToken;
          if (token !== undefined) {
            await extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, progress: 1, total: 2 },
            });
          }
          await extra.sendNotification({
            method: "notifications/message",
            params: { level: "info", data: "chatty was called" },
          });
          return text("chatted");
        }
        if (r.params.name === "sample") {
          const sampled = await extra.sendRequest({
            method: "sampling/createMessage",
            params: {
              messages: [{
                role: "user",
                content: { type: "text", text: r.params.arguments?.prompt ?? "say hi" },
              }],
              maxTokens: 10,
            },
          }, CreateMessageResultSchema);
          return text(`sampled: ${sampled.content.text}`);
        }
        counts.hanging++;
        return await new Promise((_resolve, reject) => {
          extra.signal.addEventListener("abort", () => {
            counts.cancelled++;
            reject(new Error("cancelled"));
          });
        });
      });
      server.setRequestHandler(ListResourcesRequestSchema, () => ({
        resources: [{ uri: NOTE, name: "note" }],
      }));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
        resourceTemplates: [],
      }));
      server.setRequestHandler(ReadResourceRequestSchema, () => ({
        contents: [{ uri: NOTE, text: "a note" }],
      }));
      server.setRequestHandler(SubscribeRequestSchema, () => {
        subscribed.add(server);
        return {};
      });
      server.setRequestHandler(UnsubscribeRequestSchema, () => {
        subscribed.delete(server);
        return {};
      });
      server.setNotificationHandler(
        RootsListChangedNotificationSchema,
        () => void counts.rootsChanged++,
      );
      return server;
    },
  });
  return {
    url: upstream.url,
    counts,
    /** Tells every subscribed session that {@link NOTE} changed. */
    async update() {
      for (const server of subscribed) await server.sendResourceUpdated({ uri: NOTE });
    },
    close: () => upstream.stop(),
  };
}

/** A message of a GET stream and when it arrived (performance.now()). */
interface Arrival {
  at: number;
  message: Json;
}

/** Opens the session's GET stream at `url`; its messages collect as they arrive. */
async function openGetStream(url: string, key: string, session: string) {
  const controller = new AbortController();
  const res = await fetch(url, {
    signal: controller.signal,
    headers: {
      authorization: `Bearer ${key}`,
      accept: "text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": VERSION,
    },
  });
  assert.equal(res.status, 200);
  const arrivals: Arrival[] = [];
  // The priming event has no data, so it is no arrival.
  const close = readSseMessages(
    res,
    controller,
    (message) => arrivals.push({ at: performance.now(), message }),
  );
  return {
    arrivals,
    /** The first message `match` accepts, waiting for it up to 5 s. */
    async next(match: (m: Json) => boolean, what: string): Promise<Arrival> {
      await delayUntil(() => Promise.resolve(arrivals.some((a) => match(a.message))), what);
      return arrivals.find((a) => match(a.message))!;
    },
    close,
  };
}

Deno.test("what arises for a session on one replica reaches its stream on the other", async (t) => {
  const backend = echoBackend();
  const upstream = streamsUpstream();
  const set = await startReplicas(2);
  const [a, b] = set.replicas;
  try {
    const gw = await createGateway(a, backend.url);
    const server = expect(
      await a.api("POST", "/servers", {
        name: "streams",
        transport: "streamable-http",
        url: upstream.url,
      }),
      201,
    );
    for (const r of [a, b]) {
      await delayUntil(
        async () => expect(await r.api("GET", `/servers/${server.id}`)).status.state === "ready",
        "the upstream ready on both replicas",
        20_000,
      );
    }
    expect(await a.api("POST", `/gateways/${gw.id}/servers`, { serverId: server.id }), 201);

    // The session starts on A, which then holds its GET stream; every other request goes to B.
    const init = await rpc(a.url + gw.path, {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: VERSION,
        capabilities: { sampling: {}, roots: { listChanged: true } },
        clientInfo: { name: "streams-test", version: "1.0.0" },
      },
    }, { key: gw.key });
    assert.equal(init.status, 200, init.text);
    const session = init.headers.get("mcp-session-id")!;
    const inSession = (o: RpcOptions = {}): RpcOptions => ({
      key: gw.key,
      session,
      version: VERSION,
      ...o,
    });
    const onA = (body: unknown, o?: RpcOptions) => rpc(a.url + gw.path, body, inSession(o));
    const onB = (body: unknown, o?: RpcOptions) => rpc(b.url + gw.path, body, inSession(o));
    const jsonOnly = { accept: "application/json" };
    assert.equal(
      (await onA({ jsonrpc: "2.0", method: "notifications/initialized" })).status,
      202,
    );
    const stream = await openGetStream(a.url + gw.path, gw.key, session);
    const delays: string[] = [];
    try {
      await t.step("a tool list change made through B", async () => {
        const listed = await onB(req(1, "tools/list"));
        assert.ok(listed.body.result.tools.some((x: Json) => x.name === "chatty"), listed.text);
        const tool = await createEchoTool(b, backend.url, "added_on_b");
        const sent = performance.now();
        expect(await b.api("POST", `/gateways/${gw.id}/tools`, { toolIds: [tool] }), 201);
        const changed = (m: Json) => m.method === "notifications/tools/list_changed";
        const heard = await stream.next(changed, "tools/list_changed on A's stream");
        delays.push(`tools/list_changed ${(heard.at - sent).toFixed(1)} ms`);
        // Told once: B, which holds no stream, sends nothing of its own.
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(stream.arrivals.filter((x) => changed(x.message)).length, 1);
      });

      await t.step("a resource update of a subscription made on B", async () => {
        const subscribed = await onB(req(2, "resources/subscribe", { uri: NOTE }));
        assert.deepEqual(subscribed.body.result, {}, subscribed.text);
        const sent = performance.now();
        await upstream.update();
        const heard = await stream.next(
          (m) => m.method === "notifications/resources/updated" && m.params.uri === NOTE,
          "resources/updated on A's stream",
        );
        delays.push(`resources/updated ${(heard.at - sent).toFixed(1)} ms`);
      });

      await t.step("the progress and log messages of a call B answers in JSON", async () => {
        const sent = performance.now();
        const call = await onB(
          req(3, "tools/call", { name: "chatty", arguments: {}, _meta: { progressToken: "p-3" } }),
          jsonOnly,
        );
        assert.match(JSON.stringify(call.body.result.content), /chatted/, call.text);
        const progress = await stream.next(
          (m) => m.method === "notifications/progress" && m.params.progressToken === "p-3",
          "the call's progress on A's stream",
        );
        assert.deepEqual([progress.message.params.progress, progress.message.params.total], [1, 2]);
        const log = await stream.next(
          (m) => m.method === "notifications/message" && m.params.data === "chatty was called",
          "the call's log message on A's stream",
        );
        delays.push(`progress ${(progress.at - sent).toFixed(1)} ms`);
        assert.equal(log.message.params.level, "info");
      });

      await t.step("a sampling request of a call on B, answered through A", async () => {
        const sent = performance.now();
        const call = onB(req(4, "tools/call", { name: "sample", arguments: {} }), jsonOnly);
        const asked = await stream.next(
          (m) => m.method === "sampling/createMessage",
          "the sampling request on A's stream",
        );
        delays.push(`sampling/createMessage ${(asked.at - sent).toFixed(1)} ms`);
        assert.equal(asked.message.params.messages[0].content.text, "say hi");
        // The client answers on whichever replica its next request reaches: here A.
        const answered = await onA({
          jsonrpc: "2.0",
          id: asked.message.id,
          result: { role: "assistant", model: "test", content: { type: "text", text: "hi!" } },
        });
        assert.equal(answered.status, 202, answered.text);
        const result = await call;
        assert.equal(result.status, 200, result.text);
        assert.match(JSON.stringify(result.body.result.content), /sampled: hi!/, result.text);
      });

      await t.step("a sampling request larger than a notice may carry", async () => {
        // 12,000 bytes of UTF-8 in 6,000 UTF-16 units: over PostgreSQL's 8,000-byte payload.
        const prompt = "ü".repeat(6000);
        const call = onB(
          req(41, "tools/call", { name: "sample", arguments: { prompt } }),
          jsonOnly,
        );
        const asked = await stream.next(
          (m) =>
            m.method === "sampling/createMessage" && m.params.messages[0].content.text !== "say hi",
          "the large sampling request on A's stream",
        );
        assert.equal(asked.message.params.messages[0].content.text, prompt);
        const answer = "ä".repeat(6000);
        const answered = await onA({
          jsonrpc: "2.0",
          id: asked.message.id,
          result: { role: "assistant", model: "test", content: { type: "text", text: answer } },
        });
        assert.equal(answered.status, 202, answered.text);
        const result = await call;
        assert.equal(result.body.result.content[0].text, `sampled: ${answer}`);
      });

      await t.step("a cancellation sent to A stops the call running on B", async () => {
        const call = onB(req(5, "tools/call", { name: "hang", arguments: {} }), jsonOnly);
        await delayUntil(() => Promise.resolve(upstream.counts.hanging === 1), "the hang call");
        const cancelled = await onA({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: 5, reason: "changed my mind" },
        });
        assert.equal(cancelled.status, 202, cancelled.text);
        await delayUntil(
          () => Promise.resolve(upstream.counts.cancelled === 1),
          "the upstream told of the cancellation",
        );
        // A cancelled request gets no answer.
        assert.equal((await call).status, 202);
      });

      await t.step(
        "a change of roots sent to A reaches the upstream session B opened",
        async () => {
          const before = upstream.counts.rootsChanged;
          const told = await onA({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
          assert.equal(told.status, 202, told.text);
          await delayUntil(
            () => Promise.resolve(upstream.counts.rootsChanged > before),
            "roots/list_changed at the upstream",
          );
        },
      );
    } finally {
      await stream.close();
    }

    await t.step("with no stream open, a request to the client is refused at once", async () => {
      const started = performance.now();
      const call = await onB(req(6, "tools/call", { name: "sample", arguments: {} }), jsonOnly);
      const took = performance.now() - started;
      assert.match(call.text, /no open stream to receive sampling\/createMessage/);
      // Long before the call's 20 s timeout.
      assert.ok(took < 5000, `refused after ${took.toFixed(0)} ms`);
    });
    await t.step(
      "the official SDK client through a round-robin proxy answers sampling",
      async () => {
        const proxy = roundRobin([a, b]);
        const client = new Client({ name: "round-robin", version: "1.0.0" }, {
          capabilities: { sampling: {} },
        });
        client.setRequestHandler(CreateMessageRequestSchema, () => ({
          role: "assistant",
          model: "test",
          content: { type: "text", text: "from the sdk" },
        }));
        try {
          const transport = new StreamableHTTPClientTransport(new URL(proxy.url + gw.path), {
            requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
          });
          await client.connect(transport);
          // Each answer reaches the replica after the call's: half of them not the one that asked.
          for (let i = 0; i < 4; i++) {
            const out = await client.callTool(
              { name: "sample", arguments: {} },
              undefined,
              { timeout: 10_000 },
            );
            assert.match(JSON.stringify(out.content), /sampled: from the sdk/);
          }
          await transport.terminateSession();
        } finally {
          await client.close();
          await proxy.close();
        }
      },
    );
    console.log(`from B to the client on A's stream: ${delays.join(", ")}`);
  } finally {
    await set.close();
    await upstream.close();
    await backend.close();
  }
});
