/**
 * Organizations (the tenant boundary) and their members.
 *
 * @module
 */
import { type ChangeFeed, userPrincipalId } from "./changes.ts";
import { ConflictError, uniqueOr } from "./errors.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now, parseJson } from "./util.ts";

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
  /** Org-wide settings as stored (e.g. `outbound`); readers fill in their own defaults. */
  settings: Record<string, unknown>;
}

/** A user's membership in an org. */
export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

function toOrg(r: Row): Org {
  return {
    id: r.id as string,
    name: r.name as string,
    slug: r.slug as string,
    createdAt: r.created_at as string,
    settings: parseJson<Record<string, unknown>>(r.settings) ?? {},
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
  /**
   * Increments whenever any org's settings change, so caches of settings
   * (the outbound policy read on every tool call) can check freshness with no query.
   */
  settingsVersion = 0;
  /**
   * Increments whenever a membership is added, changed or removed, so caches
   * of who may act in an org (checked passwords, for one) can check freshness with no query.
   */
  membersVersion = 0;

  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {
    changes.onStale("settings", () => this.settingsVersion++);
    changes.onStale("members", () => this.membersVersion++);
  }

  /** Creates an org and makes `ownerId` its owner, in one transaction. */
  async create(name: string, slug: string, ownerId: string): Promise<Org> {
    const org: Org = { id: newId(), name, slug, createdAt: now(), settings: {} };
    return await this.db.tx(async () => {
      await uniqueOr(
        "slug",
        `an organization with slug '${slug}' already exists`,
        () =>
          this.db.run(
            "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)",
            org.id,
            org.name,
            org.slug,
            org.createdAt,
          ),
      );
      await this.addMember(org.id, ownerId, "owner");
      return org;
    });
  }

  /** Replaces the settings of `orgId`; false when there is no such org. */
  async setSettings(orgId: string, settings: Record<string, unknown>): Promise<boolean> {
    const res = await this.db.run(
      "UPDATE orgs SET settings = ? WHERE id = ?",
      JSON.stringify(settings),
      orgId,
    );
    this.changes.stale("settings");
    return res.changes > 0;
  }

  /** How many orgs exist. */
  async count(): Promise<number> {
    return Number((await this.db.get("SELECT COUNT(*) AS n FROM orgs"))?.n ?? 0);
  }

  /** The org with `id`, if any. */
  async get(id: string): Promise<Org | undefined> {
    const r = await this.db.get("SELECT * FROM orgs WHERE id = ?", id);
    return r ? toOrg(r) : undefined;
  }

  /** The org with `slug`, if any. */
  async bySlug(slug: string): Promise<Org | undefined> {
    const r = await this.db.get("SELECT * FROM orgs WHERE slug = ?", slug);
    return r ? toOrg(r) : undefined;
  }

  /** The orgs `userId` belongs to, with the user's role in each. */
  async forUser(userId: string): Promise<(Org & { role: Role })[]> {
    const rows = await this.db.all(
      `SELECT o.*, m.role FROM orgs o JOIN org_members m ON m.org_id = o.id
       WHERE m.user_id = ? ORDER BY o.created_at, o.slug`,
      userId,
    );
    return rows.map((r) => ({ ...toOrg(r), role: r.role as Role }));
  }

  /** The role of `userId` in `orgId`, or undefined when not a member. */
  async roleOf(orgId: string, userId: string): Promise<Role | undefined> {
    const r = await this.db.get(
      "SELECT role FROM org_members WHERE org_id = ? AND user_id = ?",
      orgId,
      userId,
    );
    return r?.role as Role | undefined;
  }

  /** Adds `userId` to `orgId` with `role`; a duplicate membership is a conflict. */
  async addMember(orgId: string, userId: string, role: Role): Promise<void> {
    await uniqueOr("email", "this user is already a member of the organization", () =>
      this.db.run(
        "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
        orgId,
        userId,
        role,
        now(),
      ));
    this.changes.stale("members");
  }

  /** The members of `orgId`. */
  async members(orgId: string): Promise<Member[]> {
    const rows = await this.db.all(
      `SELECT m.user_id, m.role, m.created_at, u.email, u.name FROM org_members m
       JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY m.created_at, u.email`,
      orgId,
    );
    return rows.map(toMember);
  }

  /** One member of `orgId`, if `userId` is one. */
  async member(orgId: string, userId: string): Promise<Member | undefined> {
    const r = await this.db.get(
      `SELECT m.user_id, m.role, m.created_at, u.email, u.name FROM org_members m
       JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?`,
      orgId,
      userId,
    );
    return r ? toMember(r) : undefined;
  }

  /** How many owners `orgId` has. */
  async ownerCount(orgId: string): Promise<number> {
    const r = await this.db.get(
      "SELECT COUNT(*) AS n FROM org_members WHERE org_id = ? AND role = 'owner'",
      orgId,
    );
    return Number(r?.n ?? 0);
  }

  /**
   * Changes a member's role; returns false when there is no such member.
   * Demoting the last owner is a {@link ConflictError}: checked in the same
   * transaction as the write, so two concurrent demotions cannot both pass.
   */
  async setRole(orgId: string, userId: string, role: Role): Promise<boolean> {
    return await this.db.tx(async () => {
      const current = await this.roleOf(orgId, userId);
      if (!current) return false;
      if (current === "owner" && role !== "owner") await this.#keepAnOwner(orgId, "role");
      await this.db.run(
        "UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?",
        role,
        orgId,
        userId,
      );
      this.changes.stale("members");
      // Sessions opened under the old role (by password) end; a new one gets the new role.
      this.changes.revoked(userPrincipalId(userId));
      return true;
    });
  }

  /**
   * Removes a member and the access keys they hold in this org, in one transaction;
   * returns false when there is no such member. Removing the last owner is a
   * {@link ConflictError}.
   */
  async removeMember(orgId: string, userId: string): Promise<boolean> {
    return await this.db.tx(async () => {
      const current = await this.roleOf(orgId, userId);
      if (!current) return false;
      if (current === "owner") await this.#keepAnOwner(orgId, "userId");
      await this.db.run("DELETE FROM access_keys WHERE org_id = ? AND user_id = ?", orgId, userId);
      await this.db.run("DELETE FROM org_members WHERE org_id = ? AND user_id = ?", orgId, userId);
      this.changes.stale("members");
      this.changes.revoked(userPrincipalId(userId));
      return true;
    });
  }

  /** Throws unless `orgId` has an owner besides the one about to go. */
  async #keepAnOwner(orgId: string, field: string): Promise<void> {
    if (await this.ownerCount(orgId) <= 1) {
      throw new ConflictError(field, "an organization must keep at least one owner");
    }
  }
}
