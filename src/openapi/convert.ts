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
 * `bodyEncoding` saying how to encode it: JSON; a form or multipart body
 * with the media type's `encoding` as `bodyFields` and its files, which the
 * model passes as base64, in `bodyFiles`; or raw, the model's text (bytes
 * of its base64 where the schema says the content is base64). Arguments the
 * operation does not take are refused (`additionalProperties: false`).
 *
 * @module
 */
import type { OperationTool } from "../store/apis.ts";
import type { JsonObject, ToolInput } from "../store/tools.ts";
import { checkObjectSchema, normalizeHttpConfig } from "../tools/definition.ts";
import { BODY_FIELD_STYLES, isMediaType } from "../tools/http_parameters.ts";
import { argName, baseToolName } from "./names.ts";
import { type Json, type LoadedSpec, SpecError } from "./parse.ts";
import { clip, MAX_SCHEMA_DESCRIPTION, writeToolSchemas } from "./schema.ts";
import { slimTool } from "./context_cost.ts";
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
  /** Slim every input schema (see `slim.ts`), recording the bytes saved. */
  slim?: boolean;
}

/** One operation as a tool, before it gets its unique name (stored as the store reads it). */
export interface GeneratedTool extends OperationTool {
  /** Bytes `slim` took off the tool's `tools/list` entry (slimmed imports only). */
  slimSavedBytes?: number;
  /** The operation's tags, as a dry run shows them (include and exclude take them). */
  tags?: string[];
}

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

/** Keywords of a body schema that no longer apply once the body is raw text or bytes. */
const RAW_BODY_DROPPED = [
  "format",
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

/** Literal query text in URL form (as {@link encodeLiteralPath}, keeping `?`). */
function encodeLiteralQuery(text: string): string {
  return encodeURI(text).replace(/%25([0-9A-Fa-f]{2})/g, "%$1").replace(/#/g, "%23");
}

/** `text` with each `{name}` made a template over the path parameter's argument. */
function fillTemplates(
  text: string,
  pathArgs: ReadonlyMap<string, string>,
  encode: (literal: string) => string,
  undeclared: (name: string) => string,
): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(/\{([^{}]+)\}/g)) {
    const arg = pathArgs.get(m[1]);
    if (!arg) throw new Skip(undeclared(m[1]));
    out += encode(text.slice(last, m.index)) + `{{parameters.${arg}}}`;
    last = m.index + m[0].length;
  }
  return out + encode(text.slice(last));
}

/**
 * The path and query of an operation's URL, templates over path arguments.
 * Some documents fix query parameters in the path key
 * (`/rest?method=flickr.favorites.getList`): those go into the query, a
 * `{name}` there is filled like a path parameter, and a pair whose value is
 * just a query parameter's `{name}` is left to that parameter.
 */
function urlPathOf(
  path: string,
  pathArgs: ReadonlyMap<string, string>,
  queryNames: ReadonlySet<string>,
): string {
  const q = path.indexOf("?");
  const urlPath = fillTemplates(
    q < 0 ? path : path.slice(0, q),
    pathArgs,
    encodeLiteralPath,
    (name) => `path parameter '${name}' is not declared`,
  );
  if (q < 0) return urlPath;
  const pairs: string[] = [];
  for (const pair of path.slice(q + 1).replace(/#.*$/, "").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const value = eq < 0 ? undefined : pair.slice(eq + 1);
    const named = value === undefined ? undefined : /^\{([^{}]+)\}$/.exec(value)?.[1];
    if (named !== undefined && !pathArgs.has(named) && queryNames.has(named)) continue;
    const key = encodeLiteralQuery(eq < 0 ? pair : pair.slice(0, eq));
    pairs.push(
      value === undefined ? key : `${key}=${
        fillTemplates(
          value,
          pathArgs,
          encodeLiteralQuery,
          (name) => `parameter '${name}' in the path's query is not declared`,
        )
      }`,
    );
  }
  return pairs.length > 0 ? `${urlPath}?${pairs.join("&")}` : urlPath;
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

/**
 * How a `deepObject` query parameter goes on the wire. OpenAPI leaves lists
 * undefined there; they are sent with indexes, the form most servers read.
 */
function deepObjectNote(p: Param): string {
  const list = isObject(p.schema) && p.schema.type === "array";
  return list
    ? `Sent as ${p.name}[0]=…&${p.name}[1]=… (deepObject).`
    : `Sent as ${p.name}[key]=value (deepObject); lists inside with indexes: ` +
      `${p.name}[key][0]=….`;
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

const FORM_TYPE = "application/x-www-form-urlencoded";
const MULTIPART_TYPE = "multipart/form-data";
const OCTET_STREAM = "application/octet-stream";

/** Keywords that make an untyped schema a JSON structure rather than text or bytes. */
const STRUCTURE_KEYWORDS = [
  "properties",
  "additionalProperties",
  "items",
  "prefixItems",
  "allOf",
  "anyOf",
  "oneOf",
  "enum",
  "const",
];

/**
 * Whether a body schema describes text or bytes rather than a JSON value: a
 * string (`format: binary` included), or nothing at all (the upgrade from
 * 3.0 leaves a whole-body `format: binary` schema empty).
 */
function describesText(s: unknown): boolean {
  if (!isObject(s)) return true;
  if (s.type !== undefined) return s.type === "string";
  return !STRUCTURE_KEYWORDS.some((k) => s[k] !== undefined);
}

/** The first concrete type of an encoding's `contentType` list (`image/png, image/*`), if any. */
function declaredType(list: unknown): string | undefined {
  if (typeof list !== "string") return undefined;
  const first = list.split(",")[0].trim();
  return first.includes("*") || !isMediaType(first) ? undefined : first;
}

/**
 * `bodyFields` from a media type's `encoding` (style, explode, and the
 * first concrete content type), with each file's own `contentMediaType` as
 * its type where the encoding names none.
 */
function bodyFieldsOf(encoding: Json, props: Json, files: string[]): Json {
  const fields: Json = {};
  for (const [name, e] of Object.entries(encoding)) {
    if (!isObject(e)) continue;
    const field: Json = {};
    if (typeof e.style === "string" && BODY_FIELD_STYLES.includes(e.style)) field.style = e.style;
    if (typeof e.explode === "boolean") field.explode = e.explode;
    const type = declaredType(e.contentType);
    if (type !== undefined) field.contentType = type;
    if (Object.keys(field).length > 0) fields[name] = field;
  }
  for (const name of files) {
    const s = props[name];
    const file = isObject(s) && s.type === "array" ? s.items : s;
    const type = isObject(file) ? declaredType(file.contentMediaType) : undefined;
    const field = isObject(fields[name]) ? fields[name] : {};
    // An octet stream is what a file is sent as anyway (and what 3.0's `format: binary` becomes).
    if (type !== undefined && type !== OCTET_STREAM && field.contentType === undefined) {
      fields[name] = { ...field, contentType: type };
    }
  }
  return fields;
}

/** The schema of a multipart file argument: base64 content, an optional file name and type. */
function fileArgument(written: unknown, name: string, type: string | undefined): Json {
  const own = isObject(written) && typeof written.description === "string"
    ? `${written.description} `
    : "";
  return {
    type: "object",
    description: clip(
      `${own}A file: its content base64-encoded, with an optional file name and content type.`,
      MAX_SCHEMA_DESCRIPTION,
    ),
    properties: {
      content: {
        type: "string",
        contentEncoding: "base64",
        description: "The file's bytes, base64-encoded.",
      },
      filename: { type: "string", description: `The file name sent with it (default: ${name}).` },
      contentType: {
        type: "string",
        description: `The file's media type (default: ${type ?? OCTET_STREAM}).`,
      },
    },
    required: ["content"],
    additionalProperties: false,
  };
}

/**
 * The properties of the written body schema `prop`, made its own: a body
 * written as a `$ref` into `$defs` gets a copy of that definition inline, so
 * changing its members changes no other use of the definition.
 */
function ownProperties(prop: Json, defs: Json | undefined): Json | undefined {
  if (typeof prop.$ref === "string" && prop.$ref.startsWith("#/$defs/") && defs) {
    const def = defs[prop.$ref.slice("#/$defs/".length)];
    if (isObject(def)) {
      const { $ref: _, ...own } = prop;
      Object.assign(prop, def, own);
      delete prop.$ref;
    }
  }
  if (!isObject(prop.properties)) return undefined;
  const properties = { ...prop.properties };
  prop.properties = properties;
  return properties;
}

/**
 * Fills `config`'s body encoding for a body sent as `mediaType` and rewrites
 * the body argument's schema `prop` to what the model passes; returns the
 * Content-Type header to send, when the encoding does not set one itself.
 */
function bodyOf(
  mediaType: string,
  media: unknown,
  bodySchema: unknown,
  prop: Json,
  defs: Json | undefined,
  config: Json,
): string | undefined {
  const type = bare(mediaType);
  const wildcard = type.includes("*");
  const json = type === "application/json" || type.endsWith("+json");
  if (json || (wildcard && !describesText(bodySchema))) {
    config.bodyEncoding = "json";
    return json && type !== "application/json" ? mediaType : undefined;
  }
  const encoding = isObject(media) && isObject(media.encoding) ? media.encoding : {};
  const props = isObject(bodySchema) && isObject(bodySchema.properties)
    ? bodySchema.properties
    : {};
  if (type === FORM_TYPE) {
    config.bodyEncoding = "form";
    // Present even when empty: members then follow OpenAPI's defaults, not the old JSON text.
    config.bodyFields = bodyFieldsOf(encoding, props, []);
    return undefined;
  }
  if (type === MULTIPART_TYPE) {
    config.bodyEncoding = "multipart";
    const files = Object.keys(props).filter((k) => {
      const enc = encoding[k];
      const declared = isObject(enc) && typeof enc.contentType === "string"
        ? bare(enc.contentType)
        : undefined;
      const s = props[k];
      return isFileSchema(s) || (isObject(s) && s.type === "array" && isFileSchema(s.items)) ||
        (declared !== undefined && declared !== "text/plain" && declared !== "application/json");
    });
    const fields = bodyFieldsOf(encoding, props, files);
    config.bodyFields = fields;
    if (files.length === 0) return undefined;
    config.bodyFiles = files;
    const own = ownProperties(prop, defs) ?? {};
    for (const k of files) {
      const fieldType = isObject(fields[k]) ? fields[k].contentType as string : undefined;
      const written = own[k];
      own[k] = isObject(written) && written.type === "array"
        ? { ...written, items: fileArgument(written.items, k, fieldType) }
        : fileArgument(written, k, fieldType);
    }
    return undefined;
  }
  // Anything else (XML, plain text, octet streams, images) goes raw, as the model's text,
  // or as the bytes of its base64 when the schema says the content is base64.
  const sent = wildcard ? OCTET_STREAM : mediaType;
  // 3.0's `format: byte` is base64 too; the executor reads the URL-safe alphabet as well.
  const encoded = isObject(bodySchema) &&
    (bodySchema.contentEncoding === "base64" || bodySchema.contentEncoding === "base64url" ||
      bodySchema.format === "byte");
  for (const k of RAW_BODY_DROPPED) delete prop[k];
  prop.type = "string";
  const own = typeof prop.description === "string" ? `${prop.description} ` : "";
  if (encoded) {
    config.bodyEncoding = "base64";
    prop.contentEncoding = bodySchema.contentEncoding ?? "base64";
    prop.description = clip(
      `${own}The ${bare(sent)} request body, base64-encoded: the bytes it decodes to are sent.`,
      MAX_SCHEMA_DESCRIPTION,
    );
  } else {
    prop.description = clip(
      `${own}The raw ${bare(sent)} request body, as text.`,
      MAX_SCHEMA_DESCRIPTION,
    );
  }
  return sent;
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
  const queryNames = new Set(params.filter((p) => p.in === "query").map((p) => p.name));
  const urlPath = urlPathOf(path, pathArgs, queryNames);

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
    if (p.in === "query" && p.style === "deepObject" && !p.json) notes.push(deepObjectNote(p));
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
    const bodyProp = written.schemas[bodyArg];
    const prop: Json = typeof bodyProp === "boolean" ? {} : { ...bodyProp };
    if (typeof requestBody?.description === "string" && requestBody.description.trim()) {
      prop.description = clip(requestBody.description, MAX_SCHEMA_DESCRIPTION);
    }
    config.body = `{{parameters.${bodyArg}}}`;
    const contentType = bodyOf(mediaType, media, bodySchema, prop, written.defs, config);
    if (contentType !== undefined) headers["Content-Type"] = contentType;
    properties[bodyArg] = prop;
    if (requestBody?.required === true) required.push(bodyArg);
  }
  if (Object.keys(headers).length > 0) config.headers = headers;
  if (parameters.length > 0) config.parameters = parameters;
  if (opts.secret) config.auth = { secret: opts.secret };

  // Closed: an argument the operation does not take is refused, not silently dropped.
  const inputSchema: JsonObject = { type: "object", properties, additionalProperties: false };
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
  const tags = Array.isArray(op.tags) ? op.tags.filter((t) => typeof t === "string") : [];
  if (tags.length > 0) generated.tags = tags;
  if (opts.slim) slimTool(generated);
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
  let kept = 0;
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
      kept++;
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
  if (kept === 0) {
    throw new SpecError(
      "include and exclude leave no operation to import",
      opts.include ? "include" : "exclude",
    );
  }
  if (tools.length === 0) {
    // Only the skips: a filter that matched nothing is not why these failed.
    const skipped = warnings.filter((w) => w.endsWith("; skipped"));
    throw new SpecError(
      `no operation of the document could be imported: ${skipped.slice(0, 3).join("; ")}`,
    );
  }
  return {
    tools,
    warnings,
    title: typeof info.title === "string" ? info.title : "",
    version: typeof info.version === "string" ? info.version : "",
  };
}
