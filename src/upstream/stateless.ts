/**
 * A connection to an upstream that speaks the stateless era (MCP
 * 2026-07-28) over HTTP: no initialize and no session; `server/discover`
 * says what the server offers, and every request carries the protocol
 * version and the client's capabilities in `_meta` and in headers.
 *
 * When the server answers `input_required` (a multi round-trip request), the
 * connection asks its {@link ServerRequestHandler} each question, as a
 * legacy server would have asked them one by one, and retries with the
 * answers and the server's `requestState` until a complete result comes.
 * Whoever handles the questions decides where they go: a legacy client gets
 * ordinary requests on its session; a 2026-07-28 client gets them back as
 * `input_required` from Gatehouse.
 *
 * A `subscriptions/listen` stream, open while connected, brings the
 * server's list changes to {@link UpstreamConnection.onNotification}.
 *
 * @module
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { STATELESS_VERSION } from "../mcp/versions.ts";
import { isObject } from "../util/json.ts";
import { Deadline } from "../util/deadline.ts";
import { GATEHOUSE_VERSION } from "../version.ts";
import {
  type RequestOptions,
  sdkRpcError,
  type ServerHello,
  type ServerRequestHandler,
  type UpstreamConnection,
} from "./connection.ts";
import type { UpstreamRpcFailure } from "./rpc_failure.ts";
import { readMessages } from "./message_stream.ts";

const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

/** Rounds of `input_required` one request may take before Gatehouse gives up on it. */
export const MAX_INPUT_ROUNDS = 16;
/** Longest wait before a listen stream that ended is opened again. */
const LISTEN_RETRY_MAX_MS = 30_000;

/** The param each request's `Mcp-Name` header repeats. */
const NAMED_BY: Record<string, string> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/** Framing of this era that the results Gatehouse passes on get again from its own dispatcher. */
const ERA_FIELDS = ["resultType", "ttlMs", "cacheScope"];

/** An {@link UpstreamConnection} to a 2026-07-28 server. */
export class StatelessConnection implements UpstreamConnection {
  readonly #url: URL;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #capabilities: Record<string, unknown>;
  /** Aborts every request under way and the listen stream: the connection is closed. */
  readonly #closing = new AbortController();
  readonly #notified: ((method: string, params?: Record<string, unknown>) => void)[] = [];
  #serverRequest?: ServerRequestHandler;
  #closeHandler?: (error?: Error) => void;
  #nextId = 0;

  /**
   * A connection to `url` through `fetch` whose requests time out after
   * `timeoutMs`, declaring `capabilities` unless a request names its own.
   */
  constructor(
    url: URL,
    fetch: FetchLike,
    timeoutMs: number,
    capabilities: Record<string, unknown> = {},
  ) {
    this.#url = url;
    this.#fetch = fetch;
    this.#timeoutMs = timeoutMs;
    this.#capabilities = capabilities;
  }

  /** {@inheritDoc UpstreamConnection.sessionful} */
  readonly sessionful = false;

  /**
   * Asks `server/discover`; rejects when the server does not support
   * 2026-07-28. Opens the listen stream when the server announces list
   * changes.
   */
  async connect(): Promise<ServerHello> {
    const result = await this.#post("server/discover", {}, {});
    const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions : [];
    if (!versions.includes(STATELESS_VERSION)) {
      throw new Error(
        `the server does not support protocol ${STATELESS_VERSION} (it supports ${
          versions.join(", ") || "none"
        })`,
      );
    }
    const capabilities = isObject(result.capabilities) ? result.capabilities : {};
    const meta = isObject(result._meta) ? result._meta : {};
    const info = isObject(meta[META_SERVER_INFO])
      ? meta[META_SERVER_INFO]
      : isObject(result.serverInfo)
      ? result.serverInfo
      : undefined;
    const wanted = listenFilter(capabilities);
    if (Object.keys(wanted).length > 0) void this.#listen(wanted);
    return { protocolVersion: STATELESS_VERSION, serverInfo: info, capabilities };
  }

  /**
   * {@inheritDoc UpstreamConnection.request}
   *
   * Answers each `input_required` round through the server request handler
   * and retries, at most {@link MAX_INPUT_ROUNDS} times.
   */
  async request(
    method: string,
    params: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    let current = params;
    for (let round = 1; round <= MAX_INPUT_ROUNDS; round++) {
      const result = await this.#post(method, current, options);
      if (result.resultType !== "input_required") {
        const out = { ...result };
        for (const f of ERA_FIELDS) delete out[f];
        return out;
      }
      const asks = isObject(result.inputRequests) ? result.inputRequests : {};
      current = {
        ...params,
        inputResponses: await this.#answer(asks, options),
        ...(result.requestState !== undefined ? { requestState: result.requestState } : {}),
      };
    }
    throw new McpError(
      ErrorCode.InternalError,
      `the server still asked for input after ${MAX_INPUT_ROUNDS} rounds`,
    );
  }

  /** Dropped: 2026-07-28 has no channel from client to server outside a request. */
  notify(): Promise<void> {
    return Promise.resolve();
  }

  /** {@inheritDoc UpstreamConnection.onNotification} */
  onNotification(handler: (method: string, params?: Record<string, unknown>) => void): void {
    this.#notified.push(handler);
  }

  /** {@inheritDoc UpstreamConnection.onServerRequest} */
  onServerRequest(handler: ServerRequestHandler): void {
    this.#serverRequest = handler;
  }

  /** {@inheritDoc UpstreamConnection.onClose} */
  onClose(handler: (error?: Error) => void): void {
    this.#closeHandler = handler;
  }

  /** {@inheritDoc UpstreamConnection.rpcErrorOf} */
  rpcErrorOf(err: unknown): UpstreamRpcFailure | undefined {
    return sdkRpcError(err);
  }

  /** There is no session to lose. */
  lostSession(): boolean {
    return false;
  }

  /** Aborts what is under way; there is no session to end. */
  close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort(new Error("the connection was closed"));
      this.#closeHandler?.();
    }
    return Promise.resolve();
  }

  /** Each question of an `input_required` round, asked of the handler at once; their answers. */
  async #answer(
    asks: Record<string, unknown>,
    { signal, onServerRequest }: RequestOptions,
  ): Promise<Record<string, unknown>> {
    const handler = onServerRequest ?? this.#serverRequest;
    const entries = Object.entries(asks);
    if (!handler || entries.length === 0) {
      throw new McpError(
        ErrorCode.InternalError,
        "the server asked for input that no client can give here",
      );
    }
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
    const answers = await Promise.all(entries.map(async ([key, ask]) => {
      if (!isObject(ask) || typeof ask.method !== "string") {
        throw new McpError(
          ErrorCode.InternalError,
          `the server's inputRequests.${key} is malformed`,
        );
      }
      const askParams = isObject(ask.params) ? ask.params : {};
      return [key, await handler(ask.method, askParams, stop, key)] as const;
    }));
    return Object.fromEntries(answers);
  }

  /**
   * One POST: the request with this era's `_meta` and headers; resolves
   * with its result, reporting progress and passing request-scoped
   * notifications on as they arrive.
   */
  async #post(
    method: string,
    params: Record<string, unknown>,
    options: RequestOptions,
  ): Promise<Record<string, unknown>> {
    const id = ++this.#nextId;
    const progressToken = options.onProgress ? `gatehouse-${id}` : undefined;
    const meta: Record<string, unknown> = {
      ...(isObject(params._meta) ? params._meta : {}),
      ...this.#meta(options.capabilities),
    };
    if (options.logLevel) meta[META_LOG_LEVEL] = options.logLevel;
    if (progressToken) meta.progressToken = progressToken;
    using deadline = new Deadline(this.#timeoutMs, this.#closing.signal, options.signal);
    const response = await this.#fetch(this.#url, {
      ...envelope(id, method, { ...params, _meta: meta }, "application/json, text/event-stream"),
      signal: deadline.signal,
    });
    let answer: Record<string, unknown> | undefined;
    await readMessages(response, (m) => {
      if (!isObject(m)) return;
      if (m.id === id && ("result" in m || "error" in m)) {
        answer ??= m;
        return;
      }
      if (typeof m.method !== "string" || "id" in m) return;
      const p = isObject(m.params) ? m.params : {};
      if (m.method === "notifications/progress") {
        if (progressToken !== undefined && p.progressToken === progressToken) {
          const progress = typeof p.progress === "number" ? p.progress : undefined;
          if (progress !== undefined) {
            options.onProgress?.(
              progress,
              typeof p.total === "number" ? p.total : undefined,
              typeof p.message === "string" ? p.message : undefined,
            );
          }
        }
        return;
      }
      options.onNotification?.(m.method, p);
    });
    if (answer && isObject(answer.error)) {
      const e = answer.error;
      throw new McpError(
        typeof e.code === "number" ? e.code : ErrorCode.InternalError,
        typeof e.message === "string" ? e.message : "error",
        e.data,
      );
    }
    if (answer && isObject(answer.result)) return answer.result;
    throw new Error(
      response.ok
        ? `the server's answer to ${method} held no JSON-RPC response`
        : `the server answered ${method} with HTTP ${response.status}`,
    );
  }

  /** The `_meta` every request of this era carries, declaring `capabilities` (else the connection's). */
  #meta(capabilities?: Record<string, unknown>): Record<string, unknown> {
    return {
      [META_VERSION]: STATELESS_VERSION,
      [META_CAPABILITIES]: capabilities ?? this.#capabilities,
      [META_CLIENT_INFO]: { name: "gatehouse", version: GATEHOUSE_VERSION },
    };
  }

  /** Keeps a `subscriptions/listen` stream open while connected, opening it again when it ends. */
  async #listen(notifications: Record<string, true>): Promise<void> {
    let delay = 1000;
    while (!this.#closing.signal.aborted) {
      const id = ++this.#nextId;
      try {
        const response = await this.#fetch(this.#url, {
          ...envelope(
            id,
            "subscriptions/listen",
            { notifications, _meta: this.#meta() },
            "text/event-stream, application/json",
          ),
          signal: this.#closing.signal,
        });
        let refused = !response.ok;
        await readMessages(response, (m) => {
          if (!isObject(m)) return;
          if ("error" in m) refused = true;
          if (typeof m.method !== "string" || "id" in m) return;
          if (m.method === "notifications/subscriptions/acknowledged") {
            delay = 1000;
            return;
          }
          const p = isObject(m.params) ? m.params : undefined;
          for (const fn of this.#notified) fn(m.method, p);
        });
        // A server that refuses to listen is not asked again; the supervisor's refresh remains.
        if (refused) return;
      } catch {
        if (this.#closing.signal.aborted) return;
      }
      await sleep(delay, this.#closing.signal);
      delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
    }
  }
}

/**
 * The method, headers and body of one POST of this era: the headers repeat
 * the version, the method and (for the methods that name something) the name.
 */
function envelope(
  id: number,
  method: string,
  params: Record<string, unknown>,
  accept: string,
): RequestInit {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept,
    "mcp-protocol-version": STATELESS_VERSION,
    "mcp-method": method,
  };
  const named = NAMED_BY[method];
  if (named && typeof params[named] === "string") headers["mcp-name"] = params[named] as string;
  return {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** The list changes to listen for: those `capabilities` say the server announces. */
function listenFilter(capabilities: Record<string, unknown>): Record<string, true> {
  const out: Record<string, true> = {};
  const flags = {
    tools: "toolsListChanged",
    prompts: "promptsListChanged",
    resources: "resourcesListChanged",
  };
  for (const [kind, flag] of Object.entries(flags)) {
    const cap = capabilities[kind];
    if (isObject(cap) && cap.listChanged === true) out[flag] = true;
  }
  return out;
}
