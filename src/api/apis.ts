/**
 * Routes: `/apis` (import an OpenAPI document as tools, or see what an
 * import would make with `?dryRun=true`; list, get, re-import, or see what
 * a re-import would change with `?dryRun=true`; delete). An API of another
 * org answers 404 exactly like a missing one.
 *
 * These routes are mounted with their own body limit (see `app.ts`): a
 * document can be tens of megabytes.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { actorOf, auditedApiDelete } from "./audit.ts";
import { readJsonBytes } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { presentJob } from "./import_jobs.ts";
import { listQuery, LISTS } from "./lists.ts";
import { presentApi, presentApiTool } from "./present.ts";
import { contextCost } from "../openapi/context_cost.ts";
import type { GeneratedTool } from "../openapi/convert.ts";
import { checkSecret } from "../openapi/import_store.ts";
import type { PreparedImport } from "../openapi/import_task.ts";
import type { Api, SyncPlan } from "../store/apis.ts";
import type { Tool } from "../store/tools.ts";
import { canonicalJson } from "../util/json.ts";

export { MAX_FILTER_VALUES } from "../openapi/import_task.ts";

/**
 * Whether the request asks to be answered before the import is done: `?async=true`
 * or `Prefer: respond-async` (RFC 7240).
 */
function wantsAsync(c: Context<ApiEnv>): boolean {
  const flag = c.req.query("async");
  if (flag !== undefined && flag !== "true" && flag !== "false") {
    throw invalid("async", "async must be true or false");
  }
  if (flag !== undefined) return flag === "true";
  const prefer = c.req.header("prefer") ?? "";
  return prefer.split(",").some((p) => p.split(";")[0].trim().toLowerCase() === "respond-async");
}

/** Whether the request asks for a dry run: `?dryRun=true`. */
function wantsDryRun(c: Context<ApiEnv>): boolean {
  const flag = c.req.query("dryRun");
  if (flag !== undefined && flag !== "true" && flag !== "false") {
    throw invalid("dryRun", "dryRun must be true or false");
  }
  return flag === "true";
}

/**
 * What an import would create, as a dry run answers it: the API's fields,
 * each operation's tool (under the name it asks for, or the one `nameOf`
 * gives it; one taken in the org gets a suffix when stored) with its tags,
 * the context cost and the warnings.
 */
function presentPreview(
  { input, ops, warnings, limits }: PreparedImport,
  nameOf: (op: GeneratedTool) => string = (op) => op.baseName,
) {
  const generated: readonly GeneratedTool[] = ops;
  const tools = generated.map((op) => ({
    id: "",
    name: nameOf(op),
    operationId: op.operationId ?? null,
    route: op.route,
  }));
  const { cost, warnings: costWarnings } = contextCost(generated, tools, limits);
  return {
    dryRun: true,
    name: input.name,
    title: input.title,
    version: input.version,
    specVersion: input.specVersion,
    operations: generated.map((op, i) => ({
      ...presentApiTool(tools[i]),
      title: op.tool.title ?? null,
      tags: op.tags ?? [],
    })).map(({ id: _id, ...rest }) => rest),
    contextCost: cost,
    warnings: [...warnings, ...costWarnings],
  };
}

/** The fields of an API a re-import may change. */
const API_FIELDS = [
  "name",
  "title",
  "version",
  "specVersion",
  "baseUrl",
  "secret",
  "include",
  "exclude",
] as const;
/** The fields of a tool a re-import rewrites. */
const TOOL_FIELDS = [
  "title",
  "description",
  "inputSchema",
  "outputSchema",
  "annotations",
  "type",
  "executionConfig",
] as const;

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * What a re-import of `api` would change, as its dry run answers it: the
 * API's fields that change, each operation's tool (made, updated with the
 * fields that change, or unchanged; renamed ones with their old name), the
 * tools removed with the gateways they are assigned to, and the counts.
 */
function presentReimport(
  api: Api,
  prepared: PreparedImport,
  plan: SyncPlan,
  stored: Map<string, Tool>,
  assigned: Map<string, string[]>,
) {
  const preview = presentPreview(prepared, (op) => plan.names.get(op)!);
  const counts = { created: 0, updated: 0, unchanged: 0, removed: plan.removed.length };
  const operations = prepared.ops.map((op, i) => {
    const kept = plan.matched.get(op);
    const before = kept && stored.get(kept.id);
    const fields = before ? TOOL_FIELDS.filter((f) => !same(before[f], op.tool[f])) : [];
    const renamed = kept !== undefined && kept.name !== preview.operations[i].name;
    const change = !kept ? "create" : fields.length > 0 || renamed ? "update" : "unchanged";
    counts[change === "create" ? "created" : change === "update" ? "updated" : "unchanged"]++;
    return {
      ...preview.operations[i],
      change,
      id: kept?.id ?? null,
      previousName: renamed ? kept.name : null,
      fields,
      gateways: kept ? assigned.get(kept.id) ?? [] : [],
    };
  });
  return {
    ...preview,
    id: api.id,
    sameDocument: api.specHash === prepared.input.specHash,
    settings: API_FIELDS.filter((f) => !same(api[f], prepared.input[f])).map((field) => ({
      field,
      before: api[field] ?? null,
      after: prepared.input[field] ?? null,
    })),
    operations,
    removed: plan.removed.map((t) => ({
      ...presentApiTool(t),
      gateways: assigned.get(t.id) ?? [],
    })),
    counts,
  };
}

/** The API routes. */
export function apiRoutes({ store, imports }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const orgOf = (c: Context<ApiEnv>) => c.get("principal").org.id;

  /**
   * Runs an import of a new API, or a re-import of API `apiId`: answers its
   * result, or with `async` 202 and the job at once. The body is read here as
   * bytes, parsed in the import worker and written there: even parsing a
   * document of tens of megabytes would hold up every other request.
   */
  const runImport = async (c: Context<ApiEnv>, apiId?: string) => {
    const principal = c.get("principal");
    const asJob = wantsAsync(c);
    const request = await readJsonBytes(c);
    const { job, finished } = imports.start(
      { orgId: principal.org.id, actor: actorOf(principal), apiId },
      request,
      asJob,
    );
    if (job) {
      c.header("Location", `/apis/imports/${job.id}`);
      if (!c.req.query("async")) c.header("Preference-Applied", "respond-async");
      return c.json(presentJob(job), 202);
    }
    const { status, body } = await finished;
    return c.json(body, status);
  };

  app.post("/", async (c) => {
    if (!wantsDryRun(c)) return await runImport(c);
    if (c.req.query("async") !== undefined) {
      throw invalid("dryRun", "a dry run answers at once: send it without async");
    }
    const orgId = orgOf(c);
    const prepared = await imports.preview(orgId, await readJsonBytes(c));
    await checkSecret(store, orgId, prepared.input.secret ?? undefined);
    return c.json(presentPreview(prepared));
  });

  app.get("/", async (c) => {
    const orgId = orgOf(c);
    const query = listQuery(c, LISTS.apis, [orgId]);
    const page = await store.apis.page(orgId, query.page);
    const apis = page.items.map(({ toolCount, ...api }) => presentApi(api, toolCount));
    return c.json(query.answer("apis", apis, page.next));
  });

  // Before `/:id`, which would take `imports` for an API id.
  app.get("/imports/:id", (c) => {
    const job = imports.get(orgOf(c), c.req.param("id"));
    if (!job) throw notFound("import job");
    return c.json(presentJob(job));
  });

  app.get("/:id", async (c) => {
    const api = await store.apis.get(orgOf(c), c.req.param("id"));
    if (!api) throw notFound("API");
    const tools = await store.apis.tools(api.id);
    return c.json({ ...presentApi(api, tools.length), tools: tools.map(presentApiTool) });
  });

  // Re-import: the same body as an import; tools of operations that remain keep their ids.
  app.put("/:id", async (c) => {
    const orgId = orgOf(c);
    const api = await store.apis.get(orgId, c.req.param("id"));
    if (!api) throw notFound("API");
    if (!wantsDryRun(c)) return await runImport(c, api.id);
    if (c.req.query("async") !== undefined) {
      throw invalid("dryRun", "a dry run answers at once: send it without async");
    }
    const prepared = await imports.preview(orgId, await readJsonBytes(c));
    await checkSecret(store, orgId, prepared.input.secret ?? undefined);
    const [plan, stored, assigned] = await Promise.all([
      store.apis.plan(orgId, api.id, prepared.ops),
      store.apis.definitions(api.id),
      store.apis.assignedGateways(api.id),
    ]);
    return c.json(presentReimport(api, prepared, plan, stored, assigned));
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (!await auditedApiDelete(c, store, id, () => store.apis.delete(orgOf(c), id))) {
      throw notFound("API");
    }
    return c.body(null, 204);
  });

  return app;
}
