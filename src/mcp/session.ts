/**
 * MCP sessions: the state a connection keeps between messages (negotiated
 * version, log level, in-flight calls, the channel for server-initiated
 * messages), and the registry that bounds and expires them.
 *
 * @module
 */
import type { TransportName } from "../telemetry/requests.ts";
import type { LogLevel } from "../tools/executor.ts";
import { ClientRequests } from "./client_requests.ts";
import type { JsonRpcMessage, JsonRpcResponse, RequestId } from "./jsonrpc.ts";

/**
 * Where a session's server-initiated messages go (a GET stream, an SSE
 * stream, a socket); a list is a batch's responses.
 */
export type Outbound = (message: JsonRpcMessage | JsonRpcResponse[]) => void;

/** Who opened a session: only the same credential may use it. */
export interface SessionOwner {
  gatewayId: string;
  /** The credential's identity (a gateway key id, or "anonymous" for auth `none`). */
  principalId: string;
}

/** The state of one MCP session. */
export class Session {
  /** Negotiated protocol version. */
  protocolVersion: string;
  /** True once `notifications/initialized` arrived. */
  initialized = false;
  /** Messages below this level are not sent; undefined sends none (stateless requests). */
  logLevel: LogLevel | undefined;
  /** Capabilities the client declared. */
  clientCapabilities: Record<string, unknown> = {};
  /** What the client said it is. */
  clientInfo: Record<string, unknown> | undefined;
  /** Calls still running, by request id, so `notifications/cancelled` can abort them. */
  readonly inflight = new Map<RequestId, AbortController>();
  /** Requests relayed to the client (sampling, elicitation, roots) awaiting its answer. */
  readonly clientRequests = new ClientRequests();
  /** The channel for server-initiated messages, when the transport has one open. */
  outbound: Outbound | undefined;
  /** Last time a message arrived or a call finished (ms since epoch). */
  lastActive = Date.now();
  /** Set once the session ended; a closed session answers nothing. */
  closed = false;
  #onClose: (() => void)[] = [];
  #onRootsChanged: (() => void)[] = [];

  /**
   * Creates a session; `id` is empty for one-shot, sessionless requests,
   * which only Streamable HTTP makes (hence the default `transport`).
   */
  constructor(
    readonly id: string,
    readonly owner: SessionOwner,
    protocolVersion: string,
    logLevel?: LogLevel,
    readonly transport: TransportName = "http",
  ) {
    this.protocolVersion = protocolVersion;
    this.logLevel = logLevel;
  }

  /** Registers `fn` to run when the session closes. */
  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  /** Registers `fn` to run when the client says its roots changed. */
  onRootsChanged(fn: () => void): void {
    this.#onRootsChanged.push(fn);
  }

  /** The client said its roots changed: whoever asked is told. */
  rootsChanged(): void {
    for (const fn of this.#onRootsChanged) fn();
  }

  /** Ends the session: aborts running calls and runs close hooks, once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ctl of this.inflight.values()) ctl.abort(new Error("session closed"));
    this.inflight.clear();
    this.clientRequests.closeAll("the client's session ended");
    this.outbound = undefined;
    this.#onRootsChanged = [];
    for (const fn of this.#onClose.splice(0)) fn();
  }
}

/** Limits of the session registry. */
export interface SessionLimits {
  /** Sessions idle this long are closed. */
  idleTimeoutMs: number;
  /** Sessions per gateway, whoever opened them. */
  maxPerGateway: number;
  /** Sessions per credential of a gateway (`SessionOwner.principalId`). */
  maxPerPrincipal: number;
}

/** The answer when there is no room for another session; `retryAfterSeconds` hints when. */
export class SessionLimitError extends Error {
  override name = "SessionLimitError";
  /** Creates the refusal; `retryAfterSeconds` is when an idle session may have expired. */
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

/** A random session id: 32 hex characters of 128 random bits (visible ASCII, as the spec asks). */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function principalKey(owner: SessionOwner): string {
  return `${owner.gatewayId}\n${owner.principalId}`;
}

/**
 * The session of `set` to give up for a new one: idle (no running call),
 * without an open connection before those with one, least recently used first.
 */
function evictable(set: Iterable<Session>): Session | undefined {
  let victim: Session | undefined;
  const rank = (s: Session) => (s.outbound ? 1 : 0);
  for (const s of set) {
    if (s.inflight.size > 0) continue;
    if (
      !victim || rank(s) < rank(victim) ||
      (rank(s) === rank(victim) && s.lastActive < victim.lastActive)
    ) victim = s;
  }
  return victim;
}

/**
 * All open sessions, bounded per gateway and per credential and expired when
 * idle. A full registry only ever gives up a session of the credential asking
 * for a new one, never another caller's: one credential cannot evict others.
 */
export class SessionRegistry {
  #byId = new Map<string, Session>();
  #byGateway = new Map<string, Set<Session>>();
  #byPrincipal = new Map<string, Set<Session>>();
  // Kept as sessions open and close, so the metrics read them without walking every session.
  #byTransport: Record<TransportName, number> = { http: 0, sse: 0, ws: 0 };
  #timer: ReturnType<typeof setInterval>;

  /** Starts the idle sweep. */
  constructor(readonly limits: SessionLimits) {
    const every = Math.max(50, Math.min(30_000, Math.floor(limits.idleTimeoutMs / 4)));
    this.#timer = setInterval(() => this.sweep(), every);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Opens a session for `owner`. At either cap the owner's own oldest idle
   * session is closed to make room; when the owner has none to give up, a
   * {@link SessionLimitError} refuses the new one. `transport` is the one it
   * was opened over.
   */
  create(
    owner: SessionOwner,
    transport: TransportName,
    protocolVersion: string,
    logLevel?: LogLevel,
  ): Session {
    const pk = principalKey(owner);
    const own = this.#byPrincipal.get(pk);
    const all = this.#byGateway.get(owner.gatewayId);
    const ownFull = (own?.size ?? 0) >= this.limits.maxPerPrincipal;
    const gatewayFull = (all?.size ?? 0) >= this.limits.maxPerGateway;
    if (ownFull || gatewayFull) {
      const victim = own && evictable(own);
      if (!victim) {
        const [what, n, set] = ownFull
          ? ["this credential", this.limits.maxPerPrincipal, own]
          : ["this gateway", this.limits.maxPerGateway, all];
        throw new SessionLimitError(
          `Too Many Requests: ${what} already has ${n} open sessions (the limit); ` +
            "end unused ones (DELETE with their Mcp-Session-Id) or try again later",
          this.#retryAfter(set!),
        );
      }
      this.close(victim.id);
    }
    const session = new Session(newSessionId(), owner, protocolVersion, logLevel, transport);
    this.#byId.set(session.id, session);
    this.#byTransport[transport]++;
    let gw = this.#byGateway.get(owner.gatewayId);
    if (!gw) this.#byGateway.set(owner.gatewayId, gw = new Set());
    gw.add(session);
    let mine = this.#byPrincipal.get(pk);
    if (!mine) this.#byPrincipal.set(pk, mine = new Set());
    mine.add(session);
    return session;
  }

  /** Seconds until the first idle session of `set` expires (at least 1). */
  #retryAfter(set: Iterable<Session>): number {
    let soonest = Infinity;
    for (const s of set) {
      if (s.inflight.size === 0 && !s.outbound) soonest = Math.min(soonest, s.lastActive);
    }
    const ms = soonest === Infinity
      ? this.limits.idleTimeoutMs
      : soonest + this.limits.idleTimeoutMs - Date.now();
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /**
   * A session for one request only (sessionless clients and the stateless
   * era): not registered, never listed, gone when the request ends.
   */
  oneShot(owner: SessionOwner, protocolVersion: string, logLevel?: LogLevel): Session {
    return new Session("", owner, protocolVersion, logLevel);
  }

  /** The open session `id`, if `owner` may use it; refreshes its idle clock. */
  get(id: string, owner: SessionOwner): Session | undefined {
    const s = this.#byId.get(id);
    if (!s || s.owner.gatewayId !== owner.gatewayId || s.owner.principalId !== owner.principalId) {
      return undefined;
    }
    s.lastActive = Date.now();
    return s;
  }

  /** The open sessions of `gatewayId`. */
  forGateway(gatewayId: string): Iterable<Session> {
    return this.#byGateway.get(gatewayId) ?? [];
  }

  /** How many sessions are open. */
  get size(): number {
    return this.#byId.size;
  }

  /** How many sessions are open over each transport. */
  get byTransport(): Readonly<Record<TransportName, number>> {
    return this.#byTransport;
  }

  /** Closes and forgets session `id`; false when unknown. */
  close(id: string): boolean {
    const s = this.#byId.get(id);
    if (!s) return false;
    this.#byId.delete(id);
    this.#byTransport[s.transport]--;
    const set = this.#byGateway.get(s.owner.gatewayId);
    set?.delete(s);
    if (set?.size === 0) this.#byGateway.delete(s.owner.gatewayId);
    const pk = principalKey(s.owner);
    const mine = this.#byPrincipal.get(pk);
    mine?.delete(s);
    if (mine?.size === 0) this.#byPrincipal.delete(pk);
    s.close();
    return true;
  }

  /** Closes every session opened with the credential `principalId` (it was revoked). */
  closePrincipal(principalId: string): void {
    for (const s of [...this.#byId.values()]) {
      if (s.owner.principalId === principalId) this.close(s.id);
    }
  }

  /** Closes every session of `gatewayId` (the gateway was deleted or changed hands). */
  closeGateway(gatewayId: string): void {
    for (const s of [...this.forGateway(gatewayId)]) this.close(s.id);
  }

  /**
   * Closes sessions idle past the timeout. A session with running calls or an
   * open stream to its client is not idle.
   */
  sweep(now = Date.now()): void {
    for (const s of [...this.#byId.values()]) {
      const busy = s.inflight.size > 0 || s.outbound !== undefined;
      if (!busy && now - s.lastActive > this.limits.idleTimeoutMs) this.close(s.id);
    }
  }

  /** Stops the sweep and closes every session. */
  dispose(): void {
    clearInterval(this.#timer);
    for (const id of [...this.#byId.keys()]) this.close(id);
  }
}
