/**
 * Structured request parts of `http` tools, beyond templates: query, header
 * and cookie parameters serialised by OpenAPI's `style`/`explode` rules, and
 * bodies encoded as JSON, `application/x-www-form-urlencoded`,
 * `multipart/form-data` or raw bytes given as base64. OpenAPI imports
 * generate these; hand-written tools may use them too.
 *
 * In `executionConfig`:
 * - `parameters: [{name, in, arg?, style?, explode?, json?}]`: `in` is
 *   `query`, `header` or `cookie`; the value is the argument `arg` (default
 *   `name`), dropped when absent or null. Styles: query `form` (default;
 *   arrays as repeated keys, or comma-joined with `explode: false`),
 *   `spaceDelimited`, `pipeDelimited`, `tabDelimited` (Swagger 2.0's `tsv`,
 *   which OpenAPI 3 cannot express), `deepObject` (`a[b]=c`, lists with
 *   indexes: `a[0]=x`); header `simple` (default) and, for Swagger 2.0's
 *   collection formats, the three delimited styles; cookie `form`.
 *   `json: true` sends the value as JSON text.
 * - `bodyEncoding: "json" | "form" | "multipart" | "base64"`: how the rendered
 *   `body` is sent (without it, the old rule: strings raw, anything else as
 *   JSON). `base64`: the body is base64 text, sent as the bytes it decodes to.
 * - `bodyFiles: [member...]`: multipart members sent as file parts. A file is
 *   `{content, filename?, contentType?}` with the content base64-encoded, or
 *   a string whose text is the content.
 * - `bodyFields: {member: {style?, explode?, contentType?}}`: OpenAPI's
 *   Encoding Object for form and multipart members. With it, form members
 *   follow OpenAPI's defaults (style `form`, exploded: an object's members
 *   become keys of their own); tools stored before it existed have none and
 *   keep sending objects in forms as JSON text. `contentType` is sent as a
 *   multipart part's type, and a JSON type sends the member as JSON text.
 *
 * @module
 */
import type { DefinitionProblem } from "./definition.ts";
import { textOf } from "./templates.ts";
import { isObject } from "../util/json.ts";

/** Where a structured parameter goes. */
export const PARAMETER_LOCATIONS = ["query", "header", "cookie"] as const;
/** One of {@link PARAMETER_LOCATIONS}. */
export type ParameterLocation = typeof PARAMETER_LOCATIONS[number];

/** The delimited styles: one value per list, joined by a space, a pipe or a tab. */
const DELIMITED = ["spaceDelimited", "pipeDelimited", "tabDelimited"];

/** The styles each location takes: OpenAPI's, plus Swagger 2.0's collection formats. */
export const PARAMETER_STYLES: Record<ParameterLocation, readonly string[]> = {
  query: ["form", ...DELIMITED, "deepObject"],
  header: ["simple", ...DELIMITED],
  cookie: ["form"],
};

/** The styles a form or multipart body member takes (those of query parameters). */
export const BODY_FIELD_STYLES = PARAMETER_STYLES.query;

/** How a body can be encoded. */
export const BODY_ENCODINGS = ["json", "form", "multipart", "base64"] as const;
/** One of {@link BODY_ENCODINGS}. */
export type BodyEncoding = typeof BODY_ENCODINGS[number];

/** A parameter with its defaults filled in. */
export interface HttpParameter {
  /** The name on the wire. */
  name: string;
  in: ParameterLocation;
  /** The argument holding the value. */
  arg: string;
  style: string;
  explode: boolean;
  /** Sent as JSON text (OpenAPI `content: {"application/json": ...}`). */
  json: boolean;
}

/** How one form or multipart member is sent: a `bodyFields` entry with its defaults filled in. */
export interface BodyField {
  /** Serialised by `style` and `explode` (the entry named either); else by the member's type. */
  styled: boolean;
  style: string;
  explode: boolean;
  /** The multipart part's type (a file's default type). */
  contentType?: string;
  /** The member goes as JSON text (its content type is JSON). */
  json: boolean;
}

/** How a tool's body is encoded, compiled from `bodyEncoding`, `bodyFiles` and `bodyFields`. */
export interface BodyRules {
  encoding: BodyEncoding;
  /** Multipart members sent as file parts. */
  files: ReadonlySet<string>;
  /**
   * Members' encodings; undefined for tools stored without `bodyFields`, whose
   * form objects keep going as JSON text.
   */
  fields?: ReadonlyMap<string, BodyField>;
}

/** Most parameters (and body fields) one tool may declare. */
export const MAX_PARAMETERS = 500;

const PARAMETER_FIELDS = ["name", "in", "arg", "style", "explode", "json"];
const BODY_FIELD_KEYS = ["style", "explode", "contentType"];
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** One media type, parameters allowed (`image/png`, `text/plain; charset=utf-8`), no line breaks. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[^\r\n\0]*)?$/;
/** Whether `text` is one media type, fit to be sent as a Content-Type (at most 256 characters). */
export const isMediaType = (text: string) => text.length <= 256 && MEDIA_TYPE.test(text);
const isJsonMediaType = (t: string) => /^application\/(?:[^;\s]+\+)?json(?:\s*;|$)/i.test(t);

/** Checks the `bodyFields` of a config whose `bodyEncoding` is `encoding`. */
function checkBodyFields(fields: unknown, encoding: unknown): DefinitionProblem | undefined {
  const f = "executionConfig.bodyFields";
  if (encoding !== "form" && encoding !== "multipart") {
    return { field: f, message: `${f} needs bodyEncoding "form" or "multipart"` };
  }
  if (!isObject(fields) || Object.keys(fields).length > MAX_PARAMETERS) {
    return { field: f, message: `${f} must be an object of at most ${MAX_PARAMETERS} members` };
  }
  for (const [member, entry] of Object.entries(fields)) {
    const at = `${f}.${member}`;
    if (!isObject(entry)) return { field: at, message: `${at} must be an object` };
    const unknown = Object.keys(entry).find((k) => !BODY_FIELD_KEYS.includes(k));
    if (unknown) return { field: `${at}.${unknown}`, message: `unknown field ${at}.${unknown}` };
    if (entry.style !== undefined && !BODY_FIELD_STYLES.includes(entry.style as string)) {
      return {
        field: `${at}.style`,
        message: `${at}.style must be one of ${BODY_FIELD_STYLES.join(", ")}`,
      };
    }
    if (entry.explode !== undefined && typeof entry.explode !== "boolean") {
      return { field: `${at}.explode`, message: `${at}.explode must be true or false` };
    }
    const type = entry.contentType;
    if (type !== undefined && (typeof type !== "string" || !isMediaType(type))) {
      return {
        field: `${at}.contentType`,
        message: `${at}.contentType must be one media type, like "image/png"`,
      };
    }
  }
  return undefined;
}

/**
 * Checks `parameters`, `bodyEncoding`, `bodyFiles` and `bodyFields` of an
 * execution config; `args` are the properties of the tool's input schema.
 */
export function checkRequestParts(
  config: Record<string, unknown>,
  args: ReadonlySet<string>,
): DefinitionProblem | undefined {
  const f = (k: string) => `executionConfig.${k}`;
  const list = config.parameters;
  if (list !== undefined) {
    if (!Array.isArray(list) || list.length > MAX_PARAMETERS) {
      return {
        field: f("parameters"),
        message: `${f("parameters")} must be a list of at most ${MAX_PARAMETERS} parameters`,
      };
    }
    for (let i = 0; i < list.length; i++) {
      const at = `${f("parameters")}[${i}]`;
      const p = list[i];
      if (!isObject(p)) return { field: at, message: `${at} must be an object` };
      const unknown = Object.keys(p).find((k) => !PARAMETER_FIELDS.includes(k));
      if (unknown) return { field: `${at}.${unknown}`, message: `unknown field ${at}.${unknown}` };
      if (typeof p.name !== "string" || p.name === "" || p.name.length > 256) {
        return { field: `${at}.name`, message: `${at}.name must be a string of 1-256 characters` };
      }
      const where = p.in as ParameterLocation;
      if (!(PARAMETER_LOCATIONS as readonly unknown[]).includes(where)) {
        return {
          field: `${at}.in`,
          message: `${at}.in must be one of ${PARAMETER_LOCATIONS.join(", ")} ` +
            "(path parameters are {{parameters.NAME}} templates in the url)",
        };
      }
      if (where === "header" && !HEADER_NAME.test(p.name)) {
        return { field: `${at}.name`, message: `${at}.name is not a valid HTTP header name` };
      }
      const arg = p.arg ?? p.name;
      if (typeof arg !== "string" || !args.has(arg)) {
        return {
          field: `${at}.${p.arg === undefined ? "name" : "arg"}`,
          message: `${at}: argument '${String(arg)}' is not in inputSchema.properties`,
        };
      }
      if (p.style !== undefined && !PARAMETER_STYLES[where].includes(p.style as string)) {
        return {
          field: `${at}.style`,
          message: `${at}.style must be one of ${PARAMETER_STYLES[where].join(", ")} for ${where}`,
        };
      }
      for (const k of ["explode", "json"]) {
        if (p[k] !== undefined && typeof p[k] !== "boolean") {
          return { field: `${at}.${k}`, message: `${at}.${k} must be true or false` };
        }
      }
    }
  }
  const encoding = config.bodyEncoding;
  if (encoding !== undefined) {
    if (!(BODY_ENCODINGS as readonly unknown[]).includes(encoding)) {
      return {
        field: f("bodyEncoding"),
        message: `${f("bodyEncoding")} must be one of ${BODY_ENCODINGS.join(", ")}`,
      };
    }
    if (config.body === undefined) {
      return { field: f("bodyEncoding"), message: `${f("bodyEncoding")} needs a body to encode` };
    }
  }
  const files = config.bodyFiles;
  if (files !== undefined) {
    if (encoding !== "multipart") {
      return {
        field: f("bodyFiles"),
        message: `${f("bodyFiles")} needs bodyEncoding "multipart"`,
      };
    }
    if (!Array.isArray(files) || files.some((x) => typeof x !== "string" || x === "")) {
      return { field: f("bodyFiles"), message: `${f("bodyFiles")} must be a list of names` };
    }
  }
  if (config.bodyFields !== undefined) return checkBodyFields(config.bodyFields, encoding);
  return undefined;
}

/** The parameters of a (validated) config with defaults filled in. */
export function compileParameters(list: unknown): HttpParameter[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((p) => {
    const where = p.in as ParameterLocation;
    const style = typeof p.style === "string" ? p.style : where === "header" ? "simple" : "form";
    return {
      name: String(p.name),
      in: where,
      arg: typeof p.arg === "string" ? p.arg : String(p.name),
      style,
      // OpenAPI: explode defaults to true for form style only.
      explode: typeof p.explode === "boolean" ? p.explode : style === "form",
      json: p.json === true,
    };
  });
}

/** The body rules of a (validated) config, or undefined when it has no `bodyEncoding`. */
export function compileBodyRules(config: Record<string, unknown>): BodyRules | undefined {
  if (typeof config.bodyEncoding !== "string") return undefined;
  const rules: BodyRules = {
    encoding: config.bodyEncoding as BodyEncoding,
    files: new Set(Array.isArray(config.bodyFiles) ? config.bodyFiles.map(String) : []),
  };
  if (!isObject(config.bodyFields)) return rules;
  const fields = new Map<string, BodyField>();
  for (const [member, entry] of Object.entries(config.bodyFields)) {
    if (!isObject(entry)) continue;
    const style = typeof entry.style === "string" ? entry.style : "form";
    const contentType = typeof entry.contentType === "string" ? entry.contentType : undefined;
    fields.set(member, {
      styled: entry.style !== undefined || entry.explode !== undefined,
      style,
      explode: typeof entry.explode === "boolean" ? entry.explode : style === "form",
      ...(contentType === undefined ? {} : { contentType }),
      json: contentType !== undefined && isJsonMediaType(contentType),
    });
  }
  return { ...rules, fields };
}

const enc = encodeURIComponent;
/**
 * `s` as `application/x-www-form-urlencoded` writes it (what URLSearchParams
 * does): only letters, digits and `*-._` stay, a space becomes `+`.
 */
const formEnc = (s: string) =>
  enc(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
const present = (v: unknown) => v !== undefined && v !== null;

/**
 * How one kind of output writes serialised values: its percent-encoding (or
 * none) and the delimiter each style joins a list with, as it appears there.
 */
interface Target {
  encode: (s: string) => string;
  delimiters: Readonly<Record<string, string>>;
}
const URL_DELIMITERS = {
  form: ",",
  simple: ",",
  spaceDelimited: "%20",
  pipeDelimited: "|",
  tabDelimited: "%09",
};
const QUERY: Target = { encode: enc, delimiters: URL_DELIMITERS };
const FORM: Target = { encode: formEnc, delimiters: URL_DELIMITERS };
/** Headers and multipart parts: text as it is. */
const RAW: Target = {
  encode: (s) => s,
  delimiters: {
    form: ",",
    simple: ",",
    spaceDelimited: " ",
    pipeDelimited: "|",
    tabDelimited: "\t",
  },
};

/**
 * `deepObject` pairs of `v` under `key` (already encoded): object members as
 * `key[member]`, list items as `key[0]`, `key[1]`, at any depth.
 */
function deepPairs(key: string, v: unknown, t: Target, out: [string, string][]): void {
  if (Array.isArray(v)) {
    v.filter(present).forEach((item, i) => deepPairs(`${key}[${i}]`, item, t, out));
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (present(x)) deepPairs(`${key}[${t.encode(k)}]`, x, t, out);
    }
  } else {
    out.push([key, t.encode(textOf(v))]);
  }
}

/**
 * The `[key, value]` pairs (encoded for `t`) that `v` named `name` becomes
 * under `style` and `explode`; none for an empty list or object.
 */
function styledPairs(
  name: string,
  v: unknown,
  style: string,
  explode: boolean,
  t: Target,
): [string, string][] {
  const key = t.encode(name);
  if (style === "deepObject") {
    const out: [string, string][] = [];
    deepPairs(key, v, t, out);
    return out;
  }
  const sep = t.delimiters[style] ?? ",";
  const text = (x: unknown) => t.encode(textOf(x));
  if (Array.isArray(v)) {
    const items = v.filter(present).map(text);
    if (items.length === 0) return [];
    return explode ? items.map((i) => [key, i]) : [[key, items.join(sep)]];
  }
  if (isObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => present(x));
    if (entries.length === 0) return [];
    if (explode) {
      // Exploded objects spread their members over top-level keys (`R=100&G=200`).
      return entries.flatMap(([k, x]): [string, string][] =>
        Array.isArray(x)
          ? x.filter(present).map((i) => [t.encode(k), text(i)])
          : [[t.encode(k), text(x)]]
      );
    }
    return [[key, entries.map(([k, x]) => `${t.encode(k)}${sep}${text(x)}`).join(sep)]];
  }
  return [[key, text(v)]];
}

/** The encoded `key=value` pairs a query parameter adds for `v` (none for an empty list). */
export function queryPairs(p: HttpParameter, v: unknown): string[] {
  if (p.json) return [`${enc(p.name)}=${enc(JSON.stringify(v))}`];
  return styledPairs(p.name, v, p.style, p.explode, QUERY).map(([k, x]) => `${k}=${x}`);
}

/** The value of a header parameter, or undefined for an empty list or object. */
export function headerValue(p: HttpParameter, v: unknown): string | undefined {
  if (p.json) return JSON.stringify(v);
  const sep = RAW.delimiters[p.style] ?? ",";
  if (Array.isArray(v)) {
    const items = v.filter(present).map(textOf);
    return items.length ? items.join(sep) : undefined;
  }
  if (isObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => present(x));
    if (entries.length === 0) return undefined;
    return entries.map(([k, x]) => p.explode ? `${k}=${textOf(x)}` : `${k}${sep}${textOf(x)}`)
      .join(sep);
  }
  return textOf(v);
}

/** The `name=value` pair a cookie parameter adds, or undefined for an empty list or object. */
export function cookiePair(p: HttpParameter, v: unknown): string | undefined {
  let text: string | undefined;
  if (p.json) text = enc(JSON.stringify(v));
  else if (Array.isArray(v)) {
    const items = v.filter(present).map((x) => enc(textOf(x)));
    text = items.length ? items.join(",") : undefined;
  } else if (isObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => present(x));
    text = entries.length
      ? entries.map(([k, x]) => `${enc(k)},${enc(textOf(x))}`).join(",")
      : undefined;
  } else text = enc(textOf(v));
  return text === undefined ? undefined : `${enc(p.name)}=${text}`;
}

/** A body ready for fetch, and the content type it must be declared with. */
export interface EncodedBody {
  body: string | Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** Why a body cannot be encoded as asked, worded for the model. */
export class BodyEncodingError extends Error {}

/** The bytes `text` (standard or URL-safe base64, padding optional) stands for; `what` names it. */
function decodeBase64(text: string, what: string): Uint8Array<ArrayBuffer> {
  let binary: string;
  try {
    binary = atob(text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw new BodyEncodingError(`${what} is not valid base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The pairs of one form member under `rules` (percent-encoded, `+` for spaces). */
function formMember(k: string, v: unknown, rules: BodyRules): [string, string][] {
  const field = rules.fields?.get(k);
  if (field?.styled) return styledPairs(k, v, field.style, field.explode, FORM);
  // A JSON content type sends the member as JSON text; so did tools stored without
  // bodyFields for every object, and they keep doing so.
  if (field?.json || (!rules.fields && isObject(v))) {
    return [[formEnc(k), formEnc(JSON.stringify(v))]];
  }
  return styledPairs(k, v, "form", true, FORM);
}

/** One part of a multipart body. */
interface Part {
  name: string;
  content: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

/** The file part `value` of member `k` makes: a `{content, filename?, contentType?}` or text. */
function filePart(k: string, value: unknown, field: BodyField | undefined): Part {
  const fallback = field?.contentType ?? "application/octet-stream";
  if (typeof value === "string") {
    // A file given as a string: its text is the content, as UTF-8.
    return { name: k, content: value, filename: k, contentType: fallback };
  }
  if (!isObject(value) || typeof value.content !== "string") {
    throw new BodyEncodingError(
      `file '${k}' must be an object {"content": base64, "filename"?, "contentType"?}`,
    );
  }
  const type = value.contentType ?? fallback;
  if (typeof type !== "string" || !isMediaType(type)) {
    throw new BodyEncodingError(`file '${k}': contentType must be one media type, like image/png`);
  }
  const name = value.filename;
  if (name !== undefined && typeof name !== "string") {
    throw new BodyEncodingError(`file '${k}': filename must be a string`);
  }
  return {
    name: k,
    content: decodeBase64(value.content, `file '${k}': content`),
    filename: name || k,
    contentType: type,
  };
}

/** The parts of one multipart member under `rules`. */
function multipartMember(k: string, v: unknown, rules: BodyRules): Part[] {
  const field = rules.fields?.get(k);
  const items = Array.isArray(v) ? v.filter(present) : [v];
  if (rules.files.has(k)) return items.map((item) => filePart(k, item, field));
  const type = field?.contentType;
  const part = (name: string, content: string): Part =>
    type === undefined ? { name, content } : { name, content, contentType: type };
  if (field?.styled) {
    return styledPairs(k, v, field.style, field.explode, RAW).map(([n, x]) => part(n, x));
  }
  // One part per list item, as a form repeats checkbox values; objects as JSON text.
  return items.map((item) => part(k, field?.json ? JSON.stringify(item) : textOf(item)));
}

/** A name or file name inside a quoted Content-Disposition parameter (as browsers escape it). */
const dispositionText = (s: string) =>
  s.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");

/** `parts` as a `multipart/form-data` body with a fresh random boundary. */
function multipartBody(parts: Part[]): EncodedBody {
  const boundary = `----gatehouse-${crypto.randomUUID()}`;
  const text = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${dispositionText(p.name)}"`;
    if (p.filename !== undefined) head += `; filename="${dispositionText(p.filename)}"`;
    head += p.contentType === undefined ? "\r\n\r\n" : `\r\nContent-Type: ${p.contentType}\r\n\r\n`;
    chunks.push(text.encode(head));
    chunks.push(typeof p.content === "string" ? text.encode(p.content) : p.content);
    chunks.push(text.encode("\r\n"));
  }
  chunks.push(text.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Encodes `value` as `rules` say; throws {@link BodyEncodingError} for a value that does not fit. */
export function encodeBody(rules: BodyRules, value: unknown): EncodedBody {
  if (rules.encoding === "json") {
    return { body: JSON.stringify(value), contentType: "application/json" };
  }
  if (rules.encoding === "base64") {
    if (typeof value !== "string") {
      throw new BodyEncodingError("the body must be a string of base64-encoded bytes");
    }
    return { body: decodeBase64(value, "the body"), contentType: "application/octet-stream" };
  }
  if (!isObject(value)) {
    throw new BodyEncodingError(
      `the body must be an object of fields for a ${
        rules.encoding === "form" ? "form-encoded" : "multipart"
      } request`,
    );
  }
  const members = Object.entries(value).filter(([, v]) => present(v));
  if (rules.encoding === "form") {
    const pairs = members.flatMap(([k, v]) => formMember(k, v, rules));
    return {
      body: pairs.map(([k, v]) => `${k}=${v}`).join("&"),
      contentType: "application/x-www-form-urlencoded",
    };
  }
  return multipartBody(members.flatMap(([k, v]) => multipartMember(k, v, rules)));
}
