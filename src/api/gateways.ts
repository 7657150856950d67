/**
 * Routes: `/gateways` (create, list, get, update, delete) and, per gateway,
 * its tool assignments, keys and auth methods. Everything under
 * `/gateways/:id` first finds the gateway in the caller's org, so a gateway
 * of another org answers 404 exactly like a missing one.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { displayPrefix, GATEWAY_KEY_PREFIX, generateToken, hashToken } from "../auth/tokens.ts";
import { type AuditAction, changesBetween } from "../store/audit.ts";
import type { AuthMethod } from "../store/auth_methods.ts";
import type { Gateway, GatewayInput } from "../store/gateways.ts";
import type { GatewayKey } from "../store/keys.ts";
import {
  checkAuthMethodSecrets,
  parseAuthMethodInput,
  parseAuthMethodPatch,
} from "./auth_method_input.ts";
import { attachmentRoutes } from "./attachments.ts";
import { audited, type Note, settable, targetOf } from "./audit.ts";
import { baseUrl } from "./base_url.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { ApiError, invalid, notFound } from "./errors.ts";
import { mergeGatewayInput, parseGatewayInput } from "./gateway_input.ts";
import { listQuery, LISTS } from "./lists.ts";
import {
  optionalToolRateLimit,
  parseAssignInput,
  parseGatewayKeyInput,
  parseGatewayKeyPatch,
} from "./gateway_parts_input.ts";
import { presentAssignment, presentGateway, presentGatewayKey } from "./present.ts";
import { onlyFields, optionalBoolean } from "./validate.ts";

// Kept exported from here, where they were first defined, for existing importers.
export { AUTH_METHOD_TYPES, GATEWAY_SCOPES } from "./gateway_parts_input.ts";

/** What an event shows of a gateway key: never its value or hash (the store has neither). */
function keyFields(key: GatewayKey): Record<string, unknown> {
  const { id: _i, gatewayId: _g, createdAt: _c, ...rest } = key;
  return rest;
}

/** What an event shows of an auth method. */
function methodFields(method: AuthMethod): Record<string, unknown> {
  const { id: _i, gatewayId: _g, createdAt: _c, updatedAt: _u, ...rest } = method;
  return rest;
}

/** The gateway routes. */
export function gatewayRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const { store, config, vault, catalog } = deps;
  const app = new Hono<ApiEnv>();

  const gatewayOf = async (c: Context<ApiEnv>): Promise<Gateway> => {
    const gw = await store.gateways.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!gw) throw notFound("gateway");
    return gw;
  };
  const show = async (c: Context<ApiEnv>, gw: Gateway) =>
    presentGateway(
      baseUrl(config, c.req.raw),
      c.get("principal").org,
      gw,
      (await store.authMethods.list(gw.id)).map((m) => m.type),
    );
  const updated = (c: Context<ApiEnv>, gw: Gateway, input: GatewayInput): Promise<Gateway> =>
    audited(c, store, async (note) => {
      const before = await store.gateways.get(gw.orgId, gw.id);
      const result = await store.gateways.update(gw.orgId, gw.id, input);
      if (!before || !result) throw notFound("gateway");
      await note({
        action: "gateway.update",
        target: targetOf("gateway", result),
        changes: changesBetween(settable(before), settable(result)),
      });
      return result;
    });
  /** Notes a change to a part of `gw` (`part` is `tools.<id>`, `keys.<id>`...). */
  const notePart = (
    note: Note,
    action: AuditAction,
    gw: Gateway,
    part: string,
    before: Record<string, unknown> | undefined,
    after: Record<string, unknown> | undefined,
  ) =>
    note({
      action,
      target: targetOf("gateway", gw),
      changes: changesBetween(before, after, `${part}.`),
    });

  app.post("/", async (c) => {
    const input = parseGatewayInput(await readJson(c));
    const gw = await audited(c, store, async (note) => {
      const gw = await store.gateways.create(c.get("principal").org.id, input);
      await note({
        action: "gateway.create",
        target: targetOf("gateway", gw),
        changes: changesBetween(undefined, settable(gw)),
      });
      return gw;
    });
    return c.json(await show(c, gw), 201);
  });

  app.get("/", async (c) => {
    const orgId = c.get("principal").org.id;
    const query = listQuery(c, LISTS.gateways, [orgId]);
    const page = await store.gateways.page(orgId, query.page);
    const shown = [];
    for (const gw of page.items) shown.push(await show(c, gw));
    return c.json(query.answer("gateways", shown, page.next));
  });

  app.get("/:id", async (c) => c.json(await show(c, await gatewayOf(c))));

  // PATCH changes the fields given; PUT replaces the gateway with a full body.
  app.patch("/:id", async (c) => {
    const gw = await gatewayOf(c);
    return c.json(await show(c, await updated(c, gw, mergeGatewayInput(gw, await readJson(c)))));
  });
  app.put("/:id", async (c) => {
    const gw = await gatewayOf(c);
    return c.json(await show(c, await updated(c, gw, parseGatewayInput(await readJson(c)))));
  });

  app.delete("/:id", async (c) => {
    await audited(c, store, async (note) => {
      const gw = await store.gateways.get(c.get("principal").org.id, c.req.param("id"));
      if (!gw || !await store.gateways.delete(gw.orgId, gw.id)) throw notFound("gateway");
      await note({
        action: "gateway.delete",
        target: targetOf("gateway", gw),
        changes: changesBetween(settable(gw), undefined),
      });
    });
    return c.body(null, 204);
  });

  /** Refuses enabling `toolIds` in `gw` when one would take a name another item serves. */
  const checkNames = async (gw: Gateway, toolIds: string[], field: string) => {
    const view = await catalog.forGateway(gw.id);
    const claimed = new Map<string, string>();
    for (const id of toolIds) {
      const tool = await store.tools.get(gw.orgId, id);
      if (!tool) continue;
      const origin = tool.serverId
        ? `tool '${tool.name}' of server '${(await store.servers.find(tool.serverId))?.name}'`
        : `tool '${tool.name}'`;
      const holder = view.byName.get(tool.name)?.item;
      const other = holder && holder.toolId !== tool.id ? holder.origin : claimed.get(tool.name);
      if (other) {
        throw new ApiError(
          409,
          "conflict",
          `${origin} would be served as '${tool.name}', a name taken by ${other} in this gateway`,
          field,
        );
      }
      claimed.set(tool.name, origin);
    }
  };

  // Tool assignments.
  app.post("/:id/tools", async (c) => {
    const gw = await gatewayOf(c);
    const input = parseAssignInput(await readJson(c));
    if (input.enabled) await checkNames(gw, input.toolIds, input.field);
    await audited(c, store, async (note) => {
      const before = new Map((await store.tools.assignments(gw.id)).map((a) => [a.tool.id, a]));
      const missing = await store.tools.assign(
        gw.orgId,
        gw.id,
        input.toolIds,
        input.enabled,
        input.rateLimit,
      );
      if (missing.length > 0) {
        throw new ApiError(404, "not_found", `tool '${missing[0]}' not found`, input.field);
      }
      const changes = input.toolIds.map((id) => {
        const was = before.get(id);
        return changesBetween(
          was === undefined ? undefined : { enabled: was.enabled, rateLimit: was.rateLimit },
          {
            enabled: input.enabled,
            rateLimit: input.rateLimit === undefined ? was?.rateLimit ?? null : input.rateLimit,
          },
          `tools.${id}.`,
        );
      });
      await note({
        action: "gateway.tool.assign",
        target: targetOf("gateway", gw),
        changes: Object.assign({}, ...changes),
      });
    });
    return c.json({ tools: (await store.tools.assignments(gw.id)).map(presentAssignment) }, 201);
  });

  app.get("/:id/tools", async (c) => {
    const gw = await gatewayOf(c);
    const query = listQuery(c, LISTS.gatewayTools, [gw.orgId, gw.id]);
    const page = await store.tools.assignmentPage(gw.orgId, gw.id, query.page);
    return c.json(query.answer("tools", page.items.map(presentAssignment), page.next));
  });

  app.patch("/:id/tools/:toolId", async (c) => {
    const gw = await gatewayOf(c);
    const body = await readJson(c);
    onlyFields(body, ["enabled", "rateLimit"]);
    const enabled = optionalBoolean(body, "enabled");
    const rateLimit = optionalToolRateLimit(body);
    if (enabled === undefined && rateLimit === undefined) {
      throw invalid("enabled", "give enabled, rateLimit, or both");
    }
    const toolId = c.req.param("toolId");
    if (enabled) await checkNames(gw, [toolId], "enabled");
    await audited(c, store, async (note) => {
      const before = await store.tools.assignment(gw.id, toolId);
      if (!before || !await store.tools.updateAssignment(gw.id, toolId, { enabled, rateLimit })) {
        throw notFound("tool assignment");
      }
      const was = { enabled: before.enabled, rateLimit: before.rateLimit };
      const is = {
        enabled: enabled ?? before.enabled,
        rateLimit: rateLimit === undefined ? before.rateLimit : rateLimit,
      };
      await notePart(note, "gateway.tool.update", gw, `tools.${toolId}`, was, is);
    });
    return c.json(presentAssignment((await store.tools.assignment(gw.id, toolId))!));
  });

  app.delete("/:id/tools/:toolId", async (c) => {
    const gw = await gatewayOf(c);
    const toolId = c.req.param("toolId");
    await audited(c, store, async (note) => {
      const before = await store.tools.assignment(gw.id, toolId);
      if (!before || !await store.tools.unassign(gw.id, toolId)) throw notFound("tool assignment");
      const was = { name: before.tool.name, enabled: before.enabled };
      await notePart(note, "gateway.tool.unassign", gw, `tools.${toolId}`, was, undefined);
    });
    return c.body(null, 204);
  });

  // Whole upstream servers.
  app.route("/:id/servers", attachmentRoutes(deps, gatewayOf));

  // Gateway keys: what MCP clients send. The raw value is in this response only.
  app.post("/:id/keys", async (c) => {
    const gw = await gatewayOf(c);
    const input = parseGatewayKeyInput(await readJson(c));
    const raw = generateToken(GATEWAY_KEY_PREFIX);
    const key = await audited(c, store, async (note) => {
      const key = await store.gatewayKeys.create(gw.id, {
        ...input,
        hash: hashToken(raw),
        prefix: displayPrefix(raw),
      });
      await notePart(note, "gateway.key.issue", gw, `keys.${key.id}`, undefined, keyFields(key));
      return key;
    });
    return c.json({ ...presentGatewayKey(key), key: raw }, 201);
  });

  app.get("/:id/keys", async (c) => {
    const gw = await gatewayOf(c);
    return c.json({ keys: (await store.gatewayKeys.list(gw.id)).map(presentGatewayKey) });
  });

  // A key's own rate limit changes in place (its value, scopes and expiry do not).
  app.patch("/:id/keys/:keyId", async (c) => {
    const gw = await gatewayOf(c);
    const { rateLimit } = parseGatewayKeyPatch(await readJson(c));
    const key = await audited(c, store, async (note) => {
      const before = await store.gatewayKeys.get(gw.id, c.req.param("keyId"));
      const key = before && await store.gatewayKeys.setRateLimit(gw.id, before.id, rateLimit);
      if (!before || !key) throw notFound("gateway key");
      const [was, is] = [keyFields(before), keyFields(key)];
      await notePart(note, "gateway.key.update", gw, `keys.${key.id}`, was, is);
      return key;
    });
    return c.json(presentGatewayKey(key));
  });

  app.delete("/:id/keys/:keyId", async (c) => {
    const gw = await gatewayOf(c);
    const key = await audited(c, store, async (note) => {
      const before = await store.gatewayKeys.get(gw.id, c.req.param("keyId"));
      const key = before && await store.gatewayKeys.revoke(gw.id, before.id);
      if (!before || !key) throw notFound("gateway key");
      const [was, is] = [keyFields(before), keyFields(key)];
      await notePart(note, "gateway.key.revoke", gw, `keys.${key.id}`, was, is);
      return key;
    });
    return c.json(presentGatewayKey(key));
  });

  // Auth methods: a gateway with none refuses every MCP request.
  app.post("/:id/auth", async (c) => {
    const gw = await gatewayOf(c);
    const { hmacSecret, ...input } = parseAuthMethodInput(await readJson(c), config.jwt);
    await checkAuthMethodSecrets({ hmacSecret }, gw.orgId, store, vault);
    const method = await audited(c, store, async (note) => {
      const method = await store.authMethods.create(gw.id, input);
      const part = `auth.${method.id}`;
      await notePart(note, "gateway.auth_method.create", gw, part, undefined, methodFields(method));
      return method;
    });
    return c.json(method, 201);
  });

  // Order, required, rules and configuration change in place; the type does not.
  app.patch("/:id/auth/:methodId", async (c) => {
    const gw = await gatewayOf(c);
    const method = await store.authMethods.get(gw.id, c.req.param("methodId"));
    if (!method) throw notFound("auth method");
    const { hmacSecret, ...changes } = parseAuthMethodPatch(await readJson(c), method, config.jwt);
    await checkAuthMethodSecrets({ hmacSecret }, gw.orgId, store, vault);
    const updated = await audited(c, store, async (note) => {
      const before = await store.authMethods.get(gw.id, method.id);
      const updated = await store.authMethods.update(gw.id, method.id, changes);
      if (!before || !updated) throw notFound("auth method");
      const [was, is] = [methodFields(before), methodFields(updated)];
      await notePart(note, "gateway.auth_method.update", gw, `auth.${method.id}`, was, is);
      return updated;
    });
    return c.json(updated);
  });

  app.get("/:id/auth", async (c) => {
    const gw = await gatewayOf(c);
    return c.json({ methods: await store.authMethods.list(gw.id) });
  });

  app.delete("/:id/auth/:methodId", async (c) => {
    const gw = await gatewayOf(c);
    await audited(c, store, async (note) => {
      const before = await store.authMethods.get(gw.id, c.req.param("methodId"));
      if (!before || !await store.authMethods.delete(gw.id, before.id)) {
        throw notFound("auth method");
      }
      const part = `auth.${before.id}`;
      await notePart(note, "gateway.auth_method.delete", gw, part, methodFields(before), undefined);
    });
    return c.body(null, 204);
  });

  return app;
}
