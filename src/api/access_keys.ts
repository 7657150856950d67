/**
 * Routes: `/keys`, the management API access keys of the caller's org.
 * Members manage their own keys; owners and admins see all, and issue and
 * revoke keys of members who do not outrank them (see `member_rules.ts`).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { ACCESS_KEY_PREFIX, displayPrefix, generateToken, hashToken } from "../auth/tokens.ts";
import type { AccessKey } from "../store/keys.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { readJson } from "./body.ts";
import { forbidden, notFound } from "./errors.ts";
import { checkKeyAuthority } from "./member_rules.ts";
import { hasRole } from "./principal.ts";
import { presentAccessKey } from "./present.ts";
import { onlyFields, optionalFutureTime, optionalString, string } from "./validate.ts";

/** The access key routes. */
export function accessKeyRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** A key of the caller's org; others' keys only for admins and owners. */
  const keyOf = (c: Context<ApiEnv>): AccessKey => {
    const p = c.get("principal");
    const key = store.accessKeys.get(p.org.id, c.req.param("id") ?? "");
    if (!key) throw notFound("access key");
    if (key.userId !== p.user.id && !hasRole(p.role, "admin")) {
      throw forbidden("only owners and admins can see other members' access keys");
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
    const holderRole = store.orgs.roleOf(p.org.id, userId);
    // Role first: a member probing user ids learns nothing from 404 versus 403.
    checkKeyAuthority(p.role, p.user.id, userId, holderRole ?? "viewer");
    if (!holderRole) throw notFound("member");
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

  app.get("/:id", (c) => c.json(presentAccessKey(keyOf(c))));

  app.delete("/:id", (c) => {
    const p = c.get("principal");
    const key = keyOf(c);
    const holderRole = store.orgs.roleOf(p.org.id, key.userId) ?? "viewer";
    checkKeyAuthority(p.role, p.user.id, key.userId, holderRole);
    return c.json(presentAccessKey(store.accessKeys.revoke(key.orgId, key.id)!));
  });

  return app;
}
