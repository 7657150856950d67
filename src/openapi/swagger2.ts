/**
 * Swagger 2.0 parameters put in the shape the upgrade to OpenAPI 3 gets
 * right, before it runs. Left to itself, the upgrade loses what real 2.0
 * documents commonly say:
 *
 * - a `body` or `formData` parameter written as `{"$ref": "#/parameters/X"}`
 *   (Kubernetes writes every PATCH body so) becomes a parameter without a
 *   name: the operation then takes no body at all;
 * - a path-level body or form reaches only the methods listed after it, and
 *   an operation's own form fields replace the path's instead of joining them;
 * - `collectionFormat` `tsv` is dropped (OpenAPI 3 has no tab style), header
 *   lists lose `ssv` and `pipes`, and form fields without a format lose the
 *   default, `csv`;
 * - a required form field does not make the body required.
 *
 * So every parameter reference is replaced by a copy of what it names,
 * path-level parameters are merged into each operation (the operation's own
 * win, as 2.0 says), list parameters get the `style` and `explode` their
 * collection format means, and form fields become the operation's
 * `requestBody` with an `encoding` entry for each list. Body parameters are
 * left to the upgrade, which handles inline ones well.
 *
 * @module
 */
import { resolvePointer } from "./schema.ts";
import type { Json } from "./parse.ts";
import { isObject } from "../util/json.ts";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];

/** References followed from one parameter before giving up on a chain (or a loop). */
const MAX_REF_HOPS = 16;

/** OpenAPI 3 `style` and `explode` of each 2.0 `collectionFormat`, per location. */
const COLLECTION_STYLES: Record<string, Record<string, [string, boolean]>> = {
  query: {
    csv: ["form", false],
    ssv: ["spaceDelimited", false],
    tsv: ["tabDelimited", false],
    pipes: ["pipeDelimited", false],
    multi: ["form", true],
  },
  header: {
    csv: ["simple", false],
    ssv: ["spaceDelimited", false],
    tsv: ["tabDelimited", false],
    pipes: ["pipeDelimited", false],
  },
};
// Form fields take the query formats; path lists stay comma-joined (`simple`).
COLLECTION_STYLES.formData = COLLECTION_STYLES.query;

/** Keywords of a 2.0 non-body parameter that describe its value (its schema in OpenAPI 3). */
const VALUE_KEYWORDS = [
  "type",
  "format",
  "items",
  "default",
  "enum",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "multipleOf",
  "description",
];

const FORM = "application/x-www-form-urlencoded";
const MULTIPART = "multipart/form-data";

/** `value`'s strings, or undefined when it is not a list. */
function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string") : undefined;
}

/**
 * A private copy of each parameter of `list`, references replaced by what
 * they name (an unresolvable one stays, for dereferencing to report).
 */
function resolved(doc: Json, list: unknown): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((p) => {
    let target: unknown = p;
    for (let hop = 0; hop < MAX_REF_HOPS && isObject(target); hop++) {
      if (typeof target.$ref !== "string") break;
      const next = resolvePointer(doc, target.$ref);
      if (next === undefined) return p;
      target = next;
    }
    // Copies: the upgrade rewrites parameters in place, and one may serve many operations.
    return structuredClone(target);
  });
}

/** `p` (a non-body parameter) with the `style` and `explode` its collection format means. */
function withStyle(p: Json): Json {
  if (p.type !== "array") return p;
  const style = COLLECTION_STYLES[String(p.in)]?.[String(p.collectionFormat ?? "csv")];
  if (!style) return p;
  // The upgrade keeps a parameter's own style and explode over the ones it would pick.
  const { collectionFormat: _, ...rest } = p;
  return { ...rest, style: style[0], explode: style[1] };
}

/** The schema of a 2.0 form field: its value keywords, a `file` as binary. */
function fieldSchema(p: Json): Json {
  const schema: Json = {};
  for (const k of VALUE_KEYWORDS) if (p[k] !== undefined) schema[k] = p[k];
  if (schema.type === "file") {
    schema.type = "string";
    schema.format = "binary";
  }
  return schema;
}

/**
 * The OpenAPI 3.0 `requestBody` of an operation's form fields, sent as the
 * form types it `consumes` (multipart alone when a field is a file, which
 * only multipart can carry; url-encoded when it names neither).
 */
function formBody(fields: Json[], consumes: string[]): Json {
  const hasFile = fields.some((p) => p.type === "file");
  let types = consumes.filter((t) => {
    const bare = t.split(";")[0].trim().toLowerCase();
    return bare === MULTIPART || (!hasFile && bare === FORM);
  });
  if (types.length === 0) types = [hasFile ? MULTIPART : FORM];
  const properties: Json = {};
  const required: string[] = [];
  const encoding: Json = {};
  for (const p of fields) {
    const name = String(p.name);
    properties[name] = fieldSchema(p);
    if (p.required === true) required.push(name);
    const styled = withStyle(p);
    if (styled.style !== undefined) {
      encoding[name] = { style: styled.style, explode: styled.explode };
    }
  }
  const content: Json = {};
  for (const type of types) {
    const schema: Json = { type: "object", properties: structuredClone(properties) };
    if (required.length > 0) schema.required = [...required];
    content[type] = Object.keys(encoding).length > 0
      ? { schema, encoding: structuredClone(encoding) }
      : { schema };
  }
  return required.length > 0 ? { content, required: true } : { content };
}

/**
 * Rewrites the parameters of the validated Swagger 2.0 document `doc` in
 * place, as the module comment says; the upgrade to OpenAPI 3 runs next.
 */
export function prepareSwagger2(doc: Json): void {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const docConsumes = strings(doc.consumes) ?? [];
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    const shared = item.parameters;
    delete item.parameters;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const byKey = new Map<string, unknown>();
      // The operation's parameters override the path's of the same name and place.
      for (const p of [...resolved(doc, shared), ...resolved(doc, op.parameters)]) {
        byKey.set(isObject(p) ? `${p.in}\0${p.name}\0${p.$ref ?? ""}` : String(byKey.size), p);
      }
      const all = [...byKey.values()];
      const fields = all.filter((p): p is Json => isObject(p) && p.in === "formData");
      const hasBody = all.some((p) => isObject(p) && p.in === "body");
      op.parameters = all
        .filter((p) => !isObject(p) || p.in !== "formData")
        .map((p) => isObject(p) && p.in !== "body" ? withStyle(p) : p);
      // A body and form fields together is not valid 2.0; the body is kept, as the upgrade does.
      if (fields.length > 0 && !hasBody) {
        op.requestBody = formBody(fields, strings(op.consumes) ?? docConsumes);
      }
    }
  }
}
