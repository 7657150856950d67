/**
 * Resumable POST streams (SEP-1699, MCP 2025-11-25): the SSE stream that
 * answers one slow request of a session, kept apart from the connection
 * that happens to carry it.
 *
 * A stream begins with a priming event (an id, empty data and the `retry`
 * the client should wait), then carries the request's notifications and
 * requests and finally its response, each with an id `<stream>-<n>`.
 * `<stream>` is a number unique within the transport, so an id names
 * exactly one stream of one session, and a session's GET stream (plain
 * numeric ids) never shares one. A connection is held at most
 * `streamHoldMs`; then the server closes it (after a `retry` field) and the
 * client polls: `GET` with `Last-Event-ID` gets the events after that id on
 * a new connection, and the stream ends once its response went out. The
 * request keeps running while no connection is open, since a 2025-11-25
 * client that lost one comes back; one that does not within
 * `streamResumeMs` is taken to be gone, and its call is stopped.
 *
 * Memory is bounded: at most `maxResumableStreams` per session, at most
 * `replayEvents` events and about `maxBufferedBytes` bytes kept per stream
 * (the oldest notifications go first, the response is never dropped), and a
 * stream is forgotten once its response was written to an open connection,
 * when its client did not come back in time, or when its session ends.
 *
 * {@link LateAnswers} tells a request that its answer is late (time for a
 * stream) without a timer per request.
 *
 * @module
 */
import { encodeMessage, ErrorCode, type JsonRpcMessage } from "../mcp/jsonrpc.ts";
import type { Session } from "../mcp/session.ts";
import type { TransportLimits } from "./call.ts";
import { rpcErrorResponse } from "./responses.ts";
import { SSE_HEADERS, SseStream } from "./sse.ts";

/** The limits a resumable stream obeys. */
export type StreamLimits = Pick<
  TransportLimits,
  | "keepAliveMs"
  | "maxBufferedBytes"
  | "replayEvents"
  | "streamHoldMs"
  | "streamRetryMs"
  | "streamResumeMs"
  | "maxResumableStreams"
>;

/** The event id of a POST stream: `<stream>-<n>`. */
const POST_EVENT_ID = /^(\d{1,15})-(\d{1,15})$/;

/** True when `lastEventId` has the shape of a POST stream's event id. */
export function isPostEventId(lastEventId: string): boolean {
  return POST_EVENT_ID.test(lastEventId);
}

interface Kept {
  seq: number;
  data: string;
}

/** The SSE stream of one request, resumable across connections. */
export class PostStream {
  /** Sequence number of the last event (the priming event is 0). */
  #seq = 0;
  #kept: Kept[] = [];
  #keptBytes = 0;
  #conn: SseStream | undefined;
  /**
   * Sequence number of the last event the open connection carries: written to
   * it, or already had by the client that opened it with `Last-Event-ID`.
   */
  #written = 0;
  #hold: ReturnType<typeof setTimeout> | undefined;
  #away: ReturnType<typeof setTimeout> | undefined;
  #done = false;
  #gone = false;

  /**
   * A stream numbered `no`; `stop` is aborted when its client is gone for
   * good, and `forget` drops it from its session's streams.
   */
  constructor(
    readonly no: number,
    private readonly limits: StreamLimits,
    private readonly stop: AbortController,
    private readonly forget: () => void,
  ) {}

  /** True once the request ended (its response, if any, is the last event). */
  get done(): boolean {
    return this.#done;
  }

  #id(seq: number): string {
    return `${this.no}-${seq}`;
  }

  /** Adds a message to the stream: sent now when connected, kept for a resume either way. */
  push(message: JsonRpcMessage): boolean {
    if (this.#done || this.#gone) return false;
    const ev = { seq: ++this.#seq, data: encodeMessage(message) };
    this.#kept.push(ev);
    this.#keptBytes += ev.data.length;
    // Bounded replay: the oldest events go first; the newest (the response, last) always stays.
    while (
      this.#kept.length > 1 &&
      (this.#kept.length > this.limits.replayEvents ||
        this.#keptBytes > this.limits.maxBufferedBytes)
    ) {
      this.#keptBytes -= this.#kept.shift()!.data.length;
    }
    this.#write(ev);
    return true;
  }

  /**
   * Ends the stream after `response` (none for a cancelled call). With a
   * connection open, the response goes out and the stream is done with;
   * otherwise it waits for the client's resume.
   */
  finish(response?: JsonRpcMessage): void {
    if (this.#done || this.#gone) return;
    if (response) this.push(response);
    this.#done = true;
    if (this.#conn) this.#conn.close();
    else if (!response) this.#drop();
  }

  /**
   * A new connection for the stream, carrying the events after `after`
   * (`undefined`: the first connection, which starts with the priming
   * event) and then those still to come. A connection still open is
   * replaced: the client has evidently lost it.
   */
  connect(after?: number): Response {
    const previous = this.#conn;
    this.#conn = undefined;
    previous?.close();
    clearTimeout(this.#away);
    clearTimeout(this.#hold);
    const conn = new SseStream({
      keepAliveMs: this.limits.keepAliveMs,
      maxBufferedBytes: this.limits.maxBufferedBytes,
      onClose: () => this.#closed(conn),
    });
    this.#conn = conn;
    this.#written = Math.min(after ?? 0, this.#seq);
    const retry = this.limits.streamRetryMs;
    if (after === undefined) {
      // Priming: an id to resume from before anything else, and the pace to poll at.
      conn.send({ id: this.#id(0), retry, data: "" });
    } else {
      conn.send({ retry });
    }
    for (const ev of this.#kept) if (ev.seq > this.#written) this.#write(ev);
    if (this.#done) {
      // Everything is out: end the stream (and the client's polling).
      conn.close();
    } else if (this.limits.streamHoldMs > 0) {
      // Poll instead of holding a connection for as long as the call runs: the client comes
      // back after `retry`; a connection is not tied up meanwhile (nor one of a browser's few
      // per origin, nor a proxy's idle budget).
      this.#hold = setTimeout(() => {
        conn.send({ retry });
        conn.close();
      }, this.limits.streamHoldMs);
    }
    return new Response(conn.readable, { status: 200, headers: SSE_HEADERS });
  }

  /** Ends the stream and its connection at once (its session closed). */
  end(): void {
    this.#done = true;
    this.#drop();
    this.#conn?.close();
  }

  #write(ev: Kept): void {
    if (!this.#conn) return;
    if (this.#conn.send({ event: "message", id: this.#id(ev.seq), data: ev.data })) {
      this.#written = ev.seq;
    }
  }

  #closed(conn: SseStream): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    clearTimeout(this.#hold);
    if (this.#gone) return;
    // The response went out on this connection: nothing is left to resume.
    if (this.#done && this.#written === this.#seq) return this.#drop();
    // Disconnection is not cancellation (the client should come back), but a client that
    // stays away past the window has gone: stop its call and free what the stream holds.
    this.#away = setTimeout(() => {
      if (!this.#done) this.stop.abort(new Error("the client did not resume its stream"));
      this.#drop();
    }, this.limits.streamResumeMs);
  }

  #drop(): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#hold);
    clearTimeout(this.#away);
    this.#kept = [];
    this.#keptBytes = 0;
    this.forget();
  }
}

/** The resumable POST streams of every session of one transport. */
export class PostStreams {
  #last = 0;
  #bySession = new Map<string, Map<number, PostStream>>();

  /**
   * A new stream for a request of `session`, whose call `stop` stops; none
   * when the session is closed or already keeps `maxResumableStreams`
   * streams none of which has finished (the request is then answered
   * without resumability).
   */
  open(session: Session, limits: StreamLimits, stop: AbortController): PostStream | undefined {
    if (session.closed || session.id === "") return undefined;
    let mine = this.#bySession.get(session.id);
    if (!mine) {
      const made = new Map<number, PostStream>();
      this.#bySession.set(session.id, mine = made);
      session.onClose(() => {
        this.#bySession.delete(session.id);
        for (const s of [...made.values()]) s.end();
      });
    }
    if (mine.size >= limits.maxResumableStreams) {
      // Make room by giving up the oldest finished stream whose client has not collected it.
      const finished = [...mine.values()].find((s) => s.done);
      if (!finished) return undefined;
      finished.end();
    }
    const no = ++this.#last;
    const own = mine;
    const stream = new PostStream(no, limits, stop, () => own.delete(no));
    own.set(no, stream);
    return stream;
  }

  /**
   * Resumes the stream of `session` that `lastEventId` (a POST stream's
   * event id) belongs to. Only the session's own streams are looked at, so
   * an id from another session never resumes anything here; the refusal
   * says the same whether the stream ended, expired or was never this
   * session's, and discloses nothing about other sessions.
   */
  resume(session: Session, lastEventId: string): Response {
    const m = POST_EVENT_ID.exec(lastEventId);
    const stream = m ? this.#bySession.get(session.id)?.get(Number(m[1])) : undefined;
    if (!m || !stream) {
      return rpcErrorResponse(
        404,
        ErrorCode.InvalidRequest,
        `Not Found: Last-Event-ID '${lastEventId}' names no stream of this session that can be ` +
          "resumed (it ended, expired or belongs to another session)",
      );
    }
    return stream.connect(Number(m[2]));
  }
}

interface Waiting {
  due: number;
  late: () => void;
}

/**
 * Tells requests that are still unanswered after a while, from one shared
 * timer instead of one per request: a timer set and cleared on every
 * request measurably costs on the cheap path (tools/list answered at once),
 * while this costs a set insertion and removal. The timer ticks only while
 * some request waits, at a quarter of the wait (so a request is told between
 * `afterMs` and about 1.25 × `afterMs`).
 */
export class LateAnswers {
  #waiting = new Set<Waiting>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Calls `late` once if the request is still waiting after `afterMs`; the result stops waiting. */
  watch(afterMs: number, late: () => void): () => void {
    const w = { due: Date.now() + afterMs, late };
    this.#waiting.add(w);
    if (this.#timer === undefined) {
      const tick = Math.max(5, Math.min(250, Math.floor(afterMs / 4)));
      this.#timer = setInterval(() => this.#tick(), tick);
      // Never what keeps the process alive: a waiting request's own work does that.
      Deno.unrefTimer(this.#timer);
    }
    return () => this.#waiting.delete(w);
  }

  #tick(): void {
    if (this.#waiting.size === 0) {
      // Idle for a whole tick: stop until the next request (not on every empty moment, which
      // would start a timer per request again).
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (const w of this.#waiting) {
      if (w.due > now) continue;
      this.#waiting.delete(w);
      w.late();
    }
  }
}
