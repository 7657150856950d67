/**
 * Routes: `/keys`, the management API access keys of the caller's org.
 * Members manage their own keys; owners and admins see and revoke all, and
 * may issue keys to other members.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { ACCESS_KEY_PREFIX, displayPrefix, generateToken, hashToken } from "../auth/tokens.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { readJson } from "./body.ts";
import { forbidden, notFound } from "./errors.ts";
import { hasRole } from "./principal.ts";
import { presentAccessKey } from "./present.ts";
import { onlyFields, optionalFutureTime, optionalString, string } from "./validate.ts";

/** The access key routes. */
export function accessKeyRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** A key the caller may see: any in the org for admins, else only their own. */
  const visibleKey = (c: Context<ApiEnv>) => {
    const p = c.get("principal");
    const key = store.accessKeys.get(p.org.id, c.req.param("id") ?? "");
    if (!key || (!hasRole(p.role, "admin") && key.userId !== p.user.id)) {
      throw notFound("access key");
    }
    return key;
  };

  app.post("/", async (c) => {
    const p = c.get("principal");
    const body = await readJson(c);
    onlyFields(body, ["name", "expiresAt", "userId"]);
    const name = string(body, "name", { max: 200 });
    const expiresAt = optionalFutureTime(body, "expiresAt") ?? null;
    const userId = optionalString(body, "userId") ?? p.user.id;
    if (userId !== p.user.id) {
      if (!hasRole(p.role, "admin")) {
        throw forbidden("only owners and admins can issue keys to others");
      }
      if (!store.orgs.roleOf(p.org.id, userId)) throw notFound("member");
    }
    const raw = generateToken(ACCESS_KEY_PREFIX);
    const key = store.accessKeys.create(p.org.id, userId, {
      name,
      hash: hashToken(raw),
      prefix: displayPrefix(raw),
      expiresAt,
    });
    return c.json({ ...presentAccessKey(key), key: raw }, 201);
  });

  app.get("/", (c) => {
    const p = c.get("principal");
    const keys = store.accessKeys.list(p.org.id, hasRole(p.role, "admin") ? undefined : p.user.id);
    return c.json({ keys: keys.map(presentAccessKey) });
  });

  app.get("/:id", (c) => c.json(presentAccessKey(visibleKey(c))));

  app.delete("/:id", (c) => {
    const key = visibleKey(c);
    return c.json(presentAccessKey(store.accessKeys.revoke(key.orgId, key.id)!));
  });

  return app;
}
