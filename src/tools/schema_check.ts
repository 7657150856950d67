/**
 * Structural check of a JSON Schema document as a tool's `inputSchema` or
 * `outputSchema`: every keyword we know must have the shape the JSON Schema
 * 2020-12 vocabulary gives it, so that a broken schema is refused when it is
 * saved instead of failing every call later.
 *
 * @module
 */
import { isObject } from "../util/json.ts";
import { backtrackRisk } from "./pattern_risk.ts";
import {
  COUNT_KEYWORDS,
  JSON_TYPES,
  NUMBER_KEYWORDS,
  SCHEMA_LISTS,
  SCHEMA_MAPS,
  SCHEMA_VALUES,
} from "./schema_keywords.ts";

const STRINGS = ["$id", "$ref", "$schema", "$anchor", "title", "description", "format", "pattern"];

/**
 * Why `pattern` cannot be a schema pattern: not a valid regular expression in
 * Unicode mode (how validators compile it), or one that may take exponential
 * time on the single thread that serves every request.
 */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
  } catch {
    return "is not a valid regular expression";
  }
  return backtrackRisk(pattern);
}

/** A schema problem: where (a JSON Pointer inside the schema) and what. */
export interface SchemaProblem {
  pointer: string;
  message: string;
}

/** Returns the first problem found in `schema`, or undefined when it is well formed. */
export function checkSchema(schema: unknown, pointer = ""): SchemaProblem | undefined {
  if (typeof schema === "boolean") return undefined;
  if (!isObject(schema)) return { pointer, message: "a schema must be an object or a boolean" };
  const at = (key: string) => `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  const t = schema.type;
  if (t !== undefined) {
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0 || list.some((x) => typeof x !== "string" || !JSON_TYPES.includes(x))) {
      return {
        pointer: at("type"),
        message: `type must be one of ${JSON_TYPES.join(", ")} (or a list)`,
      };
    }
  }
  for (const key of STRINGS) {
    if (schema[key] !== undefined && typeof schema[key] !== "string") {
      return { pointer: at(key), message: `${key} must be a string` };
    }
  }
  if (typeof schema.pattern === "string") {
    const problem = patternProblem(schema.pattern);
    if (problem) return { pointer: at("pattern"), message: `pattern ${problem}` };
  }
  if (isObject(schema.patternProperties)) {
    for (const key of Object.keys(schema.patternProperties)) {
      const problem = patternProblem(key);
      if (problem) return { pointer: at("patternProperties"), message: `'${key}' ${problem}` };
    }
  }
  for (const key of COUNT_KEYWORDS) {
    const v = schema[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) {
      return { pointer: at(key), message: `${key} must be a non-negative integer` };
    }
  }
  for (const key of NUMBER_KEYWORDS) {
    if (schema[key] !== undefined && typeof schema[key] !== "number") {
      return { pointer: at(key), message: `${key} must be a number` };
    }
  }
  if (schema.required !== undefined) {
    const r = schema.required;
    if (!Array.isArray(r) || r.some((x) => typeof x !== "string") || new Set(r).size !== r.length) {
      return { pointer: at("required"), message: "required must be a list of distinct strings" };
    }
  }
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) {
    return { pointer: at("enum"), message: "enum must be a list" };
  }
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (map === undefined) continue;
    if (!isObject(map)) return { pointer: at(key), message: `${key} must be an object of schemas` };
    for (const [name, sub] of Object.entries(map)) {
      const problem = checkSchema(
        sub,
        `${at(key)}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`,
      );
      if (problem) return problem;
    }
  }
  for (const key of SCHEMA_VALUES) {
    if (schema[key] === undefined) continue;
    // Draft-07 tuple form `items: [...]` is still common in the wild.
    if (key === "items" && Array.isArray(schema.items)) {
      for (let i = 0; i < schema.items.length; i++) {
        const problem = checkSchema(schema.items[i], `${at(key)}/${i}`);
        if (problem) return problem;
      }
      continue;
    }
    const problem = checkSchema(schema[key], at(key));
    if (problem) return problem;
  }
  for (const key of SCHEMA_LISTS) {
    const list = schema[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) {
      return { pointer: at(key), message: `${key} must be a non-empty list of schemas` };
    }
    for (let i = 0; i < list.length; i++) {
      const problem = checkSchema(list[i], `${at(key)}/${i}`);
      if (problem) return problem;
    }
  }
  return undefined;
}
