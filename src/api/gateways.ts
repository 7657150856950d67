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
import type { Gateway, GatewayInput } from "../store/gateways.ts";
import {
  checkAuthMethodSecrets,
  parseAuthMethodInput,
  parseAuthMethodPatch,
} from "./auth_method_input.ts";
import { attachmentRoutes } from "./attachments.ts";
import { baseUrl } from "./base_url.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { ApiError, invalid, notFound } from "./errors.ts";
import { mergeGatewayInput, parseGatewayInput } from "./gateway_input.ts";
import { listQuery, LISTS } from "./lists.ts";
import { parseAssignInput, parseGatewayKeyInput } from "./gateway_parts_input.ts";
import { presentAssignment, presentGateway, presentGatewayKey } from "./present.ts";
import { onlyFields, optionalBoolean } from "./validate.ts";

// Kept exported from here, where they were first defined, for existing importers.
export { AUTH_METHOD_TYPES, GATEWAY_SCOPES } from "./gateway_parts_input.ts";

/** The gateway routes. */
export function gatewayRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const { store, config, vault, catalog } = deps;
  const app = new Hono<ApiEnv>();

  const gatewayOf = (c: Context<ApiEnv>): Gateway => {
    const gw = store.gateways.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!gw) throw notFound("gateway");
    return gw;
  };
  const show = (c: Context<ApiEnv>, gw: Gateway) =>
    presentGateway(
      baseUrl(config, c.req.raw),
      c.get("principal").org,
      gw,
      store.authMethods.list(gw.id).map((m) => m.type),
    );
  const updated = (gw: Gateway, input: GatewayInput): Gateway => {
    const result = store.gateways.update(gw.orgId, gw.id, input);
    if (!result) throw notFound("gateway");
    return result;
  };

  app.post("/", async (c) => {
    const input = parseGatewayInput(await readJson(c));
    return c.json(show(c, store.gateways.create(c.get("principal").org.id, input)), 201);
  });

  app.get("/", (c) => {
    const orgId = c.get("principal").org.id;
    const query = listQuery(c, LISTS.gateways, [orgId]);
    const page = store.gateways.page(orgId, query.page);
    return c.json(query.answer("gateways", page.items.map((gw) => show(c, gw)), page.next));
  });

  app.get("/:id", (c) => c.json(show(c, gatewayOf(c))));

  // PATCH changes the fields given; PUT replaces the gateway with a full body.
  app.patch("/:id", async (c) => {
    const gw = gatewayOf(c);
    return c.json(show(c, updated(gw, mergeGatewayInput(gw, await readJson(c)))));
  });
  app.put("/:id", async (c) => {
    const gw = gatewayOf(c);
    return c.json(show(c, updated(gw, parseGatewayInput(await readJson(c)))));
  });

  app.delete("/:id", (c) => {
    if (!store.gateways.delete(c.get("principal").org.id, c.req.param("id"))) {
      throw notFound("gateway");
    }
    return c.body(null, 204);
  });

  /** Refuses enabling `toolIds` in `gw` when one would take a name another item serves. */
  const checkNames = (gw: Gateway, toolIds: string[], field: string) => {
    const view = catalog.forGateway(gw.id);
    const claimed = new Map<string, string>();
    for (const id of toolIds) {
      const tool = store.tools.get(gw.orgId, id);
      if (!tool) continue;
      const origin = tool.serverId
        ? `tool '${tool.name}' of server '${store.servers.find(tool.serverId)?.name}'`
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
    const gw = gatewayOf(c);
    const input = parseAssignInput(await readJson(c));
    if (input.enabled) checkNames(gw, input.toolIds, input.field);
    const missing = store.tools.assign(gw.orgId, gw.id, input.toolIds, input.enabled);
    if (missing.length > 0) {
      throw new ApiError(404, "not_found", `tool '${missing[0]}' not found`, input.field);
    }
    return c.json({ tools: store.tools.assignments(gw.id).map(presentAssignment) }, 201);
  });

  app.get("/:id/tools", (c) => {
    const gw = gatewayOf(c);
    const query = listQuery(c, LISTS.gatewayTools, [gw.orgId, gw.id]);
    const page = store.tools.assignmentPage(gw.orgId, gw.id, query.page);
    return c.json(query.answer("tools", page.items.map(presentAssignment), page.next));
  });

  app.patch("/:id/tools/:toolId", async (c) => {
    const gw = gatewayOf(c);
    const body = await readJson(c);
    onlyFields(body, ["enabled"]);
    const enabled = optionalBoolean(body, "enabled");
    if (enabled === undefined) throw invalid("enabled", "enabled is required");
    const toolId = c.req.param("toolId");
    if (enabled) checkNames(gw, [toolId], "enabled");
    if (!store.tools.setEnabled(gw.id, toolId, enabled)) throw notFound("tool assignment");
    return c.json(presentAssignment(store.tools.assignment(gw.id, toolId)!));
  });

  app.delete("/:id/tools/:toolId", (c) => {
    const gw = gatewayOf(c);
    if (!store.tools.unassign(gw.id, c.req.param("toolId"))) throw notFound("tool assignment");
    return c.body(null, 204);
  });

  // Whole upstream servers.
  app.route("/:id/servers", attachmentRoutes(deps, gatewayOf));

  // Gateway keys: what MCP clients send. The raw value is in this response only.
  app.post("/:id/keys", async (c) => {
    const gw = gatewayOf(c);
    const input = parseGatewayKeyInput(await readJson(c));
    const raw = generateToken(GATEWAY_KEY_PREFIX);
    const key = store.gatewayKeys.create(gw.id, {
      ...input,
      hash: hashToken(raw),
      prefix: displayPrefix(raw),
    });
    return c.json({ ...presentGatewayKey(key), key: raw }, 201);
  });

  app.get("/:id/keys", (c) => {
    const gw = gatewayOf(c);
    return c.json({ keys: store.gatewayKeys.list(gw.id).map(presentGatewayKey) });
  });

  app.delete("/:id/keys/:keyId", (c) => {
    const gw = gatewayOf(c);
    const key = store.gatewayKeys.revoke(gw.id, c.req.param("keyId"));
    if (!key) throw notFound("gateway key");
    return c.json(presentGatewayKey(key));
  });

  // Auth methods: a gateway with none refuses every MCP request.
  app.post("/:id/auth", async (c) => {
    const gw = gatewayOf(c);
    const { hmacSecret, ...input } = parseAuthMethodInput(await readJson(c), config.jwt);
    await checkAuthMethodSecrets({ hmacSecret }, gw.orgId, store, vault);
    return c.json(store.authMethods.create(gw.id, input), 201);
  });

  // Order, required, rules and configuration change in place; the type does not.
  app.patch("/:id/auth/:methodId", async (c) => {
    const gw = gatewayOf(c);
    const method = store.authMethods.get(gw.id, c.req.param("methodId"));
    if (!method) throw notFound("auth method");
    const { hmacSecret, ...changes } = parseAuthMethodPatch(await readJson(c), method, config.jwt);
    await checkAuthMethodSecrets({ hmacSecret }, gw.orgId, store, vault);
    const updated = store.authMethods.update(gw.id, method.id, changes);
    if (!updated) throw notFound("auth method");
    return c.json(updated);
  });

  app.get("/:id/auth", (c) => {
    const gw = gatewayOf(c);
    return c.json({ methods: store.authMethods.list(gw.id) });
  });

  app.delete("/:id/auth/:methodId", (c) => {
    const gw = gatewayOf(c);
    if (!store.authMethods.delete(gw.id, c.req.param("methodId"))) throw notFound("auth method");
    return c.body(null, 204);
  });

  return app;
}
