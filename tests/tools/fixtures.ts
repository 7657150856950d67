/**
 * Tools for executor tests, built the way the management API stores them:
 * the execution config goes through the same validation and normalisation.
 *
 * @module
 */
import assert from "node:assert/strict";
import { normalizeHttpConfig } from "../../src/tools/definition.ts";
import type { CallToolResult } from "../../src/tools/executor.ts";
import type { JsonObject, Tool } from "../../src/store/tools.ts";

/** An `http` tool with `config` (validated like a saved one) and `properties` as its parameters. */
export function httpTool(
  config: Record<string, unknown>,
  properties: Record<string, unknown> = {},
  extra: Partial<Tool> = {},
): Tool {
  const inputSchema: JsonObject = { type: "object", properties };
  const normalized = normalizeHttpConfig(config, inputSchema);
  if ("problem" in normalized) throw new Error(normalized.problem.message);
  return {
    id: extra.id ?? crypto.randomUUID(),
    orgId: "org-1",
    name: "test_tool",
    description: "a tool under test",
    inputSchema,
    type: "http",
    executionConfig: normalized.config,
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    ...extra,
  };
}

/** The text of the first content block (asserting it is text). */
export function textOf(result: CallToolResult): string {
  const block = result.content[0];
  assert.equal(block?.type, "text", JSON.stringify(result));
  return block.text as string;
}

/** Asserts an error result and returns its text. */
export function errorText(result: CallToolResult): string {
  assert.equal(result.isError, true, `expected an error result, got ${JSON.stringify(result)}`);
  return textOf(result);
}

/** Asserts a successful result and returns it. */
export function ok(result: CallToolResult): CallToolResult {
  assert.notEqual(result.isError, true, `expected success, got ${JSON.stringify(result)}`);
  return result;
}
