/**
 * Structured request parts of `http` tools, beyond templates: query, header
 * and cookie parameters serialised by OpenAPI's `style`/`explode` rules, and
 * bodies encoded as JSON, `application/x-www-form-urlencoded` or
 * `multipart/form-data`. OpenAPI imports generate these; hand-written tools
 * may use them too.
 *
 * In `executionConfig`:
 * - `parameters: [{name, in, arg?, style?, explode?, json?}]`: `in` is
 *   `query`, `header` or `cookie`; the value is the argument `arg` (default
 *   `name`), dropped when absent or null. Styles: query `form` (default;
 *   arrays as repeated keys, or comma-joined with `explode: false`),
 *   `spaceDelimited`, `pipeDelimited`, `deepObject` (`a[b]=c`); header
 *   `simple`; cookie `form`. `json: true` sends the value as JSON text.
 * - `bodyEncoding: "json" | "form" | "multipart"`: how the rendered `body`
 *   is sent (without it, the old rule: strings raw, anything else as JSON).
 * - `bodyFiles: [member...]`: multipart members sent as file parts.
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

/** The styles OpenAPI defines for each location. */
export const PARAMETER_STYLES: Record<ParameterLocation, readonly string[]> = {
  query: ["form", "spaceDelimited", "pipeDelimited", "deepObject"],
  header: ["simple"],
  cookie: ["form"],
};

/** How a body can be encoded. */
export const BODY_ENCODINGS = ["json", "form", "multipart"] as const;
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

/** Most parameters one tool may declare. */
export const MAX_PARAMETERS = 500;

const PARAMETER_FIELDS = ["name", "in", "arg", "style", "explode", "json"];
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks `parameters`, `bodyEncoding` and `bodyFiles` of an execution
 * config; `args` are the properties of the tool's input schema.
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

const enc = encodeURIComponent;
/** Brackets stay literal in deepObject keys, as OpenAPI's examples write them. */
const encKey = (k: string) => enc(k).replace(/%5B/g, "[").replace(/%5D/g, "]");
const present = (v: unknown) => v !== undefined && v !== null;
const DELIMITERS: Record<string, string> = {
  form: ",",
  simple: ",",
  spaceDelimited: "%20",
  pipeDelimited: "|",
};

function deepPairs(prefix: string, v: unknown, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) if (present(item)) deepPairs(prefix, item, out);
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) if (present(x)) deepPairs(`${prefix}[${k}]`, x, out);
  } else {
    out.push(`${encKey(prefix)}=${enc(textOf(v))}`);
  }
}

/** The encoded `key=value` pairs a query parameter adds for `v` (none for an empty list). */
export function queryPairs(p: HttpParameter, v: unknown): string[] {
  const name = enc(p.name);
  if (p.json) return [`${name}=${enc(JSON.stringify(v))}`];
  if (p.style === "deepObject") {
    const out: string[] = [];
    deepPairs(p.name, v, out);
    return out;
  }
  const sep = DELIMITERS[p.style] ?? ",";
  if (Array.isArray(v)) {
    const items = v.filter(present).map((x) => enc(textOf(x)));
    if (items.length === 0) return [];
    return p.explode ? items.map((i) => `${name}=${i}`) : [`${name}=${items.join(sep)}`];
  }
  if (isObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => present(x));
    if (entries.length === 0) return [];
    if (p.explode) {
      // Exploded objects spread their members over top-level keys (`R=100&G=200`).
      return entries.flatMap(([k, x]) =>
        Array.isArray(x)
          ? x.filter(present).map((i) => `${enc(k)}=${enc(textOf(i))}`)
          : [`${enc(k)}=${enc(textOf(x))}`]
      );
    }
    return [`${name}=${entries.map(([k, x]) => `${enc(k)}${sep}${enc(textOf(x))}`).join(sep)}`];
  }
  return [`${name}=${enc(textOf(v))}`];
}

/** The value of a header parameter (`simple` style), or undefined for an empty list or object. */
export function headerValue(p: HttpParameter, v: unknown): string | undefined {
  if (p.json) return JSON.stringify(v);
  if (Array.isArray(v)) {
    const items = v.filter(present).map(textOf);
    return items.length ? items.join(",") : undefined;
  }
  if (isObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => present(x));
    if (entries.length === 0) return undefined;
    return entries.map(([k, x]) => p.explode ? `${k}=${textOf(x)}` : `${k},${textOf(x)}`)
      .join(",");
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

/** A body ready for fetch, and the content type to declare (none for multipart: fetch adds it). */
export interface EncodedBody {
  body: string | FormData;
  contentType?: string;
}

/** Why a body cannot be encoded as asked, worded for the model. */
export class BodyEncodingError extends Error {}

/** Encodes `value` as `encoding`; `files` are multipart members sent as file parts. */
export function encodeBody(
  encoding: BodyEncoding,
  value: unknown,
  files: ReadonlySet<string>,
): EncodedBody {
  if (encoding === "json") return { body: JSON.stringify(value), contentType: "application/json" };
  if (!isObject(value)) {
    throw new BodyEncodingError(
      `the body must be an object of fields for a ${
        encoding === "form" ? "form-encoded" : "multipart"
      } request`,
    );
  }
  // Members in order; a list repeats its member, as form posts repeat checkbox values.
  const fields: [string, unknown][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!present(v)) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (present(item)) fields.push([k, item]);
    } else fields.push([k, v]);
  }
  if (encoding === "form") {
    const params = new URLSearchParams();
    for (const [k, v] of fields) params.append(k, textOf(v));
    return { body: params.toString(), contentType: "application/x-www-form-urlencoded" };
  }
  const form = new FormData();
  for (const [k, v] of fields) {
    if (files.has(k)) {
      // A model writes text: the file's content is the argument's text, as UTF-8.
      form.append(k, new File([textOf(v)], k, { type: "application/octet-stream" }));
    } else form.append(k, textOf(v));
  }
  return { body: form };
}
