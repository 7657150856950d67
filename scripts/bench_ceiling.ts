/**
 * The ceiling reference of `scripts/bench.ts`: the least a server can do to
 * answer the same MCP traffic on the same runtime. A bare `Deno.serve`
 * handler that reads the JSON-RPC body and answers `tools/list` with the very
 * bytes Gatehouse sent, `tools/call` by forwarding to the same upstream with
 * `fetch`, and the same over a bare WebSocket (`.../ws`). It also holds idle
 * streams and sockets, so the memory figures have a floor to compare with.
 *
 * With `--mcp-upstream URL --mcp-prefix PREFIX` it is also the ceiling of the
 * federated row: a `tools/call` whose name starts with the prefix loses the
 * prefix and is POSTed, otherwise unchanged, to that upstream MCP server
 * (`scripts/bench_mcp_upstream.ts`, stateless) with one bare `fetch`, and the
 * upstream's answer is returned as it came. That is the least a federating
 * gateway does: rename, forward, answer.
 *
 * No auth, no sessions, no validation: whatever Gatehouse spends beyond this
 * is the price of being a gateway.
 *
 * Usage: `deno run -A scripts/bench_ceiling.ts --port 0 --upstream URL --list-file FILE
 * [--mcp-upstream URL --mcp-prefix PREFIX]`; prints `LISTENING <port>` once it accepts connections.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" },
    upstream: { type: "string" },
    "list-file": { type: "string" },
    "mcp-upstream": { type: "string" },
    "mcp-prefix": { type: "string" },
  },
});
const upstream = values.upstream ?? "http://127.0.0.1:1";
const mcpUpstream = values["mcp-upstream"];
const mcpPrefix = values["mcp-prefix"] ?? "";
// What the SDK's Streamable HTTP server insists on in every POST.
const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};
// The exact bytes Gatehouse answered to the benchmark's tools/list (id 1).
const listBytes = values["list-file"] ? Deno.readFileSync(values["list-file"]) : new Uint8Array();
const listText = new TextDecoder().decode(listBytes);
const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const encoder = new TextEncoder();
const KEEPALIVE = encoder.encode(": keepalive\n\n");

interface RpcRequest {
  id?: string | number;
  method?: string;
  params?: { name?: string; arguments?: Record<string, unknown> };
}

/** The answer to one JSON-RPC message, or null for a notification. */
async function answer(msg: RpcRequest): Promise<string | Uint8Array<ArrayBuffer> | null> {
  if (msg.id === undefined) return null;
  switch (msg.method) {
    case "tools/list":
      return listBytes;
    case "tools/call": {
      const name = msg.params?.name ?? "";
      if (mcpUpstream && name.startsWith(mcpPrefix)) {
        const forwarded = { ...msg, params: { ...msg.params, name: name.slice(mcpPrefix.length) } };
        const res = await fetch(mcpUpstream, {
          method: "POST",
          headers: MCP_HEADERS,
          body: JSON.stringify(forwarded),
        });
        return await res.text();
      }
      const args = msg.params?.arguments ?? {};
      const url = `${upstream}/users?page=${encodeURIComponent(String(args.page))}&limit=${
        encodeURIComponent(String(args.limit))
      }`;
      const text = await (await fetch(url)).text();
      return `{"jsonrpc":"2.0","id":${
        JSON.stringify(msg.id)
      },"result":{"content":[{"type":"text","text":${JSON.stringify(text)}}]}}`;
    }
    case "initialize":
      return JSON.stringify({
        jsonrpc: "2.0",
        id: msg.id,
        result: {
          protocolVersion: "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "ceiling", version: "0" },
        },
      });
    default:
      return JSON.stringify({
        jsonrpc: "2.0",
        id: msg.id,
        error: { code: -32601, message: "Method not found" },
      });
  }
}

/** An SSE body that sends a keep-alive comment now and then, as Gatehouse's streams do. */
function idleStream(): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(": open\n\n"));
      timer = setInterval(() => controller.enqueue(KEEPALIVE), 15_000);
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

function socket(req: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "mcp" });
  socket.onmessage = async (event) => {
    const out = await answer(JSON.parse(event.data as string));
    if (out !== null && socket.readyState === WebSocket.OPEN) {
      socket.send(typeof out === "string" ? out : listText);
    }
  };
  socket.onerror = () => {};
  return response;
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port ?? 0),
  onListen: ({ port }) => console.log(`LISTENING ${port}`),
}, async (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return socket(req);
  if (req.method === "GET") {
    return new Response(idleStream(), { headers: SSE_HEADERS });
  }
  const msg = JSON.parse(await req.text()) as RpcRequest;
  const out = await answer(msg);
  if (out === null) return new Response(null, { status: 202 });
  const headers: Record<string, string> = msg.method === "initialize"
    ? { ...JSON_HEADERS, "mcp-session-id": crypto.randomUUID() }
    : JSON_HEADERS;
  return new Response(out, { headers });
});
