/**
 * Operations of a loaded OpenAPI document turned into `http` tools.
 *
 * Each tool's arguments are its parameters (path, query, header, cookie; each
 * under a name safe for model APIs, with the name on the wire in the
 * description when it differs) plus, when the operation takes a request body,
 * one argument `body` holding the whole body. The body is nested rather than
 * merged into the top level so a body property can never collide with a
 * parameter (Twilio has both a `Body` form field and path parameters; Discord
 * has body fields named like path parameters), and so bodies that are not
 * objects (lists, `oneOf`s, raw text) work the same way.
 *
 * Where each argument goes is spelled out in the execution config: path
 * parameters as `{{parameters.NAME}}` in the URL (percent-encoded per
 * segment by the executor), query, header and cookie parameters in
 * `parameters` (with their `style` and `explode`), the body in `body` with
 * `bodyEncoding` saying how to encode it.
 *
 * @module
 */
import type { OperationTool } from "../store/apis.ts";
import type { JsonObject, ToolInput } from "../store/tools.ts";
import { checkObjectSchema, normalizeHttpConfig } from "../tools/definition.ts";
import { argName, baseToolName } from "./names.ts";
import { type Json, type LoadedSpec, SpecError } from "./parse.ts";
import { clip, MAX_SCHEMA_DESCRIPTION, writeToolSchemas } from "./schema.ts";
import { isObject } from "../util/json.ts";

/** What the caller chose besides the document. */
export interface ConvertOptions {
  /** Replaces every server URL of the document (operation and path servers too). */
  baseUrl?: string;
  /** Name of the secret that authenticates every call (set as `executionConfig.auth`). */
  secret?: string;
  /** Keep only operations whose operationId or one of whose tags is listed. */
  include?: string[];
  /** Leave out operations whose operationId or one of whose tags is listed. */
  exclude?: string[];
}

/** One operation as a tool, before it gets its unique name (stored as the store reads it). */
export type GeneratedTool = OperationTool;

/** What a document converts into. */
export interface Conversion {
  tools: GeneratedTool[];
  /** Things the user should know: operations skipped, filters that matched nothing. */
  warnings: string[];
  title: string;
  version: string;
}

/** Longest tool description; long ones are cut with an ellipsis. */
export const MAX_TOOL_DESCRIPTION = 1024;
/** Longest tool title. */
export const MAX_TOOL_TITLE = 200;
/** Most operations one document may turn into tools. */
export const MAX_OPERATIONS = 5000;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];

/** Keywords of a body schema that no longer apply once the body is raw text. */
const RAW_BODY_DROPPED = [
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "items",
  "prefixItems",
  "allOf",
  "anyOf",
  "$ref",
];

/** Header parameters OpenAPI says to ignore: the request body and the auth set them. */
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);

/** Why one operation cannot become a tool; it is left out with a warning. */
class Skip extends Error {}

/** The operation, and every other one, needs a server URL that the document does not give. */
class NoServer extends Error {}

/** A media type without parameters, lower-cased. */
function bare(mediaType: string): string {
  return mediaType.split(";")[0].trim().toLowerCase();
}

const isJsonType = (t: string) => {
  const b = bare(t);
  return b === "application/json" || b.endsWith("+json") || b === "*/*";
};

/**
 * The media type a body is sent as, when an operation offers several: JSON
 * (the one a model writes best), then form, multipart, text, and any other.
 */
function pickMediaType(content: Json): string | undefined {
  const types = Object.keys(content);
  return types.find((t) => bare(t) === "application/json") ??
    types.find(isJsonType) ??
    types.find((t) => bare(t) === "application/x-www-form-urlencoded") ??
    types.find((t) => bare(t) === "multipart/form-data") ??
    types.find((t) => bare(t).startsWith("text/")) ??
    types[0];
}

/** `url` with each `{name}` replaced by the server variable's default. */
function substituteVariables(url: string, variables: unknown): string {
  return url.replace(/\{([^{}]+)\}/g, (m, name: string) => {
    const v = isObject(variables) ? variables[name] : undefined;
    return isObject(v) && typeof v.default === "string" ? v.default : m;
  });
}

/** The first usable server URL of a server list, absolute (resolved against `against`). */
function serverUrl(servers: unknown, against: string | undefined): string | undefined {
  if (!Array.isArray(servers) || servers.length === 0) return undefined;
  const first = servers[0];
  if (!isObject(first) || typeof first.url !== "string") return undefined;
  const url = substituteVariables(first.url, first.variables);
  if (/\{[^{}]*\}/.test(url)) return undefined;
  try {
    const resolved = new URL(url, against);
    if (resolved.protocol !== "http:" && resolved.protocol !== "https:") return undefined;
    return resolved.href;
  } catch {
    return undefined;
  }
}

/** `base` and `path` joined with exactly one `/`. */
function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

/** Literal path text in URL form (spaces, non-ASCII encoded; `/`, `@`, `:` kept). */
function encodeLiteralPath(text: string): string {
  return encodeURI(text).replace(/%25([0-9A-Fa-f]{2})/g, "%$1").replace(
    /[?#]/g,
    encodeURIComponent,
  );
}

/** The tool description: summary and description, or what the operation is when it has neither. */
function describe(op: Json, method: string, path: string): string {
  const parts = [op.summary, op.description]
    .filter((p): p is string => typeof p === "string" && p.trim() !== "")
    .map((p) => p.trim());
  if (parts.length === 2 && parts[1].startsWith(parts[0])) parts.shift();
  let text = parts.join("\n\n") || `${method.toUpperCase()} ${path}`;
  if (op.deprecated === true) text = `Deprecated. ${text}`;
  return clip(text, MAX_TOOL_DESCRIPTION);
}

/** MCP annotations that follow from the HTTP method. */
function annotationsFor(method: string): JsonObject {
  switch (method) {
    case "get":
    case "head":
    case "options":
      return { readOnlyHint: true, openWorldHint: true };
    case "delete":
      return {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: true,
      };
    case "put":
      return {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: true,
      };
    case "patch":
      return {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      };
    default:
      // POST mostly creates: additive, and not safe to repeat.
      return {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      };
  }
}

/** Whether a response list promises JSON on success (then the tool asks for it with Accept). */
function returnsJson(responses: unknown): boolean {
  if (!isObject(responses)) return false;
  return Object.entries(responses).some(([status, res]) =>
    (status.startsWith("2") || status === "default") && isObject(res) &&
    isObject(res.content) && Object.keys(res.content).some(isJsonType)
  );
}

/** A parameter of an operation, merged from path and operation level. */
interface Param {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  description?: string;
  deprecated?: boolean;
  style?: string;
  explode?: boolean;
  schema: unknown;
  /** Serialised as JSON (`content: {"application/json": ...}` instead of `schema`). */
  json: boolean;
  example?: unknown;
}

function readParams(pathItem: Json, op: Json): Param[] {
  const byKey = new Map<string, Json>();
  for (const list of [pathItem.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    // Operation-level parameters override path-level ones of the same name and place.
    for (const p of list) if (isObject(p)) byKey.set(`${p.in}\0${p.name}`, p);
  }
  const out: Param[] = [];
  for (const p of byKey.values()) {
    if (typeof p.name !== "string" || typeof p.in !== "string") continue;
    if (!["path", "query", "header", "cookie"].includes(p.in)) continue;
    if (p.in === "header" && IGNORED_HEADERS.has(p.name.toLowerCase())) continue;
    let schema: unknown = p.schema;
    let json = false;
    if (schema === undefined && isObject(p.content)) {
      const [type, media] = Object.entries(p.content)[0] ?? [];
      schema = isObject(media) ? media.schema : undefined;
      json = type !== undefined && isJsonType(type);
    }
    out.push({
      name: p.name,
      in: p.in as Param["in"],
      required: p.in === "path" || p.required === true,
      description: typeof p.description === "string" ? p.description : undefined,
      deprecated: p.deprecated === true,
      style: typeof p.style === "string" ? p.style : undefined,
      explode: typeof p.explode === "boolean" ? p.explode : undefined,
      schema: schema ?? {},
      json,
      example: p.example,
    });
  }
  return out;
}

/** Whether a body property is a file upload (sent as a file part in multipart bodies). */
function isFileSchema(s: unknown): boolean {
  if (!isObject(s)) return false;
  if (s.format === "binary" || s.format === "byte" || typeof s.contentMediaType === "string") {
    return true;
  }
  return Array.isArray(s.anyOf) && s.anyOf.some(isFileSchema);
}

/** Filters operations by tag or operationId, remembering which filter values matched. */
class Filter {
  readonly #include?: Set<string>;
  readonly #exclude?: Set<string>;
  readonly #matched = new Set<string>();

  constructor(include?: string[], exclude?: string[]) {
    if (include) this.#include = new Set(include);
    if (exclude) this.#exclude = new Set(exclude);
  }

  keep(op: Json): boolean {
    const keys = [
      ...(typeof op.operationId === "string" ? [op.operationId] : []),
      ...(Array.isArray(op.tags) ? op.tags.filter((t) => typeof t === "string") : []),
    ];
    const hit = (set?: Set<string>) => {
      const found = keys.filter((k) => set?.has(k));
      found.forEach((k) => this.#matched.add(k));
      return found.length > 0;
    };
    const included = this.#include ? hit(this.#include) : true;
    const excluded = hit(this.#exclude);
    return included && !excluded;
  }

  unmatched(): { field: string; value: string }[] {
    const out: { field: string; value: string }[] = [];
    for (const [field, set] of [["include", this.#include], ["exclude", this.#exclude]] as const) {
      for (const v of set ?? []) if (!this.#matched.has(v)) out.push({ field, value: v });
    }
    return out;
  }
}

/** Converts one operation; throws {@link Skip} or {@link NoServer} when it cannot be a tool. */
function convertOperation(
  spec: LoadedSpec,
  opts: ConvertOptions,
  docServer: string | undefined,
  path: string,
  pathItem: Json,
  method: string,
  op: Json,
): GeneratedTool {
  const server = opts.baseUrl ??
    serverUrl(op.servers, docServer) ??
    serverUrl(pathItem.servers, docServer) ??
    docServer;
  if (server === undefined) throw new NoServer();

  const params = readParams(pathItem, op);
  const taken = new Set<string>();
  const requestBody = isObject(op.requestBody) ? op.requestBody : undefined;
  const content = requestBody && isObject(requestBody.content) ? requestBody.content : undefined;
  // fetch cannot send a body with GET or HEAD, so such an operation offers none.
  const bodyless = method === "get" || method === "head";
  const mediaType = content && !bodyless ? pickMediaType(content) : undefined;
  // Reserved first: the body keeps its plain name, a parameter called `body` gets another.
  const bodyArg = mediaType ? argName("body", taken) : undefined;
  const args = params.map((p) => ({ p, arg: argName(p.name, taken) }));

  // Path: each {name} becomes a template over its argument; the rest stays literal.
  const pathArgs = new Map(args.filter((a) => a.p.in === "path").map((a) => [a.p.name, a.arg]));
  let urlPath = "";
  let last = 0;
  for (const m of path.matchAll(/\{([^{}]+)\}/g)) {
    const arg = pathArgs.get(m[1]);
    if (!arg) throw new Skip(`path parameter '${m[1]}' is not declared`);
    urlPath += encodeLiteralPath(path.slice(last, m.index)) + `{{parameters.${arg}}}`;
    last = m.index + m[0].length;
  }
  urlPath += encodeLiteralPath(path.slice(last));

  const sources: Record<string, unknown> = {};
  for (const { p, arg } of args) sources[arg] = p.schema;
  const media = mediaType && content ? content[mediaType] : undefined;
  const bodySchema = isObject(media) && media.schema !== undefined ? media.schema : {};
  if (bodyArg) sources[bodyArg] = bodySchema;
  const written = writeToolSchemas(spec.document, spec.refOf, sources);

  const properties: Json = {};
  const required: string[] = [];
  const parameters: Json[] = [];
  // Path parameters first (a model fills them in order), then the rest as declared.
  const ordered = [
    ...args.filter((a) => a.p.in === "path"),
    ...args.filter((a) => a.p.in !== "path"),
  ];
  for (const { p, arg } of ordered) {
    const schema = written.schemas[arg];
    const prop: Json = typeof schema === "boolean" ? {} : { ...schema };
    const notes: string[] = [];
    if (p.description?.trim()) notes.push(p.description.trim());
    else if (typeof prop.description === "string") notes.push(prop.description);
    if (arg !== p.name) notes.push(`(${p.in} parameter '${p.name}')`);
    if (notes.length > 0) prop.description = clip(notes.join(" "), MAX_SCHEMA_DESCRIPTION);
    if (p.deprecated) prop.deprecated = true;
    if (p.example !== undefined && prop.examples === undefined) prop.examples = [p.example];
    properties[arg] = prop;
    if (p.required) required.push(arg);
    if (p.in === "path") continue;
    const entry: Json = { name: p.name, in: p.in };
    if (arg !== p.name) entry.arg = arg;
    if (p.style !== undefined) entry.style = p.style;
    if (p.explode !== undefined) entry.explode = p.explode;
    if (p.json) entry.json = true;
    parameters.push(entry);
  }

  const headers: Record<string, string> = {};
  if (returnsJson(op.responses)) headers.Accept = "application/json";
  const config: Json = { method: method.toUpperCase(), url: joinUrl(server, urlPath) };
  if (bodyArg && mediaType) {
    const type = bare(mediaType);
    const bodyProp = written.schemas[bodyArg];
    const prop: Json = typeof bodyProp === "boolean" ? {} : { ...bodyProp };
    if (typeof requestBody?.description === "string" && requestBody.description.trim()) {
      prop.description = clip(requestBody.description, MAX_SCHEMA_DESCRIPTION);
    }
    config.body = `{{parameters.${bodyArg}}}`;
    if (isJsonType(type)) {
      config.bodyEncoding = "json";
      if (type !== "application/json" && type !== "*/*") headers["Content-Type"] = mediaType;
    } else if (type === "application/x-www-form-urlencoded") {
      config.bodyEncoding = "form";
    } else if (type === "multipart/form-data") {
      config.bodyEncoding = "multipart";
      const encoding = isObject(media) && isObject(media.encoding) ? media.encoding : {};
      const props = isObject(bodySchema) && isObject(bodySchema.properties)
        ? bodySchema.properties
        : {};
      const files = Object.keys(props).filter((k) => {
        const enc = encoding[k];
        const declared = isObject(enc) && typeof enc.contentType === "string"
          ? bare(enc.contentType)
          : undefined;
        return isFileSchema(props[k]) ||
          (declared !== undefined && declared !== "text/plain" && declared !== "application/json");
      });
      if (files.length > 0) config.bodyFiles = files;
    } else {
      // Anything else (XML, plain text, octet streams) is sent as the text the model writes.
      headers["Content-Type"] = mediaType;
      prop.type = "string";
      prop.description = clip(
        `${typeof prop.description === "string" ? `${prop.description} ` : ""}` +
          `The raw ${type} request body, as text.`,
        MAX_SCHEMA_DESCRIPTION,
      );
      for (const k of RAW_BODY_DROPPED) delete prop[k];
    }
    properties[bodyArg] = prop;
    if (requestBody?.required === true) required.push(bodyArg);
  }
  if (Object.keys(headers).length > 0) config.headers = headers;
  if (parameters.length > 0) config.parameters = parameters;
  if (opts.secret) config.auth = { secret: opts.secret };

  const inputSchema: JsonObject = { type: "object", properties };
  if (required.length > 0) inputSchema.required = required;
  if (written.defs) inputSchema.$defs = written.defs;
  const problem = checkObjectSchema(inputSchema, "inputSchema");
  if (problem) throw new Skip(problem.message);
  const normalized = normalizeHttpConfig(config, inputSchema);
  if ("problem" in normalized) throw new Skip(normalized.problem.message);

  const operationId = typeof op.operationId === "string" ? op.operationId : undefined;
  const tool: Omit<ToolInput, "name"> = {
    description: describe(op, method, path),
    inputSchema,
    type: "http",
    executionConfig: normalized.config,
    annotations: annotationsFor(method),
  };
  if (typeof op.summary === "string" && op.summary.trim()) {
    tool.title = clip(op.summary, MAX_TOOL_TITLE);
  }
  const generated: GeneratedTool = {
    route: `${method.toUpperCase()} ${path}`,
    baseName: baseToolName(operationId, method, path),
    tool,
  };
  if (operationId) generated.operationId = operationId;
  return generated;
}

/**
 * Turns every operation of `spec` that passes the filters into a tool.
 * Operations that cannot be one are left out with a warning; a document
 * with no server to call (and no `baseUrl`) or with nothing to import is a
 * {@link SpecError}.
 */
export function convertSpec(spec: LoadedSpec, opts: ConvertOptions = {}): Conversion {
  const doc = spec.document;
  const info = isObject(doc.info) ? doc.info : {};
  const docServer = opts.baseUrl ?? serverUrl(doc.servers, undefined);
  const paths = isObject(doc.paths) ? doc.paths : {};
  const filter = new Filter(opts.include, opts.exclude);
  const tools: GeneratedTool[] = [];
  const warnings: string[] = [];
  let noServer = 0;
  let operations = 0;
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of Object.keys(item)) {
      const op = item[method];
      if (!isObject(op)) continue;
      if (!METHODS.includes(method)) {
        if (method === "trace") warnings.push(`TRACE ${path}: TRACE is not supported; skipped`);
        continue;
      }
      operations++;
      if (!filter.keep(op)) continue;
      if (tools.length >= MAX_OPERATIONS) {
        throw new SpecError(
          `spec has more than ${MAX_OPERATIONS} operations; narrow it with include`,
        );
      }
      try {
        tools.push(convertOperation(spec, opts, docServer, path, item, method, op));
      } catch (err) {
        if (err instanceof NoServer) noServer++;
        else if (err instanceof Skip) {
          warnings.push(`${method.toUpperCase()} ${path}: ${err.message}; skipped`);
        } else throw err;
      }
    }
  }
  if (noServer > 0) {
    const declared = Array.isArray(doc.servers) && isObject(doc.servers[0])
      ? doc.servers[0].url
      : undefined;
    throw new SpecError(
      typeof declared === "string"
        ? `the document's server URL '${declared}' is not an absolute http(s) URL; give baseUrl`
        : "the document names no server to call; give baseUrl",
      "baseUrl",
    );
  }
  for (const { field, value } of filter.unmatched()) {
    warnings.push(`${field} value '${value}' matches no operationId or tag`);
  }
  if (operations === 0) throw new SpecError("spec has no operations to import");
  if (tools.length === 0) {
    throw new SpecError(
      opts.include || opts.exclude
        ? "include and exclude leave no operation to import"
        : "no operation of the document could be imported: " + warnings.slice(0, 3).join("; "),
      opts.include || opts.exclude ? (opts.include ? "include" : "exclude") : "spec",
    );
  }
  return {
    tools,
    warnings,
    title: typeof info.title === "string" ? info.title : "",
    version: typeof info.version === "string" ? info.version : "",
  };
}
