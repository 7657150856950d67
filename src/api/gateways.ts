/**
 * Routes: `/gateways` (create, list, get, update, delete) and, per gateway,
 * its tool assignments, keys and auth methods.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { displayPrefix, GATEWAY_KEY_PREFIX, generateToken, hashToken } from "../auth/tokens.ts";
import type { Gateway } from "../store/gateways.ts";
import { baseUrl } from "./base_url.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { mergeGatewayInput, parseGatewayInput } from "./gateway_input.ts";
import { presentAssignment, presentGateway, presentGatewayKey } from "./present.ts";
import {
  type Body,
  oneOf,
  onlyFields,
  optionalBoolean,
  optionalFutureTime,
  optionalObject,
  string,
} from "./validate.ts";

/** Scopes a gateway key can grant. */
export const GATEWAY_SCOPES = ["tools:read", "tools:execute"] as const;
/** Auth method types that can be configured now. */
export const AUTH_METHOD_TYPES = ["api_key", "none"] as const;

function toolIdsOf(body: Body): string[] {
  if (body.toolIds !== undefined) {
    const ids = body.toolIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== "string")) {
      throw invalid("toolIds", "toolIds must be a non-empty list of tool ids");
    }
    if (ids.length > 1000) throw invalid("toolIds", "toolIds takes at most 1000 ids at once");
    return [...new Set(ids as string[])];
  }
  return [string(body, "toolId")];
}

function scopesOf(body: Body): string[] {
  if (body.scopes === undefined) return [...GATEWAY_SCOPES];
  const s = body.scopes;
  if (
    !Array.isArray(s) || s.length === 0 ||
    s.some((x) => !(GATEWAY_SCOPES as readonly unknown[]).includes(x))
  ) {
    throw invalid("scopes", `scopes must be a non-empty list of: ${GATEWAY_SCOPES.join(", ")}`);
  }
  return [...new Set(s as string[])];
}

/** The gateway routes. */
export function gatewayRoutes({ store, config }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const gatewayOf = (c: Context<ApiEnv>): Gateway => {
    const gw = store.gateways.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!gw) throw notFound("gateway");
    return gw;
  };
  const show = (c: Context<ApiEnv>, gw: Gateway) =>
    presentGateway(baseUrl(config, c.req.raw), c.get("principal").org, gw);

  app.post("/", async (c) => {
    const input = parseGatewayInput(await readJson(c));
    return c.json(show(c, store.gateways.create(c.get("principal").org.id, input)), 201);
  });

  app.get("/", (c) => {
    const list = store.gateways.list(c.get("principal").org.id);
    return c.json({ gateways: list.map((gw) => show(c, gw)) });
  });

  app.get("/:id", (c) => c.json(show(c, gatewayOf(c))));

  const update = async (c: Context<ApiEnv>) => {
    const gw = gatewayOf(c);
    const input = mergeGatewayInput(gw, await readJson(c));
    const updated = store.gateways.update(gw.orgId, gw.id, input);
    if (!updated) throw notFound("gateway");
    return c.json(show(c, updated));
  };
  app.patch("/:id", update);
  app.put("/:id", update);

  app.delete("/:id", (c) => {
    if (!store.gateways.delete(c.get("principal").org.id, c.req.param("id"))) {
      throw notFound("gateway");
    }
    return c.body(null, 204);
  });

  // Tool assignments.
  app.post("/:id/tools", async (c) => {
    const gw = gatewayOf(c);
    const body = await readJson(c);
    onlyFields(body, ["toolId", "toolIds", "enabled"]);
    const ids = toolIdsOf(body);
    const enabled = optionalBoolean(body, "enabled") ?? true;
    const field = body.toolIds !== undefined ? "toolIds" : "toolId";
    for (const id of ids) {
      // Tools of other orgs are reported exactly like missing ones.
      if (!store.tools.get(gw.orgId, id)) throw invalid(field, `tool '${id}' not found`);
    }
    store.tools.assign(gw.id, ids, enabled);
    return c.json({ tools: store.tools.assignments(gw.id).map(presentAssignment) }, 201);
  });

  app.get("/:id/tools", (c) => {
    const gw = gatewayOf(c);
    return c.json({ tools: store.tools.assignments(gw.id).map(presentAssignment) });
  });

  app.patch("/:id/tools/:toolId", async (c) => {
    const gw = gatewayOf(c);
    const body = await readJson(c);
    onlyFields(body, ["enabled"]);
    const enabled = optionalBoolean(body, "enabled");
    if (enabled === undefined) throw invalid("enabled", "enabled is required");
    if (!store.tools.setEnabled(gw.id, c.req.param("toolId"), enabled)) {
      throw notFound("tool assignment");
    }
    return c.json(presentAssignment(store.tools.assignment(gw.id, c.req.param("toolId"))!));
  });

  app.delete("/:id/tools/:toolId", (c) => {
    const gw = gatewayOf(c);
    if (!store.tools.unassign(gw.id, c.req.param("toolId"))) throw notFound("tool assignment");
    return c.body(null, 204);
  });

  // Gateway keys: what MCP clients send.
  app.post("/:id/keys", async (c) => {
    const gw = gatewayOf(c);
    const body = await readJson(c);
    onlyFields(body, ["name", "scopes", "expiresAt"]);
    const name = string(body, "name", { max: 200 });
    const scopes = scopesOf(body);
    const expiresAt = optionalFutureTime(body, "expiresAt") ?? null;
    const raw = generateToken(GATEWAY_KEY_PREFIX);
    const key = store.gatewayKeys.create(gw.id, {
      name,
      scopes,
      expiresAt,
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
    const body = await readJson(c);
    onlyFields(body, ["type", "configuration"]);
    const type = oneOf(body, "type", AUTH_METHOD_TYPES);
    const configuration = optionalObject(body, "configuration") ?? {};
    if (Object.keys(configuration).length > 0) {
      const first = Object.keys(configuration)[0];
      throw invalid(`configuration.${first}`, `the '${type}' method takes no configuration`);
    }
    return c.json(store.authMethods.create(gw.id, type, configuration), 201);
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
