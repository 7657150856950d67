/**
 * Users: people (or automation) that hold access keys and belong to orgs.
 *
 * @module
 */
import { type ChangeFeed, userPrincipalId } from "./changes.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** A Gatehouse user. */
export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

function toUser(r: Row): User {
  return {
    id: r.id as string,
    email: r.email as string,
    name: r.name as string,
    createdAt: r.created_at as string,
  };
}

/** Reads and writes the `users` table. */
export class Users {
  /**
   * Increments whenever a password changes, so caches of checked passwords
   * (the `basic` gateway auth method's) can tell they are stale with a number compare.
   */
  passwordsVersion = 0;

  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {
    changes.onStale("passwords", () => this.passwordsVersion++);
  }

  /** Creates a user. Emails are stored lower-cased. */
  async create(email: string, name: string): Promise<User> {
    const user = { id: newId(), email: email.toLowerCase(), name, createdAt: now() };
    await this.db.run(
      "INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)",
      user.id,
      user.email,
      user.name,
      user.createdAt,
    );
    return user;
  }

  /** The user with `id`, if any. */
  async get(id: string): Promise<User | undefined> {
    const r = await this.db.get("SELECT * FROM users WHERE id = ?", id);
    return r ? toUser(r) : undefined;
  }

  /** The user with `email` (case-insensitive), if any. */
  async byEmail(email: string): Promise<User | undefined> {
    const r = await this.db.get("SELECT * FROM users WHERE email = ?", email.toLowerCase());
    return r ? toUser(r) : undefined;
  }

  /**
   * Stores the password hash of `userId` (a self-describing KDF string made
   * by `src/oauth/password.ts`); false when there is no such user.
   */
  async setPasswordHash(userId: string, hash: string): Promise<boolean> {
    const res = await this.db.run("UPDATE users SET password_hash = ? WHERE id = ?", hash, userId);
    this.changes.stale("passwords");
    // Sessions signed in with the old password end now, not at their next request.
    this.changes.revoked(userPrincipalId(userId));
    return res.changes > 0;
  }

  /** The stored password hash of `userId`, or undefined when the user has no password. */
  async passwordHash(userId: string): Promise<string | undefined> {
    const r = await this.db.get("SELECT password_hash FROM users WHERE id = ?", userId);
    return (r?.password_hash as string | null | undefined) ?? undefined;
  }

  /** The user with `email`, created with `name` when missing. */
  async ensure(email: string, name: string): Promise<User> {
    return await this.byEmail(email) ?? await this.create(email, name);
  }
}
