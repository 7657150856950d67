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
import { uniqueOr } from "./errors.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import type { Row, SqlEngine, SqlValue } from "./sql.ts";
import { type Tool, type ToolInput, toTool } from "./tools.ts";
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

/** How a re-import lines the API's tools up with the document's operations. */
export interface SyncPlan {
  /** The stored tool each operation updates in place; an operation not here makes a new tool. */
  matched: Map<OperationTool, ApiTool>;
  /** The name each operation's tool gets. */
  names: Map<OperationTool, string>;
  /** The API's tools no operation keeps: the re-import deletes them with their assignments. */
  removed: ApiTool[];
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

/** The columns an imported tool is inserted with. */
const TOOL_COLUMNS = `id, org_id, name, title, description, input_schema, output_schema,
  annotations, type, execution_config, created_at, updated_at, api_id, api_operation_id, api_route`;
const TOOL_VALUES = `(${Array(15).fill("?").join(", ")})`;
/** Tools per multi-row insert: 750 parameters, far under either engine's limit. */
const TOOLS_PER_INSERT = 50;
const INSERT_TOOL = `INSERT INTO tools (${TOOL_COLUMNS}) VALUES ${TOOL_VALUES}`;
const INSERT_TOOLS = `INSERT INTO tools (${TOOL_COLUMNS}) VALUES ${
  Array(TOOLS_PER_INSERT).fill(TOOL_VALUES).join(", ")
}`;

/** Reads and writes `apis` and the tools generated from them. */
export class Apis {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Imports a new API with its tools; a duplicate API name in the org is a conflict. */
  async create(orgId: string, input: ApiInput, ops: OperationTool[]): Promise<ImportOutcome> {
    const ts = now();
    const id = newId();
    return await this.db.tx(async () => {
      await uniqueOr("name", DUPLICATE_NAME, () =>
        this.db.run(
          `INSERT INTO apis (id, org_id, name, title, version, spec_version, base_url, secret_name,
           include_filter, exclude_filter, spec_hash, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      const outcome = await this.#syncTools(orgId, id, ops, ts);
      return { api: (await this.get(orgId, id))!, ...outcome.result, gateways: outcome.gateways };
    });
  }

  /**
   * Re-imports API `id`: replaces its settings and its tools in one
   * transaction. Operations that still exist (same operationId, else same
   * method and path) keep their tool's id, name and gateway assignments;
   * the rest are created or removed. Undefined when the API is not found.
   */
  async replace(
    orgId: string,
    id: string,
    input: ApiInput,
    ops: OperationTool[],
  ): Promise<ImportOutcome | undefined> {
    const ts = now();
    return await this.db.tx(async () => {
      const res = await uniqueOr("name", DUPLICATE_NAME, () =>
        this.db.run(
          `UPDATE apis SET name = ?, title = ?, version = ?, spec_version = ?, base_url = ?,
           secret_name = ?, include_filter = ?, exclude_filter = ?, spec_hash = ?, updated_at = ?
           WHERE org_id = ? AND id = ?`,
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
      if (res.changes === 0) return undefined;
      const outcome = await this.#syncTools(orgId, id, ops, ts);
      this.changes.emit(outcome.gateways);
      return { api: (await this.get(orgId, id))!, ...outcome.result, gateways: outcome.gateways };
    });
  }

  /** The API `id` of `orgId`, if any. */
  async get(orgId: string, id: string): Promise<Api | undefined> {
    const r = await this.db.get("SELECT * FROM apis WHERE org_id = ? AND id = ?", orgId, id);
    return r ? toApi(r) : undefined;
  }

  /** The APIs of `orgId` by name, each with its number of tools. */
  async list(orgId: string): Promise<(Api & { toolCount: number })[]> {
    const rows = await this.db.all(
      `SELECT a.*, (SELECT COUNT(*) FROM tools t WHERE t.api_id = a.id) AS tool_count
       FROM apis a WHERE a.org_id = ? ORDER BY a.name`,
      orgId,
    );
    return rows.map((r) => ({ ...toApi(r), toolCount: Number(r.tool_count) }));
  }

  /**
   * A page of the APIs of `orgId` by name then id, each with its number of
   * tools. The key is `[name, id]`.
   */
  async page(orgId: string, req: PageRequest): Promise<Page<Api & { toolCount: number }>> {
    checkRequest(req, 2);
    const after = req.after ? "AND (a.name, a.id) > (?, ?)" : "";
    const rows = await this.db.all(
      `SELECT a.*, (SELECT COUNT(*) FROM tools t WHERE t.api_id = a.id) AS tool_count
       FROM apis a WHERE a.org_id = ? ${after} ORDER BY a.name, a.id LIMIT ?`,
      orgId,
      ...(req.after ?? []),
      req.limit + 1,
    );
    return pageOf(
      rows,
      req.limit,
      (r) => [r.name as string, r.id as string],
      (r) => ({ ...toApi(r), toolCount: Number(r.tool_count) }),
    );
  }

  /** The tools generated from API `apiId`, by name. */
  async tools(apiId: string): Promise<ApiTool[]> {
    const rows = await this.db.all(
      "SELECT id, name, api_operation_id, api_route FROM tools WHERE api_id = ? ORDER BY name",
      apiId,
    );
    return rows.map(toApiTool);
  }

  /** Deletes an API with its tools and their assignments, in one transaction; false when not found. */
  async delete(orgId: string, id: string): Promise<boolean> {
    return await this.db.tx(async () => {
      if (!await this.get(orgId, id)) return false;
      const gateways = await this.#gatewaysOfApi(id);
      await this.db.run("DELETE FROM tools WHERE org_id = ? AND api_id = ?", orgId, id);
      await this.db.run("DELETE FROM apis WHERE org_id = ? AND id = ?", orgId, id);
      this.changes.emit(gateways);
      return true;
    });
  }

  async #gatewaysOfApi(apiId: string): Promise<string[]> {
    const rows = await this.db.all(
      `SELECT DISTINCT gt.gateway_id FROM gateway_tools gt JOIN tools t ON t.id = gt.tool_id
       WHERE t.api_id = ?`,
      apiId,
    );
    return rows.map((r) => r.gateway_id as string);
  }

  /**
   * How a re-import of API `apiId` with `ops` lines its tools up, read
   * only: the tool each operation updates in place (matched by operationId
   * first, which survives a path change, then by method and path), the
   * name each operation's tool gets, and the tools no operation keeps.
   * Names are unique in the org: a matched tool keeps its name while that
   * is still a name its operation would get, the others take their base
   * name or the first free `_N` suffix.
   */
  async plan(orgId: string, apiId: string, ops: OperationTool[]): Promise<SyncPlan> {
    const old = await this.tools(apiId);
    const others = await this.db.all(
      "SELECT name FROM tools WHERE org_id = ? AND (api_id IS NULL OR api_id != ?)",
      orgId,
      apiId,
    );
    const taken = new Set(others.map((r) => r.name as string));

    const matched = new Map<OperationTool, ApiTool>();
    const free = new Set(old);
    const byOpId = new Map(old.filter((t) => t.operationId).map((t) => [t.operationId!, t]));
    for (const op of ops) {
      const t = op.operationId ? byOpId.get(op.operationId) : undefined;
      if (t && free.has(t)) {
        matched.set(op, t);
        free.delete(t);
      }
    }
    const byRoute = new Map([...free].map((t) => [t.route, t]));
    for (const op of ops) {
      if (matched.has(op)) continue;
      const t = byRoute.get(op.route);
      if (t && free.has(t)) {
        matched.set(op, t);
        free.delete(t);
      }
    }

    const names = new Map<OperationTool, string>();
    for (const [op, t] of matched) {
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
    return { matched, names, removed: [...free] };
  }

  /** The stored tools of API `apiId` whole, by id (what a dry run compares operations with). */
  async definitions(apiId: string): Promise<Map<string, Tool>> {
    const rows = await this.db.all("SELECT * FROM tools WHERE api_id = ?", apiId);
    return new Map(rows.map((r) => [r.id as string, toTool(r)]));
  }

  /** The gateways each tool of API `apiId` is assigned to, by tool id. */
  async assignedGateways(apiId: string): Promise<Map<string, string[]>> {
    const rows = await this.db.all(
      `SELECT gt.tool_id, gt.gateway_id FROM gateway_tools gt JOIN tools t ON t.id = gt.tool_id
       WHERE t.api_id = ? ORDER BY gt.gateway_id`,
      apiId,
    );
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const list = out.get(r.tool_id as string) ?? [];
      list.push(r.gateway_id as string);
      out.set(r.tool_id as string, list);
    }
    return out;
  }

  /**
   * Makes the tools of API `apiId` match `ops` as {@link plan} lines them
   * up (inside the caller's transaction): matched tools are updated in
   * place, new operations inserted, vanished ones deleted.
   */
  async #syncTools(orgId: string, apiId: string, ops: OperationTool[], ts: string) {
    const gateways = await this.#gatewaysOfApi(apiId);
    const { matched: match, names, removed: free } = await this.plan(orgId, apiId, ops);

    for (const t of free) await this.db.run("DELETE FROM tools WHERE id = ?", t.id);
    // Parked under names no real tool can have (tool names hold no spaces), so two tools may
    // swap names without a conflict.
    for (const t of match.values()) {
      await this.db.run("UPDATE tools SET name = ? WHERE id = ?", `parked ${t.id}`, t.id);
    }
    const tools: ApiTool[] = [];
    const inserts: SqlValue[][] = [];
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
      if (existing) {
        await this.db.run(
          `UPDATE tools SET name = ?, title = ?, description = ?, input_schema = ?,
           output_schema = ?, annotations = ?, type = ?, execution_config = ?, updated_at = ?,
           api_operation_id = ?, api_route = ? WHERE id = ?`,
          ...fields,
          ts,
          op.operationId ?? null,
          op.route,
          id,
        );
      } else {
        inserts.push([id, orgId, ...fields, ts, ts, apiId, op.operationId ?? null, op.route]);
      }
      tools.push({ id, name, operationId: op.operationId ?? null, route: op.route });
    }
    await this.#insertTools(inserts);
    tools.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return {
      gateways,
      result: {
        tools,
        counts: { created: ops.length - match.size, updated: match.size, removed: free.length },
      },
    };
  }

  /**
   * Inserts tool `rows` (each the 15 columns of {@link INSERT_TOOL}), many to
   * a statement: one statement per tool cost PostgreSQL's server and driver
   * about 0.4 ms of CPU each, most of a 1,000-operation import's write.
   */
  async #insertTools(rows: SqlValue[][]): Promise<void> {
    let i = 0;
    for (; i + TOOLS_PER_INSERT <= rows.length; i += TOOLS_PER_INSERT) {
      await this.db.run(INSERT_TOOLS, ...rows.slice(i, i + TOOLS_PER_INSERT).flat());
    }
    // The rest one by one: two statement texts in all, whatever the count.
    for (; i < rows.length; i++) await this.db.run(INSERT_TOOL, ...rows[i]);
  }
}
