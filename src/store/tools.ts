/**
 * Tools of an org and their assignment to gateways.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import { uniqueOr } from "./errors.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import type { EngineKind, Row, SqlEngine } from "./sql.ts";
import { FOLD } from "./sqlite_engine.ts";
import { jsonOrNull, newId, now, parseJson } from "./util.ts";

/** A JSON object (a schema, an annotation set, an execution config). */
export type JsonObject = Record<string, unknown>;

/** A tool as stored. */
export interface Tool {
  id: string;
  orgId: string;
  /** Set for a tool of an upstream MCP server (type `mcp`): `name` is the server's name for it. */
  serverId?: string;
  /** Set for a tool generated from an imported OpenAPI document: the API a re-import rewrites. */
  apiId?: string;
  name: string;
  title?: string;
  description: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
  type: string;
  executionConfig: JsonObject;
  createdAt: string;
  updatedAt: string;
}

/** The fields a caller sets on create or update. */
export type ToolInput = Omit<Tool, "id" | "orgId" | "apiId" | "createdAt" | "updatedAt">;

/** What a page of an org's tools may be narrowed to; every filter given must hold. */
export interface ToolFilter {
  /** Tools generated from this imported API. */
  apiId?: string;
  /** Tools of this upstream server. */
  serverId?: string;
  /** Tools of this type (`http`, `mcp`). */
  type?: string;
  /** Tools whose name or description holds this text, in any case. */
  q?: string;
}

/** A tool as assigned to a gateway. */
export interface Assignment {
  tool: Tool;
  enabled: boolean;
  /** Calls a minute each caller may make of the tool through this gateway; null: unlimited. */
  rateLimit: number | null;
  assignedAt: string;
}

/** An enabled tool of a gateway, with its assignment's rate limit. */
export interface EnabledTool extends Tool {
  rateLimit: number | null;
}

function toTool(r: Row): Tool {
  const tool: Tool = {
    id: r.id as string,
    orgId: r.org_id as string,
    name: r.name as string,
    description: r.description as string,
    inputSchema: JSON.parse(r.input_schema as string),
    type: r.type as string,
    executionConfig: JSON.parse(r.execution_config as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
  if (typeof r.title === "string") tool.title = r.title;
  if (typeof r.server_id === "string") tool.serverId = r.server_id;
  if (typeof r.api_id === "string") tool.apiId = r.api_id;
  const output = parseJson<JsonObject>(r.output_schema);
  if (output) tool.outputSchema = output;
  const annotations = parseJson<JsonObject>(r.annotations);
  if (annotations) tool.annotations = annotations;
  return tool;
}

/** Turns a `tools` row into a {@link Tool} (for the other repositories that read tools). */
export { toTool };

function toAssignment(r: Row): Assignment {
  return {
    tool: toTool(r),
    enabled: r.gt_enabled === 1,
    rateLimit: (r.gt_rate_limit as number | null) ?? null,
    assignedAt: r.gt_created_at as string,
  };
}

const DUPLICATE_NAME = "a tool with this name already exists in the organization";

/**
 * `column` in a condition that must not steer the planner onto its index:
 * SQLite's unary `+` (PostgreSQL's planner needs no such hint, and has no `+` for text).
 */
function unindexed(kind: EngineKind, column: string): string {
  return kind === "sqlite" ? `+${column}` : column;
}

/**
 * The condition that `column` holds the parameter (already lower-cased), in
 * any case: through {@link FOLD} on both engines, as SQLite's lower() folds
 * only ASCII letters and PostgreSQL's follows the column's collation ("C": ASCII too).
 */
function holds(kind: EngineKind, column: string): string {
  const folded = `${FOLD}(${column})`;
  return kind === "sqlite" ? `instr(${folded}, ?) > 0` : `strpos(${folded}, ?) > 0`;
}

/** The columns of an assignment besides its tool's. */
const ASSIGNMENT_COLUMNS =
  "gt.enabled AS gt_enabled, gt.rate_limit AS gt_rate_limit, gt.created_at AS gt_created_at";

/** Reads and writes `tools` and `gateway_tools`. */
export class Tools {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Creates a tool; a duplicate name in the org is a conflict. */
  async create(orgId: string, input: ToolInput): Promise<Tool> {
    const ts = now();
    const id = newId();
    await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        `INSERT INTO tools (id, org_id, name, title, description, input_schema, output_schema,
         annotations, type, execution_config, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        orgId,
        input.name,
        input.title ?? null,
        input.description,
        JSON.stringify(input.inputSchema),
        jsonOrNull(input.outputSchema),
        jsonOrNull(input.annotations),
        input.type,
        JSON.stringify(input.executionConfig),
        ts,
        ts,
      ));
    return (await this.get(orgId, id))!;
  }

  /** The tool `id` of `orgId`, if any. */
  async get(orgId: string, id: string): Promise<Tool | undefined> {
    const r = await this.db.get("SELECT * FROM tools WHERE org_id = ? AND id = ?", orgId, id);
    return r ? toTool(r) : undefined;
  }

  /** The tools of `orgId`, by name. */
  async list(orgId: string): Promise<Tool[]> {
    return (await this.db.all("SELECT * FROM tools WHERE org_id = ? ORDER BY name", orgId))
      .map(toTool);
  }

  /**
   * A page of the tools of `orgId` that pass `filter`, by name then id (a
   * server's tool may share its name with another tool). The key is
   * `[name, id]`.
   */
  async page(orgId: string, filter: ToolFilter, req: PageRequest): Promise<Page<Tool>> {
    checkRequest(req, 2);
    const kind = this.db.kind;
    const where = ["org_id = ?"];
    const args: (string | number)[] = [orgId];
    if (filter.apiId !== undefined) {
      where.push("api_id = ?");
      args.push(filter.apiId);
    }
    if (filter.serverId !== undefined) {
      where.push("server_id = ?");
      args.push(filter.serverId);
    }
    if (filter.type !== undefined) {
      // With an API or a server, their index narrows more than the type's.
      const narrower = filter.apiId !== undefined || filter.serverId !== undefined;
      where.push(`${narrower ? unindexed(kind, "type") : "type"} = ?`);
      args.push(filter.type);
    }
    if (filter.q !== undefined) {
      where.push(`(${holds(kind, "name")} OR ${holds(kind, "description")})`);
      const needle = filter.q.toLowerCase();
      args.push(needle, needle);
    }
    if (req.after) {
      where.push("(name, id) > (?, ?)");
      args.push(...req.after);
    }
    args.push(req.limit + 1);
    const rows = await this.db.all(
      `SELECT * FROM tools WHERE ${where.join(" AND ")} ORDER BY name, id LIMIT ?`,
      ...args,
    );
    return pageOf(rows, req.limit, (r) => [r.name as string, r.id as string], toTool);
  }

  /** Replaces the settable fields of a tool; undefined when not found. */
  async update(orgId: string, id: string, input: ToolInput): Promise<Tool | undefined> {
    return await this.db.tx(async () => {
      const res = await uniqueOr("name", DUPLICATE_NAME, () =>
        this.db.run(
          `UPDATE tools SET name = ?, title = ?, description = ?, input_schema = ?,
           output_schema = ?, annotations = ?, type = ?, execution_config = ?, updated_at = ?
           WHERE org_id = ? AND id = ?`,
          input.name,
          input.title ?? null,
          input.description,
          JSON.stringify(input.inputSchema),
          jsonOrNull(input.outputSchema),
          jsonOrNull(input.annotations),
          input.type,
          JSON.stringify(input.executionConfig),
          now(),
          orgId,
          id,
        ));
      if (res.changes === 0) return undefined;
      this.changes.emit(await this.#gatewaysOf(id));
      return await this.get(orgId, id);
    });
  }

  /** Deletes a tool and its assignments; false when not found. */
  async delete(orgId: string, id: string): Promise<boolean> {
    return await this.db.tx(async () => {
      const gateways = await this.#gatewaysOf(id);
      const res = await this.db.run("DELETE FROM tools WHERE org_id = ? AND id = ?", orgId, id);
      if (res.changes === 0) return false;
      this.changes.emit(gateways);
      return true;
    });
  }

  async #gatewaysOf(toolId: string): Promise<string[]> {
    return (await this.db.all("SELECT gateway_id FROM gateway_tools WHERE tool_id = ?", toolId))
      .map((r) => r.gateway_id as string);
  }

  /**
   * Assigns `toolIds` to `gatewayId` in one transaction: every tool must
   * belong to `orgId`, else nothing is written and the ids that do not are
   * returned (tools of other orgs look exactly like missing ones). Tools
   * already assigned keep their row and take the new `enabled`, and the new
   * `rateLimit` when one is given (null removes it; undefined keeps it).
   */
  async assign(
    orgId: string,
    gatewayId: string,
    toolIds: string[],
    enabled: boolean,
    rateLimit?: number | null,
  ): Promise<string[]> {
    const ts = now();
    const missing = await this.db.tx(async () => {
      // Checked inside the transaction so a tool deleted meanwhile cannot slip in.
      const missing: string[] = [];
      for (const id of toolIds) {
        const found = await this.db.get(
          "SELECT 1 AS ok FROM tools WHERE org_id = ? AND id = ?",
          orgId,
          id,
        );
        if (!found) missing.push(id);
      }
      if (missing.length > 0) return missing;
      const keep = rateLimit === undefined ? "gateway_tools.rate_limit" : "excluded.rate_limit";
      for (const toolId of toolIds) {
        await this.db.run(
          `INSERT INTO gateway_tools (gateway_id, tool_id, enabled, rate_limit, created_at)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT (gateway_id, tool_id) DO UPDATE SET
           enabled = excluded.enabled, rate_limit = ${keep}`,
          gatewayId,
          toolId,
          enabled ? 1 : 0,
          rateLimit ?? null,
          ts,
        );
      }
      return [];
    });
    if (missing.length === 0) this.changes.emit([gatewayId]);
    return missing;
  }

  /**
   * Changes one assignment: switches it on or off and sets its rate limit
   * (null removes it), each when given; false when the tool is not assigned.
   */
  async updateAssignment(
    gatewayId: string,
    toolId: string,
    change: { enabled?: boolean; rateLimit?: number | null },
  ): Promise<boolean> {
    const res = await this.db.run(
      `UPDATE gateway_tools SET enabled = coalesce(?, enabled),
       rate_limit = CASE WHEN ? = 1 THEN ? ELSE rate_limit END
       WHERE gateway_id = ? AND tool_id = ?`,
      change.enabled === undefined ? null : change.enabled ? 1 : 0,
      change.rateLimit === undefined ? 0 : 1,
      change.rateLimit ?? null,
      gatewayId,
      toolId,
    );
    if (res.changes === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }

  /** Removes one assignment; false when the tool was not assigned. */
  async unassign(gatewayId: string, toolId: string): Promise<boolean> {
    const res = await this.db.run(
      "DELETE FROM gateway_tools WHERE gateway_id = ? AND tool_id = ?",
      gatewayId,
      toolId,
    );
    if (res.changes === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }

  /** Every tool assigned to `gatewayId`, enabled or not, by name. */
  async assignments(gatewayId: string): Promise<Assignment[]> {
    const rows = await this.db.all(
      `SELECT t.*, ${ASSIGNMENT_COLUMNS} FROM gateway_tools gt
       JOIN tools t ON t.id = gt.tool_id WHERE gt.gateway_id = ? ORDER BY t.name`,
      gatewayId,
    );
    return rows.map(toAssignment);
  }

  /**
   * A page of the tools assigned to `gatewayId` of `orgId`, enabled or not,
   * by name then id. The key is `[name, toolId]`. Read through the gateway's
   * assignments and sorted: a gateway holds at most the org's tools, and
   * often few of them, so this never walks the whole org.
   */
  async assignmentPage(
    orgId: string,
    gatewayId: string,
    req: PageRequest,
  ): Promise<Page<Assignment>> {
    checkRequest(req, 2);
    // The org check must not steer the planner onto the org's name index.
    const org = unindexed(this.db.kind, "t.org_id");
    const after = req.after ? "AND (t.name, t.id) > (?, ?)" : "";
    const rows = await this.db.all(
      `SELECT t.*, ${ASSIGNMENT_COLUMNS} FROM gateway_tools gt
       JOIN tools t ON t.id = gt.tool_id WHERE gt.gateway_id = ? AND ${org} = ? ${after}
       ORDER BY t.name, t.id LIMIT ?`,
      gatewayId,
      orgId,
      ...(req.after ?? []),
      req.limit + 1,
    );
    return pageOf(rows, req.limit, (r) => [r.name as string, r.id as string], toAssignment);
  }

  /** One assignment of `gatewayId`, if the tool is assigned. */
  async assignment(gatewayId: string, toolId: string): Promise<Assignment | undefined> {
    const r = await this.db.get(
      `SELECT t.*, ${ASSIGNMENT_COLUMNS} FROM gateway_tools gt
       JOIN tools t ON t.id = gt.tool_id WHERE gt.gateway_id = ? AND gt.tool_id = ?`,
      gatewayId,
      toolId,
    );
    return r ? toAssignment(r) : undefined;
  }

  /** The enabled tools of `gatewayId`, by name: what its MCP clients see. */
  async enabledFor(gatewayId: string): Promise<EnabledTool[]> {
    const rows = await this.db.all(
      `SELECT t.*, gt.rate_limit AS gt_rate_limit FROM gateway_tools gt
       JOIN tools t ON t.id = gt.tool_id WHERE gt.gateway_id = ? AND gt.enabled = 1 ORDER BY t.name`,
      gatewayId,
    );
    return rows.map((r) => ({
      ...toTool(r),
      rateLimit: (r.gt_rate_limit as number | null) ?? null,
    }));
  }
}
