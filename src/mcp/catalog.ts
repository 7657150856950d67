/**
 * What a gateway serves, as MCP sees it: the items of every source (local
 * tools, attached upstream servers) merged under unique names, with argument
 * validators compiled, the capabilities they add up to, and list pages built
 * once. Rebuilt (asynchronously, from the store) only after the store
 * reports a change, so `tools/list` and `tools/call` do no per-request store
 * or schema work once a gateway's view is built.
 *
 * Names are unique in a gateway: the first source and item to claim a name
 * (a tool or prompt name, a resource URI, a template) keeps it; a later one
 * is withheld and reported, never renamed and never shadowing the first.
 *
 * @module
 */
import { type OutputUnit, Validator } from "@cfworker/json-schema";
import type { ChangeFeed } from "../store/changes.ts";
import { checkSchema } from "../tools/schema_check.ts";
import { canonicalJson } from "../util/json.ts";
import type {
  CatalogSource,
  JsonObject,
  PromptItem,
  ResourceItem,
  TemplateItem,
  ToolItem,
  WithheldItem,
} from "./source.ts";
import { compileUriTemplate } from "./uri_template.ts";

/** A tool ready to call: its item and a compiled argument validator. */
export interface CatalogEntry {
  item: ToolItem;
  validate(args: Record<string, unknown>): string[];
}

/** A template with its compiled URI matcher. */
export interface TemplateEntry {
  item: TemplateItem;
  matches(uri: string): boolean;
}

/** The list kinds that have `list_changed` notifications. */
export type ListKind = "tools" | "prompts" | "resources";

/** One gateway's view: everything it serves, sorted for paging. */
export interface GatewayView {
  /** Tools by name. */
  entries: CatalogEntry[];
  byName: Map<string, CatalogEntry>;
  /** Prompts by name. */
  prompts: PromptItem[];
  promptsByName: Map<string, PromptItem>;
  /** Resources by URI. */
  resources: ResourceItem[];
  resourcesByUri: Map<string, ResourceItem>;
  /** Templates in claim order (the first that matches a URI reads it). */
  templates: TemplateEntry[];
  /** Templates by URI template, for listing. */
  templateList: TemplateItem[];
  /** What the gateway advertises in `initialize` and `server/discover`. */
  capabilities: JsonObject;
  /** What some source offered and the gateway does not serve. */
  withheld: WithheldItem[];
  /** List results already built (with their JSON attached), by `kind:start:size`. */
  pages: Map<string, Record<string, unknown>>;
  /** A digest of each list, to tell whether a rebuild changed it. */
  digests: Record<ListKind, string>;
}

const DRAFTS: Record<string, "4" | "7" | "2019-09" | "2020-12"> = {
  "http://json-schema.org/draft-04/schema#": "4",
  "http://json-schema.org/draft-07/schema#": "7",
  "https://json-schema.org/draft/2019-09/schema": "2019-09",
  "https://json-schema.org/draft/2020-12/schema": "2020-12",
};

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

function entry(item: ToolItem): CatalogEntry {
  const schema = item.descriptor.inputSchema;
  const draft = DRAFTS[String(schema.$schema ?? "")] ?? "2020-12";
  // Saved schemas were checked; one stored before a check existed is refused here, not run.
  const problem = checkSchema(schema);
  const validator = new Validator(schema as never, draft, false);
  const uniqueItems = JSON.stringify(schema).includes('"uniqueItems":true');
  return {
    item,
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

/** Orders by `key` the way list pages and cursors expect (code units, as `<` compares). */
function byKey<T>(items: T[], key: (t: T) => string): T[] {
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Merges what `sources` contribute to `gatewayId`, for clients of one era, into one view. */
export async function buildView(
  sources: readonly CatalogSource[],
  gatewayId: string,
  stateless = false,
): Promise<GatewayView> {
  const withheld: WithheldItem[] = [];
  const tools = new Map<string, ToolItem>();
  const prompts = new Map<string, PromptItem>();
  const resources = new Map<string, ResourceItem>();
  const templates = new Map<string, TemplateItem>();
  let logging = false;
  let completions = false;
  let subscribe = false;
  const claim = <T extends { origin: string; serverId?: string }>(
    into: Map<string, T>,
    kind: WithheldItem["kind"],
    key: string,
    item: T,
  ) => {
    const holder = into.get(key);
    if (!holder) {
      into.set(key, item);
      return;
    }
    withheld.push({
      kind,
      name: key,
      origin: item.origin,
      serverId: item.serverId,
      reason: `the name is taken by ${holder.origin}`,
    });
  };
  // Read first, then claimed in the sources' order: earlier sources win a contested name.
  const parts = await Promise.all(sources.map((s) => s.itemsFor(gatewayId, stateless)));
  for (const part of parts) {
    for (const t of part.tools) claim(tools, "tool", t.name, t);
    for (const p of part.prompts) claim(prompts, "prompt", p.name, p);
    for (const r of part.resources) claim(resources, "resource", r.uri, r);
    for (const t of part.templates) claim(templates, "template", t.uriTemplate, t);
    withheld.push(...part.withheld);
    logging ||= part.logging;
    completions ||= part.completions;
    subscribe ||= part.subscribe;
  }
  const entries = byKey([...tools.values()], (t) => t.name).map(entry);
  const promptList = byKey([...prompts.values()], (p) => p.name);
  const resourceList = byKey([...resources.values()], (r) => r.uri);
  const capabilities: JsonObject = { tools: { listChanged: true } };
  if (promptList.length > 0) capabilities.prompts = { listChanged: true };
  if (resourceList.length > 0 || templates.size > 0) {
    capabilities.resources = subscribe
      ? { subscribe: true, listChanged: true }
      : { listChanged: true };
  }
  if (completions) capabilities.completions = {};
  if (logging) capabilities.logging = {};
  return {
    entries,
    byName: new Map(entries.map((e) => [e.item.name, e])),
    prompts: promptList,
    promptsByName: new Map(promptList.map((p) => [p.name, p])),
    resources: resourceList,
    resourcesByUri: new Map(resourceList.map((r) => [r.uri, r])),
    templates: [...templates.values()].map((item) => {
      const matcher = compileUriTemplate(item.uriTemplate);
      return { item, matches: (uri: string) => matcher.test(uri) };
    }),
    templateList: byKey([...templates.values()], (t) => t.uriTemplate),
    capabilities,
    withheld,
    pages: new Map(),
    digests: {
      tools: canonicalJson(entries.map((e) => e.item.descriptor)),
      prompts: canonicalJson(promptList.map((p) => p.descriptor)),
      resources: canonicalJson([
        resourceList.map((r) => r.descriptor),
        [...templates.values()].map((t) => t.descriptor),
      ]),
    },
  };
}

const NO_LISTENERS: ReadonlySet<(kind: ListKind) => void> = new Set();

/** The cache key of a gateway's view for clients of one era. */
function viewKey(gatewayId: string, stateless: boolean): string {
  return stateless ? `${gatewayId}\n2026` : gatewayId;
}

/**
 * Per-gateway views, rebuilt lazily after the store reports a change: one
 * for session-era clients and one for 2026-07-28 clients, which differ when
 * an upstream lists differently to each.
 *
 * A change drops the view at once (in the store's commit, before the writer
 * answers), and with it any build under way: a build that a change
 * overtakes answers the callers that were already waiting for it but is
 * not kept, so nobody who asks after the change is served what it undid.
 */
export class Catalog {
  #cache = new Map<string, GatewayView>();
  /** Builds under way, by key; a change removes its gateway's. */
  #building = new Map<string, Promise<GatewayView>>();
  /**
   * Digests of the lists clients may know, by key: those of the view built
   * when none were kept, then those {@link Catalog.changedLists} announced
   * against, or {@link Catalog.settle} found built.
   */
  #seen = new Map<string, Record<ListKind, string>>();
  #listeners = new Map<string, Set<(kind: ListKind) => void>>();

  /** Reads `sources` in order; watches `changes` for writes that make a view stale. */
  constructor(private readonly sources: readonly CatalogSource[], changes: ChangeFeed) {
    changes.subscribe(({ gatewayIds }) => {
      for (const id of gatewayIds) {
        for (const key of [viewKey(id, false), viewKey(id, true)]) {
          this.#cache.delete(key);
          this.#building.delete(key);
        }
      }
    });
    // Notices may have been missed: every view is rebuilt (what clients saw stays, to compare).
    changes.onResync(() => {
      this.#cache.clear();
      this.#building.clear();
    });
  }

  /**
   * What `gatewayId` serves to clients of one era when its view is built,
   * else undefined: the hot path reads this, with no await.
   */
  built(gatewayId: string, stateless = false): GatewayView | undefined {
    return this.#cache.get(viewKey(gatewayId, stateless));
  }

  /** What `gatewayId` serves to clients of one era (`stateless`: 2026-07-28), built if need be. */
  forGateway(gatewayId: string, stateless = false): Promise<GatewayView> {
    const key = viewKey(gatewayId, stateless);
    const view = this.#cache.get(key);
    if (view) return Promise.resolve(view);
    let building = this.#building.get(key);
    if (!building) {
      building = buildView(this.sources, gatewayId, stateless).then(
        (view) => {
          if (this.#building.get(key) === building) {
            this.#building.delete(key);
            this.#cache.set(key, view);
            if (!this.#seen.has(key)) this.#seen.set(key, view.digests);
          }
          return view;
        },
        (err) => {
          if (this.#building.get(key) === building) this.#building.delete(key);
          throw err;
        },
      );
      this.#building.set(key, building);
    }
    return building;
  }

  /**
   * The lists of `gatewayId` that differ from what its clients may know
   * (all of them when nothing was built before), building its view now.
   */
  async changedLists(gatewayId: string, stateless = false): Promise<ListKind[]> {
    const key = viewKey(gatewayId, stateless);
    const before = this.#seen.get(key);
    const now = (await this.forGateway(gatewayId, stateless)).digests;
    this.#seen.set(key, now);
    const kinds: ListKind[] = ["tools", "prompts", "resources"];
    return before ? kinds.filter((k) => before[k] !== now[k]) : kinds;
  }

  /**
   * `gatewayId` has no session to tell of its change: whatever is built now
   * is what a client will know (nothing, when nothing is).
   */
  settle(gatewayId: string, stateless = false): void {
    const key = viewKey(gatewayId, stateless);
    const view = this.#cache.get(key);
    if (view) this.#seen.set(key, view.digests);
    else this.#seen.delete(key);
  }

  /**
   * Calls `fn` with each list of `gatewayId` that a change alters, until the
   * returned function is called (a 2026-07-28 `subscriptions/listen` stream).
   */
  listen(gatewayId: string, fn: (kind: ListKind) => void): () => void {
    let set = this.#listeners.get(gatewayId);
    if (!set) this.#listeners.set(gatewayId, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#listeners.delete(gatewayId);
    };
  }

  /** The gateways that have listeners (see {@link Catalog.listen}). */
  listenedGateways(): Iterable<string> {
    return this.#listeners.keys();
  }

  /** The listeners of `gatewayId` (see {@link Catalog.listen}). */
  listeners(gatewayId: string): ReadonlySet<(kind: ListKind) => void> {
    return this.#listeners.get(gatewayId) ?? NO_LISTENERS;
  }

  /** A caller named something `gatewayId` does not serve: sources may look again. */
  missed(gatewayId: string): void {
    for (const s of this.sources) s.missed?.(gatewayId);
  }
}
