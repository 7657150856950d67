/**
 * Routes: `/orgs` (create, list mine, get, update settings) and `/orgs/:slug/members`. These
 * name the org in the path (not `X-Organization`); an org the caller is not a
 * member of answers 404 exactly like one that does not exist.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { type Role, ROLES } from "../store/orgs.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { readJson } from "./body.ts";
import { forbidden, invalid, notFound } from "./errors.ts";
import { passwordField } from "./me.ts";
import { hashPassword } from "../oauth/password.ts";
import { checkMemberChange } from "./member_rules.ts";
import { hasRole } from "./principal.ts";
import { presentOrg } from "./present.ts";
import { oneOf, onlyFields, optionalString, string } from "./validate.ts";
import { patchOrgSettings } from "./org_settings.ts";

/** Org slugs: lower-case letters, digits and inner hyphens, 1-63 characters. */
export const ORG_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** The org routes. */
export function orgRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** The org named in the path, with the caller's role there; 404 when not a member. */
  const orgOf = (c: Context<ApiEnv>, min: Role = "viewer") => {
    const p = c.get("principal");
    const org = store.orgs.bySlug(c.req.param("slug") ?? "");
    const role = org && store.orgs.roleOf(org.id, p.user.id);
    if (!org || !role) throw notFound("organization");
    if (!hasRole(role, min)) {
      throw forbidden(`this needs the ${min} role or higher; you are ${role} in '${org.slug}'`);
    }
    return { org, role, user: p.user };
  };
  const memberOf = (orgId: string, userId: string) => {
    const member = store.orgs.member(orgId, userId);
    if (!member) throw notFound("member");
    return member;
  };

  app.post("/", async (c) => {
    const body = await readJson(c);
    onlyFields(body, ["name", "slug"]);
    const name = string(body, "name", { max: 200 });
    const slug = string(body, "slug", {
      max: 63,
      pattern: ORG_SLUG,
      patternHint: "must be lower-case letters, digits and inner hyphens (e.g. 'acme')",
    });
    const org = store.orgs.create(name, slug, c.get("principal").user.id);
    return c.json(presentOrg(org, "owner"), 201);
  });

  app.get("/", (c) => {
    const orgs = store.orgs.forUser(c.get("principal").user.id);
    return c.json({ orgs: orgs.map(({ role, ...org }) => presentOrg(org, role)) });
  });

  app.get("/:slug", (c) => {
    const { org, role } = orgOf(c);
    return c.json(presentOrg(org, role));
  });

  // Settings decide what tools may reach (the outbound policy): owners and admins only.
  app.patch("/:slug", async (c) => {
    const { org, role } = orgOf(c, "admin");
    const settings = patchOrgSettings(await readJson(c), org.settings);
    if (!store.orgs.setSettings(org.id, settings)) throw notFound("organization");
    return c.json(presentOrg(store.orgs.get(org.id)!, role));
  });

  app.get("/:slug/members", (c) => {
    const { org } = orgOf(c);
    return c.json({ members: store.orgs.members(org.id) });
  });

  app.post("/:slug/members", async (c) => {
    const { org, role: myRole } = orgOf(c, "admin");
    const body = await readJson(c);
    onlyFields(body, ["email", "name", "role", "password"]);
    const email = string(body, "email", {
      max: 320,
      pattern: EMAIL,
      patternHint: "must be an email address",
    });
    const name = optionalString(body, "name", { max: 200 }) ?? email.split("@")[0];
    const role = oneOf(body, "role", ROLES);
    checkMemberChange(myRole, undefined, role);
    // Hashed before the transaction: the KDF takes tens of milliseconds by design.
    const password = body.password === undefined ? undefined : passwordField(body);
    const hash = password === undefined ? undefined : await hashPassword(password);
    const member = store.tx(() => {
      const existing = store.users.byEmail(email);
      if (existing && hash !== undefined) {
        // The user may belong to other orgs: setting their password here would let this
        // org's admins sign in as them there. Users set their own with PUT /me/password.
        throw invalid(
          "password",
          "password can only be set for a new user; an existing user sets their own with PUT /me/password",
        );
      }
      const user = existing ?? store.users.create(email, name);
      if (hash !== undefined) store.users.setPasswordHash(user.id, hash);
      store.orgs.addMember(org.id, user.id, role);
      return store.orgs.member(org.id, user.id)!;
    });
    return c.json(member, 201);
  });

  app.patch("/:slug/members/:userId", async (c) => {
    const { org, role: myRole } = orgOf(c, "admin");
    const body = await readJson(c);
    onlyFields(body, ["role"]);
    const role = oneOf(body, "role", ROLES);
    const current = memberOf(org.id, c.req.param("userId"));
    checkMemberChange(myRole, current.role, role);
    // The store refuses to demote the last owner (409).
    store.orgs.setRole(org.id, current.userId, role);
    return c.json(store.orgs.member(org.id, current.userId)!);
  });

  app.delete("/:slug/members/:userId", (c) => {
    const { org, role: myRole } = orgOf(c, "admin");
    const current = memberOf(org.id, c.req.param("userId"));
    checkMemberChange(myRole, current.role, undefined);
    // The store refuses to remove the last owner (409) and drops the member's keys here.
    store.orgs.removeMember(org.id, current.userId);
    return c.body(null, 204);
  });

  return app;
}
