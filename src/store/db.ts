/**
 * Opens the SQLite database behind Gatehouse and offers the one transaction
 * helper every multi-step write goes through.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { migrate } from "./migrations.ts";

/**
 * The name of a SQL function every connection has: `gatehouse_fold(text)` is
 * `text` in lower case (all of Unicode, as JavaScript's `toLowerCase`), for
 * case-insensitive matching.
 */
export const FOLD = "gatehouse_fold";

/** A SQLite handle with a statement cache and a transaction helper. */
export class Db {
  /** The raw `node:sqlite` handle; only code under `src/store/` touches it. */
  readonly raw: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #depth = 0;
  #afterCommit: (() => void)[] = [];

  /** Opens (creating if needed) the database at `path` and applies pending migrations. */
  constructor(path: string) {
    this.raw = new DatabaseSync(path);
    try {
      this.raw.exec("PRAGMA journal_mode = WAL");
      // FULL, not NORMAL: with NORMAL a WAL commit can still be lost to a power cut
      // or OS crash, and the API promises that a write answered 2xx is kept. The
      // cost is one fsync per write transaction, small next to management traffic.
      this.raw.exec("PRAGMA synchronous = FULL");
      this.raw.exec("PRAGMA foreign_keys = ON");
      this.raw.exec("PRAGMA busy_timeout = 5000");
      // Case-insensitive search in lists: SQLite's own lower() folds only ASCII letters.
      this.raw.function(
        FOLD,
        { deterministic: true },
        (text) => typeof text === "string" ? text.toLowerCase() : null,
      );
      migrate(this);
    } catch (err) {
      // A refused database (e.g. from a newer build) must not stay open and locked.
      this.raw.close();
      throw err;
    }
  }

  /** Returns a prepared statement for `sql`, compiled once and reused. */
  prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.raw.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /**
   * Runs `fn` inside a transaction: all of its writes land, or none do.
   * Nested calls join the outer transaction.
   */
  tx<T>(fn: () => T): T {
    if (this.#depth > 0) {
      this.#depth++;
      try {
        return fn();
      } finally {
        this.#depth--;
      }
    }
    this.raw.exec("BEGIN IMMEDIATE");
    this.#depth = 1;
    let out: T;
    try {
      out = fn();
      this.raw.exec("COMMIT");
    } catch (err) {
      this.#afterCommit = [];
      this.raw.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth = 0;
    }
    const pending = this.#afterCommit;
    this.#afterCommit = [];
    for (const run of pending) run();
    return out;
  }

  /**
   * Runs `fn` once the current write is committed: at once outside a
   * transaction, else after the outermost one commits, and never when it
   * rolls back. Listeners that rebuild caches from the database must not
   * see, or act on, a change that may still be undone.
   */
  afterCommit(fn: () => void): void {
    if (this.#depth === 0) fn();
    else this.#afterCommit.push(fn);
  }

  /** True when the database answers a trivial query. */
  healthy(): boolean {
    try {
      return this.prepare("SELECT 1 AS ok").get()?.ok === 1;
    } catch {
      return false;
    }
  }

  /** Closes the handle; further use throws. */
  close(): void {
    this.#statements.clear();
    if (this.raw.isOpen) this.raw.close();
  }
}
