/**
 * Upstream servers attached whole to gateways, as a catalog source: every
 * tool, prompt, resource and template the server lists (as last stored),
 * renamed with the attachment's prefix and filtered by its include and
 * exclude patterns, each forwarded to the server under its own name.
 *
 * @module
 */
import { type CatalogSource, noItems, type SourceItems, type WithheldItem } from "../mcp/source.ts";
import type { Attachment } from "../store/attachments.ts";
import type { ExecutionContext } from "../tools/executor.ts";
import { isObject } from "../util/json.ts";
import type { Store } from "../store/store.ts";
import { describeTool } from "../mcp/assigned_tools.ts";
import { eraKey, type Supervisor } from "./supervisor.ts";
import type { UpstreamCalls } from "./tool_executor.ts";

/** A call that names nothing served makes a server list again at most this often. */
const RELIST_EVERY_MS = 10_000;

/** A name pattern of include/exclude: `*` matches any run of characters. */
function globToRegExp(pattern: string): RegExp {
  const body = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`);
}

/** Whether `name` passes an attachment's include and exclude patterns. */
export function nameFilter(a: Pick<Attachment, "include" | "exclude">): (name: string) => boolean {
  const include = a.include?.map(globToRegExp);
  const exclude = a.exclude?.map(globToRegExp) ?? [];
  return (name) =>
    (!include || include.some((r) => r.test(name))) && !exclude.some((r) => r.test(name));
}

/** The name an attachment serves an item of its server under. */
export function servedName(a: Pick<Attachment, "prefix">, name: string): string {
  return a.prefix ? `${a.prefix}_${name}` : name;
}

/** Attached servers' items. */
export class ServerSource implements CatalogSource {
  readonly #relisted = new Map<string, number>();

  /** Reads attachments and items from `store`; forwards with `calls`; asks `supervisor` to relist. */
  constructor(
    private readonly store: Store,
    private readonly calls: UpstreamCalls,
    private readonly supervisor: Supervisor,
  ) {}

  /** {@inheritDoc CatalogSource.itemsFor} */
  async itemsFor(gatewayId: string, stateless: boolean): Promise<SourceItems> {
    const all = noItems();
    for (const a of await this.store.attachments.list(gatewayId)) {
      const part = await this.itemsOf(a, stateless);
      all.tools.push(...part.tools);
      all.prompts.push(...part.prompts);
      all.resources.push(...part.resources);
      all.templates.push(...part.templates);
      all.withheld.push(...part.withheld);
      all.logging ||= part.logging;
      all.completions ||= part.completions;
      all.subscribe ||= part.subscribe;
    }
    return all;
  }

  /**
   * What one attachment contributes to clients of one era (also used to
   * check a new one for collisions, with `stateless` unset: then every
   * item counts, whichever era lists it).
   */
  async itemsOf(
    a: Pick<Attachment, "serverId" | "prefix" | "include" | "exclude" | "toolRateLimit">,
    stateless?: boolean,
  ): Promise<SourceItems> {
    const items = noItems();
    const server = await this.store.servers.find(a.serverId);
    if (!server) return items;
    const serverId = server.id;
    // What only the other era lists is left out.
    const eraOnly = this.supervisor.eraOnly(serverId);
    const other = stateless === undefined
      ? undefined
      : stateless
      ? eraOnly.legacy
      : eraOnly.stateless;
    const served = (kind: Parameters<typeof eraKey>[0], id: string) =>
      !other?.has(eraKey(kind, id));
    const filter = nameFilter(a);
    const pass = (name: string, kind: "tool" | "prompt" = "tool") =>
      filter(name) && served(kind, name);
    const held = await this.store.serverItems.withheld(serverId);
    const of = (kind: string, name: string) => `${kind} '${name}' of server '${server.name}'`;
    const withhold = (kind: WithheldItem["kind"], name: string) =>
      items.withheld.push({
        kind,
        name: servedName(a, name),
        origin: of(kind, name),
        serverId,
        reason: `its server changed its ${
          kind === "tool" ? "inputSchema" : "arguments"
        }; the change awaits approval`,
      });
    for (const tool of await this.store.serverItems.tools(serverId)) {
      if (!pass(tool.name)) continue;
      if (held.tools.has(tool.name)) {
        withhold("tool", tool.name);
        continue;
      }
      const name = servedName(a, tool.name);
      items.tools.push({
        name,
        descriptor: describeTool(tool, name),
        origin: of("tool", tool.name),
        serverId,
        ...(a.toolRateLimit === undefined ? {} : { rateLimit: a.toolRateLimit }),
        call: (args, ctx) => this.calls.callTool(serverId, tool.name, args, ctx),
      });
    }
    // What the server announced when it last connected (none yet: nothing beyond its items).
    const caps = this.supervisor.capabilities(serverId, stateless) ?? {};
    const completes = caps.completions !== undefined;
    const subscribable = isObject(caps.resources) && caps.resources.subscribe === true;
    const subscription = subscribable
      ? {
        subscribe: (uri: string, ctx: ExecutionContext) =>
          this.calls.request(serverId, "resources/subscribe", { uri }, ctx),
        unsubscribe: (uri: string, ctx: ExecutionContext) =>
          this.calls.request(serverId, "resources/unsubscribe", { uri }, ctx),
      }
      : {};
    for (const p of await this.store.serverItems.items(serverId, "prompt")) {
      const original = p.name as string;
      if (!pass(original, "prompt")) continue;
      if (held.prompts.has(original)) {
        withhold("prompt", original);
        continue;
      }
      const name = servedName(a, original);
      items.prompts.push({
        name,
        descriptor: { ...p, name },
        origin: of("prompt", original),
        serverId,
        get: (args, ctx) =>
          this.calls.request(serverId, "prompts/get", { name: original, arguments: args }, ctx),
        complete: completes
          ? (req, ctx) =>
            this.calls.request(serverId, "completion/complete", {
              ref: { type: "ref/prompt", name: original },
              ...req,
            }, ctx)
          : undefined,
      });
    }
    for (const r of await this.store.serverItems.items(serverId, "resource")) {
      const uri = r.uri as string;
      if (!served("resource", uri)) continue;
      items.resources.push({
        uri,
        descriptor: r,
        origin: of("resource", uri),
        serverId,
        read: (ctx) => this.calls.request(serverId, "resources/read", { uri }, ctx),
        ...subscription,
      });
    }
    for (const t of await this.store.serverItems.items(serverId, "template")) {
      const uriTemplate = t.uriTemplate as string;
      if (!served("template", uriTemplate)) continue;
      items.templates.push({
        uriTemplate,
        descriptor: t,
        origin: of("template", uriTemplate),
        serverId,
        read: (uri, ctx) => this.calls.request(serverId, "resources/read", { uri }, ctx),
        ...subscription,
        complete: completes
          ? (req, ctx) =>
            this.calls.request(serverId, "completion/complete", {
              ref: { type: "ref/resource", uri: uriTemplate },
              ...req,
            }, ctx)
          : undefined,
      });
    }
    items.logging = caps.logging !== undefined;
    items.completions = completes && (items.prompts.length > 0 || items.templates.length > 0);
    items.subscribe = subscribable && (items.resources.length > 0 || items.templates.length > 0);
    return items;
  }

  /** {@inheritDoc CatalogSource.missed} */
  missed(gatewayId: string): void {
    // In the background: the call that missed is answered without waiting for the store.
    void this.#relist(gatewayId).catch((err) =>
      console.error("asking upstream servers to list again failed:", err)
    );
  }

  async #relist(gatewayId: string): Promise<void> {
    const now = Date.now();
    for (const a of await this.store.attachments.list(gatewayId)) {
      if ((this.#relisted.get(a.serverId) ?? 0) > now - RELIST_EVERY_MS) continue;
      this.#relisted.set(a.serverId, now);
      this.supervisor.relist(a.serverId);
    }
  }
}
