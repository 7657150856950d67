/**
 * Routes: `/servers`, the upstream MCP servers of an org (create, list, get,
 * update, delete, refresh, logs, the items it lists). Each answer carries the server's live
 * status from the supervisor. Viewers read; members write HTTP servers;
 * stdio servers run a command on the Gatehouse host, so only admins and
 * owners create, change, refresh or delete them, and the host can turn the
 * kind off (`GATEHOUSE_ALLOW_STDIO=0`). A server of another org answers 404
 * exactly like a missing one.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { PendingChange } from "../store/server_items.ts";
import type { UpstreamServer, UpstreamServerInput } from "../store/servers.ts";
import { type AuditChanges, changesBetween } from "../store/audit.ts";
import { canonicalJson } from "../util/json.ts";
import { audited, settable, targetOf } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { forbidden, notFound } from "./errors.ts";
import { listQuery, LISTS } from "./lists.ts";
import { presentServer } from "./present.ts";
import { requireRole } from "./principal.ts";
import { mergeServerInput, parseServerInput } from "./server_input.ts";

/** A pending change with the fields it changes, each as before and after. */
export function presentChange(change: PendingChange) {
  const { serverId: _s, current, proposed, ...rest } = change;
  const fields = [...new Set([...Object.keys(current), ...Object.keys(proposed)])].sort();
  const diff = fields
    .filter((f) => canonicalJson(current[f]) !== canonicalJson(proposed[f]))
    .map((field) => ({ field, before: current[field] ?? null, after: proposed[field] ?? null }));
  return { ...rest, diff, current, proposed };
}

/** The server routes. */
export function serverRoutes(
  { store, config, upstreams, forwarder, catalog }: ApiDeps,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const serverOf = async (c: Context<ApiEnv>): Promise<UpstreamServer> => {
    const server = await store.servers.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!server) throw notFound("server");
    return server;
  };
  /** The live status, with what gateways withhold of the server and what awaits approval. */
  const present = async (s: UpstreamServer) => {
    const withheld = [];
    for (const gatewayId of await store.serverItems.gatewaysOf(s.id)) {
      for (const w of (await catalog.forGateway(gatewayId)).withheld) {
        if (w.serverId !== s.id) continue;
        withheld.push({ gatewayId, kind: w.kind, name: w.name, reason: w.reason });
      }
    }
    const pendingChanges = (await store.serverItems.pendingChanges(s.id)).length;
    return presentServer(s, {
      ...upstreams.status(s.id),
      withheld,
      pendingChanges,
      breaker: forwarder.breaker(s.id),
      sessions: forwarder.sessions(s.id),
    });
  };
  /** Stdio servers need the admin role, and the host's permission for the kind. */
  const mayTouch = (c: Context<ApiEnv>, transport: string, creating: boolean) => {
    if (transport !== "stdio") return;
    requireRole(c, "admin");
    if (creating && !config.allowStdio) {
      throw forbidden(
        "stdio servers are turned off on this Gatehouse (GATEHOUSE_ALLOW_STDIO=0): " +
          "they run a command on the Gatehouse host",
      );
    }
  };
  const replace = async (
    c: Context<ApiEnv>,
    server: UpstreamServer,
    input: UpstreamServerInput,
  ) => {
    mayTouch(c, server.transport, false);
    mayTouch(c, input.transport, input.transport !== server.transport);
    const updated = await audited(c, store, async (note) => {
      const before = await store.servers.get(server.orgId, server.id);
      const updated = await store.servers.update(server.orgId, server.id, input);
      if (!before || !updated) throw notFound("server");
      await note({
        action: "server.update",
        target: targetOf("server", updated),
        changes: changesBetween(settable(before), settable(updated)),
      });
      return updated;
    });
    await forwarder.forget(server.id);
    await upstreams.upsert(updated);
    return c.json(await present(updated));
  };

  app.post("/", async (c) => {
    const input = parseServerInput(await readJson(c));
    mayTouch(c, input.transport, true);
    const server = await audited(c, store, async (note) => {
      const server = await store.servers.create(c.get("principal").org.id, input);
      await note({
        action: "server.create",
        target: targetOf("server", server),
        changes: changesBetween(undefined, settable(server)),
      });
      return server;
    });
    await upstreams.upsert(server);
    return c.json(await present(server), 201);
  });

  app.get("/", async (c) => {
    const orgId = c.get("principal").org.id;
    const query = listQuery(c, LISTS.servers, [orgId]);
    const page = await store.servers.page(orgId, query.page);
    const shown = [];
    for (const s of page.items) shown.push(await present(s));
    return c.json(query.answer("servers", shown, page.next));
  });

  app.get("/:id", async (c) => c.json(await present(await serverOf(c))));

  app.get("/:id/logs", async (c) => {
    const server = await serverOf(c);
    return c.json({ id: server.id, ...upstreams.logs(server.id) });
  });

  // What it lists besides tools (those are at `GET /tools?serverId=`), as it listed them.
  app.get("/:id/items", async (c) => {
    const server = await serverOf(c);
    const [resources, resourceTemplates, prompts] = await Promise.all([
      store.serverItems.items(server.id, "resource"),
      store.serverItems.items(server.id, "template"),
      store.serverItems.items(server.id, "prompt"),
    ]);
    return c.json({ id: server.id, resources, resourceTemplates, prompts });
  });

  app.post("/:id/refresh", async (c) => {
    const server = await serverOf(c);
    mayTouch(c, server.transport, false);
    await upstreams.refresh(server.id);
    // Recorded once done. What the listing changes is the supervisor's own write, not the caller's.
    const target = targetOf("server", server);
    await audited(c, store, (note) => note({ action: "server.refresh", target }));
    return c.json(await present(server));
  });

  // Held changes of tools and prompts: anyone reads them, admins approve them.
  app.get("/:id/changes", async (c) => {
    const server = await serverOf(c);
    const changes = await store.serverItems.pendingChanges(server.id);
    return c.json({ changes: changes.map(presentChange) });
  });

  app.post("/:id/changes/:changeId/approve", async (c) => {
    const server = await serverOf(c);
    requireRole(c, "admin");
    const change = await audited(c, store, async (note) => {
      const change = await store.serverItems.pendingChange(server.id, c.req.param("changeId"));
      if (!change || !await store.serverItems.approve(server, change.id)) throw notFound("change");
      // Named as the server's parts: `tools.<name>.description`, `prompts.<name>.arguments`.
      const field = (f: string) => `${change.kind}s.${change.name}.${f}`;
      const changes: AuditChanges = {};
      for (const d of presentChange(change).diff) {
        changes[field(d.field)] = { from: d.before, to: d.after };
      }
      await note({ action: "server.approve", target: targetOf("server", server), changes });
      return change;
    });
    return c.json({ approved: presentChange(change), server: await present(server) });
  });

  // PATCH changes the fields given (null removes an optional one); PUT replaces the server.
  app.patch("/:id", async (c) => {
    const server = await serverOf(c);
    const { id: _i, orgId: _o, createdAt: _c, updatedAt: _u, ...current } = server;
    return await replace(c, server, mergeServerInput(current, await readJson(c)));
  });
  app.put("/:id", async (c) => {
    const server = await serverOf(c);
    return await replace(c, server, parseServerInput(await readJson(c)));
  });

  app.delete("/:id", async (c) => {
    const server = await serverOf(c);
    mayTouch(c, server.transport, false);
    await audited(c, store, async (note) => {
      if (!await store.servers.delete(server.orgId, server.id)) throw notFound("server");
      await note({
        action: "server.delete",
        target: targetOf("server", server),
        changes: changesBetween(settable(server), undefined),
      });
    });
    // The process is gone before the answer: a client may check right after.
    await forwarder.forget(server.id);
    await upstreams.remove(server.id);
    return c.body(null, 204);
  });

  return app;
}
