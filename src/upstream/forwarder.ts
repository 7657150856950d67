/**
 * Forwarding of requests to upstream servers on behalf of downstream
 * callers: picks the connection a request travels on, makes a lost upstream
 * session again, keeps a circuit breaker per server, and turns what comes
 * back into either a result, an {@link UpstreamRpcError} (the upstream
 * answered with a JSON-RPC error) or an {@link UpstreamUnavailable} (it could
 * not be reached, did not answer in time, or is being left alone).
 *
 * An upstream session is never shared between two downstream callers:
 *
 * - a stdio server with isolation `shared` (the default) serves everyone
 *   from the supervisor's process, which keeps no per-caller session;
 * - a stdio server with isolation `per-session` gets a process per
 *   downstream session;
 * - an HTTP server whose shared connection has no session (a stateless
 *   Streamable HTTP server) is called over that connection;
 * - any other HTTP server (it issued a session id, or speaks SSE) gets a
 *   connection, and so an upstream session, per downstream session.
 *
 * A sessionless downstream request to a server of the last two kinds gets a
 * connection of its own that ends with the request.
 *
 * @module
 */
import type { UpstreamServer } from "../store/servers.ts";
import type { UpstreamReport } from "../telemetry/requests.ts";
import { redactJson, type Redactor } from "../tools/response_content.ts";
import {
  type Admission,
  type BreakerOptions,
  type BreakerSnapshot,
  CircuitBreaker,
} from "./breaker.ts";
import { CLIENT_REQUEST_CAPABILITIES } from "../mcp/client_requests.ts";
import { ErrorCode, RpcError } from "../mcp/jsonrpc.ts";
import type { ProgressHandler, UpstreamConnection } from "./connection.ts";
import { CONNECTION_CLOSED, REQUEST_TIMEOUT } from "./rpc_failure.ts";
import { messageOf, type Supervisor } from "./supervisor.ts";
import { Deadline } from "../util/deadline.ts";

/** The downstream side of a forwarded request. */
export interface ForwardCaller {
  /** The downstream session (`id` is empty for a one-shot, sessionless request). */
  session: {
    readonly id: string;
    onClose(fn: () => void): void;
    onRootsChanged?(fn: () => void): void;
  };
  /** Aborted when the downstream caller cancels or goes away. */
  signal: AbortSignal;
  /** What the caller's client declared it can answer (sampling, elicitation, roots). */
  capabilities?: Record<string, unknown>;
  /**
   * True when the caller speaks 2026-07-28: a server that speaks both eras
   * serves it on its 2026-07-28 connection.
   */
  stateless?: boolean;
  /** The least severe log level the caller wants, if it wants log messages at all. */
  logLevel?: string;
  /**
   * Asks the caller's client on the upstream's behalf while the request runs
   * (sampling, elicitation, roots); rejects with a JSON-RPC error to pass on.
   */
  ask?(
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
    key?: string,
  ): Promise<Record<string, unknown>>;
  /**
   * Asks the caller's client on the upstream's behalf outside any call, on
   * its session's standing channel.
   */
  askLater?(
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
  /** Progress the upstream reports on the request. */
  progress?: ProgressHandler;
  /** A log message the upstream sends while the request runs. */
  log?(level: string, data: unknown, logger?: string): void;
  /** Sends a notification to the caller's session later on (updates of a subscribed resource). */
  notify?(method: string, params: Record<string, unknown>): void;
  /** Told how long the server took to answer (or fail), for the request log. */
  upstream?(report: UpstreamReport): void;
}

/** The upstream answered the request with a JSON-RPC error: passed on with its code. */
export class UpstreamRpcError extends Error {
  override name = "UpstreamRpcError";
  /** The upstream's error code, message and data, unchanged. */
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
  }
}

/** The upstream could not serve the request; the message names the server. */
export class UpstreamUnavailable extends Error {
  override name = "UpstreamUnavailable";
}

/**
 * A request that was not served for a reason that says nothing about the
 * server's health (the caller cancelled, the session cap is full, Gatehouse
 * is stopping): the circuit breaker does not count it.
 */
class NotCounted extends UpstreamUnavailable {}

/** What a forwarder is built with besides its supervisor. */
export interface ForwarderOptions {
  /**
   * Upstream connections kept per server for downstream sessions (default
   * 1000); a new one over the cap replaces the least recently used idle one.
   */
  maxSessionsPerServer?: number;
  /** How each server's circuit breaker trips and recovers. */
  breaker?: BreakerOptions;
}

/** The connection of one downstream session to one server. */
interface Dedicated {
  readonly serverId: string;
  readonly sessionId: string;
  /** The settings it was opened with: a server updated since has a new settings object. */
  readonly server: UpstreamServer;
  /** Resolves with the connection once it is connected. */
  readonly ready: Promise<UpstreamConnection>;
  /** Set once it is no longer to be used (closed by the upstream or by the forwarder). */
  closed: boolean;
  /** Requests using it now: only an idle one may be closed to make room. */
  busy: number;
  /** The client capabilities it declares upstream: those of the session's client. */
  readonly capabilities: Record<string, unknown>;
  /** The connection, once connected. */
  conn?: UpstreamConnection;
  /** Reaches the session's client outside any call (from its latest request). */
  askLater?: ForwardCaller["askLater"];
}

/** The connection one attempt of a request travels on. */
interface Lease {
  conn: UpstreamConnection;
  /** Whether the connection has ended, so that a request not yet sent on it never arrives. */
  ended(): boolean;
  /** The attempt is done with the connection. */
  release(): void;
  /** The connection is unusable: close it, so that the next attempt gets another. */
  discard(): void;
}

/** One request on its way. */
interface Call {
  serverId: string;
  name: string;
  method: string;
  params: Record<string, unknown>;
  caller: ForwardCaller;
  /** Aborts when the caller cancels or the server's timeout has passed. */
  signal: AbortSignal;
  redact: Redactor;
}

/** Sends requests to upstream servers for downstream callers. */
export class Forwarder {
  readonly #supervisor: Supervisor;
  readonly #maxSessions: number;
  readonly #breakerOptions: BreakerOptions;
  /** Connections of downstream sessions: server id, then session id, least recently used first. */
  readonly #pool = new Map<string, Map<string, Dedicated>>();
  /** Downstream sessions whose close is already watched. */
  readonly #watched = new Set<string>();
  /** Connections of sessionless requests under way. */
  readonly #oneShots = new Set<UpstreamConnection>();
  readonly #breakers = new Map<string, CircuitBreaker>();
  /** The requests in flight on each connection, oldest first. */
  readonly #inflight = new Map<UpstreamConnection, Call[]>();
  /** Connections whose server-to-client traffic is routed to their callers. */
  readonly #hooked = new WeakSet<UpstreamConnection>();
  /** Resource subscriptions on each connection: URI, then session id, to its notifier. */
  readonly #subscribed = new Map<
    UpstreamConnection,
    Map<string, Map<string, (method: string, params: Record<string, unknown>) => void>>
  >();
  /** Closes under way, which {@link close} waits for. */
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  /** A forwarder over the servers `supervisor` keeps. */
  constructor(supervisor: Supervisor, options: ForwarderOptions = {}) {
    this.#supervisor = supervisor;
    this.#maxSessions = options.maxSessionsPerServer ?? 1000;
    this.#breakerOptions = options.breaker ?? {};
  }

  /** Sends `method` with `params` to server `serverId` for `caller`; resolves with the result. */
  async request(
    serverId: string,
    method: string,
    params: Record<string, unknown>,
    caller: ForwardCaller,
  ): Promise<Record<string, unknown>> {
    const name = this.#supervisor.server(serverId)?.name ?? serverId;
    if (this.#closed) throw stopping(name);
    if (caller.signal.aborted) throw cancelled(name);
    if (!this.#supervisor.server(serverId)) {
      throw new UpstreamUnavailable(`server '${name}' is not configured`);
    }
    const breaker = this.#breakerOf(serverId);
    const admission = breaker.admit();
    if (!admission.ok) throw new UpstreamUnavailable(pausedMessage(name, admission));

    // One deadline for the whole request: connecting, sending and a retry all fit in it.
    const timeoutMs = this.#supervisor.timeout(serverId);
    using deadline = new Deadline(timeoutMs, caller.signal);
    const call: Call = {
      serverId,
      name,
      method,
      params,
      caller,
      signal: deadline.signal,
      redact: this.#supervisor.redactor(serverId),
    };
    const started = performance.now();
    // MCP has no HTTP status to report: the server's name and the time it took.
    const report = () =>
      caller.upstream?.({ status: null, durationMs: performance.now() - started, target: name });
    try {
      const result = await this.#send(call);
      report();
      breaker.succeeded(admission.probe);
      // A server may echo what Gatehouse gave it (a tool that prints its environment, a header
      // reflected back): the secret values it was given never reach the caller.
      return redactJson(result, call.redact) as Record<string, unknown>;
    } catch (err) {
      report();
      let e: Error;
      if (caller.signal.aborted) e = cancelled(name);
      else if (err instanceof UpstreamRpcError || err instanceof UpstreamUnavailable) e = err;
      else if (deadline.expired) e = timedOut(name, timeoutMs);
      else e = new UpstreamUnavailable(`server '${name}' failed: ${messageOf(err, call.redact)}`);
      if (e instanceof UpstreamRpcError) breaker.succeeded(admission.probe);
      else if (e instanceof NotCounted) breaker.abandoned(admission.probe);
      else breaker.failed(admission.probe, e.message);
      throw e;
    }
  }

  /** The circuit breaker of server `serverId`, for its status. */
  breaker(serverId: string): BreakerSnapshot {
    return this.#breakers.get(serverId)?.snapshot() ??
      { state: "closed", openUntil: null, failures: 0 };
  }

  /** How many connections of downstream sessions server `serverId` has open or opening. */
  sessions(serverId: string): number {
    return this.#pool.get(serverId)?.size ?? 0;
  }

  /**
   * Closes the connections kept for server `serverId` and resets its
   * breaker: the server was removed, or its settings changed.
   */
  async forget(serverId: string): Promise<void> {
    this.#breakers.delete(serverId);
    const pool = this.#pool.get(serverId);
    await Promise.all([...pool?.values() ?? []].map((e) => this.#discard(e)));
  }

  /** Ends every connection the forwarder holds (Gatehouse is stopping). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pool of this.#pool.values()) {
      for (const entry of pool.values()) void this.#discard(entry);
    }
    for (const conn of this.#oneShots) this.#track(conn.close());
    this.#oneShots.clear();
    while (this.#closing.size > 0) await Promise.all(this.#closing);
  }

  /**
   * Sends the request, and sends it once more on a new connection when the
   * first cannot have reached the server: the connection had ended before it
   * was sent, or the upstream no longer knew the session (it restarted, or
   * expired the session).
   */
  async #send(call: Call): Promise<Record<string, unknown>> {
    for (let attempt = 1;; attempt++) {
      const lease = await this.#lease(call);
      let sent = false;
      const done = this.#enter(lease.conn, call);
      try {
        if (lease.ended()) throw new Error("the connection to the server closed");
        // Others still subscribed on a shared connection keep the upstream subscription.
        if (call.method === "resources/unsubscribe" && this.#unsubscribe(lease.conn, call)) {
          return {};
        }
        sent = true;
        const { caller } = call;
        const result = await lease.conn.request(call.method, call.params, {
          signal: call.signal,
          onProgress: caller.progress,
          onNotification: (method, params) => {
            if (method === "notifications/message") logTo(caller, params);
          },
          onServerRequest: (method, params, signal, key) =>
            askCaller(call, method, params, signal, key),
          capabilities: relayable(caller.capabilities),
          logLevel: caller.logLevel,
        });
        if (call.method === "resources/subscribe") this.#subscribe(lease.conn, call);
        return result;
      } catch (err) {
        if (attempt === 1 && !call.signal.aborted && (!sent || lease.conn.lostSession(err))) {
          lease.discard();
          continue;
        }
        throw this.#answerError(call, lease, err);
      } finally {
        done();
        lease.release();
      }
    }
  }

  /**
   * Counts `call` in flight on `conn` until the returned function is
   * called, so that what the upstream sends meanwhile (requests to the
   * client, log messages) reaches its caller.
   */
  #enter(conn: UpstreamConnection, call: Call): () => void {
    if (!this.#hooked.has(conn)) {
      this.#hooked.add(conn);
      conn.onServerRequest((method, params, signal) => this.#ask(conn, method, params, signal));
      conn.onNotification((method, params) => {
        if (method === "notifications/resources/updated" && typeof params?.uri === "string") {
          for (const notify of this.#subscribed.get(conn)?.get(params.uri)?.values() ?? []) {
            notify(method, params);
          }
          return;
        }
        if (method !== "notifications/message" || !params) return;
        const caller = this.#inflight.get(conn)?.at(-1)?.caller;
        if (caller) logTo(caller, params);
      });
    }
    let calls = this.#inflight.get(conn);
    if (!calls) this.#inflight.set(conn, calls = []);
    calls.push(call);
    return () => {
      const list = this.#inflight.get(conn);
      const i = list?.indexOf(call) ?? -1;
      if (i >= 0) list!.splice(i, 1);
      if (list?.length === 0) this.#inflight.delete(conn);
    };
  }

  /** Records the caller's session as subscribed to the URI on `conn`, until the session ends. */
  #subscribe(conn: UpstreamConnection, call: Call): void {
    const { session, notify } = call.caller;
    const uri = call.params.uri;
    if (!session.id || !notify || typeof uri !== "string") return;
    let byUri = this.#subscribed.get(conn);
    if (!byUri) this.#subscribed.set(conn, byUri = new Map());
    let sessions = byUri.get(uri);
    if (!sessions) byUri.set(uri, sessions = new Map());
    if (!sessions.has(session.id)) {
      session.onClose(() => {
        sessions.delete(session.id);
        if (sessions.size === 0) byUri.delete(uri);
        if (byUri.size === 0) this.#subscribed.delete(conn);
      });
    }
    sessions.set(session.id, notify);
  }

  /**
   * Forgets the caller's subscription to the URI on `conn`; true when other
   * sessions remain subscribed there, so the upstream must not be told.
   */
  #unsubscribe(conn: UpstreamConnection, call: Call): boolean {
    const sessions = this.#subscribed.get(conn)?.get(String(call.params.uri));
    if (!sessions) return false;
    sessions.delete(call.caller.session.id);
    return sessions.size > 0;
  }

  /**
   * Relays a request the upstream sent on `conn` to the client whose call is
   * in flight there. On a connection shared by several clients with calls
   * in flight, nothing tells which one the request is for: it is refused
   * rather than guessed. The client's answer is awaited no longer than the
   * call itself may take (the server's timeout), nor after the upstream
   * cancels the request or the client goes away.
   */
  async #ask(
    conn: UpstreamConnection,
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const calls = this.#inflight.get(conn) ?? [];
    const callers = calls.map((c) => c.caller);
    const caller = callers.at(-1);
    const owner = caller ? undefined : this.#ownerOf(conn);
    if (owner?.askLater) {
      // Not tied to a call: the session's standing channel, for as long as a call may take.
      using limit = new Deadline(this.#supervisor.timeout(owner.serverId), signal);
      return await askClient(owner.askLater, method, params, limit.signal);
    }
    if (!caller) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `${method} reached Gatehouse outside any call of a client, so no client can answer it`,
      );
    }
    const sessions = new Set(callers.map((c) => c.session.id));
    // Calls of different sessions (or sessionless ones, which cannot be told apart) share it.
    if (callers.length > 1 && (sessions.size > 1 || sessions.has(""))) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `${method}: calls of several clients are in flight on this server's shared connection, ` +
          "so Gatehouse cannot tell which client to ask (run the server with isolation " +
          "per-session)",
      );
    }
    return await askCaller(calls.at(-1)!, method, params, signal);
  }

  /** The downstream session's entry whose connection `conn` is. */
  #ownerOf(conn: UpstreamConnection): Dedicated | undefined {
    for (const pool of this.#pool.values()) {
      for (const entry of pool.values()) if (entry.conn === conn && !entry.closed) return entry;
    }
    return undefined;
  }

  /** The connection the request travels on (see the module documentation). */
  async #lease(call: Call): Promise<Lease> {
    const { serverId, name, caller } = call;
    // A retry after close must not open what close has already ended.
    if (this.#closed) throw stopping(name);
    const server = this.#supervisor.server(serverId);
    if (!server) throw new UpstreamUnavailable(`server '${name}' was removed`);
    const sid = caller.session.id;
    const own = sid ? this.#pool.get(serverId)?.get(sid) : undefined;
    // A session's own connection is used while it lasts, whatever the shared one is doing.
    if (own && !own.closed && own.server === server) return await this.#borrow(own, call);
    if (own) void this.#discard(own);

    const shared = this.#supervisor.shared(serverId, caller.stateless);
    if (!shared) {
      const { state, lastError } = this.#supervisor.status(serverId);
      throw new UpstreamUnavailable(
        `server '${name}' is not connected (${state}${lastError ? `: ${lastError}` : ""})`,
      );
    }
    const stateful = server.transport === "stdio"
      ? server.isolation === "per-session"
      : shared.sessionful;
    if (!stateful) {
      return {
        conn: shared,
        ended: () => this.#supervisor.shared(serverId, caller.stateless) !== shared,
        release: () => {},
        discard: () => {},
      };
    }
    if (!sid) return await this.#oneShot(call);
    return await this.#borrow(this.#create(call, server), call);
  }

  /**
   * A new connection for the caller's session, in the pool before it is
   * connected, so that the session's concurrent first requests share it.
   */
  #create(call: Call, server: UpstreamServer): Dedicated {
    const { serverId, caller } = call;
    let pool = this.#pool.get(serverId);
    if (!pool) this.#pool.set(serverId, pool = new Map());
    if (pool.size >= this.#maxSessions) {
      let idle: Dedicated | undefined;
      for (const e of pool.values()) {
        if (e.busy === 0) {
          idle = e;
          break;
        }
      }
      if (!idle) {
        throw new NotCounted(
          `server '${call.name}' has ${this.#maxSessions} sessions in use; try again later`,
        );
      }
      void this.#discard(idle);
    }
    const { promise, resolve, reject } = Promise.withResolvers<UpstreamConnection>();
    const entry: Dedicated = {
      serverId,
      sessionId: caller.session.id,
      server,
      ready: promise,
      closed: false,
      busy: 0,
      capabilities: relayable(caller.capabilities),
    };
    this.#connect(entry).then(resolve, (err) => {
      void this.#discard(entry);
      reject(err);
    });
    // Waiters may all have given up by the time a connect fails.
    promise.catch(() => {});
    pool.set(entry.sessionId, entry);
    // Making room may have emptied the pool, which takes it out of the map.
    this.#pool.set(serverId, pool);
    this.#watch(caller.session);
    return entry;
  }

  /** Opens and connects the entry's connection; the entry is discarded if it ends. */
  async #connect(entry: Dedicated): Promise<UpstreamConnection> {
    const conn = await this.#supervisor.open(entry.serverId, entry.capabilities);
    conn.onClose(() => void this.#discard(entry));
    // Discarded while the process started: handed back unconnected, for the discard to close.
    if (entry.closed) return conn;
    try {
      await conn.connect();
    } catch (err) {
      await conn.close();
      throw err;
    }
    entry.conn = conn;
    return conn;
  }

  /** A lease on a session's connection, once it is connected. */
  async #borrow(entry: Dedicated, call: Call): Promise<Lease> {
    entry.busy++;
    entry.askLater = call.caller.askLater ?? entry.askLater;
    const pool = this.#pool.get(entry.serverId);
    if (pool?.get(entry.sessionId) === entry) {
      // Map order is the recency order: the first idle entry is the least recently used.
      pool.delete(entry.sessionId);
      pool.set(entry.sessionId, entry);
    }
    let conn: UpstreamConnection;
    try {
      conn = await untilAborted(entry.ready, call.signal);
    } catch (err) {
      entry.busy--;
      throw call.signal.aborted ? err : connectError(call, err);
    }
    return {
      conn,
      ended: () => entry.closed,
      release: () => entry.busy--,
      discard: () => void this.#discard(entry),
    };
  }

  /** A connection for one sessionless request, closed when the request is done. */
  async #oneShot(call: Call): Promise<Lease> {
    let conn: UpstreamConnection;
    try {
      conn = await this.#supervisor.open(call.serverId, relayable(call.caller.capabilities));
    } catch (err) {
      throw connectError(call, err);
    }
    this.#oneShots.add(conn);
    let ended = false;
    conn.onClose(() => ended = true);
    const done = () => {
      if (!this.#oneShots.delete(conn)) return;
      ended = true;
      this.#track(conn.close());
    };
    try {
      await untilAborted(conn.connect(), call.signal);
    } catch (err) {
      done();
      throw call.signal.aborted ? err : connectError(call, err);
    }
    return { conn, ended: () => ended, release: done, discard: done };
  }

  /** Closes the connections of a downstream session when it ends. */
  #watch(session: ForwardCaller["session"]): void {
    if (this.#watched.has(session.id)) return;
    this.#watched.add(session.id);
    // The session's own upstream sessions hear that its client's roots changed.
    session.onRootsChanged?.(() => {
      for (const pool of this.#pool.values()) {
        const conn = pool.get(session.id)?.conn;
        conn?.notify("notifications/roots/list_changed").catch(() => {});
      }
    });
    session.onClose(() => {
      this.#watched.delete(session.id);
      for (const pool of this.#pool.values()) {
        const entry = pool.get(session.id);
        if (entry) void this.#discard(entry);
      }
    });
  }

  /** Takes `entry` out of the pool and closes its connection (once it has one). */
  #discard(entry: Dedicated): Promise<void> {
    const pool = this.#pool.get(entry.serverId);
    if (pool?.get(entry.sessionId) === entry) {
      pool.delete(entry.sessionId);
      if (pool.size === 0) this.#pool.delete(entry.serverId);
    }
    if (entry.closed) return Promise.resolve();
    entry.closed = true;
    return this.#track(entry.ready.then((conn) => conn.close(), () => {}));
  }

  #track(closing: Promise<void>): Promise<void> {
    const p = closing.catch(() => {}).finally(() => this.#closing.delete(p));
    this.#closing.add(p);
    return p;
  }

  #breakerOf(serverId: string): CircuitBreaker {
    let breaker = this.#breakers.get(serverId);
    if (!breaker) this.#breakers.set(serverId, breaker = new CircuitBreaker(this.#breakerOptions));
    return breaker;
  }

  /** What a failed request turns into, now that it was sent on `lease`. */
  #answerError(call: Call, lease: Lease, err: unknown): Error {
    if (call.signal.aborted) return err as Error;
    const answer = lease.conn.rpcErrorOf(err);
    // The SDK's own timeout carries what it waited.
    const waited = answer?.code === REQUEST_TIMEOUT ? answer?.data?.timeout : undefined;
    if (typeof waited === "number") return timedOut(call.name, waited);
    // The SDK rejects requests in flight with ConnectionClosed when the connection ends.
    const local = answer?.code === CONNECTION_CLOSED && lease.ended();
    if (answer && !local) {
      return new UpstreamRpcError(
        answer.code,
        call.redact(answer.message),
        answer.data === undefined ? undefined : redactJson(answer.data, call.redact),
      );
    }
    const why = local ? "the connection closed before it answered" : messageOf(err, call.redact);
    return new UpstreamUnavailable(`server '${call.name}' failed: ${why}`);
  }
}

function stopping(name: string): UpstreamUnavailable {
  return new NotCounted(`Gatehouse is stopping; server '${name}' was not called`);
}

function cancelled(name: string): UpstreamUnavailable {
  return new NotCounted(`the request to server '${name}' was cancelled`);
}

function timedOut(name: string, ms: number): UpstreamUnavailable {
  return new UpstreamUnavailable(`server '${name}' did not answer within ${ms} ms`);
}

function connectError(call: Call, err: unknown): UpstreamUnavailable {
  if (err instanceof UpstreamUnavailable) return err;
  return new UpstreamUnavailable(
    `server '${call.name}' could not be connected: ${messageOf(err, call.redact)}`,
  );
}

/** Why a call was refused by the server's open breaker, and when calls go again. */
function pausedMessage(name: string, a: Extract<Admission, { ok: false }>): string {
  const why = `server '${name}' is unavailable: calls are paused after ${a.failures} failures ` +
    `in a row${a.lastError ? ` (last: ${a.lastError})` : ""}`;
  if (a.retryAt === null) return `${why}; a trial call is under way, try again shortly`;
  const seconds = Math.max(0, (a.retryAt - Date.now()) / 1000).toFixed(1);
  return `${why}; the next call is tried at ${new Date(a.retryAt).toISOString()} ` +
    `(in ${seconds} s)`;
}

/**
 * Asks the client behind `call` what the upstream asks, for no longer than
 * the call may take; its error answer keeps its code.
 */
async function askCaller(
  call: Call,
  method: string,
  params: Record<string, unknown>,
  signal: AbortSignal,
  key?: string,
): Promise<Record<string, unknown>> {
  const ask = call.caller.ask;
  if (!ask) throw new RpcError(ErrorCode.MethodNotFound, `the client cannot be asked ${method}`);
  return await askClient(
    (m, p, s) => ask(m, p, s, key),
    method,
    params,
    AbortSignal.any([signal, call.signal]),
  );
}

/** Asks a client through `ask`; its error answer keeps its code, any other failure is named. */
async function askClient(
  ask: NonNullable<ForwardCaller["askLater"]>,
  method: string,
  params: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  try {
    return await ask(method, params, signal);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    if (typeof e?.code === "number") {
      throw new RpcError(e.code, String(e.message ?? ""), e.data);
    }
    throw new RpcError(
      ErrorCode.InternalError,
      `the client did not answer ${method}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Passes a `notifications/message` of the upstream to `caller`. */
function logTo(caller: ForwardCaller, params: Record<string, unknown>): void {
  const logger = typeof params.logger === "string" ? params.logger : undefined;
  caller.log?.(String(params.level), params.data, logger);
}

/** Of a client's capabilities, those an upstream may use through Gatehouse. */
function relayable(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of Object.values(CLIENT_REQUEST_CAPABILITIES)) {
    if (capabilities[c] !== undefined) out[c] = capabilities[c];
  }
  return out;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
