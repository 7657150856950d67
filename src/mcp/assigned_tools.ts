/**
 * Tools assigned to gateways one by one, as a catalog source: local tools
 * (run by the executor of their type) and upstream servers' tools assigned
 * individually (type `mcp`, forwarded by its executor).
 *
 * @module
 */
import { type CatalogSource, noItems, type SourceItems, type ToolDescriptor } from "./source.ts";
import type { Store } from "../store/store.ts";
import type { Tool, ToolInput } from "../store/tools.ts";
import { isObject } from "../util/json.ts";
import { errorResult, type ExecutorRegistry } from "../tools/executor.ts";

/** A stored tool as listed to MCP clients (an upstream tool keeps its icons, `_meta`...). */
export function describeTool(tool: ToolInput, name = tool.name): ToolDescriptor {
  const extra = tool.type === "mcp" && isObject(tool.executionConfig.extra)
    ? tool.executionConfig.extra
    : {};
  const d: ToolDescriptor = {
    ...extra,
    name,
    description: tool.description,
    inputSchema: tool.inputSchema,
  };
  if (tool.title !== undefined) d.title = tool.title;
  if (tool.outputSchema) d.outputSchema = tool.outputSchema;
  if (tool.annotations) d.annotations = tool.annotations;
  return d;
}

/** The enabled tool assignments of each gateway, as items. */
export class AssignedToolSource implements CatalogSource {
  /** Reads assignments from `store`; runs tools with `executors`, by type. */
  constructor(private readonly store: Store, private readonly executors: ExecutorRegistry) {}

  /** {@inheritDoc CatalogSource.itemsFor} */
  async itemsFor(gatewayId: string): Promise<SourceItems> {
    const items = noItems();
    const withheld = new Map<string, Set<string>>();
    for (const tool of await this.store.tools.enabledFor(gatewayId)) {
      const origin = tool.serverId
        ? `tool '${tool.name}' of server '${await this.#serverName(tool)}'`
        : `tool '${tool.name}'`;
      if (tool.serverId) {
        let held = withheld.get(tool.serverId);
        if (!held) {
          held = (await this.store.serverItems.withheld(tool.serverId)).tools;
          withheld.set(tool.serverId, held);
        }
        if (held.has(tool.name)) {
          items.withheld.push({
            kind: "tool",
            name: tool.name,
            origin,
            serverId: tool.serverId,
            reason: "its server changed its inputSchema; the change awaits approval",
          });
          continue;
        }
      }
      const executor = this.executors.get(tool.type);
      // Executors report what they run through ctx.log, so the gateway offers logging.
      if (tool.type === "http") items.logging = true;
      items.tools.push({
        name: tool.name,
        descriptor: describeTool(tool),
        toolId: tool.id,
        origin,
        serverId: tool.serverId,
        // Upstream servers' tools assigned one by one are limited like local ones.
        ...(tool.rateLimit === null ? {} : { rateLimit: tool.rateLimit }),
        call: (args, ctx) =>
          executor ? executor.execute(tool, args, ctx) : Promise.resolve(
            errorResult(`Tools of type '${tool.type}' cannot be executed by this server`),
          ),
      });
    }
    return items;
  }

  async #serverName(tool: Tool): Promise<string> {
    return (await this.store.servers.get(tool.orgId, tool.serverId!))?.name ?? tool.serverId!;
  }
}
