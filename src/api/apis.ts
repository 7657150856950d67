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
import {
  contextCost,
  type ContextLimits,
  DEFAULT_CONTEXT_LIMITS,
  MAX_CONTEXT_LIMIT,
} from "../openapi/context_cost.ts";
import { type ConvertOptions, convertSpec, type GeneratedTool } from "../openapi/convert.ts";
import { loadSpec, SpecError } from "../openapi/parse.ts";
import type { Api, ApiInput, ApiTool, ImportOutcome } from "../store/apis.ts";
import type { Store } from "../store/store.ts";
import { SECRET_NAME } from "../tools/definition.ts";
import { auditedApiDelete, auditedImport } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { listQuery, LISTS } from "./lists.ts";
import {
  type Body,
  onlyFields,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  string,
} from "./validate.ts";

const FIELDS = ["name", "spec", "baseUrl", "secret", "include", "exclude", "slim", "limits"];

/** Most values `include` or `exclude` may list. */
export const MAX_FILTER_VALUES = 1000;

/** What an import request asks for, checked. */
interface ImportRequest {
  name: string;
  spec: unknown;
  options: ConvertOptions;
  /** What the context cost is checked against. */
  limits: ContextLimits;
}

function stringList(body: Body, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (
    !Array.isArray(v) || v.length > MAX_FILTER_VALUES ||
    v.some((x) => typeof x !== "string" || x === "" || x.length > 500)
  ) {
    throw invalid(
      field,
      `${field} must be a list of at most ${MAX_FILTER_VALUES} tags or operationIds (non-empty strings)`,
    );
  }
  return v;
}

function parseBaseUrl(body: Body): string | undefined {
  const text = optionalString(body, "baseUrl", { max: 2000 });
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("baseUrl", "baseUrl must be an absolute http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("baseUrl", "baseUrl must be an absolute http(s) URL");
  }
  if (url.search || url.hash || text.includes("{")) {
    throw invalid("baseUrl", "baseUrl may not have a query, a fragment or template braces");
  }
  if (url.username || url.password) {
    throw invalid("baseUrl", "baseUrl may not carry credentials; name a secret instead");
  }
  // The operation paths are appended to it as written.
  return text.replace(/\/+$/, "");
}

/** Checks an import body (create or re-import). */
function parseImport(body: Body, store: Store, orgId: string): ImportRequest {
  onlyFields(body, FIELDS);
  const name = string(body, "name", { max: 200 });
  if (body.spec === undefined || body.spec === null) throw invalid("spec", "spec is required");
  const options: ConvertOptions = {};
  const baseUrl = parseBaseUrl(body);
  if (baseUrl !== undefined) options.baseUrl = baseUrl;
  const secret = optionalString(body, "secret", {
    max: 128,
    pattern: SECRET_NAME,
    patternHint: "must be a secret name: a letter or '_', then letters, digits or '_'",
  });
  if (secret !== undefined) {
    // Checked now: a typo would otherwise surface only when a model calls a tool.
    if (!store.secrets.byName(orgId, secret)) {
      throw invalid(
        "secret",
        `no secret named '${secret}' in this organization; create it with POST /secrets first`,
      );
    }
    options.secret = secret;
  }
  const include = stringList(body, "include");
  if (include) options.include = include;
  const exclude = stringList(body, "exclude");
  if (exclude) options.exclude = exclude;
  if (optionalBoolean(body, "slim")) options.slim = true;
  const limits = optionalObject(body, "limits") ?? {};
  onlyFields(limits, ["toolBytes", "listBytes"], "limits.");
  const limit = (k: keyof ContextLimits) =>
    optionalInteger(limits, k, 1, MAX_CONTEXT_LIMIT, `limits.${k}`) ?? DEFAULT_CONTEXT_LIMITS[k];
  return {
    name,
    spec: body.spec,
    options,
    limits: { toolBytes: limit("toolBytes"), listBytes: limit("listBytes") },
  };
}

/** Loads and converts the document of `req`; a document the import cannot use is a 400. */
async function prepare(
  req: ImportRequest,
): Promise<{ input: ApiInput; ops: GeneratedTool[]; warnings: string[] }> {
  try {
    const loaded = await loadSpec(req.spec);
    const converted = convertSpec(loaded, req.options);
    return {
      input: {
        name: req.name,
        title: converted.title,
        version: converted.version,
        specVersion: loaded.sourceVersion,
        baseUrl: req.options.baseUrl ?? null,
        secret: req.options.secret ?? null,
        include: req.options.include ?? null,
        exclude: req.options.exclude ?? null,
        specHash: loaded.hash,
      },
      ops: converted.tools,
      warnings: converted.warnings,
    };
  } catch (err) {
    if (err instanceof SpecError) throw invalid(err.field, err.message);
    throw err;
  }
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
export function apiRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const orgOf = (c: Context<ApiEnv>) => c.get("principal").org.id;

  app.post("/", async (c) => {
    const orgId = orgOf(c);
    const req = parseImport(await readJson(c), store, orgId);
    const { input, ops, warnings } = await prepare(req);
    const outcome = auditedImport(c, store, undefined, () => store.apis.create(orgId, input, ops));
    return c.json(presentImport(outcome, ops, warnings, req.limits), 201);
  });

  app.get("/", (c) => {
    const orgId = orgOf(c);
    const query = listQuery(c, LISTS.apis, [orgId]);
    const page = store.apis.page(orgId, query.page);
    const apis = page.items.map(({ toolCount, ...api }) => presentApi(api, toolCount));
    return c.json(query.answer("apis", apis, page.next));
  });

  app.get("/:id", (c) => {
    const api = store.apis.get(orgOf(c), c.req.param("id"));
    if (!api) throw notFound("API");
    const tools = store.apis.tools(api.id);
    return c.json({ ...presentApi(api, tools.length), tools: tools.map(presentApiTool) });
  });

  // Re-import: the same body as an import; tools of operations that remain keep their ids.
  app.put("/:id", async (c) => {
    const orgId = orgOf(c);
    const id = c.req.param("id");
    if (!store.apis.get(orgId, id)) throw notFound("API");
    const req = parseImport(await readJson(c), store, orgId);
    const { input, ops, warnings } = await prepare(req);
    const outcome = auditedImport(c, store, id, () => store.apis.replace(orgId, id, input, ops));
    if (!outcome) throw notFound("API");
    return c.json(presentImport(outcome, ops, warnings, req.limits));
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
