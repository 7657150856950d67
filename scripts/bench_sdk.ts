/**
 * The SDK reference of `scripts/bench.ts`: what a user would write by hand
 * with the official MCP TypeScript SDK to serve the same 20 tools, run under
 * `Deno.serve`. Each tool calls the same upstream with `fetch` and returns
 * its body as text, like Gatehouse's `http` tools do.
 *
 * Two modes:
 * - `stateless` (default): the SDK's stateless Streamable HTTP pattern, a new
 *   `McpServer` and `WebStandardStreamableHTTPServerTransport`
 *   (`sessionIdGenerator: undefined`, `enableJsonResponse: true`) per request,
 *   as the SDK's stateless example does.
 * - `stateful`: the SDK's session pattern, one server and transport per
 *   session kept in a map by `Mcp-Session-Id` (the reference for the
 *   initialized-session scenarios).
 *
 * The tools' zod shapes are built once at start-up; building them per request
 * would only make the reference slower.
 *
 * Usage: `deno run -A scripts/bench_sdk.ts --port 0 --upstream URL [--mode stateful] [--tools 20]`;
 * prints `LISTENING <port>` once it accepts connections.
 *
 * @module
 */
import { parseArgs } from "node:util";
// The package maps `./*` types to `*.d.ts`, so `mcp.js` would find `mcp.js.d.ts` and type as any.
// @deno-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { sdkHandlers } from "./bench_sdk_serving.ts";
// Only this reference server uses zod (the SDK's schema language), so it stays out of deno.json;
// the version is the one the SDK itself resolves to in deno.lock.
// deno-lint-ignore no-import-prefix
import * as z from "npm:zod@^4.6.7";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" },
    upstream: { type: "string" },
    mode: { type: "string" },
    tools: { type: "string" },
  },
});
const upstream = values.upstream ?? "http://127.0.0.1:1";
const stateful = values.mode === "stateful";
const toolCount = Number(values.tools ?? 20);

const inputShape = {
  page: z.number().int().optional().describe("Page number"),
  limit: z.number().int().optional().describe("Items per page"),
};
const names = Array.from(
  { length: toolCount },
  (_, i) => `get_users_${String(i).padStart(2, "0")}`,
);

/** A server with the benchmark's tools, as the SDK's examples build one. */
function getServer(): McpServer {
  const server = new McpServer({ name: "sdk-reference", version: "1.0.0" });
  for (const name of names) {
    server.registerTool(name, {
      description: "Retrieve a list of users with pagination",
      inputSchema: inputShape,
    }, async ({ page, limit }) => {
      const url = `${upstream}/users?page=${encodeURIComponent(String(page))}&limit=${
        encodeURIComponent(String(limit))
      }`;
      const text = await (await fetch(url)).text();
      return { content: [{ type: "text", text }] };
    });
  }
  return server;
}

const { stateless: statelessHandler, stateful: statefulHandler } = sdkHandlers(getServer);

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port ?? 0),
  onListen: ({ port }) => console.log(`LISTENING ${port}`),
}, stateful ? statefulHandler : statelessHandler);
