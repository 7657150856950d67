/**
 * What an import costs a model: every byte of `tools/list` is read on every
 * turn. Each tool is measured as `tools/list` lists it (name, title,
 * description, inputSchema, outputSchema, annotations, as JSON in UTF-8),
 * tools and imports over their limits are named in the warnings, and
 * `slim: true` (see `slim.ts`) is measured before and after.
 *
 * @module
 */
import type { ApiTool } from "../store/apis.ts";
import type { ToolInput } from "../store/tools.ts";
import { describeTool } from "../mcp/assigned_tools.ts";
import { utf8Length } from "../util/json.ts";
import type { GeneratedTool } from "./convert.ts";
import { slimSchema } from "./slim.ts";

/** The sizes over which an import warns, in bytes of `tools/list`. */
export interface ContextLimits {
  /** One tool's entry. */
  toolBytes: number;
  /** All the tools of the import together. */
  listBytes: number;
}

/** The limits of an import that names none: 16 KiB a tool, 256 KiB in all. */
export const DEFAULT_CONTEXT_LIMITS: ContextLimits = {
  toolBytes: 16 * 1024,
  listBytes: 256 * 1024,
};

/** The largest limit an import may set (1 GiB: beyond any list a gateway serves). */
export const MAX_CONTEXT_LIMIT = 1024 ** 3;

/** One tool's share of `tools/list`. */
export interface ToolCost {
  name: string;
  /** Bytes of its entry as listed now. */
  bytes: number;
  /** Bytes its entry would have without `slim` (slimmed imports only). */
  bytesBeforeSlim?: number;
}

/** The context cost of an import, as its response reports it. */
export interface ContextCost {
  /** Bytes of all its tools' entries (a `tools/list` of only them adds brackets and commas). */
  totalBytes: number;
  /** The limits the warnings were checked against. */
  limits: ContextLimits;
  /** Each tool, by name. */
  tools: ToolCost[];
  /** Bytes `slim` took off the tools' entries in all (slimmed imports only). */
  savedBytes?: number;
}

/** Bytes of `tool`'s entry in `tools/list`. */
export function toolBytes(tool: ToolInput): number {
  return utf8Length(JSON.stringify(describeTool(tool)));
}

/**
 * Slims `generated`'s input schema and records the bytes that took off its
 * entry. Measured under its base name: the name it is stored under may
 * differ, and the saving does not depend on it.
 */
export function slimTool(generated: GeneratedTool): void {
  const tool = { ...generated.tool, name: generated.baseName };
  const before = toolBytes(tool);
  generated.tool.inputSchema = slimSchema(tool.inputSchema);
  generated.slimSavedBytes = before -
    toolBytes({ ...tool, inputSchema: generated.tool.inputSchema });
}

/**
 * The context cost of the imported `ops`, as stored in `stored` (by name,
 * each naming the route of its operation), with a warning for each tool
 * over `limits.toolBytes` (largest first), one when all together exceed
 * `limits.listBytes`, and one with the saving of `slim`.
 */
export function contextCost(
  ops: readonly GeneratedTool[],
  stored: readonly ApiTool[],
  limits: ContextLimits,
): { cost: ContextCost; warnings: string[] } {
  const opOf = new Map(ops.map((op) => [op.route, op]));
  const measured = stored.map(({ name, route }) => {
    const op = opOf.get(route)!;
    const cost: ToolCost = { name, bytes: toolBytes({ ...op.tool, name }) };
    if (op.slimSavedBytes !== undefined) cost.bytesBeforeSlim = cost.bytes + op.slimSavedBytes;
    return { route, cost };
  });
  const tools = measured.map((m) => m.cost);
  const totalBytes = tools.reduce((n, t) => n + t.bytes, 0);
  const cost: ContextCost = { totalBytes, limits, tools };
  const slimmed = ops.some((op) => op.slimSavedBytes !== undefined);
  const shrink = slimmed ? "" : "slim: true shrinks it, ";
  const warnings: string[] = [];
  for (const { route, cost: t } of measured.sort((a, b) => b.cost.bytes - a.cost.bytes)) {
    if (t.bytes <= limits.toolBytes) break;
    warnings.push(
      `tool '${t.name}' (${route}) takes ${t.bytes} bytes of tools/list, over ` +
        `limits.toolBytes (${limits.toolBytes}); ${shrink}exclude leaves it out`,
    );
  }
  if (totalBytes > limits.listBytes) {
    warnings.push(
      `the ${tools.length} tools of this import take ${totalBytes} bytes of tools/list, over ` +
        `limits.listBytes (${limits.listBytes}); ${shrink}include or exclude narrows it`,
    );
  }
  if (slimmed) {
    const saved = ops.reduce((n, op) => n + (op.slimSavedBytes ?? 0), 0);
    const before = totalBytes + saved;
    cost.savedBytes = saved;
    warnings.push(
      `slim: true saved ${saved} of ${before} bytes of tools/list ` +
        `(${Math.round((saved / before) * 100)}%), now ${totalBytes}`,
    );
  }
  return { cost, warnings };
}
