/**
 * Gateways: named MCP endpoints of an org, each with its own tools, keys and auth methods.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import { uniqueOr } from "./errors.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** A gateway's transport settings and anything else clients configure. */
export interface GatewayConfiguration {
  transport: "http" | "sse" | "websocket";
  [key: string]: unknown;
}

/** A gateway as stored. */
export interface Gateway {
  id: string;
  orgId: string;
  name: string;
  description: string;
  type: "mcp";
  endpoint: string;
  configuration: GatewayConfiguration;
  createdAt: string;
  updatedAt: string;
}

/** The fields a caller sets on create or update. */
export type GatewayInput = Pick<
  Gateway,
  "name" | "description" | "type" | "endpoint" | "configuration"
>;

function toGateway(r: Row): Gateway {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    name: r.name as string,
    description: r.description as string,
    type: r.type as "mcp",
    endpoint: r.endpoint as string,
    configuration: JSON.parse(r.configuration as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

const DUPLICATE_ENDPOINT = "a gateway with this endpoint already exists in the organization";

/** Reads and writes `gateways`. */
export class Gateways {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Creates a gateway; a duplicate endpoint in the org is a conflict. */
  async create(orgId: string, input: GatewayInput): Promise<Gateway> {
    const ts = now();
    const gw: Gateway = { id: newId(), orgId, ...input, createdAt: ts, updatedAt: ts };
    await uniqueOr("endpoint", DUPLICATE_ENDPOINT, () =>
      this.db.run(
        `INSERT INTO gateways (id, org_id, name, description, type, endpoint, configuration, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        gw.id,
        orgId,
        gw.name,
        gw.description,
        gw.type,
        gw.endpoint,
        JSON.stringify(gw.configuration),
        ts,
        ts,
      ));
    // Announced too: an MCP layer may have cached "no gateway at this endpoint".
    this.changes.emit([gw.id]);
    return gw;
  }

  /** The gateway `id` of `orgId`, if any. */
  async get(orgId: string, id: string): Promise<Gateway | undefined> {
    const r = await this.db.get("SELECT * FROM gateways WHERE org_id = ? AND id = ?", orgId, id);
    return r ? toGateway(r) : undefined;
  }

  /** The gateway `id`, in whichever org it is (for the MCP layer, which knows gateways by id). */
  async find(id: string): Promise<Gateway | undefined> {
    const r = await this.db.get("SELECT * FROM gateways WHERE id = ?", id);
    return r ? toGateway(r) : undefined;
  }

  /** True when a gateway with `id` exists (in any org). */
  async exists(id: string): Promise<boolean> {
    return await this.db.get("SELECT 1 AS x FROM gateways WHERE id = ?", id) !== undefined;
  }

  /** The gateway serving `endpoint` in the org with slug `orgSlug`, if any. */
  async byPath(orgSlug: string, endpoint: string): Promise<Gateway | undefined> {
    const r = await this.db.get(
      `SELECT g.* FROM gateways g JOIN orgs o ON o.id = g.org_id
       WHERE o.slug = ? AND g.endpoint = ?`,
      orgSlug,
      endpoint,
    );
    return r ? toGateway(r) : undefined;
  }

  /** The gateways of `orgId`, oldest first. */
  async list(orgId: string): Promise<Gateway[]> {
    return (await this.db.all(
      "SELECT * FROM gateways WHERE org_id = ? ORDER BY created_at, id",
      orgId,
    ))
      .map(toGateway);
  }

  /** A page of the gateways of `orgId`, oldest first (then by id). The key is `[createdAt, id]`. */
  async page(orgId: string, req: PageRequest): Promise<Page<Gateway>> {
    checkRequest(req, 2);
    const after = req.after ? "AND (created_at, id) > (?, ?)" : "";
    const rows = await this.db.all(
      `SELECT * FROM gateways WHERE org_id = ? ${after} ORDER BY created_at, id LIMIT ?`,
      orgId,
      ...(req.after ?? []),
      req.limit + 1,
    );
    return pageOf(rows, req.limit, (r) => [r.created_at as string, r.id as string], toGateway);
  }

  /** Replaces the settable fields of a gateway; undefined when not found. */
  async update(orgId: string, id: string, input: GatewayInput): Promise<Gateway | undefined> {
    const ts = now();
    return await this.db.tx(async () => {
      const res = await uniqueOr("endpoint", DUPLICATE_ENDPOINT, () =>
        this.db.run(
          `UPDATE gateways SET name = ?, description = ?, type = ?, endpoint = ?,
           configuration = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
          input.name,
          input.description,
          input.type,
          input.endpoint,
          JSON.stringify(input.configuration),
          ts,
          orgId,
          id,
        ));
      if (res.changes === 0) return undefined;
      this.changes.emit([id]);
      return await this.get(orgId, id);
    });
  }

  /** Deletes a gateway with its assignments, keys and auth methods; false when not found. */
  async delete(orgId: string, id: string): Promise<boolean> {
    const res = await this.db.run("DELETE FROM gateways WHERE org_id = ? AND id = ?", orgId, id);
    if (res.changes === 0) return false;
    this.changes.emit([id]);
    return true;
  }
}
