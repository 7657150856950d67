/**
 * How the benchmark's SDK servers (`bench_sdk.ts`, `bench_mcp_upstream.ts`)
 * serve Streamable HTTP, as the official MCP TypeScript SDK's examples do:
 * stateless (a new server and transport per request) or stateful (one per
 * session, kept by `Mcp-Session-Id`; an unknown session is a 404).
 *
 * @module
 */
// The package maps `./*` types to `*.d.ts`, so `mcp.js` would find `mcp.js.d.ts` and type as any.
// @deno-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @deno-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

/** The two request handlers over servers made by `getServer`, and the open sessions. */
export function sdkHandlers(getServer: () => McpServer): {
  stateless(req: Request): Promise<Response>;
  stateful(req: Request): Promise<Response>;
  sessions: ReadonlyMap<string, WebStandardStreamableHTTPServerTransport>;
} {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  return {
    sessions,
    async stateless(req) {
      const server = getServer();
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await server.connect(transport);
      try {
        return await transport.handleRequest(req);
      } finally {
        // With JSON responses the answer is complete here; the example closes both per request.
        await transport.close();
        await server.close();
      }
    },
    async stateful(req) {
      const id = req.headers.get("mcp-session-id");
      let transport = id ? sessions.get(id) : undefined;
      if (!transport) {
        if (id) {
          return Response.json({
            jsonrpc: "2.0",
            id: null,
            error: { code: -32001, message: "Session not found" },
          }, { status: 404 });
        }
        const fresh = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => crypto.randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (sid: string) => void sessions.set(sid, fresh),
          onsessionclosed: (sid: string) => void sessions.delete(sid),
        });
        await getServer().connect(fresh);
        transport = fresh;
      }
      return await transport.handleRequest(req);
    },
  };
}
