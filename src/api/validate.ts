/**
 * Field-by-field validation of JSON request bodies. Every failure names the
 * field (dotted path) and says what was expected.
 *
 * @module
 */
import { isObject } from "../util/json.ts";
import { invalid } from "./errors.ts";

/** A parsed JSON object body. */
export type Body = Record<string, unknown>;

/** Re-exported for the route modules, which check shapes with it. */
export { isObject };

/** Options for {@link string}. */
export interface StringRule {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Said in the error when `pattern` does not match. */
  patternHint?: string;
}

/** A required string field. */
export function string(body: Body, field: string, rule: StringRule = {}, path = field): string {
  const v = body[field];
  if (typeof v !== "string") {
    throw invalid(path, v === undefined ? `${path} is required` : `${path} must be a string`);
  }
  return checkString(v, path, rule);
}

/** An optional string field: undefined when absent. */
export function optionalString(
  body: Body,
  field: string,
  rule: StringRule = {},
  path = field,
): string | undefined {
  if (body[field] === undefined || body[field] === null) return undefined;
  return string(body, field, rule, path);
}

function checkString(v: string, path: string, rule: StringRule): string {
  const min = rule.min ?? 1;
  if (v.length < min) {
    throw invalid(
      path,
      min === 1 ? `${path} must not be empty` : `${path} needs ${min}+ characters`,
    );
  }
  if (rule.max !== undefined && v.length > rule.max) {
    throw invalid(path, `${path} must be at most ${rule.max} characters`);
  }
  if (rule.pattern && !rule.pattern.test(v)) {
    throw invalid(path, `${path} ${rule.patternHint ?? `must match ${rule.pattern}`}`);
  }
  return v;
}

/** A required field whose value is one of `choices`. */
export function oneOf<T extends string>(
  body: Body,
  field: string,
  choices: readonly T[],
  path = field,
): T {
  const v = body[field];
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
    throw invalid(
      path,
      `${path} ${v === undefined ? "is required and" : ""} must be one of: ${choices.join(", ")}`
        .replace("  ", " "),
    );
  }
  return v as T;
}

/** An optional boolean field. */
export function optionalBoolean(body: Body, field: string, path = field): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw invalid(path, `${path} must be true or false`);
  return v;
}

/** An optional JSON object field. */
export function optionalObject(
  body: Body,
  field: string,
  path = field,
): Record<string, unknown> | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid(path, `${path} must be a JSON object`);
  return v;
}

/** A required JSON object field. */
export function object(body: Body, field: string, path = field): Record<string, unknown> {
  const v = optionalObject(body, field, path);
  if (v === undefined) throw invalid(path, `${path} is required`);
  return v;
}

/** An optional integer field within `[min, max]`. */
export function optionalInteger(
  body: Body,
  field: string,
  min: number,
  max: number,
  path = field,
): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(path, `${path} must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** An optional future timestamp (ISO-8601), normalised; undefined when absent. */
export function optionalFutureTime(body: Body, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw invalid(field, `${field} must be an ISO-8601 date-time`);
  if (t <= Date.now()) throw invalid(field, `${field} must be in the future`);
  return new Date(t).toISOString();
}

/** Refuses fields not in `allowed`, so typos are not silently ignored. */
export function onlyFields(body: Body, allowed: readonly string[], prefix = ""): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw invalid(`${prefix}${key}`, `unknown field ${prefix}${key}`);
    }
  }
}
