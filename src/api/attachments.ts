/**
 * Routes: `/gateways/:id/servers`, whole upstream servers attached to a
 * gateway (attach, list, detach). An attachment whose items would take a
 * name (tool or prompt name, resource URI, template) the gateway already
 * serves is refused with 409 naming both; an item a server adds later and
 * that collides is withheld and shown in the server's status instead.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { GatewayView } from "../mcp/catalog.ts";
import type { SourceItems } from "../mcp/source.ts";
import type { Attachment } from "../store/attachments.ts";
import { changesBetween } from "../store/audit.ts";
import type { Gateway } from "../store/gateways.ts";
import { parseAttachmentInput } from "./attachment_input.ts";
import { audited, targetOf } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { ApiError, notFound } from "./errors.ts";

/** The first name `incoming` (the items of `serverId`'s attachment) would take from another item. */
export function firstCollision(
  view: GatewayView,
  incoming: SourceItems,
  serverId: string,
): string | undefined {
  // The items of this server's current attachment give way to the new settings.
  const ours = (h: { serverId?: string; toolId?: string }) =>
    h.serverId === serverId && h.toolId === undefined;
  for (const t of incoming.tools) {
    const h = view.byName.get(t.name)?.item;
    if (h && !ours(h)) {
      return `${t.origin} would be served as '${t.name}', a name taken by ${h.origin}`;
    }
  }
  for (const p of incoming.prompts) {
    const h = view.promptsByName.get(p.name);
    if (h && !ours(h)) {
      return `${p.origin} would be served as '${p.name}', a name taken by ${h.origin}`;
    }
  }
  for (const r of incoming.resources) {
    const h = view.resourcesByUri.get(r.uri);
    if (h && !ours(h)) return `${r.origin} is already served by ${h.origin}`;
  }
  for (const t of incoming.templates) {
    const h = view.templateList.find((x) => x.uriTemplate === t.uriTemplate);
    if (h && !ours(h)) {
      return `${t.origin} is already served by ${h.origin}`;
    }
  }
  return undefined;
}

/** What an event shows of an attachment: that there is one (settings may be empty), and its settings. */
function attachmentFields(a: Attachment): Record<string, unknown> {
  const { gatewayId: _g, serverId: _s, attachedAt: _a, ...settings } = a;
  return { attached: true, ...settings };
}

/** The attachment routes of the gateway `gatewayOf` finds. */
export function attachmentRoutes(
  { store, servers, catalog, upstreams }: ApiDeps,
  gatewayOf: (c: Context<ApiEnv>) => Promise<Gateway>,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const present = async (gw: Gateway, a: Attachment) => {
    const server = (await store.servers.find(a.serverId))!;
    const items = await servers.itemsOf(a);
    const view = await catalog.forGateway(gw.id);
    return {
      serverId: a.serverId,
      name: server.name,
      transport: server.transport,
      ...(a.prefix !== undefined ? { prefix: a.prefix } : {}),
      ...(a.include ? { include: a.include } : {}),
      ...(a.exclude ? { exclude: a.exclude } : {}),
      ...(a.toolRateLimit !== undefined ? { toolRateLimit: a.toolRateLimit } : {}),
      attachedAt: a.attachedAt,
      state: upstreams.status(a.serverId).state,
      // What the gateway serves of this server: items that hold their name in its view.
      serves: {
        tools: items.tools.filter((t) => view.byName.get(t.name)?.item.origin === t.origin).length,
        prompts: items.prompts.filter((p) => view.promptsByName.get(p.name)?.origin === p.origin)
          .length,
        resources:
          items.resources.filter((r) => view.resourcesByUri.get(r.uri)?.origin === r.origin).length,
        resourceTemplates:
          items.templates.filter((t) => view.templateList.some((x) => x.origin === t.origin))
            .length,
      },
      withheld: view.withheld.filter((w) => w.serverId === a.serverId).map((w) => ({
        kind: w.kind,
        name: w.name,
        reason: w.reason,
      })),
    };
  };

  app.post("/", async (c) => {
    const gw = await gatewayOf(c);
    const input = parseAttachmentInput(await readJson(c));
    if (!await store.servers.get(gw.orgId, input.serverId)) {
      throw new ApiError(404, "not_found", `server '${input.serverId}' not found`, "serverId");
    }
    const { serverId, ...settings } = input;
    const collision = firstCollision(
      await catalog.forGateway(gw.id),
      await servers.itemsOf(input),
      serverId,
    );
    if (collision) {
      throw new ApiError(
        409,
        "conflict",
        `${collision}; attach the server with a prefix, or exclude the item`,
        "prefix",
      );
    }
    const { a, existed } = await audited(c, store, async (note) => {
      const before = await store.attachments.get(gw.id, serverId);
      const a = await store.attachments.attach(gw.id, serverId, settings);
      await note({
        action: "gateway.server.attach",
        target: targetOf("gateway", gw),
        changes: changesBetween(
          before && attachmentFields(before),
          attachmentFields(a),
          `servers.${serverId}.`,
        ),
      });
      return { a, existed: before !== undefined };
    });
    return c.json(await present(gw, a), existed ? 200 : 201);
  });

  app.get("/", async (c) => {
    const gw = await gatewayOf(c);
    const shown = [];
    for (const a of await store.attachments.list(gw.id)) shown.push(await present(gw, a));
    return c.json({ servers: shown });
  });

  app.get("/:serverId", async (c) => {
    const gw = await gatewayOf(c);
    const a = await store.attachments.get(gw.id, c.req.param("serverId"));
    if (!a) throw notFound("server attachment");
    return c.json(await present(gw, a));
  });

  app.delete("/:serverId", async (c) => {
    const gw = await gatewayOf(c);
    await audited(c, store, async (note) => {
      const before = await store.attachments.get(gw.id, c.req.param("serverId"));
      if (!before || !await store.attachments.detach(gw.id, before.serverId)) {
        throw notFound("server attachment");
      }
      await note({
        action: "gateway.server.detach",
        target: targetOf("gateway", gw),
        changes: changesBetween(attachmentFields(before), undefined, `servers.${before.serverId}.`),
      });
    });
    return c.body(null, 204);
  });

  return app;
}
