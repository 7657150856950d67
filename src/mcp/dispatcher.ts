/**
 * The MCP protocol core: one dispatcher that every transport (Streamable
 * HTTP, SSE, WebSocket) hands its decoded messages to. It knows nothing of
 * transports; they give it a {@link Exchange} and carry back its
 * {@link Outcome} and the notifications it emits.
 *
 * @module
 */
import type { Scope } from "../auth/scopes.ts";
import type { LimitedCaller, LimitRefusal, RequestLimits } from "../limits/request_limits.ts";
import {
  errorResult,
  type ExecutionContext,
  LOG_LEVELS,
  type LogLevel,
} from "../tools/executor.ts";
import {
  type LimitKind,
  loggedPayload,
  type Observation,
  type RequestRecord,
  type RequestStatus,
  type Telemetry,
  type UpstreamReport,
} from "../telemetry/requests.ts";
import { traceMessage, TRACING } from "../telemetry/tracing.ts";
import { STORE_RETRY_AFTER_SECONDS, StoreUnavailable } from "../store/sql.ts";
import { GATEHOUSE_VERSION } from "../version.ts";
import type { Catalog, GatewayView } from "./catalog.ts";
import {
  classify,
  ErrorCode,
  failure,
  isRequestId,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  messageBytes,
  notification,
  type RequestId,
  RpcError,
  success,
  withJson,
} from "./jsonrpc.ts";
import type { Session } from "./session.ts";
import type { PromptItem, ResourceItem, TemplateItem } from "./source.ts";
import { CLIENT_REQUEST_CAPABILITIES, type ClientChannel } from "./client_requests.ts";
import type { ParkedCall, ParkedCalls } from "./parked_calls.ts";
import { acceptsBatches, negotiate, STATELESS_VERSION, SUPPORTED_VERSIONS } from "./versions.ts";
import {
  isObject,
  type JsonProblem,
  jsonProblem,
  MAX_JSON_DEPTH,
  utf8Length,
} from "../util/json.ts";

/** The gateway a message is addressed to, as the core needs it. */
export interface GatewayInfo {
  id: string;
  name: string;
  description: string;
}

/** The authenticated caller of a message, and who its requests count against. */
export interface Caller extends Partial<LimitedCaller> {
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
  /**
   * Receives what the handling of this message sends the client: progress
   * and log notifications, and requests relayed from an upstream; `false`
   * when no channel can carry a message now.
   */
  emit: ClientChannel;
  /** Aborted when the transport loses the caller. */
  signal?: AbortSignal;
  /** HTTP header values to cross-check in the stateless era. */
  envelope?: Envelope;
  /** What the transport observed of the request; without it no record is made. */
  observe?: Observation;
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
  /** HTTP headers the answer carries (a rate limit's `Retry-After`, `RateLimit`...). */
  headers?: Record<string, string>;
}

/** Settings of the dispatcher. */
export interface DispatcherOptions {
  catalog: Catalog;
  /** Items per list page (`tools/list`, `prompts/list`, ...). */
  pageSize: number;
  /** Bytes of JSON a list page holds at most, unless its one item is larger. */
  pageBytes: number;
  /** How long stateless clients may cache list results, in ms. */
  listTtlMs: number;
  /** Stateless calls waiting for their client's input. */
  parked: ParkedCalls;
  /** Where each request's record goes (the request log, metrics, traces). */
  telemetry?: Telemetry;
  /** The rate limits requests and tool calls are checked against. */
  limits?: RequestLimits;
}

/**
 * What the handling of one request learns for its record besides its
 * outcome: the last upstream call's report, the limit that refused it, and
 * a tool call's arguments and result for gateways that log payloads.
 */
export interface RecordDraft {
  upstream: UpstreamReport | null;
  limit: LimitKind | null;
  /** Set only for tools/call of a gateway that logs payloads, already redacted and capped. */
  payload?: { arguments?: unknown; result?: unknown };
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

/** One request as a method handler sees it. */
interface Call {
  id: RequestId;
  params: Record<string, unknown>;
  ex: Exchange;
  /** True in the stateless (2026-07-28) era. */
  stateless: boolean;
  /** Filled for the request's record, when one is made. */
  draft?: RecordDraft;
  /** What the gateway serves to the request's era, read once when the request arrives. */
  view: GatewayView;
}

/** A result, or undefined for a call that was cancelled (it gets no response). */
type Handled = Record<string, unknown> | undefined;

/** How one method is served. */
interface Method {
  /** `legacy`: session-based versions only; `stateless`: 2026-07-28 only; else both. */
  era?: "legacy" | "stateless";
  /** The scope the caller needs. */
  scope?: Scope;
  /** The capability the gateway must offer, else the method does not exist there. */
  capability?: "prompts" | "resources" | "completions" | "logging";
  /** Stateless clients may cache the result (lists and reads). */
  cacheable?: boolean;
  handle(call: Call): Handled | Promise<Handled>;
}

const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

/** The cursor's JSON with every non-ASCII character escaped, so that `btoa` takes it. */
function cursorJson(lastName: string): string {
  return JSON.stringify({ after: lastName }).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function encodeCursor(lastName: string): string {
  return btoa(cursorJson(lastName)).replace(/=+$/, "");
}

/**
 * The length of {@link encodeCursor}'s cursor after `lastName`, without
 * making it: base64 without padding of the JSON (one byte a character).
 */
function cursorLength(lastName: string): number {
  return Math.ceil((cursorJson(lastName).length * 4) / 3);
}

/** Bytes a page's `,"nextCursor":""` takes besides the cursor itself. */
const CURSOR_FIELD_BYTES = ',"nextCursor":""'.length;

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

/** Methods whose `params.name` names what they are about. */
const NAMED = new Set(["tools/call", "prompts/get"]);
/** Methods whose `params.uri` names what they are about. */
const BY_URI = new Set(["resources/read", "resources/subscribe", "resources/unsubscribe"]);

/** How a request ended, from its outcome and what its handling noted. */
function statusOf(outcome: Outcome, draft: RecordDraft): RequestStatus {
  if (draft.limit) return "rate_limited";
  const response = outcome.response;
  if (!response) return outcome.cancelled ? "error" : "ok";
  if ("error" in response) {
    return outcome.status === 401 || outcome.status === 403 ? "denied" : "error";
  }
  return isObject(response.result) && response.result.isError === true ? "tool_error" : "ok";
}

/** The record of request `raw` (a JSON object with an id), answered with `outcome`. */
function recordOf(
  raw: Record<string, unknown>,
  observe: Observation,
  ex: Exchange,
  outcome: Outcome,
  draft: RecordDraft,
  { at, durationMs, bytesIn }: { at: number; durationMs: number; bytesIn: number },
): RequestRecord {
  const method = typeof raw.method === "string" ? raw.method : "";
  const params = isObject(raw.params) ? raw.params : {};
  const subject = NAMED.has(method) ? params.name : BY_URI.has(method) ? params.uri : undefined;
  const response = outcome.response;
  const record: RequestRecord = {
    at,
    orgId: observe.orgId,
    gatewayId: ex.gateway.id,
    transport: observe.transport,
    protocolVersion: ex.session.protocolVersion || null,
    method,
    name: typeof subject === "string" ? subject : null,
    caller: observe.caller,
    sessionId: ex.session.id || null,
    status: statusOf(outcome, draft),
    errorCode: response && "error" in response ? response.error.code : null,
    limit: draft.limit,
    durationMs,
    bytesIn,
    bytesOut: response ? messageBytes(response) : 0,
    upstream: draft.upstream,
  };
  // Set after: a conditional spread in the literal cost a copy of the record on every request.
  if (draft.payload) record.payload = draft.payload;
  return record;
}

/**
 * The answer to a request a caller or gateway limit refused: HTTP 429 with
 * the limit's headers, and a JSON-RPC error (what SSE and WebSocket
 * clients read) whose `data` says when to retry and which limit refused.
 */
function limitedOutcome(id: RequestId, refused: LimitRefusal): Outcome {
  const { kind, retryAfterSeconds, limit } = refused;
  const who = kind === "caller" ? "this caller" : "this gateway (all callers together)";
  const error = new RpcError(
    ErrorCode.RateLimited,
    `Rate limit exceeded: ${who} may make ${limit.requests} requests per ` +
      `${limit.windowSeconds} s; retry in ${retryAfterSeconds} s`,
    { retryAfterSeconds, limit: kind },
  );
  return { response: failure(id, error), status: 429, headers: refused.headers };
}

/** An empty completion: what a source that cannot complete answers. */
const NO_COMPLETION = { completion: { values: [], hasMore: false } };

/** The protocol core. One instance serves every gateway; per-gateway state lives in the catalog. */
export class Dispatcher {
  /** Every method served, by name: one table for both eras. */
  readonly #methods: ReadonlyMap<string, Method>;

  constructor(private readonly opts: DispatcherOptions) {
    this.#methods = new Map<string, Method>([
      ["initialize", { era: "legacy", handle: (c) => this.#initialize(c) }],
      ["ping", { era: "legacy", handle: () => ({}) }],
      ["logging/setLevel", {
        era: "legacy",
        capability: "logging",
        handle: ({ params, ex }) => {
          const level = params.level;
          if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level)) {
            throw invalidParams(`level must be one of ${LOG_LEVELS.join(", ")}`);
          }
          ex.session.logLevel = level as LogLevel;
          return {};
        },
      }],
      ["server/discover", { era: "stateless", handle: (c) => this.#discover(c) }],
      ["subscriptions/listen", {
        era: "stateless",
        scope: "tools:read",
        handle: (c) => this.#listen(c),
      }],
      [
        "tools/list",
        this.#list(
          undefined,
          "tools",
          (v) => v.entries,
          (e) => e.item.name,
          (e) => e.item.descriptor,
        ),
      ],
      ["tools/call", { scope: "tools:execute", handle: (c) => this.#callTool(c) }],
      [
        "prompts/list",
        this.#list("prompts", "prompts", (v) => v.prompts, (p) => p.name, (p) => p.descriptor),
      ],
      ["prompts/get", {
        scope: "tools:read",
        capability: "prompts",
        handle: (c) => this.#getPrompt(c),
      }],
      [
        "resources/list",
        this.#list("resources", "resources", (v) => v.resources, (r) => r.uri, (r) => r.descriptor),
      ],
      [
        "resources/templates/list",
        this.#list(
          "resources",
          "resourceTemplates",
          (v) => v.templateList,
          (t) => t.uriTemplate,
          (t) => t.descriptor,
        ),
      ],
      ["resources/read", {
        scope: "tools:read",
        capability: "resources",
        cacheable: true,
        handle: (c) => this.#readResource(c),
      }],
      ["resources/subscribe", {
        era: "legacy",
        scope: "tools:read",
        capability: "resources",
        handle: (c) => this.#subscription(c, "subscribe"),
      }],
      ["resources/unsubscribe", {
        era: "legacy",
        scope: "tools:read",
        capability: "resources",
        handle: (c) => this.#subscription(c, "unsubscribe"),
      }],
      ["completion/complete", {
        scope: "tools:read",
        capability: "completions",
        handle: (c) => this.#complete(c),
      }],
    ]);
  }

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
    bytesIn = 0,
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
    const share = Math.round(bytesIn / messages.length);
    const outcomes = await Promise.all(messages.map((m) => this.handle(m, ex, share)));
    return { responses: outcomes.flatMap((o) => o.response ? [o.response] : []) };
  }

  /**
   * Handles one decoded JSON-RPC message. Never throws. A request (not a
   * notification or a response) of an exchange the transport observes
   * makes one {@link RequestRecord} for the telemetry's sinks; `bytesIn` is
   * the message's size as the transport read it. When tracing is on, the
   * message is handled inside its span.
   */
  handle(raw: unknown, ex: Exchange, bytesIn = 0): Promise<Outcome> {
    return TRACING
      ? traceMessage(raw, ex, () => this.#observed(raw, ex, bytesIn))
      : this.#observed(raw, ex, bytesIn);
  }

  async #observed(raw: unknown, ex: Exchange, bytesIn: number): Promise<Outcome> {
    const telemetry = this.opts.telemetry;
    if (
      !ex.observe || !telemetry?.active || !isObject(raw) || !("id" in raw) || "result" in raw ||
      "error" in raw
    ) {
      return await this.#handle(raw, ex);
    }
    const at = Date.now();
    const started = performance.now();
    const draft: RecordDraft = { upstream: null, limit: null };
    const outcome = await this.#handle(raw, ex, draft);
    const durationMs = performance.now() - started;
    telemetry.record(recordOf(raw, ex.observe, ex, outcome, draft, { at, durationMs, bytesIn }));
    return outcome;
  }

  async #handle(raw: unknown, ex: Exchange, draft?: RecordDraft): Promise<Outcome> {
    const c = classify(raw);
    if (c.kind === "invalid") return { response: failure(c.id, c.error), status: 400 };
    // A client's answer to a request relayed to it; one that answers nothing is ignored.
    if (c.kind === "response") {
      ex.session.answer(c.message);
      return { status: 202 };
    }
    if (c.kind === "notification") {
      this.#notify(c.message, ex.session);
      return { status: 202 };
    }
    const req = c.message;
    try {
      // From memory once the gateway's limits and view are built: no await then (hot path).
      const limited = this.#limited(ex);
      const refused = limited instanceof Promise ? await limited : limited;
      if (refused) {
        if (draft) draft.limit = refused.kind;
        return limitedOutcome(req.id, refused);
      }
      const problem = jsonProblem(req.params, MAX_JSON_DEPTH, "params");
      if (problem) throw invalidParams(describeProblem(problem));
      const stateless = isStatelessMessage(raw, ex.envelope);
      const catalog = this.opts.catalog;
      const view = catalog.built(ex.gateway.id, stateless) ??
        await catalog.forGateway(ex.gateway.id, stateless);
      const call: Call = { id: req.id, params: req.params ?? {}, ex, stateless, draft, view };
      if (stateless) this.#checkStateless(req, call);
      const result = await this.#dispatch(req.method, call);
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
      if (err instanceof StoreUnavailable) {
        const message = "Service Unavailable: the database cannot be reached; try again shortly";
        return {
          response: failure(req.id, new RpcError(ErrorCode.InternalError, message)),
          status: 503,
          headers: { "retry-after": String(STORE_RETRY_AFTER_SECONDS) },
        };
      }
      console.error(`internal error handling ${req.method}:`, err);
      return {
        response: failure(req.id, new RpcError(ErrorCode.InternalError, "Internal error")),
        status: 200,
      };
    }
  }

  /**
   * The caller and gateway limits' refusal of one more request of `ex`'s
   * caller; undefined when admitted (and then counted). Every request counts,
   * `initialize` and `ping` too; notifications (`notifications/cancelled`
   * among them) and answers to the server's requests never do.
   */
  #limited(ex: Exchange): LimitRefusal | undefined | Promise<LimitRefusal | undefined> {
    const limits = this.opts.limits;
    const caller = ex.caller;
    if (!limits || caller.limitKey === undefined) return undefined;
    return limits.admit(ex.gateway.id, caller as LimitedCaller);
  }

  /** Finds `name` in the method table and runs it, with the era's framing of the result. */
  async #dispatch(name: string, call: Call): Promise<Handled> {
    const method = this.#methods.get(name);
    const era = call.stateless ? "stateless" : "legacy";
    if (
      !method || (method.era && method.era !== era) ||
      (method.capability && !call.view.capabilities[method.capability])
    ) {
      // In the stateless era an unknown method is also an HTTP 404.
      throw new StatusError(
        ErrorCode.MethodNotFound,
        `Method not found: ${name}`,
        call.stateless ? 404 : 200,
      );
    }
    if (method.scope) this.#requireScope(call.ex, method.scope);
    if (!call.stateless) return await method.handle(call);
    let result: Handled;
    try {
      result = await method.handle(call);
    } catch (err) {
      // A legacy upstream's "resource not found" is invalid params from 2026-07-28 on.
      if (err instanceof RpcError && err.code === ErrorCode.ResourceNotFound) {
        throw new RpcError(ErrorCode.InvalidParams, err.message, err.data);
      }
      // An upstream's "the client lacks a capability" is about this client: on HTTP, a 400.
      if (
        err instanceof RpcError && !(err instanceof StatusError) &&
        err.code === ErrorCode.MissingRequiredClientCapability
      ) {
        throw new StatusError(err.code, err.message, 400, err.data);
      }
      throw err;
    }
    if (result === undefined || name === "server/discover") return result;
    const framed: Record<string, unknown> = { resultType: "complete", ...result };
    // Only a complete result is cacheable; an input_required one is a question.
    if (method.cacheable && framed.resultType === "complete") Object.assign(framed, this.#cache());
    const upstreamMeta = isObject(result._meta) ? result._meta : {};
    framed._meta = { ...upstreamMeta, [META_SERVER_INFO]: this.#serverInfo(call.ex.gateway) };
    return framed;
  }

  #notify(msg: JsonRpcNotification, session: Session): void {
    if (msg.method === "notifications/initialized") {
      session.initialized = true;
    } else if (msg.method === "notifications/cancelled") {
      const id = msg.params?.requestId;
      // Not running here: with replicas sharing the session, it may run on another.
      if (isRequestId(id) && !session.cancel(id)) session.relay?.toOthers(msg);
    } else if (msg.method === "notifications/roots/list_changed") {
      session.rootsChanged();
      // Other replicas serving the session have upstream connections of it to tell too.
      session.relay?.toOthers(msg);
    }
    // Unknown notifications are ignored, as JSON-RPC requires.
  }

  #cache() {
    return { ttlMs: this.opts.listTtlMs, cacheScope: "private" };
  }

  #initialize({ params, ex, view }: Call): Record<string, unknown> {
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
      capabilities: view.capabilities,
      serverInfo: this.#serverInfo(ex.gateway),
    };
    if (ex.gateway.description) result.instructions = ex.gateway.description;
    return result;
  }

  #discover(call: Call): Record<string, unknown> {
    // Lists announce their changes on subscriptions/listen; resources have no subscribe method
    // in this era (listen's resourceSubscriptions replaces it, and Gatehouse does not honor it).
    const capabilities: Record<string, unknown> = { ...call.view.capabilities };
    if (isObject(capabilities.resources)) capabilities.resources = { listChanged: true };
    const result: Record<string, unknown> = {
      resultType: "complete",
      supportedVersions: [...SUPPORTED_VERSIONS],
      capabilities,
      ...this.#cache(),
      _meta: { [META_SERVER_INFO]: this.#serverInfo(call.ex.gateway) },
    };
    if (call.ex.gateway.description) result.instructions = call.ex.gateway.description;
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

  /** A list method: pages of `itemsOf(view)` under `field`, behind `capability` when given. */
  #list<T>(
    capability: Method["capability"],
    field: string,
    itemsOf: (view: GatewayView) => readonly T[],
    keyOf: (item: T) => string,
    describe: (item: T) => unknown,
  ): Method {
    return {
      scope: "tools:read",
      capability,
      cacheable: true,
      handle: (c) => {
        const view = c.view;
        return this.#page(c, view, field, itemsOf(view), keyOf, describe);
      },
    };
  }

  /**
   * One page of a list sorted by `keyOf`, under `field`. Keyset paging by
   * key: stable when items are added or removed between pages. A page holds
   * at most `pageSize` items and, past its first item, no item that would
   * take its JSON over `pageBytes`. A page is the same until the gateway's
   * view is rebuilt, so it is built once, with its JSON (each item
   * serialised once, measured as it is joined), and shared; nothing
   * downstream mutates results.
   */
  #page<T>(
    { params }: Call,
    view: GatewayView,
    field: string,
    items: readonly T[],
    keyOf: (item: T) => string,
    describe: (item: T) => unknown,
  ): Record<string, unknown> {
    let start = 0;
    if (params.cursor !== undefined) {
      const after = decodeCursor(params.cursor);
      let lo = 0, hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keyOf(items[mid]) <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const { pageSize, pageBytes } = this.opts;
    const key = `${field}:${start}:${pageSize}`;
    let result = view.pages.get(key);
    if (result === undefined) {
      const head = `{${JSON.stringify(field)}:[`;
      const page: unknown[] = [];
      const texts: string[] = [];
      // `head` and the closing `]}`, then each item with its comma.
      let bytes = utf8Length(head) + 2;
      for (let i = start; i < items.length && page.length < pageSize; i++) {
        const item = describe(items[i]);
        const text = JSON.stringify(item);
        const size = utf8Length(text) + (page.length > 0 ? 1 : 0);
        // The `,"nextCursor":"..."` the page would carry, were it to end with this item.
        const cursor = i + 1 < items.length
          ? CURSOR_FIELD_BYTES + cursorLength(keyOf(items[i]))
          : 0;
        if (page.length > 0 && bytes + size + cursor > pageBytes) break;
        page.push(item);
        texts.push(text);
        bytes += size;
      }
      const fresh: Record<string, unknown> = { [field]: page };
      let tail = "";
      if (start + page.length < items.length) {
        fresh.nextCursor = encodeCursor(keyOf(items[start + page.length - 1]));
        tail = `,"nextCursor":${JSON.stringify(fresh.nextCursor)}`;
      }
      view.pages.set(key, result = withJson(fresh, `${head}${texts.join(",")}]${tail}}`));
    }
    return result;
  }

  /**
   * The context a call's work runs in: stopped by `controller`, reporting
   * progress (with the client's own token, only increasing) and log messages
   * (at the session's level) through `emit`, and asking the client through
   * `ask`.
   */
  #context(
    call: Call,
    logger: string,
    controller: AbortController,
    emit: ClientChannel,
    ask: ExecutionContext["request"],
  ): ExecutionContext {
    const session = call.ex.session;
    const meta = isObject(call.params._meta) ? call.params._meta : {};
    const token = meta.progressToken;
    let lastProgress = -Infinity;
    return {
      signal: controller.signal,
      session,
      progress: (progress, total, message) => {
        if (
          (typeof token !== "string" && typeof token !== "number") || progress <= lastProgress
        ) return;
        if (controller.signal.aborted) return;
        lastProgress = progress;
        const p: Record<string, unknown> = { progressToken: token, progress };
        if (total !== undefined) p.total = total;
        if (message !== undefined) p.message = message;
        emit(notification("notifications/progress", p));
      },
      log: (level, data, source) => {
        const min = session.logLevel;
        if (min === undefined || controller.signal.aborted) return;
        if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(min)) return;
        emit(notification("notifications/message", { level, logger: source ?? logger, data }));
      },
      clientCapabilities: session.clientCapabilities,
      stateless: call.stateless,
      logLevel: session.logLevel,
      upstream: call.draft ? (report) => (call.draft!.upstream = report) : undefined,
      notify: (method, notifyParams) => void session.deliver(notification(method, notifyParams)),
      request: ask,
      requestLater: call.stateless ? undefined : (method, p, signal) => {
        this.#mayAsk(call, method, p);
        const standing: ClientChannel = (m) => session.deliver(m);
        return session.clientRequests.ask(standing, method, p, signal);
      },
    };
  }

  /**
   * Runs `fn` as an in-flight request of the session: cancellable by
   * `notifications/cancelled` and by the transport losing the caller, with
   * progress and log messages going to the caller. Undefined when cancelled.
   * A stateless call runs as {@link Dispatcher.#multiRound}.
   */
  async #running<T extends object>(
    call: Call,
    logger: string,
    fn: (ctx: ExecutionContext) => Promise<T>,
  ): Promise<T | undefined> {
    if (call.stateless) return await this.#multiRound(call, logger, fn) as T | undefined;
    const { ex, id } = call;
    const session = ex.session;
    const controller = new AbortController();
    const onTransportAbort = () => controller.abort(ex.signal?.reason);
    ex.signal?.addEventListener("abort", onTransportAbort, { once: true });
    session.inflight.set(id, controller);
    try {
      const running = fn(this.#context(call, logger, controller, ex.emit, (method, p, signal) => {
        this.#mayAsk(call, method, p);
        const stop = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
        return session.clientRequests.ask(ex.emit, method, p, stop);
      }));
      // A cancelled call gets no response, whether the work returns or throws on the abort.
      const result = await running.catch((err) => {
        if (controller.signal.aborted) return undefined;
        throw err;
      });
      if (result === undefined || controller.signal.aborted) return undefined;
      return result;
    } finally {
      session.inflight.delete(id);
      session.lastActive = Date.now();
      ex.signal?.removeEventListener("abort", onTransportAbort);
    }
  }

  /**
   * A stateless (2026-07-28) call, which may take several round trips: when
   * its work asks the client something (an upstream's sampling, elicitation
   * or roots request), the client is answered `input_required` with the
   * questions and a sealed `requestState`, the work waits parked, and the
   * client's retry with `inputResponses` answers it and resumes it.
   */
  async #multiRound(
    call: Call,
    logger: string,
    fn: (ctx: ExecutionContext) => Promise<object>,
  ): Promise<Record<string, unknown> | undefined> {
    const { ex, params } = call;
    const owner = `${ex.session.owner.gatewayId}\n${ex.session.owner.principalId}`;
    const parkedCalls = this.opts.parked;
    let parked: ParkedCall;
    if (params.requestState !== undefined) {
      if (params.inputResponses !== undefined && !isObject(params.inputResponses)) {
        throw invalidParams("inputResponses must be an object");
      }
      parked = await parkedCalls.open(params.requestState, owner);
      parked.emit = ex.emit;
      parked.answer((params.inputResponses ?? {}) as Record<string, unknown>);
    } else {
      const controller = new AbortController();
      const onTransportAbort = () => controller.abort(ex.signal?.reason);
      ex.signal?.addEventListener("abort", onTransportAbort, { once: true });
      const { promise: firstAsk, resolve: asked } = Promise.withResolvers<ParkedCall>();
      let made: ParkedCall | undefined;
      const emit: ClientChannel = (m) => (made ? made.emit(m) : ex.emit(m));
      const work: Promise<object> = fn(
        this.#context(call, logger, controller, emit, (method, p, _signal, key) => {
          this.#mayAsk(call, method, p);
          if (!made) {
            made = parkedCalls.park(owner, controller);
            made.emit = ex.emit;
            // Read a tick later: `work` is set by then, even were this called within `fn`.
            made.attach(Promise.resolve().then(() => work) as Promise<Record<string, unknown>>);
            // Parked work outlives this HTTP request: only its expiry stops it now.
            ex.signal?.removeEventListener("abort", onTransportAbort);
            asked(made);
          }
          return made.ask(method, p, key);
        }),
      );
      const first = await Promise.race([
        work.then((done) => ({ done }), (failed) => ({ failed })),
        firstAsk.then((p) => ({ parked: p })),
      ]);
      if (!("parked" in first) && !made) {
        ex.signal?.removeEventListener("abort", onTransportAbort);
        if ("failed" in first) throw first.failed;
        return first.done as Record<string, unknown>;
      }
      parked = made!;
    }
    const turn = await parked.turn();
    if ("asks" in turn) {
      return {
        resultType: "input_required",
        inputRequests: turn.asks,
        requestState: await parkedCalls.seal(parked),
      };
    }
    parkedCalls.finish(parked);
    if ("failed" in turn) throw turn.failed;
    return turn.done;
  }

  /**
   * Refuses a request to the client that it cannot receive: one it did not
   * declare the capability for (URL elicitation needs `elicitation.url`).
   */
  #mayAsk(call: Call, method: string, params: Record<string, unknown>): void {
    const capability =
      CLIENT_REQUEST_CAPABILITIES[method as keyof typeof CLIENT_REQUEST_CAPABILITIES];
    if (!capability) {
      throw new RpcError(ErrorCode.MethodNotFound, `Gatehouse relays no ${method} to clients`);
    }
    const declared = call.ex.session.clientCapabilities[capability];
    const urlMode = method === "elicitation/create" && params.mode === "url";
    if (declared === undefined || (urlMode && !(isObject(declared) && declared.url))) {
      throw new RpcError(
        ErrorCode.MethodNotFound,
        `the client did not declare the '${capability}${urlMode ? ".url" : ""}' capability, ` +
          `so it cannot be asked ${method}`,
      );
    }
  }

  async #callTool(call: Call): Promise<Handled> {
    const { params, ex } = call;
    if (typeof params.name !== "string") throw invalidParams("name must be a string");
    if (params.arguments !== undefined && !isObject(params.arguments)) {
      throw invalidParams("arguments must be an object");
    }
    const entry = call.view.byName.get(params.name);
    if (!entry) {
      this.opts.catalog.missed(ex.gateway.id);
      throw invalidParams(`Unknown tool: ${params.name}`);
    }
    const perMinute = entry.item.rateLimit;
    const limits = this.opts.limits;
    if (perMinute !== undefined && limits && ex.caller.limitKey !== undefined) {
      const wait = limits.admitTool(ex.gateway.id, entry.item.name, ex.caller.limitKey, perMinute);
      if (wait > 0) {
        if (call.draft) call.draft.limit = "tool";
        return {
          ...errorResult(
            `Rate limit exceeded: tool ${entry.item.name} takes ${perMinute} ` +
              `call${perMinute === 1 ? "" : "s"} a minute ` +
              `from each caller; retry in ${wait} s.`,
          ),
          _meta: { "gatehouse/retryAfterSeconds": wait },
        };
      }
    }
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    // Only gateways that opted in pay for this: a copy, redacted and capped, made now.
    let payload: RecordDraft["payload"];
    if (call.draft && ex.observe?.logPayloads) {
      payload = call.draft.payload = { arguments: loggedPayload(args) };
    }
    const problems = entry.validate(args);
    if (problems.length > 0) {
      return {
        ...errorResult(
          `Invalid arguments for tool ${entry.item.name}:\n- ${problems.join("\n- ")}`,
        ),
      };
    }
    const result = await this.#running(call, entry.item.name, (ctx) => entry.item.call(args, ctx));
    if (payload && result) payload.result = loggedPayload(result);
    return result && { ...result };
  }

  async #getPrompt(call: Call): Promise<Handled> {
    const { params, ex } = call;
    if (typeof params.name !== "string") throw invalidParams("name must be a string");
    const args = params.arguments ?? {};
    if (!isObject(args) || Object.values(args).some((v) => typeof v !== "string")) {
      throw invalidParams("arguments must be an object of string values");
    }
    const prompt = call.view.promptsByName.get(params.name);
    if (!prompt) {
      this.opts.catalog.missed(ex.gateway.id);
      throw invalidParams(`Unknown prompt: ${params.name}`);
    }
    return await this.#running(
      call,
      prompt.name,
      (ctx) => prompt.get(args as Record<string, string>, ctx),
    );
  }

  async #readResource(call: Call): Promise<Handled> {
    const { params, ex } = call;
    if (typeof params.uri !== "string") throw invalidParams("uri must be a string");
    const uri = params.uri;
    const view = call.view;
    const resource = view.resourcesByUri.get(uri);
    if (resource) return await this.#running(call, uri, (ctx) => resource.read(ctx));
    const template = templateFor(view, uri);
    if (template) return await this.#running(call, uri, (ctx) => template.read(uri, ctx));
    this.opts.catalog.missed(ex.gateway.id);
    // -32002 until 2026-07-28, which folded it into invalid params (mapped in #dispatch).
    throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
  }

  /** `resources/subscribe` and `unsubscribe`, sent to the source of the resource. */
  async #subscription(call: Call, action: "subscribe" | "unsubscribe"): Promise<Handled> {
    const view = call.view;
    const resources = view.capabilities.resources as Record<string, unknown> | undefined;
    if (!resources?.subscribe) {
      throw new RpcError(ErrorCode.MethodNotFound, `Method not found: resources/${action}`);
    }
    const { params } = call;
    if (typeof params.uri !== "string") throw invalidParams("uri must be a string");
    const uri = params.uri;
    const item = view.resourcesByUri.get(uri) ?? templateFor(view, uri);
    const fn = item?.[action]?.bind(item);
    if (!fn) {
      throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
    }
    return await this.#running(call, uri, (ctx) => fn(uri, ctx));
  }

  async #complete(call: Call): Promise<Handled> {
    const { params } = call;
    const ref = params.ref;
    const argument = params.argument;
    if (!isObject(ref) || typeof ref.type !== "string") {
      throw invalidParams("ref must be an object with a type");
    }
    if (
      !isObject(argument) || typeof argument.name !== "string" ||
      typeof argument.value !== "string"
    ) {
      throw invalidParams("argument must be an object with string name and value");
    }
    if (params.context !== undefined && !isObject(params.context)) {
      throw invalidParams("context must be an object");
    }
    const request = {
      argument: { name: argument.name, value: argument.value },
      ...(isObject(params.context) ? { context: params.context } : {}),
    };
    const view = call.view;
    let target: { complete?: PromptItem["complete"] } | undefined;
    if (ref.type === "ref/prompt") {
      if (typeof ref.name !== "string") throw invalidParams("ref.name must be a string");
      target = view.promptsByName.get(ref.name);
      if (!target) throw invalidParams(`Unknown prompt: ${ref.name}`);
    } else if (ref.type === "ref/resource") {
      if (typeof ref.uri !== "string") throw invalidParams("ref.uri must be a string");
      const uri = ref.uri;
      target = view.templateList.find((t) => t.uriTemplate === uri);
      if (!target && !view.resourcesByUri.has(uri)) {
        throw invalidParams(`Unknown resource template: ${uri}`);
      }
    } else {
      throw invalidParams("ref.type must be ref/prompt or ref/resource");
    }
    const complete = target?.complete?.bind(target);
    if (!complete) return { ...NO_COMPLETION };
    return await this.#running(call, "completion", (ctx) => complete(request, ctx));
  }

  /**
   * `subscriptions/listen`: a stream that first acknowledges the list kinds
   * honored (tools, prompts and resources list changes; not resource
   * subscriptions), then carries each change of them, tagged with the
   * subscription id, until the client goes away.
   */
  async #listen(call: Call): Promise<Handled> {
    const { ex, params, id } = call;
    const signal = ex.signal;
    if (!signal) throw listenNeedsStream();
    const wanted = isObject(params.notifications) ? params.notifications : {};
    const honored: Record<string, unknown> = {};
    for (const flag of Object.keys(LISTEN_KINDS)) if (wanted[flag] === true) honored[flag] = true;
    const tag = { [META_SUBSCRIPTION_ID]: String(id) };
    // Built when the request arrived, so a later change is compared with what the client could
    // have listed.
    const view = call.view;
    // The stream is a session of its own toward upstreams: its subscriptions end with it.
    const closers: (() => void)[] = [];
    const ctx: ExecutionContext = {
      signal,
      session: { id: `listen-${crypto.randomUUID()}`, onClose: (fn) => void closers.push(fn) },
      progress: () => {},
      log: () => {},
      clientCapabilities: ex.session.clientCapabilities,
      stateless: true,
      notify: (method, p) =>
        ex.emit(notification(method, {
          ...p,
          _meta: { ...(isObject(p._meta) ? p._meta : {}), ...tag },
        })),
    };
    const subscribed: { uri: string; item: ResourceItem | TemplateItem }[] = [];
    const uris = Array.isArray(wanted.resourceSubscriptions)
      ? wanted.resourceSubscriptions.filter((u): u is string => typeof u === "string")
      : [];
    for (const uri of new Set(uris.slice(0, MAX_LISTEN_RESOURCES))) {
      const item = view.resourcesByUri.get(uri) ?? templateFor(view, uri);
      if (!item?.subscribe) continue;
      try {
        await item.subscribe(uri, ctx);
        subscribed.push({ uri, item });
      } catch {
        // Not honored: the acknowledgment leaves it out.
      }
    }
    if (subscribed.length > 0) honored.resourceSubscriptions = subscribed.map((x) => x.uri);
    const stop = this.opts.catalog.listen(ex.gateway.id, (kind) => {
      const flag = Object.entries(LISTEN_KINDS).find(([, k]) => k === kind)?.[0];
      if (flag && honored[flag]) {
        ex.emit(notification(`notifications/${kind}/list_changed`, { _meta: tag }));
      }
    });
    try {
      const acknowledged = ex.emit(
        notification("notifications/subscriptions/acknowledged", {
          _meta: tag,
          notifications: honored,
        }),
      );
      if (acknowledged === false) throw listenNeedsStream();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      stop();
      // Upstreams are told, then what was opened for the stream is closed.
      const teardown = { ...ctx, signal: AbortSignal.timeout(5000) };
      await Promise.all(
        subscribed.map(({ uri, item }) => item.unsubscribe?.(uri, teardown).catch(() => {})),
      );
      for (const fn of closers) fn();
    }
    // The client ended the stream: there is nobody to send a result to.
    return undefined;
  }

  /** Checks the `_meta` and HTTP headers every 2026-07-28 request must carry. */
  #checkStateless(req: JsonRpcRequest, call: Call): void {
    const { params, ex } = call;
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
      const named = NAMED_BY[req.method];
      if (named && env.name !== params[named]) {
        throw new StatusError(
          ErrorCode.HeaderMismatch,
          `Header mismatch: Mcp-Name header ${
            env.name === null ? "is missing" : `'${env.name}'`
          } does not match body value '${String(params[named])}'`,
          400,
        );
      }
    }
    const level = meta?.[META_LOG_LEVEL];
    ex.session.protocolVersion = STATELESS_VERSION;
    ex.session.clientCapabilities = meta![META_CAPABILITIES] as Record<string, unknown>;
    ex.session.logLevel =
      typeof level === "string" && (LOG_LEVELS as readonly string[]).includes(level)
        ? level as LogLevel
        : undefined;
  }
}

/** The template a URI no resource has is read through: the first, in claim order, it fits. */
function templateFor(view: GatewayView, uri: string): TemplateItem | undefined {
  return view.templates.find((t) => t.matches(uri))?.item;
}

/** Resource URIs one `subscriptions/listen` stream may subscribe to. */
const MAX_LISTEN_RESOURCES = 100;

function listenNeedsStream(): StatusError {
  return new StatusError(
    ErrorCode.InvalidRequest,
    "Invalid request: subscriptions/listen answers with a stream; accept text/event-stream",
    400,
  );
}

/** The list kinds a `subscriptions/listen` filter names, by its flag. */
const LISTEN_KINDS = {
  toolsListChanged: "tools",
  promptsListChanged: "prompts",
  resourcesListChanged: "resources",
} as const;

const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

/** The param each 2026-07-28 request's `Mcp-Name` header must repeat. */
const NAMED_BY: Record<string, string> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};
