/**
 * The Streamable HTTP transport (MCP 2025-03-26 onward, and the stateless
 * 2026-07-28 form) at `POST/GET/DELETE /mcp/{org}{endpoint}`.
 *
 * POST carries client messages; answers are plain JSON unless a call emits
 * notifications and the client accepts `text/event-stream`. GET opens the
 * session's server-to-client stream (resumable with `Last-Event-ID`).
 * DELETE ends a session. Clients that send a bare JSON-RPC POST with no
 * session (the seed's httpx example) are served one-shot.
 *
 * Sessions of 2025-11-25 (and later session-era versions) that accept SSE
 * get SEP-1699 streams for requests whose answer is not ready at once:
 * still unanswered after `streamAfterMs`, or emitting messages before it.
 * Such a stream is resumable and polled (see `post_streams.ts`): priming
 * event first, ids `<stream>-<n>`, the connection closed after
 * `streamHoldMs` with a `retry`, and `GET` with `Last-Event-ID` carrying on
 * where the client left off. Answers that are ready at once stay JSON (the
 * cheap path `deno task bench` measures), unless the client ranks SSE above
 * JSON in its Accept header; then they are a complete one-event stream. The
 * stateless 2026-07-28 revision, which dropped resumability, and older
 * versions are answered as before.
 *
 * @module
 */
import type { Outcome } from "../mcp/dispatcher.ts";
import { isStatelessMessage } from "../mcp/dispatcher.ts";
import {
  encodeMessage,
  ErrorCode,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from "../mcp/jsonrpc.ts";
import { type Session, SessionLimitError } from "../mcp/session.ts";
import {
  DEFAULT_HTTP_VERSION,
  isLegacyVersion,
  STATELESS_VERSION,
  SUPPORTED_VERSIONS,
} from "../mcp/versions.ts";
import { exchangeFor, type McpCall, ownerOf } from "./call.ts";
import { CallerWatch } from "./caller_watch.ts";
import { type Accepts, parseAccept } from "./guards.ts";
import { isPostEventId, LateAnswers, type PostStream, PostStreams } from "./post_streams.ts";
import { jsonResponse, readMessageBody, rpcErrorResponse } from "./responses.ts";
import { formatEvent, SSE_HEADERS, SseStream } from "./sse.ts";

const SESSION_HEADER = "mcp-session-id";
const EXPOSE = { "access-control-expose-headers": "Mcp-Session-Id" };

/** The server-to-client stream of a session and the events kept for replay. */
interface GetStream {
  stream?: SseStream;
  nextId: number;
  replay: { id: number; data: string }[];
}

/** Streamable HTTP for every gateway. */
export class StreamableHttpTransport {
  #streams = new Map<string, GetStream>();
  #posts = new PostStreams();
  #late = new LateAnswers();
  #callers = new CallerWatch();

  /** Answers one request to a gateway's MCP URL. */
  handle(call: McpCall): Promise<Response> | Response {
    switch (call.req.method) {
      case "POST":
        return this.#post(call);
      case "GET":
        return this.#get(call);
      case "DELETE":
        return this.#delete(call);
      default:
        return rpcErrorResponse(405, ErrorCode.InvalidRequest, "Method not allowed", {
          allow: "GET, POST, DELETE",
        });
    }
  }

  async #post(call: McpCall): Promise<Response> {
    const { req } = call;
    const accepts = parseAccept(req.headers.get("accept"));
    if (!accepts.json && !accepts.sse) {
      return rpcErrorResponse(
        406,
        ErrorCode.InvalidRequest,
        "Not Acceptable: the client must accept application/json or text/event-stream",
      );
    }
    const body = await readMessageBody(req, call.limits);
    if ("refusal" in body) return body.refusal;
    if ("parseError" in body) {
      return rpcErrorResponse(400, ErrorCode.ParseError, "Parse error: the body is not valid JSON");
    }
    const parsed = body.value;
    call.bytesIn = body.bytes;
    const headerVersion = req.headers.get("mcp-protocol-version");
    call.protocolVersion = headerVersion;
    const envelope = { protocolVersion: headerVersion, method: null, name: null };
    const stateless = !Array.isArray(parsed) && isStatelessMessage(parsed, envelope);
    if (!stateless && headerVersion !== null && !SUPPORTED_VERSIONS.includes(headerVersion)) {
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        `Bad Request: unsupported MCP-Protocol-Version '${headerVersion}'`,
        {},
        null,
        { supported: SUPPORTED_VERSIONS, requested: headerVersion },
      );
    }
    if (stateless) {
      // 2026-07-28: every request stands alone; a session header is ignored.
      const session = call.service.sessions.oneShot(ownerOf(call), STATELESS_VERSION);
      return this.#respond(call, parsed, session, accepts);
    }

    const sessionId = req.headers.get(SESSION_HEADER);
    const isInitialize = !Array.isArray(parsed) &&
      (parsed as { method?: unknown })?.method === "initialize";
    let session: Session;
    let created = false;
    if (isInitialize) {
      if (sessionId !== null) {
        return rpcErrorResponse(
          400,
          ErrorCode.InvalidRequest,
          "Bad Request: initialize starts a new session; send it without Mcp-Session-Id",
        );
      }
      try {
        session = call.service.sessions.create(ownerOf(call), "http", DEFAULT_HTTP_VERSION, "info");
      } catch (err) {
        if (!(err instanceof SessionLimitError)) throw err;
        return rpcErrorResponse(429, ErrorCode.InvalidRequest, err.message, {
          "retry-after": String(err.retryAfterSeconds),
        });
      }
      created = true;
    } else if (sessionId !== null) {
      const finding = call.service.sessions.find(sessionId, ownerOf(call));
      const found = finding instanceof Promise ? await finding : finding;
      if (!found) return sessionNotFound();
      session = found;
    } else {
      // No initialize, no session: a plain JSON-RPC client such as the seed's httpx example.
      const version = headerVersion !== null && isLegacyVersion(headerVersion)
        ? headerVersion
        : DEFAULT_HTTP_VERSION;
      session = call.service.sessions.oneShot(ownerOf(call), version, "info");
    }

    if (Array.isArray(parsed)) return this.#batch(call, parsed, session, headerVersion);
    // Only an initialize that succeeded starts a session; one answered with an error does not.
    let started = false;
    const res = await this.#respond(
      call,
      parsed,
      session,
      accepts,
      created ? (o) => started = o.response !== undefined && "result" in o.response : undefined,
    );
    if (created) {
      if (started && res.status === 200 && !session.closed) {
        // Stored before the client hears of it: its next request may reach another replica.
        try {
          await call.service.sessions.publish(session);
        } catch (err) {
          call.service.sessions.close(session.id);
          throw err;
        }
        res.headers.set("mcp-session-id", session.id);
        for (const [k, v] of Object.entries(EXPOSE)) res.headers.set(k, v);
      } else {
        call.service.sessions.close(session.id);
      }
    }
    return res;
  }

  /** Handles one message; streams when it emits notifications and the client accepts SSE. */
  async #respond(
    call: McpCall,
    message: unknown,
    session: Session,
    accepts: Accepts,
    settled?: (o: Outcome) => void,
  ): Promise<Response> {
    if (!settled && accepts.sse && pollsStreams(session) && isRequest(message)) {
      return this.#respondResumable(call, message, session, accepts);
    }
    const pending: (JsonRpcNotification | JsonRpcRequest)[] = [];
    const open: { stream?: SseStream } = {};
    const { promise: wantsStream, resolve: switchToStream } = Promise.withResolvers<"stream">();
    const emit = (n: JsonRpcNotification | JsonRpcRequest) => {
      if (open.stream) open.stream.send({ event: "message", data: encodeMessage(n) });
      else if (accepts.sse) {
        pending.push(n);
        switchToStream("stream");
      } else return session.deliver(n);
    };
    // The call stops when the client disconnects (noticed once past the grace period) or drops
    // the response stream.
    const streamGone = new AbortController();
    // The work may ask for its signal after an await: watched from then until it ends (null).
    let watching: (() => void) | undefined | null;
    const unwatch = () => {
      watching?.();
      watching = null;
    };
    const exchange = exchangeFor(call, session, emit, true, () => {
      if (watching === undefined) watching = this.#callers.watch(call.req, streamGone);
      return streamGone.signal;
    });
    const outcome = call.service.dispatcher.handle(message, exchange, call.bytesIn);
    // A caller that shapes the response headers by the outcome needs it before answering.
    if (settled) settled(await outcome);
    const first = await Promise.race([outcome, wantsStream]);
    if (first !== "stream") unwatch();
    // Answered before any notification: JSON when accepted. A refusal (4xx) or a bare 202 keeps its
    // HTTP status even for SSE-only clients; only a 200 answer is worth a stream to them.
    if (first !== "stream" && (accepts.json || first.status !== 200)) return outcomeResponse(first);

    const stream = new SseStream({
      keepAliveMs: call.limits.keepAliveMs,
      maxBufferedBytes: call.limits.maxBufferedBytes,
      onClose: () => streamGone.abort(new Error("response stream closed")),
    });
    open.stream = stream;
    for (const n of pending) stream.send({ event: "message", data: encodeMessage(n) });
    outcome.then((o) => {
      unwatch();
      if (o.response) stream.send({ event: "message", data: encodeMessage(o.response) });
      stream.close();
    });
    return new Response(stream.readable, { status: 200, headers: SSE_HEADERS });
  }

  /**
   * Handles a request of a session that polls streams (2025-11-25 on) and
   * accepts SSE: JSON (or a complete one-event stream for clients that rank
   * SSE first) when the answer is ready within `streamAfterMs`, else a
   * resumable stream (the request's messages and then its answer).
   */
  async #respondResumable(
    call: McpCall,
    message: unknown,
    session: Session,
    accepts: Accepts,
  ): Promise<Response> {
    const pending: (JsonRpcNotification | JsonRpcRequest)[] = [];
    const live: { stream?: PostStream; held?: SseStream } = {};
    const { promise: wantsStream, resolve: switchToStream } = Promise.withResolvers<"stream">();
    const emit = (n: JsonRpcNotification | JsonRpcRequest) => {
      if (live.stream) return live.stream.push(n);
      if (live.held) return live.held.send({ event: "message", data: encodeMessage(n) });
      pending.push(n);
      switchToStream("stream");
    };
    // Until the answer is a resumable stream, losing the POST's connection stops the call; after
    // that only the stream's abandonment does (or notifications/cancelled): the spec says a
    // disconnection is no cancellation, and the client comes back with Last-Event-ID. The
    // connection is only watched when the work asks for a signal (tools/list never does), and
    // from the grace period on (`CallerWatch`).
    const stop = new AbortController();
    let watching: (() => void) | undefined;
    const unwatch = () => watching?.();
    const exchange = exchangeFor(call, session, emit, true, () => {
      if (!live.stream) watching ??= this.#callers.watch(call.req, stop);
      return stop.signal;
    });
    const outcome = call.service.dispatcher.handle(message, exchange, call.bytesIn);
    const answered = this.#late.watch(call.limits.streamAfterMs, () => switchToStream("stream"));
    const first = await Promise.race([outcome, wantsStream]);
    answered();
    if (first !== "stream") {
      unwatch();
      // Ready at once: no stream is worth opening, unless the client ranks SSE above JSON. Then
      // the answer is one event without an id: a complete stream has nothing to resume, and an id
      // would only invite a reconnection (the TypeScript SDK reconnects after an id'd stream that
      // ends in an error response). Refusals (4xx) and 202s keep their HTTP status.
      if (!accepts.prefersSse || first.status !== 200 || !first.response) {
        return outcomeResponse(first);
      }
      const body = formatEvent({ event: "message", data: encodeMessage(first.response) });
      return new Response(body, { status: 200, headers: SSE_HEADERS });
    }

    const stream = this.#posts.open(session, call.limits, stop);
    if (!stream) {
      // The session keeps as many resumable streams as it may: this one is held open until the
      // answer, and losing its connection stops the call (as for older versions).
      const held = new SseStream({
        keepAliveMs: call.limits.keepAliveMs,
        maxBufferedBytes: call.limits.maxBufferedBytes,
        onClose: () => stop.abort(new Error("response stream closed")),
      });
      live.held = held;
      for (const n of pending) held.send({ event: "message", data: encodeMessage(n) });
      outcome.then((o) => {
        unwatch();
        if (o.response) held.send({ event: "message", data: encodeMessage(o.response) });
        held.close();
      });
      return new Response(held.readable, { status: 200, headers: SSE_HEADERS });
    }
    unwatch();
    live.stream = stream;
    for (const n of pending) stream.push(n);
    outcome.then((o) => stream.finish(o.response));
    return stream.connect();
  }

  async #batch(
    call: McpCall,
    messages: unknown[],
    session: Session,
    headerVersion: string | null,
  ): Promise<Response> {
    const version = session.id ? session.protocolVersion : headerVersion ?? DEFAULT_HTTP_VERSION;
    const emit = (n: JsonRpcNotification | JsonRpcRequest) => session.deliver(n);
    const exchange = exchangeFor(call, session, emit);
    const out = await call.service.dispatcher.handleBatch(
      messages,
      exchange,
      version,
      call.limits.maxBatch,
      call.bytesIn,
    );
    if ("error" in out) return rpcErrorResponse(400, out.error.code, out.error.message);
    return out.responses.length === 0
      ? new Response(null, { status: 202 })
      : jsonResponse(out.responses);
  }

  async #sessionFor(call: McpCall): Promise<Session | Response> {
    // GET and DELETE check the version header like POST does; 2026-07-28 has neither.
    const version = call.req.headers.get("mcp-protocol-version");
    if (version === STATELESS_VERSION) {
      return rpcErrorResponse(
        405,
        ErrorCode.InvalidRequest,
        `Method Not Allowed: protocol version ${version} has no ${call.req.method}`,
        { allow: "GET, POST, DELETE" },
      );
    }
    if (version !== null && !isLegacyVersion(version)) {
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        `Bad Request: unsupported MCP-Protocol-Version '${version}'`,
      );
    }
    const id = call.req.headers.get(SESSION_HEADER);
    if (id === null) {
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        "Bad Request: Mcp-Session-Id header is required",
      );
    }
    return await call.service.sessions.find(id, ownerOf(call)) ?? sessionNotFound();
  }

  async #get(call: McpCall): Promise<Response> {
    const accepts = parseAccept(call.req.headers.get("accept"));
    if (!accepts.sse && !accepts.any) {
      return rpcErrorResponse(
        406,
        ErrorCode.InvalidRequest,
        "Not Acceptable: the client must accept text/event-stream",
      );
    }
    const session = await this.#sessionFor(call);
    if (session instanceof Response) return session;
    const lastEventId = call.req.headers.get("last-event-id");
    if (lastEventId !== null && isPostEventId(lastEventId)) {
      // A POST stream's id: resume that stream only, leaving the session's GET stream alone.
      return this.#posts.resume(session, lastEventId);
    }
    if (lastEventId !== null && !Number.isInteger(Number(lastEventId))) {
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        `Bad Request: Last-Event-ID '${lastEventId}' is not an event id this server issued`,
      );
    }
    let state = this.#streams.get(session.id);
    if (!state) {
      const fresh: GetStream = { nextId: 1, replay: [] };
      this.#streams.set(session.id, state = fresh);
      session.onClose(() => {
        fresh.stream?.close();
        this.#streams.delete(session.id);
      });
    }
    const st = state;
    // A reconnecting client replaces its previous stream.
    st.stream?.close();
    const stream = new SseStream({
      keepAliveMs: call.limits.keepAliveMs,
      maxBufferedBytes: call.limits.maxBufferedBytes,
      onClose: () => {
        if (st.stream === stream) {
          st.stream = undefined;
          session.outbound = undefined;
          session.lastActive = Date.now();
        }
      },
    });
    st.stream = stream;
    const lastId = Number(lastEventId ?? NaN);
    if (Number.isInteger(lastId)) {
      for (const ev of st.replay) {
        if (ev.id > lastId) stream.send({ event: "message", id: String(ev.id), data: ev.data });
      }
    } else if (session.protocolVersion >= "2025-11-25") {
      // Priming event: gives the client an event id to resume from before any message.
      stream.send({ id: String(st.nextId - 1), data: "" });
    }
    session.outbound = (message: JsonRpcMessage | JsonRpcResponse[]) => {
      const ev = { id: st.nextId++, data: encodeMessage(message) };
      st.replay.push(ev);
      if (st.replay.length > call.limits.replayEvents) st.replay.shift();
      st.stream?.send({ event: "message", id: String(ev.id), data: ev.data });
    };
    // Once the client sees its stream open, other replicas serving the session send to it.
    await session.streamRecorded();
    return new Response(stream.readable, { status: 200, headers: { ...SSE_HEADERS, ...EXPOSE } });
  }

  async #delete(call: McpCall): Promise<Response> {
    const session = await this.#sessionFor(call);
    if (session instanceof Response) return session;
    await call.service.sessions.end(session.id);
    return new Response(null, { status: 200 });
  }
}

/**
 * True when `session` is one whose requests may be answered with resumable,
 * polled streams: a registered session of 2025-11-25 or a later
 * session-era version (SEP-1699 came with 2025-11-25; the stateless
 * 2026-07-28 revision has no sessions to resume in).
 */
function pollsStreams(session: Session): boolean {
  return session.id !== "" && isLegacyVersion(session.protocolVersion) &&
    session.protocolVersion >= "2025-11-25";
}

/** True when `message` is a JSON-RPC request (notifications and responses get 202). */
function isRequest(message: unknown): boolean {
  if (typeof message !== "object" || message === null) return false;
  const m = message as { method?: unknown; id?: unknown };
  return typeof m.method === "string" && m.id !== undefined;
}

function sessionNotFound(): Response {
  return rpcErrorResponse(
    404,
    -32001,
    "Session not found: it expired or was ended; initialize a new one",
  );
}

function outcomeResponse(o: Outcome): Response {
  if (!o.response) return new Response(null, { status: 202 });
  // A rate limit's refusal brings its Retry-After, RateLimit and RateLimit-Policy.
  const headers: Record<string, string> = o.headers ? { ...o.headers } : {};
  if (o.status === 403 && o.requiredScope) {
    headers["www-authenticate"] = `Bearer error="insufficient_scope", scope="${o.requiredScope}"`;
  }
  return jsonResponse(o.response, o.status, headers);
}
