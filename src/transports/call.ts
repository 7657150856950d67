/**
 * What every MCP transport receives for an authenticated request, and how it
 * turns that into the protocol core's {@link Exchange}.
 *
 * @module
 */
import type { GatewayPrincipal } from "../auth/gateway_auth.ts";
import type { Envelope, Exchange } from "../mcp/dispatcher.ts";
import type { ClientChannel } from "../mcp/client_requests.ts";
import type { McpService, ResolvedGateway } from "../mcp/service.ts";
import type { Session, SessionOwner } from "../mcp/session.ts";
import type { CallerIdentity, Observation, TransportName } from "../telemetry/requests.ts";

/** Limits of the MCP transports. */
export interface TransportLimits {
  /** Largest MCP request body, in bytes. */
  maxBodyBytes: number;
  /** How long a request body may take to arrive, in ms. */
  bodyTimeoutMs: number;
  /** Keep-alive comment interval on idle streams, in ms. */
  keepAliveMs: number;
  /** Bytes a slow reader may leave queued before its stream is dropped. */
  maxBufferedBytes: number;
  /** Messages in one JSON-RPC batch. */
  maxBatch: number;
  /**
   * Server-to-client events kept per session (GET stream) and per resumable
   * POST stream for `Last-Event-ID` replay.
   */
  replayEvents: number;
  /**
   * How long a request of a 2025-11-25 session may stay unanswered before its
   * answer becomes a resumable SSE stream (SEP-1699), in ms.
   */
  streamAfterMs: number;
  /**
   * How long one connection carries a resumable stream before the server
   * closes it and the client polls with `Last-Event-ID`, in ms (0: until the
   * answer).
   */
  streamHoldMs: number;
  /** The `retry` a resumable stream gives: ms the client waits before reconnecting. */
  streamRetryMs: number;
  /**
   * How long a resumable stream without a connection waits for its client to
   * come back before its call is stopped and its events dropped, in ms.
   */
  streamResumeMs: number;
  /** Resumable POST streams kept per session. */
  maxResumableStreams: number;
  /** Seconds a WebSocket peer has to answer a ping before it is deemed dead. */
  wsPingSeconds: number;
  /** Open SSE and WebSocket connections per gateway. */
  maxConnectionsPerGateway: number;
  /** Open SSE and WebSocket connections per credential. */
  maxConnectionsPerKey: number;
}

/** One authenticated MCP request, as the transports receive it. */
export interface McpCall {
  req: Request;
  service: McpService;
  target: ResolvedGateway;
  principal: GatewayPrincipal;
  limits: TransportLimits;
  /** What the request log and metrics learn of it from its transport. */
  observe: Observation;
  /**
   * Who its requests count against for rate limits: the credential's id,
   * or `address:<ip>` of the client for gateways without authentication.
   */
  limitKey: string;
  /** Bytes of its body, once an HTTP transport has read it (for the request log). */
  bytesIn?: number;
  /** Its `MCP-Protocol-Version` header, once a transport has read it (read once a request). */
  protocolVersion?: string | null;
}

/**
 * What the request log and metrics learn of a request to `target` by
 * `principal` over `transport`; `address` is the client's, for callers of
 * the `none` method (who have no credential to tell them apart). Read
 * before a WebSocket upgrade: the request's headers are gone after it.
 */
export function observationOf(
  req: Request,
  target: ResolvedGateway,
  principal: GatewayPrincipal,
  transport: TransportName,
  address?: string,
): Observation {
  const caller: CallerIdentity = { id: principal.id, method: principal.method };
  if (principal.keyName !== undefined) caller.keyName = principal.keyName;
  if (principal.clientId !== undefined) caller.clientId = principal.clientId;
  if (principal.subject !== undefined) caller.subject = principal.subject;
  if (principal.method === "none" && address !== undefined) caller.address = address;
  const observation: Observation = { orgId: target.gateway.orgId, transport, caller };
  const traceparent = req.headers.get("traceparent");
  if (traceparent !== null) observation.traceparent = traceparent;
  if (target.gateway.configuration.logPayloads === true) observation.logPayloads = true;
  return observation;
}

/** Who owns sessions opened by `call`: its gateway and credential. */
export function ownerOf(call: McpCall): SessionOwner {
  return { gatewayId: call.target.gateway.id, principalId: call.principal.id };
}

/**
 * The core's view of one inbound message of `call` in `session`;
 * notifications it emits go to `emit`. `signal` makes the signal that stops
 * the message's work; it is only built if the work asks for it (most
 * messages never do, and building one costs on every request).
 */
export function exchangeFor(
  call: McpCall,
  session: Session,
  emit: ClientChannel,
  withEnvelope = true,
  signal: () => AbortSignal | undefined = () => call.req.signal,
): Exchange {
  return new CallExchange(call, session, emit, withEnvelope, signal);
}

/**
 * An {@link Exchange} whose signal and header envelope are read when first
 * asked for: each header read and each `AbortSignal` costs about a
 * microsecond on every request, and most never need them. (A class, because
 * an object literal with getters is built slowly on every call.)
 */
class CallExchange implements Exchange {
  readonly gateway: Exchange["gateway"];
  readonly caller: Exchange["caller"];
  readonly observe: Observation;
  readonly envelope?: Envelope;
  #signal?: () => AbortSignal | undefined;
  #made?: AbortSignal;

  constructor(
    call: McpCall,
    readonly session: Session,
    readonly emit: ClientChannel,
    withEnvelope: boolean,
    signal: () => AbortSignal | undefined,
  ) {
    // The gateway's record is what the core reads (id, name, description): no copy.
    this.gateway = call.target.gateway;
    this.caller = {
      scopes: call.principal.scopes,
      limitKey: call.limitKey,
      rateLimit: call.principal.rateLimit,
    };
    this.observe = call.observe;
    this.#signal = signal;
    if (withEnvelope) this.envelope = new HeaderEnvelope(call);
  }

  get signal(): AbortSignal | undefined {
    if (this.#signal) {
      this.#made = this.#signal();
      this.#signal = undefined;
    }
    return this.#made;
  }
}

/** The envelope headers of `call`'s request, each read when first asked for. */
class HeaderEnvelope implements Envelope {
  #headers: Headers;
  #version?: string | null;
  #method?: string | null;
  #name?: string | null;

  constructor(call: McpCall) {
    this.#headers = call.req.headers;
    if (call.protocolVersion !== undefined) this.#version = call.protocolVersion;
  }

  get protocolVersion(): string | null {
    return this.#version === undefined
      ? this.#version = this.#headers.get("mcp-protocol-version")
      : this.#version;
  }

  get method(): string | null {
    return this.#method === undefined
      ? this.#method = this.#headers.get("mcp-method")
      : this.#method;
  }

  get name(): string | null {
    return this.#name === undefined ? this.#name = this.#headers.get("mcp-name") : this.#name;
  }
}
