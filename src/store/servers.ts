/**
 * Upstream MCP servers of an org: how to reach or start each one. Their
 * live status is not stored: the supervisor (`src/upstream/`) keeps it.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import { uniqueOr } from "./errors.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import { gatewaysServing } from "./server_items.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** How Gatehouse talks to an upstream server. */
export type UpstreamTransport = "streamable-http" | "sse" | "stdio";

/** Every transport, in the order the API lists them. */
export const UPSTREAM_TRANSPORTS: readonly UpstreamTransport[] = [
  "streamable-http",
  "sse",
  "stdio",
];

/** The settings of a server besides its name and transport (which apply depends on it). */
export interface UpstreamSettings {
  /** The endpoint of an HTTP server. */
  url?: string;
  /** Extra request headers of an HTTP server; values may hold `{{secrets.NAME}}`. */
  headers?: Record<string, string>;
  /** A vault secret applied to every upstream request. */
  auth?: { secret: string };
  /** What a stdio server runs. */
  command?: string;
  args?: string[];
  /** The environment of a stdio server; values may hold `{{secrets.NAME}}`. */
  env?: Record<string, string>;
  cwd?: string;
  /** How long one upstream request may take, in ms (as `http` tools' `timeout`). */
  timeout?: number;
  /**
   * What happens when the server changes a tool or prompt already seen:
   * `hold` (the default) keeps serving the old definition until an admin
   * approves the change; `accept` takes it at once.
   */
  onChange?: "hold" | "accept";
  /** A stdio server's processes: one for all callers (default) or one per downstream session. */
  isolation?: "shared" | "per-session";
}

/** An upstream server as stored. */
export interface UpstreamServer extends UpstreamSettings {
  id: string;
  orgId: string;
  name: string;
  transport: UpstreamTransport;
  createdAt: string;
  updatedAt: string;
}

/** The fields a caller sets on create or update. */
export type UpstreamServerInput = Omit<UpstreamServer, "id" | "orgId" | "createdAt" | "updatedAt">;

function toServer(r: Row): UpstreamServer {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    name: r.name as string,
    transport: r.transport as UpstreamTransport,
    ...JSON.parse(r.settings as string) as UpstreamSettings,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function settingsOf(input: UpstreamServerInput): string {
  const { name: _n, transport: _t, ...settings } = input;
  return JSON.stringify(settings);
}

const DUPLICATE_NAME = "a server with this name already exists in the organization";

/** Reads and writes `upstream_servers`. */
export class UpstreamServers {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Creates a server; a duplicate name in the org is a conflict. */
  async create(orgId: string, input: UpstreamServerInput): Promise<UpstreamServer> {
    const ts = now();
    const id = newId();
    await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        `INSERT INTO upstream_servers (id, org_id, name, transport, settings, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        id,
        orgId,
        input.name,
        input.transport,
        settingsOf(input),
        ts,
        ts,
      ));
    this.changes.serverChanged(id);
    return (await this.get(orgId, id))!;
  }

  /** The server `id` of `orgId`, if any. */
  async get(orgId: string, id: string): Promise<UpstreamServer | undefined> {
    const r = await this.db.get(
      "SELECT * FROM upstream_servers WHERE org_id = ? AND id = ?",
      orgId,
      id,
    );
    return r ? toServer(r) : undefined;
  }

  /** The server `id`, whatever its org (for what already holds a checked reference). */
  async find(id: string): Promise<UpstreamServer | undefined> {
    const r = await this.db.get("SELECT * FROM upstream_servers WHERE id = ?", id);
    return r ? toServer(r) : undefined;
  }

  /** The servers of `orgId`, by name. */
  async list(orgId: string): Promise<UpstreamServer[]> {
    const rows = await this.db.all(
      "SELECT * FROM upstream_servers WHERE org_id = ? ORDER BY name",
      orgId,
    );
    return rows.map(toServer);
  }

  /** A page of the servers of `orgId`, by name then id. The key is `[name, id]`. */
  async page(orgId: string, req: PageRequest): Promise<Page<UpstreamServer>> {
    checkRequest(req, 2);
    const after = req.after ? "AND (name, id) > (?, ?)" : "";
    const rows = await this.db.all(
      `SELECT * FROM upstream_servers WHERE org_id = ? ${after} ORDER BY name, id LIMIT ?`,
      orgId,
      ...(req.after ?? []),
      req.limit + 1,
    );
    return pageOf(rows, req.limit, (r) => [r.name as string, r.id as string], toServer);
  }

  /** Every server of every org (the supervisor connects them all at start-up). */
  async all(): Promise<UpstreamServer[]> {
    return (await this.db.all("SELECT * FROM upstream_servers ORDER BY created_at")).map(toServer);
  }

  /** Replaces a server's settings; undefined when not found. */
  async update(
    orgId: string,
    id: string,
    input: UpstreamServerInput,
  ): Promise<UpstreamServer | undefined> {
    const res = await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        `UPDATE upstream_servers SET name = ?, transport = ?, settings = ?, updated_at = ?
         WHERE org_id = ? AND id = ?`,
        input.name,
        input.transport,
        settingsOf(input),
        now(),
        orgId,
        id,
      ));
    if (res.changes === 0) return undefined;
    this.changes.serverChanged(id);
    return await this.get(orgId, id);
  }

  /**
   * Deletes a server with its tools, items and attachments; false when not
   * found. The gateways that served it are announced.
   */
  async delete(orgId: string, id: string): Promise<boolean> {
    return await this.db.tx(async () => {
      const gateways = await gatewaysServing(this.db, id);
      const res = await this.db.run(
        "DELETE FROM upstream_servers WHERE org_id = ? AND id = ?",
        orgId,
        id,
      );
      if (res.changes === 0) return false;
      this.changes.emit(gateways);
      this.changes.serverChanged(id);
      return true;
    });
  }
}
