/**
 * What upstream servers offer, as last listed: their tools (rows of `tools`
 * with a `server_id`, so they can be assigned like any tool), prompts,
 * resources and resource templates (`server_items`), and the changes to
 * tools and prompts that wait for approval (`server_changes`).
 *
 * Pinning: once a tool or prompt has been seen, a server that holds changes
 * (`onChange: "hold"`) cannot change its definition behind the admins' back;
 * the new definition waits as a change until approved, and the old one keeps
 * being served. New items appear, removed ones go.
 *
 * @module
 */
import { canonicalJson, isObject } from "../util/json.ts";
import type { ChangeFeed } from "./changes.ts";
import type { UpstreamServer } from "./servers.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { type JsonObject, type Tool, toTool } from "./tools.ts";
import { newId, now } from "./util.ts";

/** A server's listing, as the supervisor read it. */
export interface ServerListing {
  tools: JsonObject[];
  resources: JsonObject[];
  resourceTemplates: JsonObject[];
  prompts: JsonObject[];
}

/** Kinds of items kept in `server_items`. */
export type ItemKind = "prompt" | "resource" | "template";

/** A change to a tool or prompt of a server, waiting for approval. */
export interface PendingChange {
  id: string;
  serverId: string;
  kind: "tool" | "prompt";
  name: string;
  /** The definition being served now. */
  current: JsonObject;
  /** The definition the server lists now. */
  proposed: JsonObject;
  /** True when the change is to what callers send (a tool's inputSchema, a prompt's arguments). */
  breaking: boolean;
  detectedAt: string;
}

/** The most items of one kind kept per server: a listing past it is cut. */
export const MAX_ITEMS_PER_KIND = 10_000;
/** Tool and prompt names longer than this, or empty, are not taken from a server. */
const MAX_NAME = 256;
/** Resource URIs and templates longer than this are not taken from a server. */
const MAX_URI = 4096;

/** The fields of an upstream tool kept in columns; the rest (icons, _meta...) stay as `extra`. */
const TOOL_COLUMNS = ["name", "title", "description", "inputSchema", "outputSchema", "annotations"];

/** A listed tool as the definition Gatehouse pins (everything but its name). */
export function toolDefinition(t: JsonObject): JsonObject {
  const d: JsonObject = {
    description: typeof t.description === "string" ? t.description : "",
    inputSchema: isObject(t.inputSchema) ? t.inputSchema : { type: "object" },
  };
  if (typeof t.title === "string") d.title = t.title;
  if (isObject(t.outputSchema)) d.outputSchema = t.outputSchema;
  if (isObject(t.annotations)) d.annotations = t.annotations;
  const extra: JsonObject = {};
  for (const [k, v] of Object.entries(t)) if (!TOOL_COLUMNS.includes(k)) extra[k] = v;
  if (Object.keys(extra).length > 0) d.extra = extra;
  return d;
}

/** The pinned definition of a stored server tool. */
function storedDefinition(tool: Tool): JsonObject {
  const d: JsonObject = { description: tool.description, inputSchema: tool.inputSchema };
  if (tool.title !== undefined) d.title = tool.title;
  if (tool.outputSchema) d.outputSchema = tool.outputSchema;
  if (tool.annotations) d.annotations = tool.annotations;
  const extra = tool.executionConfig.extra;
  if (isObject(extra)) d.extra = extra;
  return d;
}

/** Items of `list` with a usable, first-seen `key`, at most {@link MAX_ITEMS_PER_KIND}. */
function keyed(list: JsonObject[], key: "name" | "uri" | "uriTemplate"): Map<string, JsonObject> {
  const max = key === "name" ? MAX_NAME : MAX_URI;
  const out = new Map<string, JsonObject>();
  for (const item of list) {
    const k = item[key];
    if (typeof k !== "string" || k.length === 0 || k.length > max || out.has(k)) continue;
    out.set(k, item);
    if (out.size >= MAX_ITEMS_PER_KIND) break;
  }
  return out;
}

/** Reads and writes servers' tools, prompts, resources, templates and pending changes. */
export class ServerItems {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /**
   * Brings the stored items of `server` in line with `listing`, in one
   * transaction, holding changes to known tools and prompts when the server
   * holds changes. Announces the gateways that serve the server when what
   * they serve changed; returns whether it did.
   */
  async sync(server: UpstreamServer, listing: ServerListing): Promise<boolean> {
    const hold = (server.onChange ?? "hold") === "hold";
    return await this.db.tx(async () => {
      let changed = false;
      const ts = now();
      // Tools.
      const listed = keyed(listing.tools, "name");
      const stored = new Map((await this.tools(server.id)).map((t) => [t.name, t]));
      for (const [name, tool] of stored) {
        if (!listed.has(name)) {
          await this.db.run("DELETE FROM tools WHERE id = ?", tool.id);
          changed = true;
        }
      }
      for (const [name, item] of listed) {
        const def = toolDefinition(item);
        const old = stored.get(name);
        if (!old) {
          await this.#writeTool(server, name, def, ts);
          changed = true;
          continue;
        }
        const current = storedDefinition(old);
        if (canonicalJson(current) === canonicalJson(def)) {
          changed = await this.#release(server.id, "tool", name) || changed;
        } else if (hold) {
          const breaking = canonicalJson(current.inputSchema) !== canonicalJson(def.inputSchema);
          changed = await this.#hold(server.id, "tool", name, def, breaking, ts) || changed;
        } else {
          await this.#writeTool(server, name, def, ts, old.id);
          await this.#release(server.id, "tool", name);
          changed = true;
        }
      }
      // Prompts are pinned like tools; resources and templates follow the server.
      changed =
        await this.#syncItems(server.id, "prompt", keyed(listing.prompts, "name"), hold, ts) ||
        changed;
      changed =
        await this.#syncItems(server.id, "resource", keyed(listing.resources, "uri"), false, ts) ||
        changed;
      changed = await this.#syncItems(
        server.id,
        "template",
        keyed(listing.resourceTemplates, "uriTemplate"),
        false,
        ts,
      ) || changed;
      if (changed) this.changes.emit(await this.gatewaysOf(server.id));
      return changed;
    });
  }

  async #writeTool(server: UpstreamServer, name: string, def: JsonObject, ts: string, id?: string) {
    const config = JSON.stringify(def.extra ? { extra: def.extra } : {});
    const cols: (string | null)[] = [
      typeof def.title === "string" ? def.title : null,
      def.description as string,
      JSON.stringify(def.inputSchema),
      def.outputSchema ? JSON.stringify(def.outputSchema) : null,
      def.annotations ? JSON.stringify(def.annotations) : null,
      config,
    ];
    if (id) {
      await this.db.run(
        `UPDATE tools SET title = ?, description = ?, input_schema = ?, output_schema = ?,
         annotations = ?, execution_config = ?, updated_at = ? WHERE id = ?`,
        ...cols,
        ts,
        id,
      );
      return;
    }
    await this.db.run(
      `INSERT INTO tools (id, org_id, server_id, name, title, description, input_schema,
       output_schema, annotations, type, execution_config, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'mcp', ?, ?, ?)`,
      newId(),
      server.orgId,
      server.id,
      name,
      ...cols,
      ts,
      ts,
    );
  }

  async #syncItems(
    serverId: string,
    kind: ItemKind,
    listed: Map<string, JsonObject>,
    hold: boolean,
    ts: string,
  ): Promise<boolean> {
    let changed = false;
    const stored = await this.#items(serverId, kind);
    for (const key of stored.keys()) {
      if (listed.has(key)) continue;
      await this.db.run(
        "DELETE FROM server_items WHERE server_id = ? AND kind = ? AND key = ?",
        serverId,
        kind,
        key,
      );
      if (kind === "prompt") await this.#release(serverId, "prompt", key);
      changed = true;
    }
    for (const [key, item] of listed) {
      const old = stored.get(key);
      const same = old !== undefined && canonicalJson(old) === canonicalJson(item);
      if (same) {
        if (kind === "prompt") changed = await this.#release(serverId, "prompt", key) || changed;
        continue;
      }
      if (old !== undefined && hold && kind === "prompt") {
        const breaking = canonicalJson(old.arguments ?? []) !== canonicalJson(item.arguments ?? []);
        changed = await this.#hold(serverId, "prompt", key, item, breaking, ts) || changed;
        continue;
      }
      await this.#writeItem(serverId, kind, key, item, ts);
      if (kind === "prompt") await this.#release(serverId, "prompt", key);
      changed = true;
    }
    return changed;
  }

  async #writeItem(serverId: string, kind: ItemKind, key: string, item: JsonObject, ts: string) {
    await this.db.run(
      `INSERT INTO server_items (server_id, kind, key, definition, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (server_id, kind, key) DO UPDATE SET definition = excluded.definition,
       updated_at = excluded.updated_at`,
      serverId,
      kind,
      key,
      JSON.stringify(item),
      ts,
      ts,
    );
  }

  /**
   * Records (or replaces) the pending change of an item. Returns whether
   * what gateways serve changed: a breaking change withholds the item.
   */
  async #hold(
    serverId: string,
    kind: "tool" | "prompt",
    name: string,
    proposed: JsonObject,
    breaking: boolean,
    ts: string,
  ): Promise<boolean> {
    const before = await this.#pending(serverId, kind, name);
    const text = JSON.stringify(proposed);
    if (before && before.proposed === text) return false;
    await this.db.run(
      `INSERT INTO server_changes (id, server_id, kind, name, proposed, breaking, detected_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (server_id, kind, name) DO UPDATE SET proposed = excluded.proposed,
       breaking = excluded.breaking, detected_at = excluded.detected_at`,
      newId(),
      serverId,
      kind,
      name,
      text,
      breaking ? 1 : 0,
      ts,
    );
    return (before?.breaking === 1) !== breaking;
  }

  /** Drops the pending change of an item (the server went back); true when that un-withholds it. */
  async #release(serverId: string, kind: "tool" | "prompt", name: string): Promise<boolean> {
    const before = await this.#pending(serverId, kind, name);
    if (!before) return false;
    await this.db.run(
      "DELETE FROM server_changes WHERE server_id = ? AND kind = ? AND name = ?",
      serverId,
      kind,
      name,
    );
    return before.breaking === 1;
  }

  #pending(serverId: string, kind: string, name: string): Promise<Row | undefined> {
    return this.db.get(
      "SELECT proposed, breaking FROM server_changes WHERE server_id = ? AND kind = ? AND name = ?",
      serverId,
      kind,
      name,
    );
  }

  async #items(serverId: string, kind: ItemKind): Promise<Map<string, JsonObject>> {
    const rows = await this.db.all(
      "SELECT key, definition FROM server_items WHERE server_id = ? AND kind = ? ORDER BY created_at, key",
      serverId,
      kind,
    );
    return new Map(rows.map((r) => [r.key as string, JSON.parse(r.definition as string)]));
  }

  /** The tools of server `serverId`, oldest first. */
  async tools(serverId: string): Promise<Tool[]> {
    const rows = await this.db.all(
      "SELECT * FROM tools WHERE server_id = ? ORDER BY created_at, name",
      serverId,
    );
    return rows.map(toTool);
  }

  /** The stored items of one kind of server `serverId` (as the server listed them), oldest first. */
  async items(serverId: string, kind: ItemKind): Promise<JsonObject[]> {
    return [...(await this.#items(serverId, kind)).values()];
  }

  /** Names of the tools and prompts of `serverId` withheld by a breaking pending change. */
  async withheld(serverId: string): Promise<{ tools: Set<string>; prompts: Set<string> }> {
    const rows = await this.db.all(
      "SELECT kind, name FROM server_changes WHERE server_id = ? AND breaking = 1",
      serverId,
    );
    const out = { tools: new Set<string>(), prompts: new Set<string>() };
    for (const r of rows) (r.kind === "tool" ? out.tools : out.prompts).add(r.name as string);
    return out;
  }

  /** The pending changes of server `serverId`, oldest first. */
  async pendingChanges(serverId: string): Promise<PendingChange[]> {
    const rows = await this.db.all(
      "SELECT * FROM server_changes WHERE server_id = ? ORDER BY detected_at, name",
      serverId,
    );
    const out: PendingChange[] = [];
    for (const r of rows) out.push(await this.#change(r));
    return out;
  }

  /** One pending change, if `serverId` has it. */
  async pendingChange(serverId: string, changeId: string): Promise<PendingChange | undefined> {
    const r = await this.db.get(
      "SELECT * FROM server_changes WHERE server_id = ? AND id = ?",
      serverId,
      changeId,
    );
    return r ? await this.#change(r) : undefined;
  }

  async #change(r: Row): Promise<PendingChange> {
    const kind = r.kind as "tool" | "prompt";
    const name = r.name as string;
    const serverId = r.server_id as string;
    let current: JsonObject = {};
    if (kind === "tool") {
      const tool = (await this.tools(serverId)).find((t) => t.name === name);
      if (tool) current = storedDefinition(tool);
    } else {
      current = (await this.#items(serverId, "prompt")).get(name) ?? {};
    }
    return {
      id: r.id as string,
      serverId,
      kind,
      name,
      current,
      proposed: JSON.parse(r.proposed as string),
      breaking: r.breaking === 1,
      detectedAt: r.detected_at as string,
    };
  }

  /** Serves the proposed definition of a pending change from now on; false when not found. */
  async approve(server: UpstreamServer, changeId: string): Promise<boolean> {
    return await this.db.tx(async () => {
      const change = await this.pendingChange(server.id, changeId);
      if (!change) return false;
      const ts = now();
      if (change.kind === "tool") {
        const tool = (await this.tools(server.id)).find((t) => t.name === change.name);
        if (tool) await this.#writeTool(server, change.name, change.proposed, ts, tool.id);
      } else {
        await this.#writeItem(server.id, "prompt", change.name, change.proposed, ts);
      }
      await this.db.run("DELETE FROM server_changes WHERE id = ?", changeId);
      this.changes.emit(await this.gatewaysOf(server.id));
      return true;
    });
  }

  /** The gateways that serve something of `serverId`: attached, or assigned one of its tools. */
  gatewaysOf(serverId: string): Promise<string[]> {
    return gatewaysServing(this.db, serverId);
  }
}

/** The gateways that serve something of `serverId` (for the repositories that change servers). */
export async function gatewaysServing(db: SqlEngine, serverId: string): Promise<string[]> {
  const rows = await db.all(
    `SELECT gateway_id FROM gateway_servers WHERE server_id = ?
     UNION SELECT gt.gateway_id FROM gateway_tools gt JOIN tools t ON t.id = gt.tool_id
     WHERE t.server_id = ?`,
    serverId,
    serverId,
  );
  return rows.map((r) => r.gateway_id as string);
}
