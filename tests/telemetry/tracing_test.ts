/**
 * Traces through Deno's built-in OpenTelemetry, exported by a real server
 * process to a receiver in the test: a tool call makes a SERVER span with
 * the MCP attributes, continued from the client's `traceparent` (header or
 * `_meta`), and a CLIENT span for the upstream call beneath it, and the
 * upstream receives a `traceparent` of the same trace.
 */
import assert from "node:assert/strict";
import { apiCall, startChildServer } from "../helpers/server.ts";
import { modernUpstream } from "../upstream/modern_upstream.ts";
import { CLIENT, SERVER, startOtlpReceiver } from "./otlp_receiver.ts";

type Json = Record<string, unknown>;

const ADMIN_KEY = `gha_tracing_${crypto.randomUUID()}`;

async function ok(base: string, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await apiCall(base, ADMIN_KEY, method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Json;
}

/** A random W3C trace context: `[traceparent, traceId, spanId]`. */
function traceContext(): [string, string, string] {
  const hex = (n: number) =>
    Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  const traceId = hex(16);
  const spanId = hex(8);
  return [`00-${traceId}-${spanId}-01`, traceId, spanId];
}

/** A 2026-07-28 `tools/call` of `name` to `url`, with `meta` and `headers` added. */
async function callTool(
  url: string,
  name: string,
  args: Json,
  { meta = {}, headers = {} }: { meta?: Json; headers?: Record<string, string> } = {},
): Promise<Json> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": name,
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
          ...meta,
        },
      },
    }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const answer = JSON.parse(text.startsWith("{") ? text : /^data: (.*)$/m.exec(text)![1]);
  assert.ok(answer.result && !answer.result.isError, text);
  return answer.result;
}

Deno.test("tool calls are traced from the client's traceparent down to the upstream", async (t) => {
  const receiver = startOtlpReceiver();
  const toolHeaders: (string | null)[] = [];
  const tool = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    toolHeaders.push(req.headers.get("traceparent"));
    return Response.json({ pong: true });
  });
  const upstream = await modernUpstream();
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-tracing-" });
  const child = await startChildServer(dataDir, {
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    OTEL_DENO: "true",
    OTEL_DENO_CONSOLE: "ignore",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_SERVICE_NAME: "gatehouse-test",
    GATEHOUSE_LOG_FORMAT: "json",
    GATEHOUSE_LOG_REQUESTS: "1",
  });
  try {
    const base = child.url;
    const gw = await ok(base, "POST", "/gateways", {
      name: "traced",
      type: "mcp",
      endpoint: "/traced",
      configuration: { transport: "http" },
    });
    const made = await ok(base, "POST", "/tools", {
      name: "ping",
      inputSchema: { type: "object", properties: {} },
      type: "http",
      executionConfig: { method: "GET", url: `http://127.0.0.1:${tool.addr.port}/ping` },
    });
    await ok(base, "POST", `/gateways/${gw.id}/tools`, { toolId: made.id });
    await ok(base, "POST", `/gateways/${gw.id}/auth`, { type: "api_key" });
    const key = (await ok(base, "POST", `/gateways/${gw.id}/keys`, { name: "k" })).key as string;
    const server = await ok(base, "POST", "/servers", {
      name: "modern",
      transport: "streamable-http",
      url: upstream.url,
    });
    for (let i = 0;; i++) {
      const st = await ok(base, "GET", `/servers/${server.id}`);
      const state = (st.status as Json).state;
      assert.notEqual(state, "failed", JSON.stringify(st.status));
      if (state === "ready") break;
      assert.ok(i < 200, "the upstream became ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    await ok(base, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "up" });
    const mcpUrl = `${base}/mcp/default/traced`;

    await t.step(
      "an HTTP tool, the trace context in the header, the key in the query",
      async () => {
        const [headerParent, headerTrace, headerSpan] = traceContext();
        await callTool(`${mcpUrl}?api_key=${key}`, "ping", {}, {
          headers: { traceparent: headerParent },
        });
        const call = await receiver.waitFor(
          (s) => s.scope === "gatehouse" && s.traceId === headerTrace,
          "for the header's tools/call",
        );
        assert.equal(call.name, "tools/call ping");
        assert.equal(call.kind, SERVER);
        assert.equal(call.attributes["mcp.method.name"], "tools/call");
        assert.equal(call.attributes["gen_ai.tool.name"], "ping");
        assert.equal(call.attributes["gen_ai.operation.name"], "execute_tool");
        assert.equal(call.attributes["jsonrpc.request.id"], "7");
        assert.equal(call.attributes["mcp.protocol.version"], "2026-07-28");
        assert.equal(call.attributes["network.transport"], "tcp");
        assert.equal(call.attributes["gatehouse.gateway.id"], gw.id);
        assert.equal(call.attributes["gatehouse.transport"], "http");
        // Its parent is Deno's span of the HTTP request, itself the child of the client's span.
        const http = await receiver.waitFor(
          (s) => s.spanId === call.parentSpanId,
          "of the request",
        );
        assert.equal(http.kind, SERVER);
        assert.equal(http.parentSpanId, headerSpan);
        const toolFetch = await receiver.waitFor(
          (s) => s.parentSpanId === call.spanId && s.kind === CLIENT,
          "of the tool's fetch",
        );
        assert.match(String(toolFetch.attributes["url.full"]), /\/ping$/);
        assert.deepEqual(toolHeaders, [`00-${headerTrace}-${toolFetch.spanId}-01`]);
        // The request's log line names its trace and Deno's span of it.
        const logged = await receiver.until(() =>
          child.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
            .find((r) => r.traceId === headerTrace)
        );
        assert.match(logged.message, /^POST \/mcp\/default\/traced 200 /);
        assert.equal(logged.spanId, http.spanId);

        // No span carries the gateway key, which came in a query string.
        const spans = JSON.stringify(receiver.spans);
        assert.ok(!spans.includes(key), "the gateway key reached a span");
        assert.match(String(http.attributes["url.full"]), /\?api_key=REDACTED$/);
      },
    );

    await t.step("a federated tool, the trace context in _meta only", async () => {
      const [metaParent, metaTrace, metaSpan] = traceContext();
      await callTool(mcpUrl, "up_echo", { text: "hi" }, {
        meta: { traceparent: metaParent },
        headers: { authorization: `Bearer ${key}` },
      });
      const federated = await receiver.waitFor(
        (s) => s.scope === "gatehouse" && s.kind === SERVER && s.traceId === metaTrace,
        "for the _meta tools/call",
      );
      assert.equal(federated.name, "tools/call up_echo");
      assert.equal(federated.parentSpanId, metaSpan);
      // The HTTP request that carried it, in a trace of its own, is linked.
      assert.equal(federated.links.length, 1);
      const carrier = await receiver.waitFor(
        (s) => s.spanId === federated.links[0].spanId,
        "of the carrying request",
      );
      assert.equal(carrier.scope, "deno");
      const forwarded = await receiver.waitFor(
        (s) => s.scope === "gatehouse" && s.kind === CLIENT && s.traceId === metaTrace,
        "of the upstream call",
      );
      assert.equal(forwarded.name, "tools/call echo");
      assert.equal(forwarded.parentSpanId, federated.spanId);
      assert.equal(forwarded.attributes["gen_ai.tool.name"], "echo");
      assert.equal(forwarded.attributes["gatehouse.upstream.server.id"], server.id);
      const sent = upstream.requests.filter((r) => r.method === "tools/call");
      assert.equal(sent.length, 1);
      const meta = sent[0].params!._meta as Json;
      assert.equal(meta.traceparent, `00-${metaTrace}-${forwarded.spanId}-01`);
      // Deno's fetch span of the POST, beneath the MCP one, is the header's parent.
      const post = await receiver.waitFor(
        (s) => s.parentSpanId === forwarded.spanId,
        "of the upstream POST",
      );
      assert.equal(sent[0].headers.traceparent, `00-${metaTrace}-${post.spanId}-01`);
    });
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
    await upstream.close();
    await tool.shutdown();
    await receiver.close();
  }
});
