/**
 * Organizations (the tenant boundary) and their members.
 *
 * @module
 */
import type { Db } from "./db.ts";
import { uniqueOr } from "./errors.ts";
import { newId, now } from "./util.ts";

/** The roles a member can hold, strongest first. */
export const ROLES = ["owner", "admin", "member", "viewer"] as const;
/** A member's role in an org. */
export type Role = typeof ROLES[number];

/** An organization. */
export interface Org {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
}

/** A user's membership in an org. */
export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

type Row = Record<string, unknown>;

function toOrg(r: Row): Org {
  return {
    id: r.id as string,
    name: r.name as string,
    slug: r.slug as string,
    createdAt: r.created_at as string,
  };
}

function toMember(r: Row): Member {
  return {
    userId: r.user_id as string,
    email: r.email as string,
    name: r.name as string,
    role: r.role as Role,
    createdAt: r.created_at as string,
  };
}

/** Reads and writes `orgs` and `org_members`. */
export class Orgs {
  constructor(private readonly db: Db) {}

  /** Creates an org and makes `ownerId` its owner, in one transaction. */
  create(name: string, slug: string, ownerId: string): Org {
    const org = { id: newId(), name, slug, createdAt: now() };
    return this.db.tx(() => {
      uniqueOr(
        "slug",
        `an organization with slug '${slug}' already exists`,
        () =>
          this.db.prepare("INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)")
            .run(org.id, org.name, org.slug, org.createdAt),
      );
      this.addMember(org.id, ownerId, "owner");
      return org;
    });
  }

  /** How many orgs exist. */
  count(): number {
    return Number(this.db.prepare("SELECT COUNT(*) AS n FROM orgs").get()?.n ?? 0);
  }

  /** The org with `id`, if any. */
  get(id: string): Org | undefined {
    const r = this.db.prepare("SELECT * FROM orgs WHERE id = ?").get(id);
    return r ? toOrg(r) : undefined;
  }

  /** The org with `slug`, if any. */
  bySlug(slug: string): Org | undefined {
    const r = this.db.prepare("SELECT * FROM orgs WHERE slug = ?").get(slug);
    return r ? toOrg(r) : undefined;
  }

  /** The orgs `userId` belongs to, with the user's role in each. */
  forUser(userId: string): (Org & { role: Role })[] {
    return this.db.prepare(
      `SELECT o.*, m.role FROM orgs o JOIN org_members m ON m.org_id = o.id
       WHERE m.user_id = ? ORDER BY o.created_at, o.slug`,
    ).all(userId).map((r) => ({ ...toOrg(r), role: r.role as Role }));
  }

  /** The role of `userId` in `orgId`, or undefined when not a member. */
  roleOf(orgId: string, userId: string): Role | undefined {
    const r = this.db.prepare("SELECT role FROM org_members WHERE org_id = ? AND user_id = ?")
      .get(orgId, userId);
    return r?.role as Role | undefined;
  }

  /** Adds `userId` to `orgId` with `role`; a duplicate membership is a conflict. */
  addMember(orgId: string, userId: string, role: Role): void {
    uniqueOr("email", "this user is already a member of the organization", () =>
      this.db.prepare(
        "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
      ).run(orgId, userId, role, now()));
  }

  /** The members of `orgId`. */
  members(orgId: string): Member[] {
    return this.db.prepare(
      `SELECT m.user_id, m.role, m.created_at, u.email, u.name FROM org_members m
       JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY m.created_at, u.email`,
    ).all(orgId).map(toMember);
  }

  /** One member of `orgId`, if `userId` is one. */
  member(orgId: string, userId: string): Member | undefined {
    const r = this.db.prepare(
      `SELECT m.user_id, m.role, m.created_at, u.email, u.name FROM org_members m
       JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?`,
    ).get(orgId, userId);
    return r ? toMember(r) : undefined;
  }

  /** How many owners `orgId` has. */
  ownerCount(orgId: string): number {
    const r = this.db.prepare(
      "SELECT COUNT(*) AS n FROM org_members WHERE org_id = ? AND role = 'owner'",
    ).get(orgId);
    return Number(r?.n ?? 0);
  }

  /** Changes a member's role; returns false when there is no such member. */
  setRole(orgId: string, userId: string, role: Role): boolean {
    const res = this.db.prepare("UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?")
      .run(role, orgId, userId);
    return Number(res.changes) > 0;
  }

  /**
   * Removes a member and the access keys they hold in this org, in one transaction;
   * returns false when there is no such member.
   */
  removeMember(orgId: string, userId: string): boolean {
    return this.db.tx(() => {
      this.db.prepare("DELETE FROM access_keys WHERE org_id = ? AND user_id = ?")
        .run(orgId, userId);
      const res = this.db.prepare("DELETE FROM org_members WHERE org_id = ? AND user_id = ?")
        .run(orgId, userId);
      return Number(res.changes) > 0;
    });
  }
}
