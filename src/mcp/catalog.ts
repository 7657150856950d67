/**
 * The tools a gateway exposes, as MCP sees them: built once per change of the
 * gateway (descriptors, argument validators, name index), so that
 * `tools/list` and `tools/call` do no per-request schema work.
 *
 * @module
 */
import { type OutputUnit, Validator } from "@cfworker/json-schema";
import type { Store } from "../store/store.ts";
import type { Tool } from "../store/tools.ts";
import { checkSchema } from "../tools/schema_check.ts";

/** A tool as listed to MCP clients. */
export interface ToolDescriptor {
  name: string;
  title?: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** A tool ready to call: the stored tool, its descriptor and a compiled argument validator. */
export interface CatalogEntry {
  tool: Tool;
  descriptor: ToolDescriptor;
  validate(args: Record<string, unknown>): string[];
}

/** One gateway's tools, sorted by name. */
export interface GatewayTools {
  entries: CatalogEntry[];
  byName: Map<string, CatalogEntry>;
  /** `tools/list` results already built (with their JSON attached), by `start:size`. */
  pages: Map<string, Record<string, unknown>>;
}

const DRAFTS: Record<string, "4" | "7" | "2019-09" | "2020-12"> = {
  "http://json-schema.org/draft-04/schema#": "4",
  "http://json-schema.org/draft-07/schema#": "7",
  "https://json-schema.org/draft/2019-09/schema": "2019-09",
  "https://json-schema.org/draft/2020-12/schema": "2020-12",
};

function describe(tool: Tool): ToolDescriptor {
  const d: ToolDescriptor = {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
  };
  if (tool.title !== undefined) d.title = tool.title;
  if (tool.outputSchema) d.outputSchema = tool.outputSchema;
  if (tool.annotations) d.annotations = tool.annotations;
  return d;
}

function formatErrors(errors: OutputUnit[]): string[] {
  // cfworker reports the failing keyword and every enclosing one; keep the innermost messages.
  const leaves = errors.filter((e) =>
    !errors.some((o) =>
      o !== e && o.instanceLocation.startsWith(e.instanceLocation) &&
      o.keywordLocation.startsWith(e.keywordLocation) && o.keywordLocation !== e.keywordLocation
    )
  );
  return leaves.map((e) => {
    const where = e.instanceLocation === "#"
      ? "arguments"
      : `arguments${e.instanceLocation.slice(1)}`;
    return `${where}: ${e.error}`;
  });
}

/**
 * The most items an argument array may have when the tool's schema asks for
 * unique items anywhere: the validator compares every pair (256 items take
 * about 10 ms, 20,000 take 24 s on the thread every request shares).
 */
export const MAX_UNIQUE_ITEMS = 256;

/** The length of the longest array anywhere in `value`. */
function longestArray(value: unknown): number {
  if (Array.isArray(value)) {
    return value.reduce((n, v) => Math.max(n, longestArray(v)), value.length);
  }
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  for (const v of Object.values(value)) n = Math.max(n, longestArray(v));
  return n;
}

function entry(tool: Tool): CatalogEntry {
  const draft = DRAFTS[String(tool.inputSchema.$schema ?? "")] ?? "2020-12";
  // Saved schemas were checked; one stored before a check existed is refused here, not run.
  const problem = checkSchema(tool.inputSchema);
  const validator = new Validator(tool.inputSchema as never, draft, false);
  const uniqueItems = JSON.stringify(tool.inputSchema).includes('"uniqueItems":true');
  return {
    tool,
    descriptor: describe(tool),
    validate(args) {
      if (problem) {
        return [`the tool's inputSchema cannot be applied: ${problem.pointer} ${problem.message}`];
      }
      if (uniqueItems) {
        const longest = longestArray(args);
        if (longest > MAX_UNIQUE_ITEMS) {
          return [
            `arguments: an array of ${longest} items is longer than this tool takes ` +
            `(${MAX_UNIQUE_ITEMS} at most, since its schema asks for unique items)`,
          ];
        }
      }
      try {
        const out = validator.validate(args);
        return out.valid ? [] : formatErrors(out.errors);
      } catch (err) {
        // An unresolvable $ref or similar: a fault of the stored schema, not of the caller.
        return [`the tool's inputSchema cannot be applied: ${(err as Error).message}`];
      }
    },
  };
}

/** Per-gateway tool views, rebuilt lazily after the store reports a change. */
export class ToolCatalog {
  #cache = new Map<string, GatewayTools>();

  /** Watches `store` for changes that make a cached view stale. */
  constructor(private readonly store: Store) {
    store.changes.subscribe(({ gatewayIds }) => {
      for (const id of gatewayIds) this.#cache.delete(id);
    });
  }

  /** The enabled tools of `gatewayId`. */
  forGateway(gatewayId: string): GatewayTools {
    let view = this.#cache.get(gatewayId);
    if (!view) {
      const entries = this.store.tools.enabledFor(gatewayId).map(entry);
      view = { entries, byName: new Map(entries.map((e) => [e.tool.name, e])), pages: new Map() };
      this.#cache.set(gatewayId, view);
    }
    return view;
  }
}
