/**
 * Attachments of whole upstream servers to gateways (`gateway_servers`): a
 * gateway serves every tool, prompt, resource and template of an attached
 * server, optionally renamed with a prefix and filtered by name.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { now, parseJson } from "./util.ts";

/** How a server is attached. */
export interface AttachmentSettings {
  /** Tools and prompts are served as `{prefix}_{name}`; without one they keep their names. */
  prefix?: string;
  /** Only tools and prompts whose names match one of these patterns (`*` matches any run). */
  include?: string[];
  /** No tool or prompt whose name matches one of these patterns. */
  exclude?: string[];
  /** Calls a minute each caller may make of each of the server's tools through the gateway. */
  toolRateLimit?: number;
}

/** A server attached to a gateway. */
export interface Attachment extends AttachmentSettings {
  gatewayId: string;
  serverId: string;
  attachedAt: string;
}

function toAttachment(r: Row): Attachment {
  const a: Attachment = {
    gatewayId: r.gateway_id as string,
    serverId: r.server_id as string,
    attachedAt: r.created_at as string,
  };
  if (typeof r.prefix === "string") a.prefix = r.prefix;
  const include = parseJson<string[]>(r.include);
  if (include) a.include = include;
  const exclude = parseJson<string[]>(r.exclude);
  if (exclude) a.exclude = exclude;
  if (typeof r.tool_rate_limit === "number") a.toolRateLimit = r.tool_rate_limit;
  return a;
}

/** Reads and writes `gateway_servers`. */
export class Attachments {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Attaches (or re-attaches with new settings) `serverId` to `gatewayId`. */
  async attach(
    gatewayId: string,
    serverId: string,
    settings: AttachmentSettings,
  ): Promise<Attachment> {
    return await this.db.tx(async () => {
      await this.db.run(
        `INSERT INTO gateway_servers (gateway_id, server_id, prefix, include, exclude,
       tool_rate_limit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, server_id) DO UPDATE SET prefix = excluded.prefix,
       include = excluded.include, exclude = excluded.exclude,
       tool_rate_limit = excluded.tool_rate_limit`,
        gatewayId,
        serverId,
        settings.prefix ?? null,
        settings.include ? JSON.stringify(settings.include) : null,
        settings.exclude ? JSON.stringify(settings.exclude) : null,
        settings.toolRateLimit ?? null,
        now(),
      );
      this.changes.emit([gatewayId]);
      return (await this.get(gatewayId, serverId))!;
    });
  }

  /** The attachment of `serverId` to `gatewayId`, if any. */
  async get(gatewayId: string, serverId: string): Promise<Attachment | undefined> {
    const r = await this.db.get(
      "SELECT * FROM gateway_servers WHERE gateway_id = ? AND server_id = ?",
      gatewayId,
      serverId,
    );
    return r ? toAttachment(r) : undefined;
  }

  /** The servers attached to `gatewayId`, in the order they were attached. */
  async list(gatewayId: string): Promise<Attachment[]> {
    const rows = await this.db.all(
      "SELECT * FROM gateway_servers WHERE gateway_id = ? ORDER BY created_at, server_id",
      gatewayId,
    );
    return rows.map(toAttachment);
  }

  /** Detaches `serverId` from `gatewayId`; false when it was not attached. */
  async detach(gatewayId: string, serverId: string): Promise<boolean> {
    const res = await this.db.run(
      "DELETE FROM gateway_servers WHERE gateway_id = ? AND server_id = ?",
      gatewayId,
      serverId,
    );
    if (res.changes === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }
}
