/**
 * What makes a tool definition acceptable: MCP tool-name rules, an object
 * `inputSchema`, and an execution config of a known type whose templates
 * refer only to declared parameters.
 *
 * @module
 */
import { checkRequestParts } from "./http_parameters.ts";
import { checkSchema } from "./schema_check.ts";
import { isObject } from "../util/json.ts";

/** MCP tool names: 1-128 characters of A-Z, a-z, 0-9, `_`, `-`, `.` (spec 2025-11-25). */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** The tool types Gatehouse knows how to store (and, later, execute). */
export const TOOL_TYPES = ["http"] as const;

/** HTTP methods an `http` tool may use. */
export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

/** Default upstream timeout of an `http` tool, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Execution config fields for structured parameters and body encodings (see `http_parameters.ts`). */
const REQUEST_PART_FIELDS = ["parameters", "bodyEncoding", "bodyFiles", "bodyFields"];

/**
 * Secret names: they appear in `{{secrets.NAME}}` templates and in
 * `executionConfig.auth.secret`, so they keep to identifier characters.
 */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A rejected part of a tool definition: the field path and why. */
export interface DefinitionProblem {
  field: string;
  message: string;
}

/** Checks a schema that MCP requires to describe an object; returns the first problem. */
export function checkObjectSchema(
  schema: unknown,
  field: string,
): DefinitionProblem | undefined {
  if (!isObject(schema)) return { field, message: `${field} must be a JSON Schema object` };
  if (schema.type !== "object") {
    return { field: `${field}.type`, message: `${field}.type must be "object" (MCP requires it)` };
  }
  const problem = checkSchema(schema);
  if (problem) {
    return {
      field,
      message: `${field} is not a valid JSON Schema at '${problem.pointer}': ${problem.message}`,
    };
  }
  return undefined;
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const TEMPLATE_REF = /^(parameters|secrets)\.([A-Za-z_][A-Za-z0-9_.-]*)$/;

/** Every `{{...}}` template inside `value` (strings, lists and objects, recursively). */
export function templatesIn(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(TEMPLATE)].map((m) => m[1]);
  if (Array.isArray(value)) return value.flatMap(templatesIn);
  if (isObject(value)) return Object.values(value).flatMap(templatesIn);
  return [];
}

function checkTemplates(
  value: unknown,
  field: string,
  params: Set<string>,
): DefinitionProblem | undefined {
  for (const ref of templatesIn(value)) {
    const m = TEMPLATE_REF.exec(ref);
    if (!m) {
      return {
        field,
        message: `${field}: template '{{${ref}}}' must be {{parameters.NAME}} or {{secrets.NAME}}`,
      };
    }
    if (m[1] === "parameters" && !params.has(m[2].split(".")[0])) {
      return {
        field,
        message: `${field}: template '{{${ref}}}' names a parameter not in inputSchema.properties`,
      };
    }
  }
  return undefined;
}

function checkStringMap(v: unknown, field: string): DefinitionProblem | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
    return { field, message: `${field} must be an object whose values are strings` };
  }
  return undefined;
}

/** Checks `executionConfig.auth`: `{secret: NAME}`, naming the secret that authenticates calls. */
function checkAuth(v: unknown, field: string): DefinitionProblem | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return { field, message: `${field} must be an object like {"secret": "NAME"}` };
  const unknown = Object.keys(v).find((k) => k !== "secret");
  if (unknown) {
    return { field: `${field}.${unknown}`, message: `unknown field ${field}.${unknown}` };
  }
  if (typeof v.secret !== "string" || !SECRET_NAME.test(v.secret)) {
    return {
      field: `${field}.secret`,
      message: `${field}.secret must name a secret: a letter or '_', then letters, digits ` +
        "or '_', at most 128 characters",
    };
  }
  return undefined;
}

/**
 * Checks an `http` tool's execution config against its input schema and
 * returns it with defaults filled in, or the first problem.
 */
export function normalizeHttpConfig(
  config: Record<string, unknown>,
  inputSchema: Record<string, unknown>,
): { config: Record<string, unknown> } | { problem: DefinitionProblem } {
  const f = (k: string) => `executionConfig.${k}`;
  const known = [
    "method",
    "url",
    "headers",
    "queryParams",
    "body",
    "timeout",
    "retries",
    "auth",
    ...REQUEST_PART_FIELDS,
  ];
  const unknown = Object.keys(config).find((k) => !known.includes(k));
  if (unknown) return { problem: { field: f(unknown), message: `unknown field ${f(unknown)}` } };
  const method = typeof config.method === "string" ? config.method.toUpperCase() : config.method;
  if (typeof method !== "string" || !(HTTP_METHODS as readonly string[]).includes(method)) {
    return {
      problem: {
        field: f("method"),
        message: `${f("method")} must be one of ${HTTP_METHODS.join(", ")}`,
      },
    };
  }
  const url = config.url;
  if (typeof url !== "string" || !/^https?:\/\/[^/\s{}]/i.test(url.replace(TEMPLATE, "x"))) {
    return {
      problem: { field: f("url"), message: `${f("url")} must be an absolute http(s) URL` },
    };
  }
  const props = isObject(inputSchema.properties) ? inputSchema.properties : {};
  const params = new Set(Object.keys(props));
  for (const key of ["headers", "queryParams"]) {
    const problem = checkStringMap(config[key], f(key));
    if (problem) return { problem };
  }
  for (const key of ["url", "headers", "queryParams", "body"]) {
    const problem = checkTemplates(config[key], f(key), params);
    if (problem) return { problem };
  }
  const authProblem = checkAuth(config.auth, f("auth"));
  if (authProblem) return { problem: authProblem };
  const partsProblem = checkRequestParts(config, params);
  if (partsProblem) return { problem: partsProblem };
  const timeout = config.timeout ?? DEFAULT_TIMEOUT_MS;
  if (
    typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1 || timeout > 300_000
  ) {
    return {
      problem: {
        field: f("timeout"),
        message: `${f("timeout")} must be milliseconds from 1 to 300000`,
      },
    };
  }
  const retries = config.retries ?? 0;
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0 || retries > 5) {
    return {
      problem: { field: f("retries"), message: `${f("retries")} must be an integer from 0 to 5` },
    };
  }
  const out: Record<string, unknown> = { method, url, timeout, retries };
  if (config.headers !== undefined) out.headers = config.headers;
  if (config.queryParams !== undefined) out.queryParams = config.queryParams;
  if (config.body !== undefined) out.body = config.body;
  if (config.auth !== undefined) out.auth = { secret: (config.auth as { secret: string }).secret };
  for (const key of REQUEST_PART_FIELDS) if (config[key] !== undefined) out[key] = config[key];
  return { config: out };
}
