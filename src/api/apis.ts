/**
 * Routes: `/apis` (import an OpenAPI document as tools, list, get,
 * re-import, delete). An API of another org answers 404 exactly like a
 * missing one.
 *
 * These routes are mounted with their own body limit (see `app.ts`): a
 * document can be tens of megabytes.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { contextCost, type ContextLimits } from "../openapi/context_cost.ts";
import type { GeneratedTool } from "../openapi/convert.ts";
import type { ImportRequest, PreparedImport } from "../openapi/import_task.ts";
import type { Api, ApiTool, ImportOutcome } from "../store/apis.ts";
import type { Store } from "../store/store.ts";
import { auditedApiDelete, auditedImport } from "./audit.ts";
import { readJsonBytes } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { presentJob } from "./import_jobs.ts";
import { listQuery, LISTS } from "./lists.ts";

export { MAX_FILTER_VALUES } from "../openapi/import_task.ts";

/** Checks what of a checked import request needs the store: that its secret exists. */
function acceptImport(store: Store, orgId: string, { options }: ImportRequest): void {
  const { secret } = options;
  // Checked now: a typo would otherwise surface only when a model calls a tool.
  if (secret !== undefined && !store.secrets.byName(orgId, secret)) {
    throw invalid(
      "secret",
      `no secret named '${secret}' in this organization; create it with POST /secrets first`,
    );
  }
}

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

/** An API's tool as listed with it. */
function presentApiTool(t: ApiTool) {
  const space = t.route.indexOf(" ");
  return {
    id: t.id,
    name: t.name,
    operationId: t.operationId,
    method: t.route.slice(0, space),
    path: t.route.slice(space + 1),
  };
}

/** An API as the API returns it. */
export function presentApi(api: Api, toolCount: number) {
  const { orgId: _orgId, ...rest } = api;
  return { ...rest, toolCount };
}

/** An import's answer: the API, its tools, what changed, the context cost and every warning. */
function presentImport(
  outcome: ImportOutcome,
  ops: GeneratedTool[],
  warnings: string[],
  limits: ContextLimits,
) {
  const { cost, warnings: costWarnings } = contextCost(ops, outcome.tools, limits);
  return {
    ...presentApi(outcome.api, outcome.tools.length),
    tools: outcome.tools.map(presentApiTool),
    ...outcome.counts,
    contextCost: cost,
    warnings: [...warnings, ...costWarnings],
  };
}

/** The API routes. */
export function apiRoutes({ store, imports }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const orgOf = (c: Context<ApiEnv>) => c.get("principal").org.id;

  /**
   * Runs an import: answers its result, or with `async` 202 and the job at
   * once. The body is read here as text and parsed in the import worker:
   * even parsing a document of tens of megabytes would hold up every other
   * request.
   */
  const runImport = async (
    c: Context<ApiEnv>,
    write: (prepared: PreparedImport) => { status: 200 | 201; outcome: ImportOutcome },
  ) => {
    const orgId = orgOf(c);
    const asJob = wantsAsync(c);
    const request = await readJsonBytes(c);
    const { job, finished } = imports.start(orgId, request, {
      accept: (request) => acceptImport(store, orgId, request),
      store: (prepared) => {
        const { status, outcome } = write(prepared);
        return {
          status,
          body: presentImport(outcome, prepared.ops, prepared.warnings, prepared.limits),
        };
      },
    }, asJob);
    if (job) {
      c.header("Location", `/apis/imports/${job.id}`);
      if (!c.req.query("async")) c.header("Preference-Applied", "respond-async");
      return c.json(presentJob(job), 202);
    }
    const { status, body } = await finished;
    return c.json(body, status);
  };

  app.post("/", (c) =>
    runImport(c, ({ input, ops }) => ({
      status: 201,
      outcome: auditedImport(c, store, undefined, () => store.apis.create(orgOf(c), input, ops)),
    })));

  app.get("/", (c) => {
    const orgId = orgOf(c);
    const query = listQuery(c, LISTS.apis, [orgId]);
    const page = store.apis.page(orgId, query.page);
    const apis = page.items.map(({ toolCount, ...api }) => presentApi(api, toolCount));
    return c.json(query.answer("apis", apis, page.next));
  });

  // Before `/:id`, which would take `imports` for an API id.
  app.get("/imports/:id", (c) => {
    const job = imports.get(orgOf(c), c.req.param("id"));
    if (!job) throw notFound("import job");
    return c.json(presentJob(job));
  });

  app.get("/:id", (c) => {
    const api = store.apis.get(orgOf(c), c.req.param("id"));
    if (!api) throw notFound("API");
    const tools = store.apis.tools(api.id);
    return c.json({ ...presentApi(api, tools.length), tools: tools.map(presentApiTool) });
  });

  // Re-import: the same body as an import; tools of operations that remain keep their ids.
  app.put("/:id", (c) => {
    const orgId = orgOf(c);
    const id = c.req.param("id");
    if (!store.apis.get(orgId, id)) throw notFound("API");
    return runImport(c, ({ input, ops }) => {
      // The API may have been deleted while its document was converted.
      const outcome = auditedImport(c, store, id, () => store.apis.replace(orgId, id, input, ops));
      if (!outcome) throw notFound("API");
      return { status: 200, outcome };
    });
  });

  app.delete("/:id", (c) => {
    const id = c.req.param("id");
    if (!auditedApiDelete(c, store, id, () => store.apis.delete(orgOf(c), id))) {
      throw notFound("API");
    }
    return c.body(null, 204);
  });

  return app;
}
