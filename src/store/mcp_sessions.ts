/**
 * MCP sessions of Streamable HTTP in the store, for replicas sharing a
 * PostgreSQL database: the state a session needs to be served by any of
 * them. Each replica keeps the sessions it serves in memory; this table is
 * read once per session and replica, and written when a session starts,
 * changes its log level, opens or closes its stream, ends, and (at most
 * every few minutes) when it was last seen.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import type { Row, SqlEngine } from "./sql.ts";

/** One stored session. */
export interface StoredSession {
  id: string;
  gatewayId: string;
  /** The credential that opened it: only the same one may use it. */
  principalId: string;
  transport: string;
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo?: Record<string, unknown>;
  logLevel?: string;
  /** The replica holding the session's stream (its GET stream), if one does. */
  streamReplica?: string;
  createdAt: string;
  lastSeenAt: string;
}

function toStored(r: Row): StoredSession {
  const s: StoredSession = {
    id: r.id as string,
    gatewayId: r.gateway_id as string,
    principalId: r.principal_id as string,
    transport: r.transport as string,
    protocolVersion: r.protocol_version as string,
    clientCapabilities: JSON.parse(r.client_capabilities as string),
    createdAt: r.created_at as string,
    lastSeenAt: r.last_seen_at as string,
  };
  if (r.client_info !== null) s.clientInfo = JSON.parse(r.client_info as string);
  if (r.log_level !== null) s.logLevel = r.log_level as string;
  if (r.stream_replica !== null) s.streamReplica = r.stream_replica as string;
  return s;
}

/** Ids per statement that names ids (well under either engine's limit of parameters). */
const IDS_PER_STATEMENT = 500;

/** Reads and writes `mcp_sessions`. */
export class McpSessions {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Stores `s`, or replaces its state; the other replicas holding it are told. */
  async save(s: StoredSession): Promise<void> {
    await this.db.tx(async () => {
      const res = await this.db.run(
        `INSERT INTO mcp_sessions (id, gateway_id, principal_id, transport, protocol_version,
         client_capabilities, client_info, log_level, created_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET protocol_version = excluded.protocol_version,
         client_capabilities = excluded.client_capabilities, client_info = excluded.client_info,
         log_level = excluded.log_level, last_seen_at = excluded.last_seen_at`,
        s.id,
        s.gatewayId,
        s.principalId,
        s.transport,
        s.protocolVersion,
        JSON.stringify(s.clientCapabilities),
        s.clientInfo === undefined ? null : JSON.stringify(s.clientInfo),
        s.logLevel ?? null,
        s.createdAt,
        s.lastSeenAt,
      );
      if (res.changes > 0) this.changes.sessionsChanged([s.id], false);
    });
  }

  /** Records that `replica` holds the stream of session `id`; the other replicas are told. */
  async holdStream(id: string, replica: string): Promise<void> {
    await this.#changeStream(
      id,
      "UPDATE mcp_sessions SET stream_replica = ? WHERE id = ? AND " +
        "(stream_replica IS NULL OR stream_replica <> ?)",
      replica,
      id,
      replica,
    );
  }

  /** Records that `replica` no longer holds it, unless another replica took it meanwhile. */
  async releaseStream(id: string, replica: string): Promise<void> {
    await this.#changeStream(
      id,
      "UPDATE mcp_sessions SET stream_replica = NULL WHERE id = ? AND stream_replica = ?",
      id,
      replica,
    );
  }

  /** Runs `sql` on session `id`'s row; when it changed it, the other replicas are told. */
  async #changeStream(id: string, sql: string, ...args: string[]): Promise<void> {
    await this.db.tx(async () => {
      const res = await this.db.run(sql, ...args);
      if (res.changes > 0) this.changes.sessionsChanged([id], false);
    });
  }

  /** The stored session `id`, if any. */
  async find(id: string): Promise<StoredSession | undefined> {
    const r = await this.db.get("SELECT * FROM mcp_sessions WHERE id = ?", id);
    return r ? toStored(r) : undefined;
  }

  /** Which of `ids` are stored. */
  async existing(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
      const part = ids.slice(i, i + IDS_PER_STATEMENT);
      const rows = await this.db.all(
        `SELECT id FROM mcp_sessions WHERE id IN (${part.map(() => "?").join(", ")})`,
        ...part,
      );
      for (const r of rows) found.add(r.id as string);
    }
    return found;
  }

  /** Records that `ids` were seen at `at` (ISO-8601). */
  async touch(ids: string[], at: string): Promise<void> {
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
      const part = ids.slice(i, i + IDS_PER_STATEMENT);
      await this.db.run(
        `UPDATE mcp_sessions SET last_seen_at = ? WHERE id IN (${part.map(() => "?").join(", ")})
         AND last_seen_at < ?`,
        at,
        ...part,
        at,
      );
    }
  }

  /** Deletes session `id`; the other replicas close it. */
  async delete(id: string): Promise<void> {
    await this.db.tx(async () => {
      const res = await this.db.run("DELETE FROM mcp_sessions WHERE id = ?", id);
      if (res.changes > 0) this.changes.sessionsChanged([id], true);
    });
  }

  /** Deletes the sessions last seen before `before` (ISO-8601); every replica closes them. */
  async expire(before: string): Promise<string[]> {
    return await this.db.tx(async () => {
      const rows = await this.db.all(
        "DELETE FROM mcp_sessions WHERE last_seen_at < ? RETURNING id",
        before,
      );
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id as string);
      this.changes.sessionsChanged(ids, true);
      return ids;
    });
  }
}
