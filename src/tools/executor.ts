/**
 * The one interface every kind of tool execution implements, and the registry
 * that picks an executor by tool type. The protocol core calls tools only
 * through it.
 *
 * @module
 */
import type { UpstreamReport } from "../telemetry/requests.ts";
import type { Tool } from "../store/tools.ts";

/** A content block of a tool result (text, image, audio, resource link, resource). */
export type ContentBlock = Record<string, unknown> & { type: string };

/** What a tool call returns to the model. */
export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The MCP log levels, least severe first (RFC 5424 names). */
export const LOG_LEVELS = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
] as const;
/** One MCP log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The downstream MCP session a call belongs to, as far as an executor may know it. */
export interface SessionRef {
  /** The session id; empty for a one-shot, sessionless request. */
  readonly id: string;
  /** Registers `fn` to run when the session ends (to release what was opened for it). */
  onClose(fn: () => void): void;
  /**
   * Registers `fn` to run when the client says its roots changed
   * (`notifications/roots/list_changed`), to tell the session's upstreams.
   */
  onRootsChanged?(fn: () => void): void;
}

/** What an executor may use while it runs. */
export interface ExecutionContext {
  /** The caller's session; absent when the call belongs to none (a direct run). */
  session?: SessionRef;
  /** Aborted when the caller cancels or disconnects; pass it to upstream fetches. */
  signal: AbortSignal;
  /** Reports progress; dropped when the caller asked for none. */
  progress(progress: number, total?: number, message?: string): void;
  /** Sends a log message to the caller, subject to the level it set (`logger` names its source). */
  log(level: LogLevel, data: unknown, logger?: string): void;
  /**
   * Sends a notification to the caller's session on its standing channel
   * (a GET stream, an SSE stream, a socket), also after the call ended:
   * updates of a resource it subscribed to.
   */
  notify?(method: string, params: Record<string, unknown>): void;
  /** What the caller's client declared it can answer (sampling, elicitation, roots...). */
  clientCapabilities?: Record<string, unknown>;
  /** True when the caller speaks the stateless era (2026-07-28). */
  stateless?: boolean;
  /** The least severe level of log messages the caller wants; none when unset. */
  logLevel?: LogLevel;
  /**
   * Reports what an upstream call made for this request took (its HTTP
   * status and duration), for the request log; absent when nothing records.
   */
  upstream?(report: UpstreamReport): void;
  /**
   * Sends a request to the caller's client while the call runs (an upstream
   * asking for sampling, elicitation or roots) and resolves with its answer;
   * rejects with an `RpcError` when the client did not declare the
   * capability, cannot be reached, or answers with an error.
   */
  request?(
    method: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
    key?: string,
  ): Promise<Record<string, unknown>>;
  /**
   * Sends a request to the caller's client outside any call, on its
   * session's standing channel (GET stream, SSE stream, socket): an
   * upstream of the session asking for roots after the call ended.
   * Absent where the caller has no session to reach it by.
   */
  requestLater?(
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

/**
 * Runs tools of one type. Failures the model can act on (upstream errors,
 * timeouts) are returned as results with `isError: true`; a throw means a
 * fault in Gatehouse itself and becomes a JSON-RPC internal error.
 */
export interface ToolExecutor {
  execute(
    tool: Tool,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<CallToolResult>;
  /** Releases what the executor holds open (pooled connections); called when its server stops. */
  close?(): void;
}

/** Executors by tool type. */
export type ExecutorRegistry = ReadonlyMap<string, ToolExecutor>;

/** A text-only result, for errors the model should read. */
export function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}
