/**
 * Messages for MCP sessions between replicas sharing a PostgreSQL database.
 * A replica that cannot deliver something for a session itself (the
 * session's stream is held by another replica, a client's answer is for a
 * request another replica made) hands it to the replica that can, with
 * `NOTIFY`. A message too large for a notice (PostgreSQL caps a payload at
 * 8000 bytes) is stored in `mcp_session_messages` and its row id sent
 * instead; such rows are deleted a minute later. Delivery is at most once,
 * and in the order each replica sent.
 *
 * @module
 */
import type { ChangeChannel } from "./postgres_engine.ts";
import type { SqlEngine } from "./sql.ts";

/** The channel session messages travel on. */
export const SESSION_MESSAGES_CHANNEL = "gatehouse_session_messages";

/** The largest notice sent as it is, in bytes of UTF-8, under PostgreSQL's 8000. */
const NOTICE_BYTES = 7900;

/** How long a stored message is kept for its reader, in ms. */
const STORED_FOR_MS = 60_000;

/** A message on the wire: from whom, for whom (every other replica when absent), and what. */
interface Envelope {
  from: string;
  to?: string;
  session: string;
  /** The message itself, or the id of the row that holds it. */
  body?: string;
  row?: number;
}

/** A message heard from another replica. */
export interface SessionMessage {
  /** The replica that sent it. */
  from: string;
  sessionId: string;
  body: string;
}

/** The channel between replicas for messages about MCP sessions. */
export class SessionMessages {
  readonly #listeners = new Set<(message: SessionMessage) => void>();
  #sending: Promise<void> = Promise.resolve();
  #receiving: Promise<void> = Promise.resolve();

  /** Messages over `engine`, as replica `replica` (its id among the replicas). */
  constructor(private readonly engine: SqlEngine & ChangeChannel, readonly replica: string) {}

  /** Starts hearing the other replicas' messages; resolves once listening. */
  async listen(): Promise<void> {
    await this.engine.listen(SESSION_MESSAGES_CHANNEL, (payload) => this.#heard(payload));
  }

  /** Registers `fn` for every message meant for this replica; returns the unsubscriber. */
  onMessage(fn: (message: SessionMessage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Sends `body` about session `sessionId` to replica `to`, or to every
   * other replica when `to` is undefined; one after another, in order.
   */
  send(to: string | undefined, sessionId: string, body: string): Promise<void> {
    const sent = this.#sending.then(() => this.#send(to, sessionId, body));
    this.#sending = sent.catch(() => {});
    return sent;
  }

  async #send(to: string | undefined, sessionId: string, body: string): Promise<void> {
    const envelope: Envelope = { from: this.replica, session: sessionId };
    if (to !== undefined) envelope.to = to;
    let payload = JSON.stringify({ ...envelope, body });
    // Three bytes a UTF-16 unit at most: most messages skip the count.
    if (payload.length * 3 > NOTICE_BYTES && utf8Length(payload) > NOTICE_BYTES) {
      const at = Date.now();
      const row = await this.engine.get(
        "INSERT INTO mcp_session_messages (body, created_at) VALUES (?, ?) RETURNING id",
        body,
        new Date(at).toISOString(),
      );
      await this.engine.run(
        "DELETE FROM mcp_session_messages WHERE created_at < ?",
        new Date(at - STORED_FOR_MS).toISOString(),
      );
      payload = JSON.stringify({ ...envelope, row: Number(row!.id) });
    }
    await this.engine.notify(SESSION_MESSAGES_CHANNEL, payload);
  }

  #heard(payload: string): void {
    const envelope = JSON.parse(payload) as Envelope;
    if (envelope.from === this.replica) return;
    if (envelope.to !== undefined && envelope.to !== this.replica) return;
    // In arrival order, a stored message's read included.
    this.#receiving = this.#receiving.then(async () => {
      const body = envelope.body ?? (await this.engine.get(
        "SELECT body FROM mcp_session_messages WHERE id = ?",
        envelope.row!,
      ))?.body;
      if (typeof body !== "string") return;
      const message = { from: envelope.from, sessionId: envelope.session, body };
      for (const fn of [...this.#listeners]) fn(message);
    }).catch((err) =>
      console.error("a message for an MCP session from another replica failed:", err)
    );
  }
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
