/**
 * A real MCP server over Streamable HTTP whose one tool, `probe`, the test
 * can rewrite or rename while it runs (to see changes held and approved, and
 * names that come to collide). It is a
 * {@link sessionServer} (one SDK server per session, every request recorded
 * with its headers) whose sessions serve `probe` through the SDK's
 * low-level `Server`, since the tool's inputSchema is plain JSON Schema.
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { type SeenRequest, sessionServer } from "./session_server.ts";

/** The tool's definition as the upstream lists it. */
export interface ProbeTool {
  /** `probe` unless changed. */
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A running scripted upstream. */
export interface ScriptedUpstream {
  /** Its MCP endpoint. */
  url: string;
  /** Every request received, oldest first. */
  seen: SeenRequest[];
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
    name: "probe",
    description: "Probes.",
    inputSchema: { type: "object", properties: { q: { type: "string" } } },
  };
  const servers: Server[] = [];
  const upstream = sessionServer({
    make: () => {
      const server = new Server(
        { name: "scripted", version: "1.0.0" },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [tool],
      }));
      server.setRequestHandler(
        CallToolRequestSchema,
        (req: { params: { arguments?: unknown } }) => ({
          content: [{ type: "text", text: `probed ${JSON.stringify(req.params.arguments ?? {})}` }],
        }),
      );
      servers.push(server);
      return server;
    },
  });
  return {
    url: upstream.url,
    seen: upstream.requests,
    async change(next, silent = false) {
      tool = { ...tool, ...next };
      if (silent) return;
      for (const server of servers) await server.sendToolListChanged().catch(() => {});
    },
    close: () => upstream.stop(),
  };
}
