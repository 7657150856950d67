/**
 * Authentication of management API requests (`Authorization: Bearer <access
 * key>`, org chosen by `X-Organization`) and role checks.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { hashToken } from "../auth/tokens.ts";
import { isActive } from "../store/keys.ts";
import { type Role, ROLES } from "../store/orgs.ts";
import type { Store } from "../store/store.ts";
import type { ApiEnv, Principal } from "./context.ts";
import { forbidden, unauthorized } from "./errors.ts";

/** Middleware that resolves the caller or answers 401. */
export function authenticate(store: Store): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw unauthorized(
        header ? "Authorization header must be 'Bearer <access key>'" : "missing access key",
      );
    }
    const key = store.accessKeys.byHash(hashToken(match[1]));
    if (!key || !isActive(key)) throw unauthorized("invalid, revoked or expired access key");
    const user = store.users.get(key.userId);
    if (!user) throw unauthorized("invalid, revoked or expired access key");
    const slug = c.req.header("x-organization");
    const org = slug ? store.orgs.bySlug(slug) : store.orgs.get(key.orgId);
    const role = org ? store.orgs.roleOf(org.id, user.id) : undefined;
    if (!org || !role) {
      // Same answer for an org that does not exist and one the user is not in.
      throw forbidden(
        slug ? `you are not a member of organization '${slug}'` : "this key's organization is gone",
      );
    }
    c.set("principal", { user, org, role, keyId: key.id });
    await next();
  };
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
