/**
 * The MCP protocol core: one dispatcher that every transport (Streamable
 * HTTP, SSE, WebSocket) hands its decoded messages to. It knows nothing of
 * transports; they give it a {@link Exchange} and carry back its
 * {@link Outcome} and the notifications it emits.
 *
 * @module
 */
import {
  errorResult,
  type ExecutorRegistry,
  LOG_LEVELS,
  type LogLevel,
} from "../tools/executor.ts";
import { GATEHOUSE_VERSION } from "../version.ts";
import type { ToolCatalog } from "./catalog.ts";
import {
  classify,
  ErrorCode,
  failure,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  notification,
  type RequestId,
  RpcError,
  success,
  withJson,
} from "./jsonrpc.ts";
import type { Session } from "./session.ts";
import { acceptsBatches, negotiate, STATELESS_VERSION, SUPPORTED_VERSIONS } from "./versions.ts";
import { isObject, type JsonProblem, jsonProblem, MAX_JSON_DEPTH } from "../util/json.ts";

/** The gateway a message is addressed to, as the core needs it. */
export interface GatewayInfo {
  id: string;
  name: string;
  description: string;
}

/** The authenticated caller of a message. */
export interface Caller {
  /** Scopes granted, e.g. `tools:read`, `tools:execute`. */
  scopes: ReadonlySet<string>;
}

/**
 * HTTP headers of a 2026-07-28 request that must agree with its body
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`). Only HTTP transports
 * have them; others pass none and skip the cross-check.
 */
export interface Envelope {
  protocolVersion: string | null;
  method: string | null;
  name: string | null;
}

/** Everything the core needs to handle one inbound message. */
export interface Exchange {
  gateway: GatewayInfo;
  caller: Caller;
  /** The session the message belongs to (a one-shot one for sessionless requests). */
  session: Session;
  /** Receives notifications related to this message (progress, log messages). */
  emit(message: JsonRpcNotification): void;
  /** Aborted when the transport loses the caller. */
  signal?: AbortSignal;
  /** HTTP header values to cross-check in the stateless era. */
  envelope?: Envelope;
}

/**
 * What came of a message: the response to send (none for notifications,
 * responses and cancelled calls) and the HTTP status an HTTP transport should
 * use for it.
 */
export interface Outcome {
  response?: JsonRpcResponse;
  status: number;
  /** For 403 answers: the scope the caller lacks. */
  requiredScope?: string;
  /** True when the call was cancelled and, by the spec, gets no response. */
  cancelled?: boolean;
}

/** Settings of the dispatcher. */
export interface DispatcherOptions {
  catalog: ToolCatalog;
  executors: ExecutorRegistry;
  /** Tools per `tools/list` page. */
  pageSize: number;
  /** How long stateless clients may cache list results, in ms. */
  listTtlMs: number;
}

/** An error with the HTTP status it maps to and, for scope failures, the scope. */
class StatusError extends RpcError {
  constructor(
    code: number,
    message: string,
    readonly status: number,
    data?: unknown,
    readonly requiredScope?: string,
  ) {
    super(code, message, data);
  }
}

const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

function encodeCursor(lastName: string): string {
  return btoa(JSON.stringify({ after: lastName })).replace(/=+$/, "");
}

function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== "string") throw invalidParams("cursor must be a string");
  try {
    const after = JSON.parse(atob(cursor)).after;
    if (typeof after === "string") return after;
  } catch {
    // Falls through to the error below.
  }
  throw invalidParams("cursor is not one this server issued");
}

function invalidParams(message: string, status = 200): StatusError {
  return new StatusError(ErrorCode.InvalidParams, `Invalid params: ${message}`, status);
}

/**
 * What is wrong with a message's params, for the client: nesting past the
 * shared cap (so no later walk overflows the stack), or a lone surrogate
 * (which no URL, header or UTF-8 body of an upstream call can carry).
 */
function describeProblem(p: JsonProblem): string {
  return p.kind === "deep"
    ? `params nest more than ${p.max} levels deep`
    : `${p.path.slice(0, 200)} is not well-formed Unicode (it holds a lone surrogate)`;
}

/** True when a message is of the stateless (2026-07-28) era. */
export function isStatelessMessage(raw: unknown, envelope?: Envelope): boolean {
  if (!isObject(raw)) return false;
  if (raw.method === "server/discover") return true;
  if (envelope?.protocolVersion === STATELESS_VERSION) return true;
  const meta = isObject(raw.params) ? raw.params._meta : undefined;
  return isObject(meta) && META_VERSION in meta;
}

/** The protocol core. One instance serves every gateway; per-gateway state lives in the catalog. */
export class Dispatcher {
  constructor(private readonly opts: DispatcherOptions) {}

  /**
   * Handles a JSON-RPC batch under protocol `version`: accepted only where
   * 2025-03-26 requires batches, never with `initialize` inside, at most
   * `maxBatch` messages. Answers the responses in order (an empty list when
   * all were notifications), or one error for the whole batch.
   */
  async handleBatch(
    messages: unknown[],
    ex: Exchange,
    version: string,
    maxBatch: number,
  ): Promise<{ responses: JsonRpcResponse[] } | { error: RpcError }> {
    const refuse = (detail: string) => ({
      error: new RpcError(ErrorCode.InvalidRequest, `Invalid request: ${detail}`),
    });
    if (!acceptsBatches(version)) {
      return refuse(`JSON-RPC batches are not supported in protocol version ${version}`);
    }
    if (messages.length === 0) return refuse("empty batch");
    if (messages.length > maxBatch) return refuse(`a batch holds at most ${maxBatch} messages`);
    if (messages.some((m) => isObject(m) && m.method === "initialize")) {
      return refuse("initialize must not be part of a batch");
    }
    const outcomes = await Promise.all(messages.map((m) => this.handle(m, ex)));
    return { responses: outcomes.flatMap((o) => o.response ? [o.response] : []) };
  }

  /** Handles one decoded JSON-RPC message. Never throws. */
  async handle(raw: unknown, ex: Exchange): Promise<Outcome> {
    const c = classify(raw);
    if (c.kind === "invalid") return { response: failure(c.id, c.error), status: 400 };
    // Gatehouse sends no requests to clients, so a response has nothing to answer.
    if (c.kind === "response") return { status: 202 };
    if (c.kind === "notification") {
      this.#notify(c.message, ex.session);
      return { status: 202 };
    }
    const req = c.message;
    try {
      const problem = jsonProblem(req.params, MAX_JSON_DEPTH, "params");
      if (problem) throw invalidParams(describeProblem(problem));
      const result = isStatelessMessage(raw, ex.envelope)
        ? await this.#stateless(req, ex)
        : await this.#legacy(req, ex);
      if (result === undefined) return { status: 202, cancelled: true };
      return { response: success(req.id, result), status: 200 };
    } catch (err) {
      if (err instanceof StatusError) {
        return {
          response: failure(req.id, err),
          status: err.status,
          requiredScope: err.requiredScope,
        };
      }
      if (err instanceof RpcError) return { response: failure(req.id, err), status: 200 };
      console.error(`internal error handling ${req.method}:`, err);
      return {
        response: failure(req.id, new RpcError(ErrorCode.InternalError, "Internal error")),
        status: 200,
      };
    }
  }

  #notify(msg: JsonRpcNotification, session: Session): void {
    if (msg.method === "notifications/initialized") {
      session.initialized = true;
    } else if (msg.method === "notifications/cancelled") {
      const id = msg.params?.requestId;
      if (typeof id === "string" || typeof id === "number") {
        session.inflight.get(id)?.abort(new Error("cancelled by the client"));
      }
    }
    // Unknown notifications are ignored, as JSON-RPC requires.
  }

  #legacy(
    req: JsonRpcRequest,
    ex: Exchange,
  ): Record<string, unknown> | Promise<Record<string, unknown> | undefined> {
    const params = req.params ?? {};
    switch (req.method) {
      case "initialize":
        return this.#initialize(params, ex);
      case "ping":
        return {};
      case "logging/setLevel": {
        const level = params.level;
        if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level)) {
          throw invalidParams(`level must be one of ${LOG_LEVELS.join(", ")}`);
        }
        ex.session.logLevel = level as LogLevel;
        return {};
      }
      case "tools/list":
        return this.#listTools(params, ex);
      case "tools/call":
        return this.#callTool(req.id, params, ex);
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${req.method}`);
    }
  }

  #initialize(params: Record<string, unknown>, ex: Exchange): Record<string, unknown> {
    if (typeof params.protocolVersion !== "string") {
      throw invalidParams("protocolVersion must be a string");
    }
    if (params.capabilities !== undefined && !isObject(params.capabilities)) {
      throw invalidParams("capabilities must be an object");
    }
    const s = ex.session;
    s.protocolVersion = negotiate(params.protocolVersion);
    s.clientCapabilities = isObject(params.capabilities) ? params.capabilities : {};
    s.clientInfo = isObject(params.clientInfo) ? params.clientInfo : undefined;
    const result: Record<string, unknown> = {
      protocolVersion: s.protocolVersion,
      capabilities: { tools: { listChanged: true }, logging: {} },
      serverInfo: this.#serverInfo(ex.gateway),
    };
    if (ex.gateway.description) result.instructions = ex.gateway.description;
    return result;
  }

  #serverInfo(gateway: GatewayInfo): Record<string, unknown> {
    return { name: "gatehouse", title: gateway.name, version: GATEHOUSE_VERSION };
  }

  #requireScope(ex: Exchange, scope: string): void {
    if (!ex.caller.scopes.has(scope)) {
      throw new StatusError(
        ErrorCode.InvalidRequest,
        `Forbidden: this credential lacks the '${scope}' scope`,
        403,
        { requiredScope: scope },
        scope,
      );
    }
  }

  #listTools(params: Record<string, unknown>, ex: Exchange): Record<string, unknown> {
    this.#requireScope(ex, "tools:read");
    const view = this.opts.catalog.forGateway(ex.gateway.id);
    const entries = view.entries;
    let start = 0;
    if (params.cursor !== undefined) {
      const after = decodeCursor(params.cursor);
      // Keyset paging by name: stable when tools are added or removed between pages.
      let lo = 0, hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (entries[mid].tool.name <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    // A page is the same until the gateway's tools change (the view is rebuilt then), so the
    // result object and its JSON are built once and shared; nothing downstream mutates results.
    const size = this.opts.pageSize;
    const key = `${start}:${size}`;
    let result = view.pages.get(key);
    if (result === undefined) {
      const page = entries.slice(start, start + size);
      const fresh: Record<string, unknown> = { tools: page.map((e) => e.descriptor) };
      if (start + page.length < entries.length) {
        fresh.nextCursor = encodeCursor(page[page.length - 1].tool.name);
      }
      view.pages.set(key, result = withJson(fresh, JSON.stringify(fresh)));
    }
    return result;
  }

  async #callTool(
    id: RequestId,
    params: Record<string, unknown>,
    ex: Exchange,
  ): Promise<Record<string, unknown> | undefined> {
    if (typeof params.name !== "string") throw invalidParams("name must be a string");
    if (params.arguments !== undefined && !isObject(params.arguments)) {
      throw invalidParams("arguments must be an object");
    }
    this.#requireScope(ex, "tools:execute");
    const entry = this.opts.catalog.forGateway(ex.gateway.id).byName.get(params.name);
    if (!entry) throw invalidParams(`Unknown tool: ${params.name}`);
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    const problems = entry.validate(args);
    if (problems.length > 0) {
      return {
        ...errorResult(
          `Invalid arguments for tool ${entry.tool.name}:\n- ${problems.join("\n- ")}`,
        ),
      };
    }
    const executor = this.opts.executors.get(entry.tool.type);
    if (!executor) {
      return {
        ...errorResult(`Tools of type '${entry.tool.type}' cannot be executed by this server`),
      };
    }
    const session = ex.session;
    const controller = new AbortController();
    const onTransportAbort = () => controller.abort(ex.signal?.reason);
    ex.signal?.addEventListener("abort", onTransportAbort, { once: true });
    session.inflight.set(id, controller);
    const meta = isObject(params._meta) ? params._meta : {};
    const token = meta.progressToken;
    let lastProgress = -Infinity;
    try {
      const running = executor.execute(entry.tool, args, {
        signal: controller.signal,
        progress: (progress, total, message) => {
          if (
            (typeof token !== "string" && typeof token !== "number") || progress <= lastProgress
          ) return;
          if (controller.signal.aborted) return;
          lastProgress = progress;
          const p: Record<string, unknown> = { progressToken: token, progress };
          if (total !== undefined) p.total = total;
          if (message !== undefined) p.message = message;
          ex.emit(notification("notifications/progress", p));
        },
        log: (level, data) => {
          const min = session.logLevel;
          if (min === undefined || controller.signal.aborted) return;
          if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(min)) return;
          ex.emit(notification("notifications/message", { level, logger: entry.tool.name, data }));
        },
      });
      // A cancelled call gets no response, whether the executor returns or throws on the abort.
      const result = await running.catch((err) => {
        if (controller.signal.aborted) return undefined;
        throw err;
      });
      if (result === undefined || controller.signal.aborted) return undefined;
      return { ...result };
    } finally {
      session.inflight.delete(id);
      session.lastActive = Date.now();
      ex.signal?.removeEventListener("abort", onTransportAbort);
    }
  }

  async #stateless(
    req: JsonRpcRequest,
    ex: Exchange,
  ): Promise<Record<string, unknown> | undefined> {
    const params = req.params ?? {};
    const meta = isObject(params._meta) ? params._meta : undefined;
    const version = meta?.[META_VERSION];
    if (typeof version !== "string") {
      throw invalidParams(`_meta["${META_VERSION}"] is required`, 400);
    }
    const env = ex.envelope;
    if (env && env.protocolVersion !== version) {
      throw new StatusError(
        ErrorCode.HeaderMismatch,
        `Header mismatch: MCP-Protocol-Version header ${
          env.protocolVersion === null ? "is missing" : `'${env.protocolVersion}'`
        } does not match body value '${version}'`,
        400,
      );
    }
    if (version !== STATELESS_VERSION) {
      throw new StatusError(
        ErrorCode.UnsupportedProtocolVersion,
        "Unsupported protocol version",
        400,
        {
          supported: [...SUPPORTED_VERSIONS],
          requested: version,
        },
      );
    }
    if (!isObject(meta?.[META_CAPABILITIES])) {
      throw invalidParams(`_meta["${META_CAPABILITIES}"] is required (use {} for none)`, 400);
    }
    if (env) {
      if (env.method !== req.method) {
        throw new StatusError(
          ErrorCode.HeaderMismatch,
          `Header mismatch: Mcp-Method header ${
            env.method === null ? "is missing" : `'${env.method}'`
          } does not match body value '${req.method}'`,
          400,
        );
      }
      if (req.method === "tools/call" && env.name !== params.name) {
        throw new StatusError(
          ErrorCode.HeaderMismatch,
          `Header mismatch: Mcp-Name header ${
            env.name === null ? "is missing" : `'${env.name}'`
          } does not match body value '${String(params.name)}'`,
          400,
        );
      }
    }
    const level = meta?.[META_LOG_LEVEL];
    ex.session.protocolVersion = STATELESS_VERSION;
    ex.session.logLevel =
      typeof level === "string" && (LOG_LEVELS as readonly string[]).includes(level)
        ? level as LogLevel
        : undefined;
    const serverMeta = { [META_SERVER_INFO]: this.#serverInfo(ex.gateway) };
    const cache = { ttlMs: this.opts.listTtlMs, cacheScope: "private" };
    switch (req.method) {
      case "server/discover": {
        const result: Record<string, unknown> = {
          resultType: "complete",
          supportedVersions: [...SUPPORTED_VERSIONS],
          capabilities: { tools: {}, logging: {} },
          ...cache,
          _meta: serverMeta,
        };
        if (ex.gateway.description) result.instructions = ex.gateway.description;
        return result;
      }
      case "tools/list":
        return {
          resultType: "complete",
          ...this.#listTools(params, ex),
          ...cache,
          _meta: serverMeta,
        };
      case "tools/call": {
        const result = await this.#callTool(req.id, params, ex);
        return result && { resultType: "complete", ...result, _meta: serverMeta };
      }
      default:
        throw new StatusError(ErrorCode.MethodNotFound, `Method not found: ${req.method}`, 404);
    }
  }
}
