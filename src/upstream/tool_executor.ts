/**
 * Forwarding of MCP requests to the upstream server that owns an item:
 * `tools/call` as an executor (type `mcp`, for tools assigned one by one and
 * for attached servers' tools alike), and the other methods (prompts/get,
 * resources/read, completion/complete) for the server source. An upstream's
 * JSON-RPC error keeps its code and message; an upstream that cannot answer
 * becomes an `isError` result for a tool call and an internal error for the
 * rest, naming the server.
 *
 * @module
 */
import { ErrorCode, RpcError } from "../mcp/jsonrpc.ts";
import type { Tool } from "../store/tools.ts";
import {
  type CallToolResult,
  errorResult,
  type ExecutionContext,
  LOG_LEVELS,
  type LogLevel,
  type SessionRef,
  type ToolExecutor,
} from "../tools/executor.ts";
import { traceUpstream } from "../telemetry/tracing.ts";
import { type Forwarder, UpstreamRpcError, UpstreamUnavailable } from "./forwarder.ts";

/** The session of a call that belongs to none. */
const NO_SESSION: SessionRef = { id: "", onClose: () => {} };

/** Sends requests for downstream calls to upstream servers. */
export class UpstreamCalls implements ToolExecutor {
  /** Forwards through `forwarder`. */
  constructor(private readonly forwarder: Forwarder) {}

  /** Runs a stored tool of an upstream server (type `mcp`). */
  execute(tool: Tool, args: Record<string, unknown>, ctx: ExecutionContext) {
    if (!tool.serverId) {
      return Promise.resolve(errorResult(`tool '${tool.name}' has no upstream server`));
    }
    return this.callTool(tool.serverId, tool.name, args, ctx);
  }

  /** `tools/call` of `name` (the server's own name for it) on `serverId`. */
  async callTool(
    serverId: string,
    name: string,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<CallToolResult> {
    try {
      return await this.#send(
        serverId,
        "tools/call",
        { name, arguments: args },
        ctx,
      ) as unknown as CallToolResult;
    } catch (err) {
      if (err instanceof UpstreamUnavailable) return errorResult(err.message);
      throw err;
    }
  }

  /** Any other request to `serverId`; an unreachable upstream is an internal error. */
  async request(
    serverId: string,
    method: string,
    params: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<Record<string, unknown>> {
    try {
      return await this.#send(serverId, method, params, ctx);
    } catch (err) {
      if (err instanceof UpstreamUnavailable) {
        throw new RpcError(ErrorCode.InternalError, err.message);
      }
      throw err;
    }
  }

  async #send(
    serverId: string,
    method: string,
    params: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<Record<string, unknown>> {
    // The forwarded request carries its span's context in `_meta` when tracing is on.
    const forward = (traced: Record<string, unknown>) =>
      this.forwarder.request(serverId, method, traced, {
        session: ctx.session ?? NO_SESSION,
        signal: ctx.signal,
        capabilities: ctx.clientCapabilities,
        stateless: ctx.stateless,
        logLevel: ctx.logLevel,
        ask: ctx.request?.bind(ctx),
        askLater: ctx.requestLater?.bind(ctx),
        notify: ctx.notify?.bind(ctx),
        upstream: ctx.upstream?.bind(ctx),
        progress: ctx.progress,
        log: (level, data, logger) => {
          if ((LOG_LEVELS as readonly string[]).includes(level)) {
            ctx.log(level as LogLevel, data, logger);
          }
        },
      });
    try {
      return await traceUpstream(serverId, method, params, forward);
    } catch (err) {
      if (err instanceof UpstreamRpcError) throw new RpcError(err.code, err.message, err.data);
      throw err;
    }
  }
}
