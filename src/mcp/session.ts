/**
 * MCP sessions: the state a connection keeps between messages (negotiated
 * version, log level, in-flight calls, the channel for server-initiated
 * messages), and the registry that bounds and expires them.
 *
 * @module
 */
import type { McpSessions, StoredSession } from "../store/mcp_sessions.ts";
import type { SessionMessage, SessionMessages } from "../store/session_messages.ts";
import { StoreUnavailable } from "../store/sql.ts";
import type { TransportName } from "../telemetry/requests.ts";
import type { LogLevel } from "../tools/executor.ts";
import { ClientRequests, noStreamFor } from "./client_requests.ts";
import {
  failure,
  isRequestId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from "./jsonrpc.ts";

/**
 * Where a session's server-initiated messages go (a GET stream, an SSE
 * stream, a socket); a list is a batch's responses.
 */
export type Outbound = (message: JsonRpcMessage | JsonRpcResponse[]) => void;

/**
 * Where a shared session's messages go that this replica cannot act on
 * itself (sessions of replicas sharing a database; see {@link SessionRegistry}).
 */
export interface SessionRelay {
  /** Hands a message for the client to the replica holding its stream; false when none does. */
  toStream(message: JsonRpcRequest | JsonRpcNotification): boolean;
  /** Hands a client's answer to the replica whose request it answers; false when none. */
  toAsker(response: JsonRpcResponse): boolean;
  /** Hands a client's notification (cancelled, roots changed) to the other replicas. */
  toOthers(message: JsonRpcNotification): void;
}

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
  #logLevel: LogLevel | undefined;
  /** Capabilities the client declared. */
  clientCapabilities: Record<string, unknown> = {};
  /** What the client said it is. */
  clientInfo: Record<string, unknown> | undefined;
  /** Calls still running, by request id, so `notifications/cancelled` can abort them. */
  readonly inflight = new Map<RequestId, AbortController>();
  /** Requests relayed to the client (sampling, elicitation, roots) awaiting its answer. */
  readonly clientRequests: ClientRequests;
  #outbound: Outbound | undefined;
  /** The replica holding the session's stream, as last heard (shared sessions only). */
  streamReplica: string | undefined;
  /** Where what this replica cannot act on goes (shared sessions only). */
  relay: SessionRelay | undefined;
  /**
   * Runs when the transport opens (true) or closes (false) its channel to
   * the client here; settles once the change is recorded where it must be.
   */
  onStreamChange: ((open: boolean) => Promise<void>) | undefined;
  #streamRecorded: Promise<void> | undefined;
  /** Last time a message arrived or a call finished (ms since epoch). */
  lastActive = Date.now();
  /** When it started (ms since epoch). */
  createdAt = this.lastActive;
  /** Set once the session ended; a closed session answers nothing. */
  closed = false;
  /** When its last-seen time was last written to the store (ms since epoch). */
  seenStored = 0;
  /** Runs when state other replicas need changes (the log level). */
  onStateChange: (() => void) | undefined;
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
    requestIdPrefix?: string,
  ) {
    this.protocolVersion = protocolVersion;
    this.#logLevel = logLevel;
    this.clientRequests = new ClientRequests(requestIdPrefix);
  }

  /** The channel for server-initiated messages, when the transport has one open here. */
  get outbound(): Outbound | undefined {
    return this.#outbound;
  }

  set outbound(channel: Outbound | undefined) {
    const opened = this.#outbound === undefined && channel !== undefined;
    const closed = this.#outbound !== undefined && channel === undefined;
    this.#outbound = channel;
    if (opened || closed) this.#streamRecorded = this.onStreamChange?.(opened);
  }

  /**
   * Settles once the last opening or closing of the channel is recorded (in
   * the store, for shared sessions: from then on other replicas send here).
   */
  streamRecorded(): Promise<void> {
    return this.#streamRecorded ?? Promise.resolve();
  }

  /**
   * Sends a server-initiated message to the client: on the channel open
   * here, else through the replica holding the session's stream. False
   * when nothing can carry it.
   */
  deliver(message: JsonRpcRequest | JsonRpcNotification): boolean {
    if (this.#outbound) {
      this.#outbound(message);
      return true;
    }
    return this.relay?.toStream(message) ?? false;
  }

  /**
   * Settles the request the client's `response` answers, here or on the
   * replica that made it; false when none awaits it.
   */
  answer(response: JsonRpcResponse): boolean {
    return this.clientRequests.answer(response) || (this.relay?.toAsker(response) ?? false);
  }

  /** Stops the request `id` running here (the client cancelled it); false when none is. */
  cancel(id: RequestId): boolean {
    const running = this.inflight.get(id);
    running?.abort(new Error("cancelled by the client"));
    return running !== undefined;
  }

  /** Messages below this level are not sent; undefined sends none (stateless requests). */
  get logLevel(): LogLevel | undefined {
    return this.#logLevel;
  }

  set logLevel(level: LogLevel | undefined) {
    this.#logLevel = level;
    this.onStateChange?.();
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

/**
 * The longest a session's last-seen time waits before it is written to the
 * store (shared sessions only): idle expiry across replicas is this late at most.
 */
const SEEN_WRITE_MS = 120_000;

/** `s` as the store keeps it, seen at `now`. */
function storedOf(s: Session, now: number): StoredSession {
  const stored: StoredSession = {
    id: s.id,
    gatewayId: s.owner.gatewayId,
    principalId: s.owner.principalId,
    transport: s.transport,
    protocolVersion: s.protocolVersion,
    clientCapabilities: s.clientCapabilities,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(now).toISOString(),
  };
  if (s.clientInfo !== undefined) stored.clientInfo = s.clientInfo;
  if (s.logLevel !== undefined) stored.logLevel = s.logLevel;
  return stored;
}

/** What replicas sharing a database share Streamable HTTP sessions through. */
export interface SharedSessions {
  /** The stored sessions. */
  store: McpSessions;
  /** Messages for sessions between the replicas. */
  messages: SessionMessages;
}

/**
 * What one replica hands another for a session: a message for the client,
 * to send on the stream held there; a client's answer to a request made
 * there; a client's notification for the requests running there.
 */
type Forwarded =
  | { kind: "stream"; message: JsonRpcRequest | JsonRpcNotification }
  | { kind: "answer"; message: JsonRpcResponse }
  | { kind: "notice"; message: JsonRpcNotification };

/** The start of the ids of requests a replica sends clients of shared sessions. */
function requestIdPrefix(replica: string): string {
  return `gatehouse-${replica}-`;
}

/** The replica that sent the request `id` answers, if it names one. */
function askerOf(id: unknown): string | undefined {
  return typeof id === "string" ? /^gatehouse-(.+)-\d+$/.exec(id)?.[1] : undefined;
}

/** Logs a background write of shared sessions that failed, unless the store is merely down. */
function reportFailure(what: string): (err: unknown) => void {
  return (err) => {
    if (!(err instanceof StoreUnavailable)) console.error(`${what} failed:`, err);
  };
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
 *
 * With `shared` (replicas on one PostgreSQL database) Streamable HTTP
 * sessions are also kept in the store once started: a replica that does not
 * hold one loads it on its first request there, ending one deletes it
 * everywhere, last-seen times are written in the background at most every
 * two minutes, and idle ones expire across replicas. Limits stay per replica.
 * The store also says which replica holds a session's GET stream: what
 * another replica has for the client (a notification, a request) goes there,
 * a client's answer goes to the replica that asked, and a cancellation or a
 * change of roots to every replica (see `store/session_messages.ts`).
 */
export class SessionRegistry {
  #byId = new Map<string, Session>();
  #byGateway = new Map<string, Set<Session>>();
  #byPrincipal = new Map<string, Set<Session>>();
  // Kept as sessions open and close, so the metrics read them without walking every session.
  #byTransport: Record<TransportName, number> = { http: 0, sse: 0, ws: 0 };
  #timer: ReturnType<typeof setInterval>;
  readonly #shared: McpSessions | undefined;
  readonly #messages: SessionMessages | undefined;
  readonly #unsubscribe: () => void;
  /** Loads from the store under way, by id, so concurrent first requests load once. */
  #loading = new Map<string, Promise<StoredSession | undefined>>();
  /** The deletion of the stored session each new one replaced, awaited before it is stored. */
  #replacing = new WeakMap<Session, Promise<void>>();
  #lastExpiry = 0;

  /** Starts the idle sweep; `shared` keeps Streamable HTTP sessions in the store too. */
  constructor(readonly limits: SessionLimits, shared?: SharedSessions) {
    this.#shared = shared?.store;
    this.#messages = shared?.messages;
    this.#unsubscribe = shared?.messages.onMessage((m) => this.#received(m)) ?? (() => {});
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
    let replaced: Promise<void> | undefined;
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
      // A stored session given up must end everywhere, or its next request would load it again.
      replaced = this.#shared && victim.transport === "http"
        ? this.#shared.delete(victim.id)
        : undefined;
    }
    const session = new Session(
      newSessionId(),
      owner,
      protocolVersion,
      logLevel,
      transport,
      this.#requestIdPrefix(transport),
    );
    this.#add(session);
    if (replaced) {
      // Failures surface in publish, which waits for it; a session never published drops it.
      replaced.catch(() => {});
      this.#replacing.set(session, replaced);
    }
    return session;
  }

  /** Ids of requests to clients of shared sessions name this replica: their answers find it. */
  #requestIdPrefix(transport: TransportName): string | undefined {
    return this.#messages && transport === "http"
      ? requestIdPrefix(this.#messages.replica)
      : undefined;
  }

  #add(session: Session): void {
    this.#byId.set(session.id, session);
    this.#byTransport[session.transport]++;
    let gw = this.#byGateway.get(session.owner.gatewayId);
    if (!gw) this.#byGateway.set(session.owner.gatewayId, gw = new Set());
    gw.add(session);
    const pk = principalKey(session.owner);
    let mine = this.#byPrincipal.get(pk);
    if (!mine) this.#byPrincipal.set(pk, mine = new Set());
    mine.add(session);
  }

  /**
   * Stores a Streamable HTTP session whose initialize succeeded, so that
   * every replica can serve it (nothing to do without a shared store).
   */
  async publish(session: Session): Promise<void> {
    if (!this.#shared || session.transport !== "http") return;
    // Its client hears of it only once the session it replaced is gone from the store.
    await this.#replacing.get(session);
    const now = Date.now();
    await this.#shared.save(storedOf(session, now));
    session.seenStored = now;
    this.#watch(session);
  }

  /**
   * Writes the state of `session` again whenever it changes, records where
   * its stream is, and relays what this replica cannot act on.
   */
  #watch(session: Session): void {
    const shared = this.#shared!;
    const messages = this.#messages!;
    const self = messages.replica;
    session.onStateChange = () => {
      if (session.closed) return;
      const now = Date.now();
      session.seenStored = now;
      shared.save(storedOf(session, now)).catch(reportFailure("storing an MCP session's state"));
    };
    session.onStreamChange = (open) => {
      if (open) session.streamReplica = self;
      else if (session.streamReplica === self) session.streamReplica = undefined;
      return (open ? shared.holdStream(session.id, self) : shared.releaseStream(session.id, self))
        .catch(reportFailure("recording which replica holds an MCP session's stream"));
    };
    const send = (to: string | undefined, forwarded: Forwarded) =>
      messages.send(to, session.id, JSON.stringify(forwarded)).catch(
        reportFailure("handing an MCP message to another replica"),
      );
    session.relay = {
      toStream: (message) => {
        const holder = session.streamReplica;
        if (holder === undefined || holder === self) return false;
        send(holder, { kind: "stream", message });
        return true;
      },
      toAsker: (response) => {
        const asker = askerOf(response.id);
        if (asker === undefined || asker === self) return false;
        send(asker, { kind: "answer", message: response });
        return true;
      },
      toOthers: (message) => void send(undefined, { kind: "notice", message }),
    };
  }

  /** Acts on what another replica handed over for a session held here. */
  #received({ from, sessionId, body }: SessionMessage): void {
    const forwarded = JSON.parse(body) as Forwarded;
    const held = this.#byId.get(sessionId);
    const session = held && !held.closed ? held : undefined;
    if (forwarded.kind === "stream") {
      const message = forwarded.message;
      if (session?.outbound) return session.outbound(message);
      // A request no stream here can carry: its asker hears so now, not at its timeout.
      if ("id" in message) {
        const refusal: Forwarded = {
          kind: "answer",
          message: failure(message.id, noStreamFor(message.method)),
        };
        this.#messages!.send(from, sessionId, JSON.stringify(refusal)).catch(
          reportFailure("answering another replica's MCP message"),
        );
      }
    } else if (forwarded.kind === "answer") {
      session?.clientRequests.answer(forwarded.message);
    } else if (session) {
      const { method, params } = forwarded.message;
      const id = params?.requestId;
      if (method === "notifications/cancelled" && isRequestId(id)) session.cancel(id);
      else if (method === "notifications/roots/list_changed") {
        session.rootsChanged();
      }
    }
  }

  /**
   * The Streamable HTTP session `id`, if `owner` may use it: from memory, or
   * (with a shared store) loaded from it on this replica's first request of
   * a session another started. A promise only when it must be loaded.
   */
  find(id: string, owner: SessionOwner): Session | undefined | Promise<Session | undefined> {
    if (this.#byId.has(id) || !this.#shared) return this.get(id, owner);
    return this.#load(id, owner);
  }

  async #load(id: string, owner: SessionOwner): Promise<Session | undefined> {
    let loading = this.#loading.get(id);
    if (!loading) {
      loading = this.#shared!.find(id).finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    const stored = await loading;
    if (
      !stored || stored.transport !== "http" || stored.gatewayId !== owner.gatewayId ||
      stored.principalId !== owner.principalId
    ) return undefined;
    // Another request of the session may have loaded it meanwhile.
    if (this.#byId.has(id)) return this.get(id, owner);
    const session = new Session(
      id,
      owner,
      stored.protocolVersion,
      stored.logLevel as LogLevel | undefined,
      "http",
      this.#requestIdPrefix("http"),
    );
    session.clientCapabilities = stored.clientCapabilities;
    session.streamReplica = stored.streamReplica;
    session.clientInfo = stored.clientInfo;
    session.initialized = true;
    session.createdAt = Date.parse(stored.createdAt);
    session.seenStored = Date.parse(stored.lastSeenAt);
    this.#add(session);
    this.#watch(session);
    return session;
  }

  /** Another replica changed the state of stored sessions `ids`: what is held here is re-read. */
  async reload(ids: string[]): Promise<void> {
    for (const id of ids) {
      // A load under way may have read the row before this change: it is read again once held.
      await this.#loading.get(id)?.catch(() => {});
      const held = this.#byId.get(id);
      const stored = held && await this.#shared?.find(id);
      if (!held || held.closed) continue;
      if (!stored) this.close(id);
      else {
        // Set underneath the setter: the state came from the store and is not written back.
        held.onStateChange = undefined;
        held.logLevel = stored.logLevel as LogLevel | undefined;
        // The stream held here stays this replica's, whatever an older write said.
        if (!held.outbound) held.streamReplica = stored.streamReplica;
        this.#watch(held);
      }
    }
  }

  /** The link to other replicas was lost: sessions held here that ended meanwhile close. */
  async recheck(): Promise<void> {
    if (!this.#shared) return;
    const held = [...this.#byId.values()].filter((s) => s.transport === "http").map((s) => s.id);
    const stored = await this.#shared.existing(held);
    for (const id of held) if (!stored.has(id)) this.close(id);
  }

  /**
   * Ends session `id` here and, with a shared store, everywhere (its row is
   * deleted and the other replicas close it); false when unknown here.
   */
  async end(id: string): Promise<boolean> {
    const known = this.close(id);
    if (known) await this.#shared?.delete(id);
    return known;
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

  /** The gateways that have open sessions. */
  gatewayIds(): Iterable<string> {
    return this.#byGateway.keys();
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
      // A stream held by another replica keeps the copy here too (subscriptions made here go
      // there); the store's expiry ends it everywhere once no replica has seen it.
      const busy = s.inflight.size > 0 || s.outbound !== undefined ||
        s.streamReplica !== undefined;
      if (!busy && now - s.lastActive > this.limits.idleTimeoutMs) this.close(s.id);
    }
    if (this.#shared) this.#share(now);
  }

  /**
   * Writes the last-seen times that are due, and deletes the stored sessions
   * no replica saw for the idle timeout (once a minute at most).
   */
  #share(now: number): void {
    const shared = this.#shared!;
    const every = Math.min(SEEN_WRITE_MS, this.limits.idleTimeoutMs / 4);
    const due: string[] = [];
    for (const s of this.#byId.values()) {
      const seen = s.outbound || s.inflight.size > 0 ? now : s.lastActive;
      if (s.transport === "http" && seen - s.seenStored >= every) {
        s.seenStored = seen;
        due.push(s.id);
      }
    }
    if (due.length > 0) {
      shared.touch(due, new Date(now).toISOString()).catch(
        reportFailure("storing when MCP sessions were last seen"),
      );
    }
    if (now - this.#lastExpiry < Math.min(60_000, every)) return;
    this.#lastExpiry = now;
    // Another replica's write of a last-seen time may be `every` late.
    const before = new Date(now - this.limits.idleTimeoutMs - every).toISOString();
    shared.expire(before).then(
      (ids) => ids.forEach((id) => this.close(id)),
      reportFailure("expiring idle MCP sessions"),
    );
  }

  /** Stops the sweep and closes every session. */
  dispose(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
    for (const id of [...this.#byId.keys()]) this.close(id);
  }
}
