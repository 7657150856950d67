/**
 * Slimmer input schemas for imports with `slim: true`: a model reads every
 * byte of `tools/list` on every turn, and much of a large API's schemas is
 * prose about fields several levels down and sample values.
 *
 * Only annotations go, so every argument value a schema accepted it still
 * accepts, every one it refused it still refuses, and a call sends the same
 * request (the executor reads the execution config, never the schema):
 *
 * - `examples` are removed at every level;
 * - `description` and `title` are removed below {@link SLIM_PROSE_DEPTH}:
 *   an argument is at depth 1, a property of an argument at depth 2, a
 *   property of that at depth 3, and so on. Only steps into a member of an
 *   object count (`properties`, `patternProperties`, `additionalProperties`,
 *   `unevaluatedProperties`); list items and the branches of
 *   `anyOf`/`allOf`/`oneOf`/`not`/`if` stay at the depth of their schema.
 *   Titles go too: deep down they are mostly the document's internal
 *   schema names (Stripe's `required_address`), no help to a model;
 * - a `$defs` entry used once is written in place of its `$ref` (when the
 *   `$ref` carries nothing but annotations, so merging them keeps the
 *   meaning), and entries nothing reachable uses are dropped. An entry still
 *   used from several places is at the smallest depth it is used from.
 *
 * @module
 */
import type { JsonObject } from "../store/tools.ts";
import { SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_VALUES } from "../tools/schema_keywords.ts";
import { isObject } from "../util/json.ts";

/** The deepest level whose descriptions and titles a slimmed schema keeps (arguments' members). */
export const SLIM_PROSE_DEPTH = 2;

/** Keywords whose subschemas describe a member of an object: one level deeper. */
const MEMBER_KEYWORDS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
]);

/** What a `$ref` may carry besides itself and still be replaced by its target merged with it. */
const SITE_ANNOTATIONS = new Set(["$ref", "description", "title", "deprecated", "examples"]);

const DEFS = "#/$defs/";

/** `node` copied, each direct subschema replaced by `fn(subschema, keyword)`. */
function mapSubschemas(
  node: JsonObject,
  fn: (sub: unknown, keyword: string) => unknown,
): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (SCHEMA_MAPS.includes(k) && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, fn(sub, k)]));
    } else if ((SCHEMA_LISTS.includes(k) || k === "items") && Array.isArray(v)) {
      out[k] = v.map((sub) => fn(sub, k));
    } else if (SCHEMA_VALUES.includes(k) && (isObject(v) || typeof v === "boolean")) {
      out[k] = fn(v, k);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * `schema` (a tool's input schema as the converter writes it: references
 * only of the form `#/$defs/KEY`) slimmed by the rules above. The schema
 * given is not changed.
 */
export function slimSchema(schema: JsonObject): JsonObject {
  const { $defs, ...root } = schema;
  const defs = isObject($defs) ? $defs : {};
  const keyOf = (node: JsonObject): string | undefined => {
    const ref = node.$ref;
    if (typeof ref !== "string" || !ref.startsWith(DEFS)) return undefined;
    const key = ref.slice(DEFS.length);
    return Object.hasOwn(defs, key) ? key : undefined;
  };

  const uses = new Map<string, number>();
  const count = (node: unknown): unknown => {
    if (!isObject(node)) return node;
    const key = keyOf(node);
    if (key !== undefined) uses.set(key, (uses.get(key) ?? 0) + 1);
    return mapSubschemas(node, count);
  };
  count(root);
  for (const def of Object.values(defs)) count(def);

  /** The entries still referred to, by the smallest depth of a use. */
  const depthOf = new Map<string, number>();
  const write = (node: unknown, depth: number): unknown => {
    if (!isObject(node)) return node;
    const key = keyOf(node);
    if (key !== undefined) {
      const target = defs[key];
      if (
        uses.get(key) === 1 && isObject(target) &&
        Object.keys(node).every((k) => SITE_ANNOTATIONS.has(k))
      ) {
        // The site's own annotations win: they are what the document said at this use.
        const { $ref: _, ...site } = node;
        return write({ ...target, ...site }, depth);
      }
      depthOf.set(key, Math.min(depthOf.get(key) ?? Infinity, depth));
    }
    const out = mapSubschemas(
      node,
      (sub, keyword) => write(sub, MEMBER_KEYWORDS.has(keyword) ? depth + 1 : depth),
    );
    delete out.examples;
    if (depth > SLIM_PROSE_DEPTH) {
      delete out.description;
      delete out.title;
    }
    return out;
  };
  const slim = write(root, 0) as JsonObject;

  // Entries are written shallowest first: an entry reached at depth d refers to others at d or
  // deeper, so each is final when written (shortest paths, as Dijkstra's).
  const written = new Map<string, unknown>();
  for (;;) {
    let next: string | undefined;
    for (const [key, depth] of depthOf) {
      if (!written.has(key) && (next === undefined || depth < depthOf.get(next)!)) next = key;
    }
    if (next === undefined) break;
    written.set(next, write(defs[next], depthOf.get(next)!));
  }
  if (written.size > 0) {
    slim.$defs = Object.fromEntries(
      Object.keys(defs).filter((k) => written.has(k)).map((k) => [k, written.get(k)]),
    );
  }
  return slim;
}
