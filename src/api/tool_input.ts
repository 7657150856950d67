/**
 * Parsing of tool bodies into a storable definition, with every problem
 * reported against the field that has it.
 *
 * @module
 */
import type { JsonObject, ToolInput } from "../store/tools.ts";
import {
  checkObjectSchema,
  normalizeHttpConfig,
  TOOL_NAME,
  TOOL_TYPES,
} from "../tools/definition.ts";
import { invalid } from "./errors.ts";
import {
  type Body,
  object,
  oneOf,
  onlyFields,
  optionalObject,
  optionalString,
  string,
} from "./validate.ts";

const FIELDS = [
  "name",
  "title",
  "description",
  "inputSchema",
  "outputSchema",
  "annotations",
  "type",
  "executionConfig",
];

const ANNOTATION_HINTS = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

function parseAnnotations(body: Body): JsonObject | undefined {
  const a = optionalObject(body, "annotations");
  if (!a) return undefined;
  for (const [k, v] of Object.entries(a)) {
    if (ANNOTATION_HINTS.includes(k) && typeof v !== "boolean") {
      throw invalid(`annotations.${k}`, `annotations.${k} must be true or false`);
    }
    if (k === "title" && typeof v !== "string") {
      throw invalid("annotations.title", "annotations.title must be a string");
    }
  }
  return a;
}

/** A full tool body (create). */
export function parseToolInput(body: Body): ToolInput {
  onlyFields(body, FIELDS);
  const name = string(body, "name", {
    max: 128,
    pattern: TOOL_NAME,
    patternHint:
      "must be 1-128 characters of letters, digits, '_', '-' and '.' (MCP tool-name rules)",
  });
  const inputSchema = body.inputSchema === undefined
    ? { type: "object", properties: {} }
    : body.inputSchema;
  const schemaProblem = checkObjectSchema(inputSchema, "inputSchema");
  if (schemaProblem) throw invalid(schemaProblem.field, schemaProblem.message);
  const outputSchema = optionalObject(body, "outputSchema");
  if (outputSchema) {
    const problem = checkObjectSchema(outputSchema, "outputSchema");
    if (problem) throw invalid(problem.field, problem.message);
  }
  const type = oneOf(body, "type", TOOL_TYPES);
  const normalized = normalizeHttpConfig(
    object(body, "executionConfig"),
    inputSchema as JsonObject,
  );
  if ("problem" in normalized) throw invalid(normalized.problem.field, normalized.problem.message);
  const input: ToolInput = {
    name,
    description: optionalString(body, "description", { min: 0, max: 10_000 }) ?? "",
    inputSchema: inputSchema as JsonObject,
    type,
    executionConfig: normalized.config,
  };
  const title = optionalString(body, "title", { max: 200 });
  if (title !== undefined) input.title = title;
  if (outputSchema) input.outputSchema = outputSchema;
  const annotations = parseAnnotations(body);
  if (annotations) input.annotations = annotations;
  return input;
}

/** A partial tool body (update) applied over `current`. */
export function mergeToolInput(current: ToolInput, body: Body): ToolInput {
  onlyFields(body, FIELDS);
  const merged: Body = { ...current, ...body };
  for (const [k, v] of Object.entries(body)) if (v === null) delete merged[k];
  return parseToolInput(merged);
}
