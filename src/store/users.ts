/**
 * Users: people (or automation) that hold access keys and belong to orgs.
 *
 * @module
 */
import { type ChangeFeed, userPrincipalId } from "./changes.ts";
import type { Db } from "./db.ts";
import { newId, now } from "./util.ts";

/** A Gatehouse user. */
export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

type Row = Record<string, unknown>;

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

  constructor(private readonly db: Db, private readonly changes: ChangeFeed) {}

  /** Creates a user. Emails are stored lower-cased. */
  create(email: string, name: string): User {
    const user = { id: newId(), email: email.toLowerCase(), name, createdAt: now() };
    this.db.prepare("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)")
      .run(user.id, user.email, user.name, user.createdAt);
    return user;
  }

  /** The user with `id`, if any. */
  get(id: string): User | undefined {
    const r = this.db.prepare("SELECT * FROM users WHERE id = ?").get(id);
    return r ? toUser(r) : undefined;
  }

  /** The user with `email` (case-insensitive), if any. */
  byEmail(email: string): User | undefined {
    const r = this.db.prepare("SELECT * FROM users WHERE email = ?").get(email.toLowerCase());
    return r ? toUser(r) : undefined;
  }

  /**
   * Stores the password hash of `userId` (a self-describing KDF string made
   * by `src/oauth/password.ts`); false when there is no such user.
   */
  setPasswordHash(userId: string, hash: string): boolean {
    const res = this.db.prepare("UPDATE users SET password_hash = ? WHERE id = ?").run(
      hash,
      userId,
    );
    this.passwordsVersion++;
    // Sessions signed in with the old password end now, not at their next request.
    this.changes.revoked(userPrincipalId(userId));
    return Number(res.changes) > 0;
  }

  /** The stored password hash of `userId`, or undefined when the user has no password. */
  passwordHash(userId: string): string | undefined {
    const r = this.db.prepare("SELECT password_hash FROM users WHERE id = ?").get(userId);
    return (r?.password_hash as string | null | undefined) ?? undefined;
  }

  /** The user with `email`, created with `name` when missing. */
  ensure(email: string, name: string): User {
    return this.byEmail(email) ?? this.create(email, name);
  }
}
