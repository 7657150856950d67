/**
 * Routes: `/orgs` (create, list mine, get, update settings), `/orgs/:slug/members`
 * and `/orgs/:slug/invitations`. These name the org in the path, which must be
 * the org the caller's access key acts in; an org the caller is not a member
 * of answers 404 exactly like one that does not exist.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { generateToken, hashToken, INVITATION_PREFIX } from "../auth/tokens.ts";
import { issueAccessKey } from "./access_keys.ts";
import { actorOf, audited, userTarget } from "./audit.ts";
import { type AuditTarget, changesBetween } from "../store/audit.ts";
import type { Invitation } from "../store/invitations.ts";
import { ConflictError } from "../store/errors.ts";
import { type Org, type Role, ROLES } from "../store/orgs.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { readJson } from "./body.ts";
import { forbidden, invalid, notFound } from "./errors.ts";
import { checkMemberChange } from "./member_rules.ts";
import { hasRole, otherOrg } from "./principal.ts";
import { presentInvitation, presentOrg } from "./present.ts";
import { oneOf, onlyFields, optionalFutureTime, string } from "./validate.ts";
import { patchOrgSettings } from "./org_settings.ts";

/** Org slugs: lower-case letters, digits and inner hyphens, 1-63 characters. */
export const ORG_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** How long an invitation stays valid unless the inviter says otherwise: seven days. */
const INVITATION_TTL_MS = 7 * 86_400_000;
/** The longest an invitation may stay valid: thirty days. */
const MAX_INVITATION_TTL_MS = 30 * 86_400_000;

/** An org as an event's target, by slug: the name people and URLs know it by. */
const orgTarget = (org: Org): AuditTarget => ({ type: "org", id: org.id, name: org.slug });
/** An invitation as an event's target, by the email invited. */
const invitationTarget = (inv: Invitation): AuditTarget => ({
  type: "invitation",
  id: inv.id,
  name: inv.email,
});

/** The org routes. */
export function orgRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /**
   * The org named in the path, which must be the one the caller's key acts in,
   * with the caller's role there. An org the caller is not a member of answers
   * 404 exactly like one that does not exist.
   */
  const orgOf = async (c: Context<ApiEnv>, min: Role = "viewer") => {
    const p = c.get("principal");
    const slug = c.req.param("slug") ?? "";
    if (slug !== p.org.slug) {
      const other = await store.orgs.bySlug(slug);
      if (!other || !await store.orgs.roleOf(other.id, p.user.id)) throw notFound("organization");
      throw otherOrg(p.org.slug, slug);
    }
    if (!hasRole(p.role, min)) {
      throw forbidden(`this needs the ${min} role or higher; you are ${p.role} in '${slug}'`);
    }
    return { org: p.org, role: p.role, user: p.user };
  };
  const memberOf = async (orgId: string, userId: string) => {
    const member = await store.orgs.member(orgId, userId);
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
    const p = c.get("principal");
    const user = p.user;
    // The caller's key acts only in its own org, so the new org comes with a key of its own.
    // Both events go to the new org's trail: the caller's org had no part in it.
    const { org, accessKey } = await store.tx(async () => {
      const org = await store.orgs.create(name, slug, user.id);
      await store.audit.record(org.id, actorOf(p), {
        action: "org.create",
        target: orgTarget(org),
        changes: changesBetween(undefined, { name, slug }),
      });
      const accessKey = await issueAccessKey(store, org.id, user.id, {
        name: `created with organization '${slug}'`,
        expiresAt: null,
      }, actorOf(p));
      return { org, accessKey };
    });
    return c.json({ ...presentOrg(org, "owner"), accessKey }, 201);
  });

  app.get("/", async (c) => {
    const orgs = await store.orgs.forUser(c.get("principal").user.id);
    return c.json({ orgs: orgs.map(({ role, ...org }) => presentOrg(org, role)) });
  });

  app.get("/:slug", async (c) => {
    const { org, role } = await orgOf(c);
    return c.json(presentOrg(org, role));
  });

  // Settings decide what tools may reach (the outbound policy): owners and admins only.
  app.patch("/:slug", async (c) => {
    const { org, role } = await orgOf(c, "admin");
    const settings = patchOrgSettings(await readJson(c), org.settings);
    await audited(c, store, async (note) => {
      const before = await store.orgs.get(org.id);
      if (!before || !await store.orgs.setSettings(org.id, settings)) {
        throw notFound("organization");
      }
      await note({
        action: "org.update",
        target: orgTarget(org),
        changes: changesBetween(before.settings, settings, "settings."),
      });
    });
    return c.json(presentOrg((await store.orgs.get(org.id))!, role));
  });

  app.get("/:slug/members", async (c) => {
    const { org } = await orgOf(c);
    return c.json({ members: await store.orgs.members(org.id) });
  });

  // Adding a person is an invitation: the inviter gets a one-time token to hand over and no
  // credential of the person's, so an existing account's other memberships stay out of reach.
  app.post("/:slug/members", async (c) => {
    const { org, role: myRole, user: me } = await orgOf(c, "admin");
    const body = await readJson(c);
    if (body.password !== undefined) {
      throw invalid(
        "password",
        "nobody sets another person's password: the invited person chooses their own when " +
          "they accept the invitation (POST /invitations/accept)",
      );
    }
    onlyFields(body, ["email", "role", "expiresAt"]);
    const email = string(body, "email", {
      max: 320,
      pattern: EMAIL,
      patternHint: "must be an email address",
    }).toLowerCase();
    const role = oneOf(body, "role", ROLES);
    checkMemberChange(myRole, undefined, role);
    const expiresAt = optionalFutureTime(body, "expiresAt") ??
      new Date(Date.now() + INVITATION_TTL_MS).toISOString();
    if (Date.parse(expiresAt) > Date.now() + MAX_INVITATION_TTL_MS) {
      throw invalid("expiresAt", "an invitation may stay valid for at most 30 days");
    }
    const existing = await store.users.byEmail(email);
    if (existing && await store.orgs.roleOf(org.id, existing.id)) {
      throw new ConflictError("email", "this user is already a member of the organization");
    }
    const token = generateToken(INVITATION_PREFIX);
    const invitation = await audited(c, store, async (note) => {
      const invitation = await store.invitations.create(org.id, {
        email,
        role,
        tokenHash: hashToken(token),
        invitedBy: me.id,
        expiresAt,
      });
      await note({
        action: "member.invite",
        target: invitationTarget(invitation),
        changes: changesBetween(undefined, { email, role, expiresAt }),
      });
      return invitation;
    });
    return c.json({ ...presentInvitation(invitation), token }, 201);
  });

  app.get("/:slug/invitations", async (c) => {
    const { org } = await orgOf(c, "admin");
    return c.json({ invitations: (await store.invitations.list(org.id)).map(presentInvitation) });
  });

  app.delete("/:slug/invitations/:id", async (c) => {
    const { org, role: myRole } = await orgOf(c, "admin");
    const invitation = await store.invitations.get(org.id, c.req.param("id"));
    if (!invitation) throw notFound("invitation");
    checkMemberChange(myRole, invitation.role, undefined);
    await audited(c, store, async (note) => {
      if (!await store.invitations.delete(org.id, invitation.id)) throw notFound("invitation");
      await note({
        action: "member.invite_withdraw",
        target: invitationTarget(invitation),
        changes: changesBetween({ email: invitation.email, role: invitation.role }, undefined),
      });
    });
    return c.body(null, 204);
  });

  app.patch("/:slug/members/:userId", async (c) => {
    const { org, role: myRole } = await orgOf(c, "admin");
    const body = await readJson(c);
    onlyFields(body, ["role"]);
    const role = oneOf(body, "role", ROLES);
    const current = await memberOf(org.id, c.req.param("userId"));
    checkMemberChange(myRole, current.role, role);
    await audited(c, store, async (note) => {
      const before = await store.orgs.roleOf(org.id, current.userId);
      // The store refuses to demote the last owner (409).
      if (!await store.orgs.setRole(org.id, current.userId, role)) throw notFound("member");
      await note({
        action: "member.role_change",
        target: userTarget({ id: current.userId, email: current.email }),
        changes: changesBetween({ role: before }, { role }),
      });
    });
    return c.json((await store.orgs.member(org.id, current.userId))!);
  });

  app.delete("/:slug/members/:userId", async (c) => {
    const { org, role: myRole } = await orgOf(c, "admin");
    const current = await memberOf(org.id, c.req.param("userId"));
    checkMemberChange(myRole, current.role, undefined);
    await audited(c, store, async (note) => {
      const keys = (await store.accessKeys.list(org.id, current.userId)).length;
      // The store refuses to remove the last owner (409) and drops the member's keys here.
      if (!await store.orgs.removeMember(org.id, current.userId)) throw notFound("member");
      await note({
        action: "member.remove",
        target: userTarget({ id: current.userId, email: current.email }),
        changes: { role: { from: current.role }, accessKeyCount: { from: keys, to: 0 } },
      });
    });
    return c.body(null, 204);
  });

  return app;
}
