/**
 * A small real MCP server over Streamable HTTP whose one tool the test can
 * rewrite while it runs (to see changes held and approved), which records
 * the headers of every request it gets (to prove what reaches an upstream),
 * and which gives each client its own session (one SDK server per session).
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

/** The tool's definition as the upstream lists it. */
export interface ProbeTool {
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A running scripted upstream. */
export interface ScriptedUpstream {
  /** Its MCP endpoint. */
  url: string;
  /** The headers of every request received, oldest first. */
  seen: Headers[];
  /**
   * Replaces the tool's definition and tells every open session its list
   * changed (unless `silent`, as a server that never announces changes).
   */
  change(tool: Partial<ProbeTool>, silent?: boolean): Promise<void>;
  /** Stops serving. */
  close(): Promise<void>;
}

/** Starts the upstream on a free loopback port, serving tool `probe`. */
export function startScriptedUpstream(): ScriptedUpstream {
  let tool: ProbeTool = {
    description: "Probes.",
    inputSchema: { type: "object", properties: { q: { type: "string" } } },
  };
  const sessions = new Map<
    string,
    { server: Server; transport: WebStandardStreamableHTTPServerTransport }
  >();
  const seen: Headers[] = [];

  const open = async () => {
    const server = new Server(
      { name: "scripted", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [{ name: "probe", ...tool }],
    }));
    server.setRequestHandler(CallToolRequestSchema, (req: { params: { arguments?: unknown } }) => ({
      content: [{ type: "text", text: `probed ${JSON.stringify(req.params.arguments ?? {})}` }],
    }));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id: string) => void sessions.set(id, { server, transport }),
      onsessionclosed: (id: string) => void sessions.delete(id),
    });
    await server.connect(transport);
    return transport;
  };

  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push(req.headers);
    const id = req.headers.get("mcp-session-id");
    const transport = id ? sessions.get(id)?.transport : await open();
    if (!transport) return new Response("unknown session", { status: 404 });
    return transport.handleRequest(req);
  });

  return {
    url: `http://127.0.0.1:${http.addr.port}/mcp`,
    seen,
    async change(next, silent = false) {
      tool = { ...tool, ...next };
      if (silent) return;
      for (const { server } of sessions.values()) {
        await server.sendToolListChanged().catch(() => {});
      }
    },
    async close() {
      for (const { server } of sessions.values()) await server.close().catch(() => {});
      await http.shutdown();
    },
  };
}
