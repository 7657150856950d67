/**
 * Invitations to organizations. Admins invite an email with a role; the
 * person becomes a member only by accepting with the invitation's one-time
 * token while proving they hold the account (or creating it). So adding
 * somebody's email to an org gives the inviter no credential of theirs and
 * no say over their other memberships. Only the token's hash is kept.
 *
 * @module
 */
import type { Orgs, Role } from "./orgs.ts";
import type { Row, SqlEngine } from "./sql.ts";
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
  constructor(private readonly db: SqlEngine, private readonly orgs: Orgs) {}

  /**
   * Invites `email` to `orgId` with `role`. Inviting an email again replaces
   * its pending invitation, so only the newest token works.
   */
  async create(
    orgId: string,
    invite: { email: string; role: Role; tokenHash: string; invitedBy: string; expiresAt: string },
  ): Promise<Invitation> {
    const inv: Invitation = {
      id: newId(),
      orgId,
      email: invite.email.toLowerCase(),
      role: invite.role,
      invitedBy: invite.invitedBy,
      createdAt: now(),
      expiresAt: invite.expiresAt,
    };
    await this.db.tx(async () => {
      await this.db.run(
        "DELETE FROM org_invitations WHERE org_id = ? AND email = ?",
        orgId,
        inv.email,
      );
      await this.db.run(
        `INSERT INTO org_invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
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
  async list(orgId: string): Promise<Invitation[]> {
    const rows = await this.db.all(
      "SELECT * FROM org_invitations WHERE org_id = ? ORDER BY created_at, email",
      orgId,
    );
    return rows.map(toInvitation);
  }

  /** One invitation of `orgId`. */
  async get(orgId: string, id: string): Promise<Invitation | undefined> {
    const r = await this.db.get(
      "SELECT * FROM org_invitations WHERE org_id = ? AND id = ?",
      orgId,
      id,
    );
    return r ? toInvitation(r) : undefined;
  }

  /** The invitation whose token hashes to `hash`, expired or not. */
  async byTokenHash(hash: string): Promise<Invitation | undefined> {
    const r = await this.db.get("SELECT * FROM org_invitations WHERE token_hash = ?", hash);
    return r ? toInvitation(r) : undefined;
  }

  /** Withdraws an invitation; false when not found in `orgId`. */
  async delete(orgId: string, id: string): Promise<boolean> {
    const res = await this.db.run(
      "DELETE FROM org_invitations WHERE org_id = ? AND id = ?",
      orgId,
      id,
    );
    return res.changes > 0;
  }

  /**
   * Makes `userId` a member by invitation `id`, which is used up, in one
   * transaction. False when the invitation is gone (withdrawn, replaced, or
   * accepted by a concurrent request); a membership that already exists is a conflict.
   */
  async accept(id: string, userId: string): Promise<boolean> {
    return await this.db.tx(async () => {
      const r = await this.db.get("SELECT * FROM org_invitations WHERE id = ?", id);
      if (!r) return false;
      const inv = toInvitation(r);
      await this.db.run("DELETE FROM org_invitations WHERE id = ?", id);
      await this.orgs.addMember(inv.orgId, userId, inv.role);
      return true;
    });
  }
}
