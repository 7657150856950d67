/**
 * Authentication of management API requests (`Authorization: Bearer <access
 * key>`) and role checks. A key acts in the one org it was issued in;
 * `X-Organization`, when sent, must name that org.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { parseAuthorization } from "../auth/credentials.ts";
import { hashToken } from "../auth/tokens.ts";
import { isActive } from "../store/keys.ts";
import { type Role, ROLES } from "../store/orgs.ts";
import type { Store } from "../store/store.ts";
import type { ApiEnv, Principal } from "./context.ts";
import { type ApiError, forbidden, unauthorized } from "./errors.ts";

/**
 * The caller a request's `Authorization: Bearer <access key>` names, or
 * throws 401. The key's org is the only one the caller acts in.
 */
export async function principalOf(
  store: Store,
  authorization: string | undefined,
): Promise<Principal> {
  const auth = parseAuthorization(authorization);
  if (auth?.scheme !== "bearer") {
    throw unauthorized(
      auth ? "Authorization header must be 'Bearer <access key>'" : "missing access key",
    );
  }
  const key = await store.accessKeys.byHash(hashToken(auth.token));
  if (!key || !isActive(key)) throw unauthorized("invalid, revoked or expired access key");
  const user = await store.users.get(key.userId);
  const org = await store.orgs.get(key.orgId);
  // The holder's role is read on every request, so a demotion applies at once.
  const role = user && org ? await store.orgs.roleOf(org.id, user.id) : undefined;
  if (!user || !org || !role) throw unauthorized("invalid, revoked or expired access key");
  return { user, org, role, keyId: key.id };
}

/** Middleware that resolves the caller or answers 401. */
export function authenticate(store: Store): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = await principalOf(store, c.req.header("authorization"));
    const slug = c.req.header("x-organization");
    // A key acts only in the org it was issued in, whatever other orgs its holder is in:
    // a key that leaks can never reach the holder's other orgs.
    if (slug !== undefined && slug !== principal.org.slug) throw otherOrg(principal.org.slug, slug);
    c.set("principal", principal);
    await next();
  };
}

/** The refusal for a request about organization `wanted` made with a key of `keyOrg`. */
export function otherOrg(keyOrg: string, wanted: string): ApiError {
  return forbidden(
    `this access key acts only in organization '${keyOrg}', not '${wanted}'; ` +
      `use an access key issued in '${wanted}' (POST /login gives you one)`,
  );
}

/** True when `role` is at least as strong as `min`. */
export function hasRole(role: Role, min: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(min);
}

/** The caller, after checking their role is at least `min`. */
export function requireRole(c: Context<ApiEnv>, min: Role): Principal {
  const p = c.get("principal");
  if (!hasRole(p.role, min)) {
    throw forbidden(`this needs the ${min} role or higher; you are ${p.role} in '${p.org.slug}'`);
  }
  return p;
}

/** Middleware: viewers read only, so any write method needs the member role. */
export function writesNeedMember(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method)) requireRole(c, "member");
    await next();
  };
}
