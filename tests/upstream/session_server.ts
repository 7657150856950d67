/**
 * A Streamable HTTP MCP server for tests, made of the SDK's `McpServer` and
 * its web-standard transport, one pair per session as real servers do. It
 * records what reaches it (sessions opened and ended, every request with its
 * session header) and answers 404 for a session it does not know, as the
 * specification says. Stopped and started again on the same port, it is an
 * upstream that restarted and forgot its sessions.
 *
 * Tools: `whoami` (the session id), `count` (a counter per session) and
 * `hang` (answers only when cancelled); one prompt, `hello`.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

/** One HTTP request the server received. */
export interface SeenRequest {
  /** GET, POST or DELETE. */
  http: string;
  /** The JSON-RPC method of a POST (empty for a batch or another method). */
  method: string;
  /** The `Mcp-Session-Id` header. */
  session: string | null;
  /** Every header of the request. */
  headers: Headers;
}

/** The MCP server of one session: anything the SDK's transports connect to. */
export interface SessionMcpServer {
  connect(transport: WebStandardStreamableHTTPServerTransport): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link sessionServer}. */
export interface SessionServerOptions {
  /** The port to listen on (0 or none picks one). */
  port?: number;
  /** Issue no session ids (a stateless server). */
  stateless?: boolean;
  /** Makes each session's MCP server (default: the tools and prompt described above). */
  make?: () => SessionMcpServer;
}

/** A running test server and what it saw. */
export interface SessionServer {
  url: string;
  port: number;
  /** Session ids issued, in order. */
  opened: string[];
  /** Session ids ended by a DELETE. */
  deleted: string[];
  requests: SeenRequest[];
  /** How many `hang` calls were cancelled by the client. */
  cancelled: number;
  /** Stops listening and forgets every session. */
  stop(): Promise<void>;
}

/** Starts the server with `options`. */
export function sessionServer(options: SessionServerOptions = {}): SessionServer {
  const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const servers: SessionMcpServer[] = [];
  const counts = new Map<string, number>();
  const state = {
    opened: [] as string[],
    deleted: [] as string[],
    requests: [] as SeenRequest[],
    cancelled: 0,
  };

  // The SDK's declarations leave handler parameters untyped for Deno.
  type Extra = { sessionId?: string; signal: AbortSignal };
  const defaultServer = () => {
    const mcp = new McpServer({ name: "sessions", version: "1.0.0" });
    const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });
    mcp.registerTool("whoami", { description: "This session's id." }, (extra: Extra) => {
      return text(extra.sessionId ?? "");
    });
    mcp.registerTool("count", { description: "Counts calls in this session." }, (extra: Extra) => {
      const n = (counts.get(extra.sessionId ?? "") ?? 0) + 1;
      counts.set(extra.sessionId ?? "", n);
      return text(String(n));
    });
    mcp.registerTool("hang", { description: "Never answers." }, (extra: Extra) => {
      return new Promise((_resolve, reject) => {
        extra.signal.addEventListener("abort", () => {
          state.cancelled++;
          reject(new Error("cancelled"));
        });
      });
    });
    mcp.registerPrompt("hello", { description: "A greeting." }, () => ({
      messages: [{ role: "user", content: { type: "text", text: "hello" } }],
    }));
    return mcp;
  };
  const mcpServer = () => {
    const made = options.make?.() ?? defaultServer();
    servers.push(made);
    return made;
  };

  const handle = async (req: Request): Promise<Response> => {
    const session = req.headers.get("mcp-session-id");
    let method = "";
    if (req.method === "POST") {
      const body = await req.clone().json().catch(() => null);
      if (typeof body?.method === "string") method = body.method;
    }
    state.requests.push({ http: req.method, method, session, headers: req.headers });
    if (options.stateless) {
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await mcpServer().connect(transport);
      return await transport.handleRequest(req);
    }
    if (session) {
      const transport = transports.get(session);
      if (!transport) {
        return Response.json(
          { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null },
          { status: 404 },
        );
      }
      return await transport.handleRequest(req);
    }
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (id: string) => {
          state.opened.push(id);
          transports.set(id, transport);
        },
        onsessionclosed: (id: string) => {
          state.deleted.push(id);
          transports.delete(id);
        },
      });
    await mcpServer().connect(transport);
    return await transport.handleRequest(req);
  };

  const http = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handle,
  );
  return {
    opened: state.opened,
    deleted: state.deleted,
    requests: state.requests,
    get cancelled() {
      return state.cancelled;
    },
    url: `http://127.0.0.1:${http.addr.port}/mcp`,
    port: http.addr.port,
    stop: async () => {
      // Open event streams would keep the server from finishing its shutdown.
      await Promise.all(servers.map((s) => s.close().catch(() => {})));
      await http.shutdown();
    },
  };
}
