/**
 * Imported APIs (OpenAPI documents) of an org and the tools generated from
 * them. Imported tools are ordinary rows of `tools` (listable, assignable,
 * editable) that also carry the API they came from and the operation they
 * stand for, so a re-import can update them in place.
 *
 * Every import, re-import and removal is one transaction: it lands whole or
 * not at all.
 *
 * @module
 */
import { isNameFor, uniqueName } from "../openapi/names.ts";
import type { ChangeFeed } from "./changes.ts";
import type { Db } from "./db.ts";
import { uniqueOr } from "./errors.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import type { ToolInput } from "./tools.ts";
import { jsonOrNull, newId, now, parseJson } from "./util.ts";

/** An imported API as stored. */
export interface Api {
  id: string;
  orgId: string;
  name: string;
  /** `info.title` of the document. */
  title: string;
  /** `info.version` of the document. */
  version: string;
  /** The OpenAPI (or Swagger) version the document was written in. */
  specVersion: string;
  baseUrl: string | null;
  /** The secret that authenticates the API's calls. */
  secret: string | null;
  include: string[] | null;
  exclude: string[] | null;
  /** SHA-256 of the document as last imported. */
  specHash: string;
  createdAt: string;
  updatedAt: string;
}

/** The fields an import sets. */
export type ApiInput = Omit<Api, "id" | "orgId" | "createdAt" | "updatedAt">;

/** An operation of a document, ready to be stored as a tool. */
export interface OperationTool {
  operationId?: string;
  /** `METHOD /path`. */
  route: string;
  /** The name the tool asks for; suffixed when taken in the org. */
  baseName: string;
  tool: Omit<ToolInput, "name">;
}

/** One tool of an API, as listed with it. */
export interface ApiTool {
  id: string;
  name: string;
  operationId: string | null;
  /** `METHOD /path` of the operation. */
  route: string;
}

/** What an import or re-import did. */
export interface ImportOutcome {
  api: Api;
  tools: ApiTool[];
  /** Tools added, updated in place (same id, assignments kept) and removed. */
  counts: { created: number; updated: number; removed: number };
  /** Gateways the API's tools are assigned to: their tool lists changed. */
  gateways: string[];
}

type Row = Record<string, unknown>;

function toApi(r: Row): Api {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    name: r.name as string,
    title: r.title as string,
    version: r.version as string,
    specVersion: r.spec_version as string,
    baseUrl: (r.base_url as string | null) ?? null,
    secret: (r.secret_name as string | null) ?? null,
    include: parseJson<string[]>(r.include_filter) ?? null,
    exclude: parseJson<string[]>(r.exclude_filter) ?? null,
    specHash: r.spec_hash as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toApiTool(r: Row): ApiTool {
  return {
    id: r.id as string,
    name: r.name as string,
    operationId: (r.api_operation_id as string | null) ?? null,
    route: r.api_route as string,
  };
}

const DUPLICATE_NAME = "an API with this name already exists in the organization";

/** Reads and writes `apis` and the tools generated from them. */
export class Apis {
  constructor(private readonly db: Db, private readonly changes: ChangeFeed) {}

  /** Imports a new API with its tools; a duplicate API name in the org is a conflict. */
  create(orgId: string, input: ApiInput, ops: OperationTool[]): ImportOutcome {
    const ts = now();
    const id = newId();
    const outcome = this.db.tx(() => {
      uniqueOr("name", DUPLICATE_NAME, () =>
        this.db.prepare(
          `INSERT INTO apis (id, org_id, name, title, version, spec_version, base_url, secret_name,
           include_filter, exclude_filter, spec_hash, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          id,
          orgId,
          input.name,
          input.title,
          input.version,
          input.specVersion,
          input.baseUrl,
          input.secret,
          jsonOrNull(input.include ?? undefined),
          jsonOrNull(input.exclude ?? undefined),
          input.specHash,
          ts,
          ts,
        ));
      return this.#syncTools(orgId, id, ops, ts);
    });
    return { api: this.get(orgId, id)!, ...outcome.result, gateways: outcome.gateways };
  }

  /**
   * Re-imports API `id`: replaces its settings and its tools in one
   * transaction. Operations that still exist (same operationId, else same
   * method and path) keep their tool's id, name and gateway assignments;
   * the rest are created or removed. Undefined when the API is not found.
   */
  replace(
    orgId: string,
    id: string,
    input: ApiInput,
    ops: OperationTool[],
  ): ImportOutcome | undefined {
    const ts = now();
    const outcome = this.db.tx(() => {
      const res = uniqueOr("name", DUPLICATE_NAME, () =>
        this.db.prepare(
          `UPDATE apis SET name = ?, title = ?, version = ?, spec_version = ?, base_url = ?,
           secret_name = ?, include_filter = ?, exclude_filter = ?, spec_hash = ?, updated_at = ?
           WHERE org_id = ? AND id = ?`,
        ).run(
          input.name,
          input.title,
          input.version,
          input.specVersion,
          input.baseUrl,
          input.secret,
          jsonOrNull(input.include ?? undefined),
          jsonOrNull(input.exclude ?? undefined),
          input.specHash,
          ts,
          orgId,
          id,
        ));
      if (Number(res.changes) === 0) return undefined;
      return this.#syncTools(orgId, id, ops, ts);
    });
    if (!outcome) return undefined;
    this.changes.emit(outcome.gateways);
    return { api: this.get(orgId, id)!, ...outcome.result, gateways: outcome.gateways };
  }

  /** The API `id` of `orgId`, if any. */
  get(orgId: string, id: string): Api | undefined {
    const r = this.db.prepare("SELECT * FROM apis WHERE org_id = ? AND id = ?").get(orgId, id);
    return r ? toApi(r) : undefined;
  }

  /** The APIs of `orgId` by name, each with its number of tools. */
  list(orgId: string): (Api & { toolCount: number })[] {
    return this.db.prepare(
      `SELECT a.*, (SELECT COUNT(*) FROM tools t WHERE t.api_id = a.id) AS tool_count
       FROM apis a WHERE a.org_id = ? ORDER BY a.name`,
    ).all(orgId).map((r) => ({ ...toApi(r), toolCount: Number(r.tool_count) }));
  }

  /**
   * A page of the APIs of `orgId` by name then id, each with its number of
   * tools. The key is `[name, id]`.
   */
  page(orgId: string, req: PageRequest): Page<Api & { toolCount: number }> {
    checkRequest(req, 2);
    const after = req.after ? "AND (a.name, a.id) > (?, ?)" : "";
    const rows = this.db.prepare(
      `SELECT a.*, (SELECT COUNT(*) FROM tools t WHERE t.api_id = a.id) AS tool_count
       FROM apis a WHERE a.org_id = ? ${after} ORDER BY a.name, a.id LIMIT ?`,
    ).all(orgId, ...(req.after ?? []), req.limit + 1);
    return pageOf(
      rows,
      req.limit,
      (r) => [r.name as string, r.id as string],
      (r) => ({ ...toApi(r), toolCount: Number(r.tool_count) }),
    );
  }

  /** The tools generated from API `apiId`, by name. */
  tools(apiId: string): ApiTool[] {
    return this.db.prepare(
      "SELECT id, name, api_operation_id, api_route FROM tools WHERE api_id = ? ORDER BY name",
    ).all(apiId).map(toApiTool);
  }

  /** Deletes an API with its tools and their assignments, in one transaction; false when not found. */
  delete(orgId: string, id: string): boolean {
    const gateways = this.db.tx(() => {
      if (!this.get(orgId, id)) return undefined;
      const gateways = this.#gatewaysOfApi(id);
      this.db.prepare("DELETE FROM tools WHERE org_id = ? AND api_id = ?").run(orgId, id);
      this.db.prepare("DELETE FROM apis WHERE org_id = ? AND id = ?").run(orgId, id);
      return gateways;
    });
    if (!gateways) return false;
    this.changes.emit(gateways);
    return true;
  }

  #gatewaysOfApi(apiId: string): string[] {
    return this.db.prepare(
      `SELECT DISTINCT gt.gateway_id FROM gateway_tools gt JOIN tools t ON t.id = gt.tool_id
       WHERE t.api_id = ?`,
    ).all(apiId).map((r) => r.gateway_id as string);
  }

  /**
   * Makes the tools of API `apiId` match `ops` (inside the caller's
   * transaction): matched tools are updated in place, new operations
   * inserted, vanished ones deleted. Names are unique in the org: a matched
   * tool keeps its name while that is still a name its operation would get,
   * the others take their base name or the first free `_N` suffix.
   */
  #syncTools(orgId: string, apiId: string, ops: OperationTool[], ts: string) {
    const old = this.tools(apiId);
    const gateways = this.#gatewaysOfApi(apiId);
    const taken = new Set(
      this.db.prepare(
        "SELECT name FROM tools WHERE org_id = ? AND (api_id IS NULL OR api_id != ?)",
      ).all(orgId, apiId).map((r) => r.name as string),
    );

    // Match by operationId first (it survives a path change), then by method and path.
    const match = new Map<OperationTool, ApiTool>();
    const free = new Set(old);
    const byOpId = new Map(old.filter((t) => t.operationId).map((t) => [t.operationId!, t]));
    for (const op of ops) {
      const t = op.operationId ? byOpId.get(op.operationId) : undefined;
      if (t && free.has(t)) {
        match.set(op, t);
        free.delete(t);
      }
    }
    const byRoute = new Map([...free].map((t) => [t.route, t]));
    for (const op of ops) {
      if (match.has(op)) continue;
      const t = byRoute.get(op.route);
      if (t && free.has(t)) {
        match.set(op, t);
        free.delete(t);
      }
    }

    const names = new Map<OperationTool, string>();
    for (const [op, t] of match) {
      if (isNameFor(t.name, op.baseName) && !taken.has(t.name)) {
        names.set(op, t.name);
        taken.add(t.name);
      }
    }
    for (const op of ops) {
      if (names.has(op)) continue;
      const name = uniqueName(op.baseName, taken);
      names.set(op, name);
      taken.add(name);
    }

    const del = this.db.prepare("DELETE FROM tools WHERE id = ?");
    for (const t of free) del.run(t.id);
    // Parked under names no real tool can have, so two tools may swap names without a conflict.
    const park = this.db.prepare("UPDATE tools SET name = ? WHERE id = ?");
    for (const t of match.values()) park.run(`\u0000${t.id}`, t.id);
    const update = this.db.prepare(
      `UPDATE tools SET name = ?, title = ?, description = ?, input_schema = ?, output_schema = ?,
       annotations = ?, type = ?, execution_config = ?, updated_at = ?, api_operation_id = ?,
       api_route = ? WHERE id = ?`,
    );
    const insert = this.db.prepare(
      `INSERT INTO tools (id, org_id, name, title, description, input_schema, output_schema,
       annotations, type, execution_config, created_at, updated_at, api_id, api_operation_id,
       api_route) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const tools: ApiTool[] = [];
    for (const op of ops) {
      const t = op.tool;
      const name = names.get(op)!;
      const fields = [
        name,
        t.title ?? null,
        t.description,
        JSON.stringify(t.inputSchema),
        jsonOrNull(t.outputSchema),
        jsonOrNull(t.annotations),
        t.type,
        JSON.stringify(t.executionConfig),
      ] as const;
      const existing = match.get(op);
      const id = existing?.id ?? newId();
      if (existing) update.run(...fields, ts, op.operationId ?? null, op.route, id);
      else insert.run(id, orgId, ...fields, ts, ts, apiId, op.operationId ?? null, op.route);
      tools.push({ id, name, operationId: op.operationId ?? null, route: op.route });
    }
    tools.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return {
      gateways,
      result: {
        tools,
        counts: { created: ops.length - match.size, updated: match.size, removed: free.size },
      },
    };
  }
}
