/**
 * One MCP client connection to an upstream server, whatever its transport:
 * connect (initialize), request, notifications, close. The transports
 * (`streamable_http.ts`, `sse.ts`, `stdio.ts`) each make an SDK `Transport`;
 * this wraps one in the SDK's `Client`, which handles the JSON-RPC protocol
 * (ids, timeouts, the initialize handshake and version negotiation).
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
  ResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { CLIENT_REQUEST_CAPABILITIES } from "../mcp/client_requests.ts";
import { GATEHOUSE_VERSION } from "../version.ts";
import type { UpstreamRpcFailure } from "./rpc_failure.ts";

/** How long a Streamable HTTP upstream gets to answer the DELETE that ends its session. */
const TERMINATE_GRACE_MS = 2000;

/** What the upstream said about itself in its initialize result. */
export interface ServerHello {
  protocolVersion?: string;
  serverInfo?: Record<string, unknown>;
  capabilities: Record<string, unknown>;
}

/**
 * Answers a request the upstream sends the client side (`sampling/createMessage`,
 * `elicitation/create`, `roots/list`); `signal` aborts when the upstream
 * cancels it. A rejection with an {@link McpError} answers with its code.
 * `key` is the upstream's name for the question, when it names them (the
 * keys of a 2026-07-28 server's `inputRequests`).
 */
export type ServerRequestHandler = (
  method: string,
  params: Record<string, unknown>,
  signal: AbortSignal,
  key?: string,
) => Promise<Record<string, unknown>>;

/** Progress the upstream reports on a request. */
export type ProgressHandler = (progress: number, total?: number, message?: string) => void;

/** How one request is sent, besides its method and params. */
export interface RequestOptions {
  /** Aborts the request, which also tells the upstream it is cancelled. */
  signal?: AbortSignal;
  /** Receives the upstream's progress on the request. */
  onProgress?: ProgressHandler;
  /**
   * Receives notifications the upstream ties to this request (a 2026-07-28
   * server sends its log messages on the request's own response); others
   * go to {@link UpstreamConnection.onNotification}.
   */
  onNotification?: (method: string, params: Record<string, unknown>) => void;
  /**
   * The client capabilities to declare for this request, where the protocol
   * declares them per request (2026-07-28); a session declares them once.
   */
  capabilities?: Record<string, unknown>;
  /**
   * Answers what the upstream asks the client in the course of this request
   * (a 2026-07-28 server's `input_required`), instead of the connection's
   * {@link UpstreamConnection.onServerRequest} handler.
   */
  onServerRequest?: ServerRequestHandler;
  /** The log level to ask for, where the protocol asks per request (2026-07-28). */
  logLevel?: string;
}

const SERVER_REQUEST_SCHEMAS = {
  "sampling/createMessage": CreateMessageRequestSchema,
  "elicitation/create": ElicitRequestSchema,
  "roots/list": ListRootsRequestSchema,
} as const;

/** A live connection to one upstream MCP server. */
export interface UpstreamConnection {
  /** Runs the initialize handshake; rejects when the upstream cannot be reached or refuses. */
  connect(): Promise<ServerHello>;
  /**
   * Sends one request and resolves with its result (rejects on an error
   * answer, on timeout, or when the signal aborts).
   */
  request(
    method: string,
    params?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<Record<string, unknown>>;
  /**
   * True when the upstream keeps state for this connection (an SSE
   * connection, or a Streamable HTTP server that issued a session id), so
   * that it must not be shared between callers. Known once connected.
   */
  readonly sessionful: boolean;
  /**
   * Sends a notification to the upstream where the protocol has a channel
   * for it (a session); elsewhere it is dropped.
   */
  notify(method: string, params?: Record<string, unknown>): Promise<void>;
  /** Calls `handler` (besides those registered before) with every notification the upstream sends. */
  onNotification(handler: (method: string, params?: Record<string, unknown>) => void): void;
  /**
   * Answers the upstream's requests to its client with `handler`; only those
   * whose capability the connection declared reach it.
   */
  onServerRequest(handler: ServerRequestHandler): void;
  /** Calls `handler` once when the connection ends, with the error that ended it if known. */
  onClose(handler: (error?: Error) => void): void;
  /**
   * The JSON-RPC error a failed {@link request} ended with: one the upstream
   * answered, or one raised on this side (`REQUEST_TIMEOUT` with
   * `data.timeout`, `CONNECTION_CLOSED`: see `rpc_failure.ts`). Undefined for any other
   * failure (the network, a malformed answer).
   */
  rpcErrorOf(err: unknown): UpstreamRpcFailure | undefined;
  /**
   * Whether a failed {@link request} was refused because the upstream no
   * longer knows this connection's session (it restarted, or expired it).
   */
  lostSession(err: unknown): boolean;
  /**
   * Ends the connection: for stdio, the process; for a Streamable HTTP
   * session, the upstream is told to end it (DELETE).
   */
  close(): Promise<void>;
}

/** An {@link UpstreamConnection} over an SDK transport. */
export class SdkConnection implements UpstreamConnection {
  readonly #client: Client;
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  #protocolVersion?: string;
  #lastError?: Error;
  #closeHandler?: (error?: Error) => void;
  #connected = false;
  #closed = false;
  readonly #notified: ((method: string, params?: Record<string, unknown>) => void)[] = [];
  #serverRequest?: ServerRequestHandler;

  /**
   * A connection over `transport` whose requests time out after `timeoutMs`,
   * declaring the client `capabilities` given (sampling, elicitation, roots:
   * what the clients it serves can answer).
   */
  constructor(transport: Transport, timeoutMs: number, capabilities: Record<string, unknown> = {}) {
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
    this.#client = new Client({ name: "gatehouse", version: GATEHOUSE_VERSION }, {
      capabilities,
    });
    this.#client.fallbackNotificationHandler = (n: { method: string; params?: unknown }) => {
      for (const fn of this.#notified) {
        fn(n.method, n.params as Record<string, unknown> | undefined);
      }
      return Promise.resolve();
    };
    for (const [method, capability] of Object.entries(CLIENT_REQUEST_CAPABILITIES)) {
      if (capabilities[capability] === undefined) continue;
      this.#client.setRequestHandler(
        SERVER_REQUEST_SCHEMAS[method as keyof typeof CLIENT_REQUEST_CAPABILITIES],
        (req: { params?: Record<string, unknown> }, extra: { signal: AbortSignal }) => {
          if (!this.#serverRequest) {
            throw new McpError(ErrorCode.MethodNotFound, `no client can answer ${method} here`);
          }
          return this.#serverRequest(method, req.params ?? {}, extra.signal);
        },
      );
    }
    // The negotiated version is only handed to the transport: keep a copy for the status.
    const set = transport.setProtocolVersion?.bind(transport);
    transport.setProtocolVersion = (v: string) => {
      this.#protocolVersion = v;
      set?.(v);
    };
    this.#client.onerror = (err: Error) => {
      this.#lastError = err;
      // A legacy SSE session lasts as long as its event stream: left alone, the SDK would
      // reconnect the stream into a new session that was never initialized.
      if (this.#connected && err instanceof SseError) void this.#client.close();
    };
    this.#client.onclose = () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#closeHandler?.(this.#lastError);
    };
  }

  /** {@inheritDoc UpstreamConnection.connect} */
  async connect(): Promise<ServerHello> {
    await this.#client.connect(this.#transport, { timeout: this.#timeoutMs });
    this.#connected = true;
    return {
      protocolVersion: this.#protocolVersion,
      serverInfo: this.#client.getServerVersion() as Record<string, unknown> | undefined,
      capabilities: (this.#client.getServerCapabilities() ?? {}) as Record<string, unknown>,
    };
  }

  /** {@inheritDoc UpstreamConnection.request} */
  async request(
    method: string,
    params?: Record<string, unknown>,
    { signal, onProgress }: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return await this.#client.request(
      params ? { method, params } : { method },
      ResultSchema,
      {
        timeout: this.#timeoutMs,
        signal,
        ...(onProgress
          ? {
            onprogress: (p: { progress: number; total?: number; message?: string }) =>
              onProgress(p.progress, p.total, p.message),
          }
          : {}),
      },
    ) as Record<string, unknown>;
  }

  /** {@inheritDoc UpstreamConnection.sessionful} */
  get sessionful(): boolean {
    return this.#transport instanceof SSEClientTransport ||
      (this.#transport as { sessionId?: string }).sessionId !== undefined;
  }

  /** {@inheritDoc UpstreamConnection.notify} */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    await this.#client.notification(params ? { method, params } : { method });
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

  /** {@inheritDoc UpstreamConnection.lostSession} */
  lostSession(err: unknown): boolean {
    if (!this.sessionful || !(err instanceof StreamableHTTPError)) return false;
    // The SDK's declarations do not type its error classes' fields for Deno. 404 is what the
    // specification says; 400 naming the session is what the SDK's example servers (and many
    // servers made from them) answer. Both come before the request is handled.
    const { code, message } = err as { code: number; message: string };
    return code === 404 || (code === 400 && /session/i.test(message));
  }

  /** {@inheritDoc UpstreamConnection.close} */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#transport instanceof StreamableHTTPClientTransport && this.#transport.sessionId) {
      // Without the DELETE the upstream keeps the session until its own expiry, if it has one.
      // Closing the client below aborts a DELETE still waiting after the grace period.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, TERMINATE_GRACE_MS));
      await Promise.race([this.#transport.terminateSession().catch(() => {}), grace]);
      clearTimeout(timer);
    }
    await this.#client.close().catch(() => {});
    // The client closes the transport only once connected; a failed connect leaves it to us.
    await this.#transport.close().catch(() => {});
  }
}

/**
 * The fields of an SDK `McpError` (a JSON-RPC error, answered or raised by the
 * SDK itself), with the "MCP error <code>: " the SDK puts before the message
 * taken off.
 */
export function sdkRpcError(err: unknown): UpstreamRpcFailure | undefined {
  if (!(err instanceof McpError)) return undefined;
  // The SDK's declarations do not type its error classes' fields for Deno.
  const e = err as { code: number; message: string; data?: Record<string, unknown> };
  const out: UpstreamRpcFailure = {
    code: e.code,
    message: e.message.replace(/^MCP error -?\d+: /, ""),
  };
  if (e.data !== undefined) out.data = e.data;
  return out;
}
