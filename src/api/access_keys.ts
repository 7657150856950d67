/**
 * Routes: `/keys`, the management API access keys of the caller's org.
 * Everybody issues keys only to themself (a key acts as its holder); owners
 * and admins also see all keys and revoke those of members who do not
 * outrank them (see `member_rules.ts`).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { ACCESS_KEY_PREFIX, displayPrefix, generateToken, hashToken } from "../auth/tokens.ts";
import { type AuditActor, changesBetween } from "../store/audit.ts";
import type { AccessKey } from "../store/keys.ts";
import type { Store } from "../store/store.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { actorOf, audited, settable, targetOf } from "./audit.ts";
import { readJson } from "./body.ts";
import { forbidden, invalid, notFound } from "./errors.ts";
import { checkKeyAuthority } from "./member_rules.ts";
import { hasRole } from "./principal.ts";
import { presentAccessKey } from "./present.ts";
import { onlyFields, optionalFutureTime, string } from "./validate.ts";

/**
 * Makes a new access key for `userId` acting in `orgId` and answers it with
 * its value (shown this once), recording `access_key.create` by `actor` in
 * the same transaction. Callers must have established that the caller *is*
 * `userId`: a key is never issued to anyone else.
 */
export async function issueAccessKey(
  store: Store,
  orgId: string,
  userId: string,
  opts: { name: string; expiresAt: string | null },
  actor: AuditActor,
) {
  const raw = generateToken(ACCESS_KEY_PREFIX);
  const key = await store.tx(async () => {
    const key = await store.accessKeys.create(orgId, userId, {
      name: opts.name,
      hash: hashToken(raw),
      prefix: displayPrefix(raw),
      expiresAt: opts.expiresAt,
    });
    await store.audit.record(orgId, actor, {
      action: "access_key.create",
      target: targetOf("access_key", key),
      changes: changesBetween(undefined, settable(presentAccessKey(key))),
    });
    return key;
  });
  return { ...presentAccessKey(key), key: raw };
}

/** The access key routes. */
export function accessKeyRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** A key of the caller's org; others' keys only for admins and owners. */
  const keyOf = async (c: Context<ApiEnv>): Promise<AccessKey> => {
    const p = c.get("principal");
    const key = await store.accessKeys.get(p.org.id, c.req.param("id") ?? "");
    if (!key) throw notFound("access key");
    if (key.userId !== p.user.id && !hasRole(p.role, "admin")) {
      throw forbidden("only owners and admins can see other members' access keys");
    }
    return key;
  };

  app.post("/", async (c) => {
    const p = c.get("principal");
    const body = await readJson(c);
    if (body.userId !== undefined) {
      throw invalid(
        "userId",
        "an access key acts as the person it is issued to, so it is issued only to its caller: " +
          "other members get their own with POST /login or by accepting their invitation",
      );
    }
    onlyFields(body, ["name", "expiresAt"]);
    const name = string(body, "name", { max: 200 });
    const expiresAt = optionalFutureTime(body, "expiresAt") ?? null;
    const issued = await issueAccessKey(
      store,
      p.org.id,
      p.user.id,
      { name, expiresAt },
      actorOf(p),
    );
    return c.json(issued, 201);
  });

  app.get("/", async (c) => {
    const p = c.get("principal");
    const holder = hasRole(p.role, "admin") ? undefined : p.user.id;
    const keys = await store.accessKeys.list(p.org.id, holder);
    return c.json({ keys: keys.map(presentAccessKey) });
  });

  app.get("/:id", async (c) => c.json(presentAccessKey(await keyOf(c))));

  app.delete("/:id", async (c) => {
    const p = c.get("principal");
    const key = await keyOf(c);
    const holderRole = await store.orgs.roleOf(p.org.id, key.userId) ?? "viewer";
    checkKeyAuthority(p.role, p.user.id, key.userId, holderRole);
    const revoked = await audited(c, store, async (note) => {
      const before = await store.accessKeys.get(key.orgId, key.id);
      const after = await store.accessKeys.revoke(key.orgId, key.id);
      if (!before || !after) throw notFound("access key");
      await note({
        action: "access_key.revoke",
        target: targetOf("access_key", after),
        changes: changesBetween(settable(before), settable(after)),
      });
      return after;
    });
    return c.json(presentAccessKey(revoked));
  });

  return app;
}
