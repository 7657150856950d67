/**
 * Invitations to organizations. Admins invite an email with a role; the
 * person becomes a member only by accepting with the invitation's one-time
 * token while proving they hold the account (or creating it). So adding
 * somebody's email to an org gives the inviter no credential of theirs and
 * no say over their other memberships. Only the token's hash is kept.
 *
 * @module
 */
import type { Db } from "./db.ts";
import type { Orgs, Role } from "./orgs.ts";
import { newId, now } from "./util.ts";

/** A pending invitation (never its token). */
export interface Invitation {
  id: string;
  orgId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

type Row = Record<string, unknown>;

function toInvitation(r: Row): Invitation {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    email: r.email as string,
    role: r.role as Role,
    invitedBy: (r.invited_by as string | null) ?? null,
    createdAt: r.created_at as string,
    expiresAt: r.expires_at as string,
  };
}

/** Reads and writes `org_invitations`. */
export class Invitations {
  constructor(private readonly db: Db, private readonly orgs: Orgs) {}

  /**
   * Invites `email` to `orgId` with `role`. Inviting an email again replaces
   * its pending invitation, so only the newest token works.
   */
  create(
    orgId: string,
    invite: { email: string; role: Role; tokenHash: string; invitedBy: string; expiresAt: string },
  ): Invitation {
    const inv: Invitation = {
      id: newId(),
      orgId,
      email: invite.email.toLowerCase(),
      role: invite.role,
      invitedBy: invite.invitedBy,
      createdAt: now(),
      expiresAt: invite.expiresAt,
    };
    this.db.tx(() => {
      this.db.prepare("DELETE FROM org_invitations WHERE org_id = ? AND email = ?")
        .run(orgId, inv.email);
      this.db.prepare(
        `INSERT INTO org_invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        inv.id,
        orgId,
        inv.email,
        inv.role,
        invite.tokenHash,
        inv.invitedBy,
        inv.createdAt,
        inv.expiresAt,
      );
    });
    return inv;
  }

  /** The pending invitations of `orgId`, expired ones included (they say so by `expiresAt`). */
  list(orgId: string): Invitation[] {
    return this.db.prepare(
      "SELECT * FROM org_invitations WHERE org_id = ? ORDER BY created_at, email",
    ).all(orgId).map(toInvitation);
  }

  /** One invitation of `orgId`. */
  get(orgId: string, id: string): Invitation | undefined {
    const r = this.db.prepare("SELECT * FROM org_invitations WHERE org_id = ? AND id = ?")
      .get(orgId, id);
    return r ? toInvitation(r) : undefined;
  }

  /** The invitation whose token hashes to `hash`, expired or not. */
  byTokenHash(hash: string): Invitation | undefined {
    const r = this.db.prepare("SELECT * FROM org_invitations WHERE token_hash = ?").get(hash);
    return r ? toInvitation(r) : undefined;
  }

  /** Withdraws an invitation; false when not found in `orgId`. */
  delete(orgId: string, id: string): boolean {
    const res = this.db.prepare("DELETE FROM org_invitations WHERE org_id = ? AND id = ?")
      .run(orgId, id);
    return Number(res.changes) > 0;
  }

  /**
   * Makes `userId` a member by invitation `id`, which is used up, in one
   * transaction. False when the invitation is gone (withdrawn, replaced, or
   * accepted by a concurrent request); a membership that already exists is a conflict.
   */
  accept(id: string, userId: string): boolean {
    return this.db.tx(() => {
      const r = this.db.prepare("SELECT * FROM org_invitations WHERE id = ?").get(id);
      if (!r) return false;
      const inv = toInvitation(r);
      this.db.prepare("DELETE FROM org_invitations WHERE id = ?").run(id);
      this.orgs.addMember(inv.orgId, userId, inv.role);
      return true;
    });
  }
}
