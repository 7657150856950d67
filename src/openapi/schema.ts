/**
 * OpenAPI 3.1 schemas (already dereferenced) turned into the JSON Schema
 * 2020-12 of a tool's `inputSchema`.
 *
 * Referenced schemas are inlined, so a model reads each argument in one
 * place. Two cases keep `$ref`s instead, pointing into the tool schema's own
 * `$defs` (which the gateway's validator resolves): recursion (a schema that
 * contains itself, like a tree node), and tools whose inlined form would
 * exceed {@link INLINE_BUDGET} nodes or {@link INLINE_MAX_BYTES} (every named
 * schema then becomes one `$defs` entry, so the size stays that of the
 * document, not of its expansion).
 *
 * Also done here: `oneOf` becomes `anyOf` (see {@link SchemaWriter}),
 * properties marked `readOnly` are dropped (a request never sends them),
 * patterns JavaScript cannot compile or that may backtrack exponentially
 * (`src/tools/pattern_risk.ts`) are dropped, and keywords that are not
 * JSON Schema (`discriminator`, `xml`, `x-...`) are left out.
 *
 * @module
 */
import type { Json } from "./parse.ts";
import { isObject } from "../util/json.ts";
import {
  COUNT_KEYWORDS,
  JSON_TYPES,
  NUMBER_KEYWORDS,
  SCHEMA_VALUES,
} from "../tools/schema_keywords.ts";
import { patternProblem } from "../tools/schema_check.ts";

/** Schema nodes one tool may inline before the writer switches to `$defs` for every named schema. */
export const INLINE_BUDGET = 3000;

/**
 * Inlined schemas of one tool larger than this (JSON bytes) are written with
 * `$defs` instead when that is smaller: Discord's message bodies inline to
 * 75-190 KB (tens of thousands of tokens a model reads on every turn) and
 * to a fifth of that with shared definitions.
 */
export const INLINE_MAX_BYTES = 16 * 1024;

/** Longest description kept on a schema node (long ones are cut with an ellipsis). */
export const MAX_SCHEMA_DESCRIPTION = 2000;

const TYPES = new Set(JSON_TYPES);
/** Keywords copied as they are (after a type check where one applies). */
const STRINGS = ["title", "format", "contentMediaType", "contentEncoding"];
const BOOLEANS = ["uniqueItems", "deprecated", "readOnly", "writeOnly"];
const ANY = ["const", "default"];
/** Keywords holding one schema, but `items` (and its draft-07 sibling), which are read apart. */
const SUBSCHEMAS = SCHEMA_VALUES.filter((k) => k !== "items" && k !== "additionalItems");
const SCHEMA_MAPS = ["patternProperties", "dependentSchemas"];

/** Thrown inside inline mode when the budget runs out; the tool is then written with `$defs`. */
class OverBudget extends Error {}

const patternOk = new Map<string, boolean>();
/** Whether `pattern` can be kept: it compiles as validators compile it and cannot backtrack exponentially. */
function validPattern(pattern: string): boolean {
  let ok = patternOk.get(pattern);
  if (ok === undefined) {
    ok = patternProblem(pattern) === undefined;
    if (patternOk.size < 10_000) patternOk.set(pattern, ok);
  }
  return ok;
}

/** `text` cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}

/** Resolves a local JSON pointer (`#/components/schemas/X`) in `doc`; undefined for none. */
export function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let v: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Json)[key];
  }
  return v;
}

/**
 * Moves an `enum` of non-lists and a `default` that is not a list from the
 * array schema `out` to its items. Swagger 2.0 documents (and 3.x ones
 * converted from them) often declare a list parameter's allowed values on
 * the list itself; read literally, no list could ever match them.
 */
function itemsTakeScalars(out: Json): void {
  const moved: Json = {};
  if (Array.isArray(out.enum) && out.enum.every((v) => !Array.isArray(v))) {
    moved.enum = out.enum;
    delete out.enum;
  }
  if (out.default !== undefined && !Array.isArray(out.default)) {
    moved.default = out.default;
    delete out.default;
  }
  if (Object.keys(moved).length === 0) return;
  // The items' own values, where they declare any, are the ones that hold.
  const items = isObject(out.items) ? out.items : {};
  out.items = { ...moved, ...items };
}

/**
 * Writes the schemas of one tool: call {@link SchemaWriter.write} for each
 * argument, then {@link SchemaWriter.defs} for the `$defs` they refer to.
 *
 * `oneOf` is written as `anyOf`: descriptions in the wild often have
 * branches that overlap (no `additionalProperties: false`), and `oneOf` then
 * refuses a valid argument because it matches two branches. The upstream
 * still enforces its own rules; the gateway only needs to catch mistakes.
 */
export class SchemaWriter {
  readonly #doc: Json;
  readonly #refOf: WeakMap<object, string>;
  readonly #shared: boolean;
  #budget = INLINE_BUDGET;
  /** `$ref` string -> `$defs` key, in the order first used. */
  readonly #defKeys = new Map<string, string>();
  readonly #defs = new Map<string, Json>();
  readonly #usedKeys = new Set<string>();
  /** References being written (a repeat is recursion). */
  readonly #refStack: string[] = [];
  /** Objects being written (catches a cycle that passes no named reference). */
  readonly #objStack = new Set<object>();

  /**
   * A writer over `doc` (the dereferenced document). `shared` puts every
   * named schema in `$defs` instead of inlining it.
   */
  constructor(doc: Json, refOf: WeakMap<object, string>, shared: boolean) {
    this.#doc = doc;
    this.#refOf = refOf;
    this.#shared = shared;
  }

  /**
   * Writes `schema` for one argument. In inline mode throws when the tool
   * outgrows {@link INLINE_BUDGET}; see {@link writeToolSchemas}.
   */
  write(schema: unknown): Json | boolean {
    return this.#node(schema);
  }

  /** The `$defs` the written schemas refer to (each written once), or undefined when none. */
  defs(): Json | undefined {
    // Writing one definition may refer to others: loop until none is pending.
    for (let done = 0; done < this.#defKeys.size;) {
      done = 0;
      for (const [ref, key] of [...this.#defKeys]) {
        if (this.#defs.has(key)) {
          done++;
          continue;
        }
        this.#defs.set(key, {}); // placeholder: a self-reference must not start it again
        const target = resolvePointer(this.#doc, ref);
        this.#refStack.push(ref);
        const written = this.#body(isObject(target) ? target : {});
        this.#refStack.pop();
        this.#defs.set(key, written);
      }
    }
    return this.#defs.size > 0 ? Object.fromEntries(this.#defs) : undefined;
  }

  #defRef(ref: string): Json {
    let key = this.#defKeys.get(ref);
    if (!key) {
      const last = decodeURIComponent(ref.split("/").pop() ?? "")
        .replace(/~1/g, "/").replace(/~0/g, "~");
      const base = last.replace(/[^A-Za-z0-9_.-]+/g, "_") || "schema";
      key = base;
      for (let n = 2; this.#usedKeys.has(key); n++) key = `${base}_${n}`;
      this.#usedKeys.add(key);
      this.#defKeys.set(ref, key);
    }
    return { $ref: `#/$defs/${key}` };
  }

  #node(schema: unknown): Json | boolean {
    if (typeof schema === "boolean") return schema;
    if (!isObject(schema)) return {};
    const ref = this.#refOf.get(schema);
    if (ref && (this.#shared || this.#refStack.includes(ref))) {
      const out = this.#defRef(ref);
      // A reference site may carry its own description (allowed beside $ref in 3.1).
      const target = resolvePointer(this.#doc, ref);
      if (
        typeof schema.description === "string" &&
        (!isObject(target) || target.description !== schema.description)
      ) {
        out.description = clip(schema.description, MAX_SCHEMA_DESCRIPTION);
      }
      return out;
    }
    if (this.#objStack.has(schema)) return {};
    if (!this.#shared && --this.#budget < 0) throw new OverBudget();
    if (ref) this.#refStack.push(ref);
    this.#objStack.add(schema);
    try {
      return this.#body(schema);
    } finally {
      this.#objStack.delete(schema);
      if (ref) this.#refStack.pop();
    }
  }

  #list(v: unknown): (Json | boolean)[] | undefined {
    if (!Array.isArray(v) || v.length === 0) return undefined;
    return v.map((s) => this.#node(s));
  }

  #body(s: Json): Json {
    const out: Json = {};
    if (s.type !== undefined) {
      const list = (Array.isArray(s.type) ? s.type : [s.type]).filter((t) =>
        typeof t === "string" && TYPES.has(t)
      );
      if (list.length === 1) out.type = list[0];
      else if (list.length > 1) out.type = [...new Set(list)];
    }
    if (typeof s.description === "string" && s.description.trim()) {
      out.description = clip(s.description, MAX_SCHEMA_DESCRIPTION);
    }
    for (const k of STRINGS) if (typeof s[k] === "string") out[k] = s[k];
    for (const k of BOOLEANS) if (typeof s[k] === "boolean") out[k] = s[k];
    for (const k of ANY) if (s[k] !== undefined) out[k] = s[k];
    for (const k of COUNT_KEYWORDS) {
      const v = s[k];
      if (typeof v === "number" && Number.isInteger(v) && v >= 0) out[k] = v;
    }
    for (const k of NUMBER_KEYWORDS) if (typeof s[k] === "number") out[k] = s[k];
    if (typeof s.pattern === "string" && validPattern(s.pattern)) out.pattern = s.pattern;
    if (Array.isArray(s.enum) && s.enum.length > 0) out.enum = s.enum;
    if (Array.isArray(s.examples) && s.examples.length > 0) out.examples = s.examples.slice(0, 3);
    if (isObject(s.dependentRequired)) out.dependentRequired = s.dependentRequired;

    if (isObject(s.properties)) {
      const props: Json = {};
      const dropped = new Set<string>();
      for (const [name, sub] of Object.entries(s.properties)) {
        // Server-assigned fields (ids, timestamps) are not sent in requests.
        if (isObject(sub) && sub.readOnly === true) {
          dropped.add(name);
          continue;
        }
        props[name] = this.#node(sub);
      }
      out.properties = props;
      if (Array.isArray(s.required)) {
        const required = [
          ...new Set(s.required.filter((r): r is string => typeof r === "string")),
        ].filter((r) => !dropped.has(r));
        if (required.length > 0) out.required = required;
      }
    } else if (Array.isArray(s.required)) {
      const required = [...new Set(s.required.filter((r) => typeof r === "string"))];
      if (required.length > 0) out.required = required;
    }
    for (const k of SCHEMA_MAPS) {
      if (!isObject(s[k])) continue;
      out[k] = Object.fromEntries(
        Object.entries(s[k] as Json).map(([name, sub]) => [name, this.#node(sub)]),
      );
    }
    for (const k of SUBSCHEMAS) {
      if (s[k] !== undefined && (typeof s[k] === "boolean" || isObject(s[k]))) {
        out[k] = this.#node(s[k]);
      }
    }
    if (Array.isArray(s.items)) {
      // The draft-04 tuple form; 2020-12 spells it prefixItems.
      const items = this.#list(s.items);
      if (items) out.prefixItems = items;
    } else if (s.items !== undefined) {
      out.items = this.#node(s.items);
    }
    if (out.type === "array") itemsTakeScalars(out);
    const prefix = this.#list(s.prefixItems);
    if (prefix) out.prefixItems = prefix;
    const allOf = this.#list(s.allOf);
    const anyOf = this.#list(s.anyOf);
    const oneOf = this.#list(s.oneOf);
    if (allOf) out.allOf = allOf;
    if (anyOf && oneOf) {
      // Both alternatives lists must hold: keep them apart under allOf.
      out.allOf = [...(allOf ?? []), { anyOf }, { anyOf: oneOf }];
    } else if (anyOf ?? oneOf) {
      out.anyOf = anyOf ?? oneOf;
    }
    return out;
  }
}

/** The argument schemas of one tool, written by {@link writeToolSchemas}. */
export interface ToolSchemas<K extends string> {
  schemas: Record<K, Json | boolean>;
  defs?: Json;
}

/**
 * Writes every schema of one tool with one writer: inline first, and with
 * `$defs` for all named schemas when inlining outgrows the budget.
 */
export function writeToolSchemas<K extends string>(
  doc: Json,
  refOf: WeakMap<object, string>,
  sources: Record<K, unknown>,
): ToolSchemas<K> {
  const write = (shared: boolean): ToolSchemas<K> => {
    const writer = new SchemaWriter(doc, refOf, shared);
    const schemas = {} as Record<K, Json | boolean>;
    for (const k of Object.keys(sources) as K[]) schemas[k] = writer.write(sources[k]);
    const defs = writer.defs();
    return defs ? { schemas, defs } : { schemas };
  };
  let inline: ToolSchemas<K>;
  try {
    inline = write(false);
  } catch (err) {
    if (err instanceof OverBudget) return write(true);
    throw err;
  }
  const size = JSON.stringify(inline).length;
  if (size <= INLINE_MAX_BYTES) return inline;
  const shared = write(true);
  return JSON.stringify(shared).length < size ? shared : inline;
}
