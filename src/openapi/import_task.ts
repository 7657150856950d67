/**
 * The part of an OpenAPI import that needs no store: the request body read
 * from its text, checked field by field, the document refused early when it
 * cannot be imported whatever its operations hold, then loaded and
 * converted. It runs in an import worker (`import_worker.ts`), off the
 * thread that serves every request, and in-process for `deno task corpus`.
 *
 * @module
 */
import { parseJsonBody } from "../api/body.ts";
import { ApiError, invalid } from "../api/errors.ts";
import {
  type Body,
  onlyFields,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  string,
} from "../api/validate.ts";
import type { ApiInput, OperationTool } from "../store/apis.ts";
import { ConflictError } from "../store/errors.ts";
import { SECRET_NAME } from "../tools/definition.ts";
import { isObject } from "../util/json.ts";
import { type ContextLimits, DEFAULT_CONTEXT_LIMITS, MAX_CONTEXT_LIMIT } from "./context_cost.ts";
import { type Conversion, type ConvertOptions, convertSpec, MAX_OPERATIONS } from "./convert.ts";
import {
  type Json,
  type LoadedSpec,
  loadSpec,
  MAX_SPEC_DEPTH,
  parserLibraries,
  SpecError,
} from "./parse.ts";

const FIELDS = ["name", "spec", "baseUrl", "secret", "include", "exclude", "slim", "limits"];

/** Most values `include` or `exclude` may list. */
export const MAX_FILTER_VALUES = 1000;

/**
 * Operations converted between two progress reports. Conversion is cut into
 * runs of path items this size so a large document reports as it goes.
 */
export const CONVERT_CHUNK = 100;

/** What an import request asks for, checked (the document aside). */
export interface ImportRequest {
  name: string;
  options: ConvertOptions;
  /** What the context cost is checked against. */
  limits: ContextLimits;
}

/** The steps of an import, in order; `storing` happens on the main thread. */
export type ImportPhase = "parsing" | "resolving" | "converting" | "storing";

/** How far an import is: its step, and operations converted out of those to convert. */
export interface ImportProgress {
  phase: ImportPhase;
  /** Operations the document has (after include and exclude); null until known. */
  operations: number | null;
  /** Operations converted so far. */
  done: number;
}

/** What a document becomes: the API's fields and its operations as tools. */
export interface PreparedImport {
  input: ApiInput;
  ops: OperationTool[];
  warnings: string[];
  /** What the context cost is checked against, as the request asked. */
  limits: ContextLimits;
}

/** Told as an import goes. */
export interface ImportHooks {
  /** The body's fields are checked; the document itself is not yet. */
  checked?(request: ImportRequest): Promise<void>;
  progress?(progress: ImportProgress): void;
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

/**
 * Checks an import body (create or re-import) except for what needs the
 * store: whether the named secret exists is the caller's to check.
 */
export function checkImportBody(body: Body): ImportRequest & { spec: unknown } {
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
  if (secret !== undefined) options.secret = secret;
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

/**
 * The document as parsed data, cheaply, for the pre-check; undefined when it
 * does not parse here (the loader then says why, in its own words).
 */
async function rawDocument(spec: unknown): Promise<Json | undefined> {
  if (isObject(spec)) return spec;
  if (typeof spec !== "string") return undefined;
  // Loaded here, not imported: this module is also loaded by the server's own thread, which
  // never parses a document.
  const yaml = spec.trimStart().startsWith("{") ? undefined : (await parserLibraries())[1];
  try {
    // The same readers and limits as the loader, so both see the same document.
    const raw = yaml
      ? yaml.load(spec, { json: true, maxAliases: 0, maxDepth: MAX_SPEC_DEPTH })
      : JSON.parse(spec);
    return isObject(raw) ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses, before the expensive steps (validation, upgrade, dereferencing,
 * conversion), a document that no operation content could save: one with no
 * server to call and no `baseUrl`, too many operations, or filters that
 * leave nothing. It converts a skeleton of the document: its version and
 * servers (Swagger's host, basePath and schemes too), and each operation
 * with only what decides those refusals (operationId, tags, servers) under a
 * plain path. The skeleton goes through the real converter (and for Swagger
 * 2.0 the real loader), so a refusal is exactly the one the whole document
 * would get.
 *
 * Returns, for each path of the document, how many of its operations will
 * be converted; undefined when the skeleton says nothing (a path item that is
 * a `$ref`, a document the loader refuses for reasons of its own, or one cut
 * short past {@link MAX_OPERATIONS} entries that were not all operations).
 */
async function precheck(
  spec: unknown,
  options: ConvertOptions,
): Promise<Map<string, number> | undefined> {
  const raw = await rawDocument(spec);
  if (!raw) return undefined;
  const paths = isObject(raw.paths) ? raw.paths : {};
  const keys = Object.keys(paths);
  const stubPaths: Json = {};
  let ops = 0;
  for (const [i, key] of keys.entries()) {
    const item = paths[key];
    if (!isObject(item)) continue;
    if (item.$ref !== undefined) return undefined;
    const stub: Json = {};
    for (const [field, value] of Object.entries(item)) {
      if (field === "servers") stub.servers = value;
      // Methods, and extensions (which the converter passes over the same way).
      if (field === "servers" || field === "parameters" || !isObject(value)) continue;
      const op: Json = { responses: { "200": { description: "" } } };
      for (const k of ["operationId", "tags", "servers"]) if (k in value) op[k] = value[k];
      stub[field] = op;
      ops++;
    }
    stubPaths[`/p${i}`] = stub;
    // Enough to be refused for too many: validating the rest would take seconds (Microsoft
    // Graph's 22,000 operations: 3 s).
    if (ops > MAX_OPERATIONS && !options.include && !options.exclude) break;
  }
  const truncated = Object.keys(stubPaths).length < keys.length;
  const skeleton: Json = { info: { title: "", version: "" }, paths: stubPaths };
  for (const k of ["openapi", "swagger", "servers", "host", "basePath", "schemes"]) {
    if (k in raw) skeleton[k] = raw[k];
  }
  let loaded: LoadedSpec;
  if (typeof raw.openapi === "string" && /^3\.[01]\.\d/.test(raw.openapi)) {
    // What the converter reads of it is the same in 3.0 and 3.1, and needs no
    // validation: validating thousands of operations would take longer than the refusal.
    loaded = { document: skeleton, refOf: new WeakMap(), sourceVersion: raw.openapi, hash: "" };
  } else {
    // Swagger 2.0's servers are its host, basePath and schemes, as the upgrade makes them.
    try {
      loaded = await loadSpec(skeleton);
    } catch {
      return undefined;
    }
  }
  // A SpecError here is the whole document's refusal too.
  const { tools } = convertSpec(loaded, options);
  // Cut short, yet not refused: some entries were extensions, not operations; no counts then.
  if (truncated) return undefined;
  const perPath = new Map<string, number>();
  for (const t of tools) {
    const key = keys[Number(t.route.slice(t.route.indexOf(" /p") + 3))];
    perPath.set(key, (perPath.get(key) ?? 0) + 1);
  }
  return perPath;
}

/**
 * Converts `loaded` like `convertSpec`, in runs of about
 * {@link CONVERT_CHUNK} operations so that `report` hears how many are done.
 * Every operation converts on its own, so the runs put together are the
 * whole conversion. Filters need the whole document (they warn about values
 * that match nothing anywhere), and a run that fails may fail only as a part
 * (all of its operations skipped), so both convert the whole document at
 * once instead, with its exact result or refusal.
 */
function convertInRuns(
  loaded: LoadedSpec,
  options: ConvertOptions,
  perPath: Map<string, number> | undefined,
  report: (done: number) => void,
): Conversion {
  const total = perPath ? [...perPath.values()].reduce((a, b) => a + b, 0) : 0;
  if (!perPath || options.include || options.exclude || total <= CONVERT_CHUNK) {
    return convertSpec(loaded, options);
  }
  const doc = loaded.document;
  const entries = Object.entries(isObject(doc.paths) ? doc.paths : {});
  const tools: OperationTool[] = [];
  const warnings: string[] = [];
  let title = "";
  let version = "";
  let done = 0;
  try {
    for (let start = 0; start < entries.length;) {
      const run: Json = {};
      let count = 0;
      while (start < entries.length && count < CONVERT_CHUNK) {
        const [key, item] = entries[start++];
        run[key] = item;
        count += perPath.get(key) ?? 0;
      }
      const part = convertSpec({ ...loaded, document: { ...doc, paths: run } }, options);
      tools.push(...part.tools);
      warnings.push(...part.warnings);
      ({ title, version } = part);
      done += count;
      report(done);
    }
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return convertSpec(loaded, options);
  }
  return { tools, warnings, title, version };
}

/**
 * Runs an import request's body `text` up to the store write: parses and
 * checks it, refuses early what cannot be imported, loads and converts the
 * document. Throws {@link ApiError}: 400 naming the field for anything
 * wrong with the request or the document.
 */
export async function prepareImport(
  text: string,
  hooks: ImportHooks = {},
): Promise<PreparedImport> {
  const progress = (p: ImportProgress) => hooks.progress?.(p);
  progress({ phase: "parsing", operations: null, done: 0 });
  const { spec, ...request } = checkImportBody(parseJsonBody(text));
  await hooks.checked?.(request);
  try {
    const perPath = await precheck(spec, request.options);
    let operations = perPath ? [...perPath.values()].reduce((a, b) => a + b, 0) : null;
    progress({ phase: "resolving", operations, done: 0 });
    const loaded = await loadSpec(spec);
    progress({ phase: "converting", operations, done: 0 });
    const converted = convertInRuns(
      loaded,
      request.options,
      perPath,
      (done) => progress({ phase: "converting", operations, done }),
    );
    operations ??= converted.tools.length;
    progress({ phase: "converting", operations, done: operations });
    const { options } = request;
    return {
      input: {
        name: request.name,
        title: converted.title,
        version: converted.version,
        specVersion: loaded.sourceVersion,
        baseUrl: options.baseUrl ?? null,
        secret: options.secret ?? null,
        include: options.include ?? null,
        exclude: options.exclude ?? null,
        specHash: loaded.hash,
      },
      ops: converted.tools,
      warnings: converted.warnings,
      limits: request.limits,
    };
  } catch (err) {
    if (err instanceof SpecError) throw invalid(err.field, err.message);
    throw err;
  }
}

/** An {@link ApiError} as plain data, to cross from a worker to the main thread. */
export interface ImportError {
  status: number;
  code: string;
  message: string;
  field?: string;
}

/**
 * `err` as {@link ImportError}: an {@link ApiError} as it is, a name taken
 * (`ConflictError`) as 409, anything else an internal error.
 */
export function importError(err: unknown): ImportError {
  if (err instanceof ConflictError) {
    const out: ImportError = { status: 409, code: "conflict", message: err.message };
    if (err.field) out.field = err.field;
    return out;
  }
  if (err instanceof ApiError) {
    const out: ImportError = { status: err.status, code: err.code, message: err.message };
    if (err.field !== undefined) out.field = err.field;
    return out;
  }
  return { status: 500, code: "internal_error", message: "internal server error" };
}
