/**
 * The upstream MCP server behind the federated benchmarks of
 * `scripts/bench.ts`: one tool, `echo`, that answers its `text` argument as
 * text, served with the official MCP TypeScript SDK (`McpServer` +
 * `WebStandardStreamableHTTPServerTransport`, `enableJsonResponse: true`)
 * under `Deno.serve`, as its own process on loopback.
 *
 * Two modes, because they cost a gateway differently:
 * - `stateless` (default): the SDK's stateless pattern, a new server and
 *   transport per POST (`sessionIdGenerator: undefined`); GET and DELETE are
 *   answered 405 as in the SDK's stateless example, so clients keep no
 *   stream open. The initialize answer carries no session id, so a gateway
 *   may send every caller's requests over one connection: this is the mode
 *   of the throughput row, which then measures forwarding and nothing else.
 * - `stateful`: the SDK's session pattern, one server and transport per
 *   session kept in a map by `Mcp-Session-Id`. A gateway that respects
 *   sessions must hold one upstream session per downstream session, which
 *   is what the memory row measures.
 *
 * `GET /stats` answers `{"sessions": <sessions open>}`, so the benchmark can
 * say how many upstream sessions a figure was measured with (one shared, or
 * one per downstream session).
 *
 * Usage: `deno run -A scripts/bench_mcp_upstream.ts --port 0 [--mode stateful]`;
 * prints `LISTENING <port>` once it accepts connections.
 *
 * @module
 */
import { parseArgs } from "node:util";
// The package maps `./*` types to `*.d.ts`, so `mcp.js` would find `mcp.js.d.ts` and type as any.
// @deno-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { sdkHandlers } from "./bench_sdk_serving.ts";
// The SDK's schema language, at the version the SDK resolves to in deno.lock (as bench_sdk.ts).
// deno-lint-ignore no-import-prefix
import * as z from "npm:zod@^4.6.7";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string" }, mode: { type: "string" } },
});
const mode = values.mode ?? "stateless";
if (mode !== "stateless" && mode !== "stateful") throw new Error(`unknown --mode ${mode}`);

const echoShape = { text: z.string().describe("What to answer") };

/** A server with the one `echo` tool. */
function getServer(): McpServer {
  const server = new McpServer({ name: "bench-mcp-upstream", version: "1.0.0" });
  server.registerTool("echo", {
    description: "Answers its text argument",
    inputSchema: echoShape,
  }, ({ text }) => ({ content: [{ type: "text", text }] }));
  return server;
}

const sdk = sdkHandlers(getServer);
const sessions = sdk.sessions;

/** Stateless, with GET and DELETE answered 405 as in the SDK's stateless example. */
function statelessHandler(req: Request): Promise<Response> {
  if (req.method !== "POST") {
    return Promise.resolve(new Response(null, { status: 405, headers: { allow: "POST" } }));
  }
  return sdk.stateless(req);
}

const statefulHandler = sdk.stateful;

const handler = mode === "stateful" ? statefulHandler : statelessHandler;
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port ?? 0),
  onListen: ({ port }) => console.log(`LISTENING ${port}`),
}, (req) => {
  if (req.method === "GET" && new URL(req.url).pathname === "/stats") {
    return Response.json({ sessions: sessions.size });
  }
  return handler(req);
});
