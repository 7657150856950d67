/**
 * The SQLite engine of the store: one `node:sqlite` connection to a file
 * (or `:memory:`) behind the asynchronous {@link SqlEngine} interface.
 * Statements run synchronously, as SQLite inside the process does, and
 * answer with a settled promise.
 *
 * The one connection is shared by everything in the process, so while a
 * transaction is open it belongs to that transaction alone: the async
 * context of the transaction's function (an `AsyncLocalStorage`) tells its
 * statements from everyone else's, and a statement or transaction from
 * elsewhere waits its turn in a queue until the transaction ends. Nothing
 * outside ever reads a transaction's uncommitted rows, or has its own
 * writes rolled back with it.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { migrate } from "./migrations.ts";
import { type Row, type RunResult, type SqlEngine, type SqlValue, UniqueViolation } from "./sql.ts";

/**
 * The name of a SQL function every connection has: `gatehouse_fold(text)` is
 * `text` in lower case (all of Unicode, as JavaScript's `toLowerCase`), for
 * case-insensitive matching. PostgreSQL databases have it too (migration 1).
 */
export const FOLD = "gatehouse_fold";

const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;

/** An open transaction: what waits for its commit. */
interface Transaction {
  afterCommit: (() => void)[];
}

/** How a connection is opened. */
export interface SqliteOptions {
  /**
   * `full` (the default) syncs every commit to disk: a write answered 2xx
   * survives a power cut. `normal` is for connections whose writes may lose
   * their last commits to one (the request log's).
   */
  synchronous?: "full" | "normal";
}

/** The database as SQLite in this process: one connection, its statements cached. */
export class SqliteEngine implements SqlEngine {
  /** {@inheritDoc SqlEngine.kind} */
  readonly kind = "sqlite" as const;
  /** The database file (`:memory:` for one in memory). */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #context = new AsyncLocalStorage<Transaction>();
  /** The transaction holding the connection, while one is open. */
  #open: Transaction | undefined;
  /** True while a transaction, or a statement whose turn came in the queue, holds the connection. */
  #busy = false;
  /** Who waits for the connection, in arrival order. */
  readonly #queue: (() => void)[] = [];

  /** Opens (creating if needed) the database at `path` and applies pending migrations. */
  constructor(path: string, options: SqliteOptions = {}) {
    this.path = path;
    this.#db = new DatabaseSync(path);
    try {
      this.#db.exec("PRAGMA journal_mode = WAL");
      // FULL unless asked otherwise: with NORMAL a WAL commit can still be lost to a power
      // cut or OS crash, and the API promises that a write answered 2xx is kept. The
      // cost is one fsync per write transaction, small next to management traffic.
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      this.#db.exec("PRAGMA busy_timeout = 5000");
      // Case-insensitive search in lists: SQLite's own lower() folds only ASCII letters.
      this.#db.function(
        FOLD,
        { deterministic: true },
        (text) => typeof text === "string" ? text.toLowerCase() : null,
      );
      // SQLite-only and before anyone else holds the connection: run synchronously.
      migrate(this.#db);
    } catch (err) {
      // A refused database (e.g. from a newer build) must not stay open and locked.
      this.#db.close();
      throw err;
    }
  }

  /** {@inheritDoc SqlEngine.get} */
  get(sql: string, ...params: SqlValue[]): Promise<Row | undefined> {
    return this.#statement(() => this.#prepare(sql).get(...params as SQLInputValue[]) as Row);
  }

  /** {@inheritDoc SqlEngine.all} */
  all(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    return this.#statement(() => this.#prepare(sql).all(...params as SQLInputValue[]) as Row[]);
  }

  /** {@inheritDoc SqlEngine.run} */
  run(sql: string, ...params: SqlValue[]): Promise<RunResult> {
    return this.#statement(() => ({
      changes: Number(this.#prepare(sql).run(...params as SQLInputValue[]).changes),
    }));
  }

  /** {@inheritDoc SqlEngine.tx} */
  async tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inside()) return await fn();
    await this.#acquire();
    const t: Transaction = { afterCommit: [] };
    let out: T;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#open = t;
      try {
        out = await this.#context.run(t, fn);
        this.#db.exec("COMMIT");
      } catch (err) {
        // SQLite may have rolled back by itself (a full disk, say): then there is nothing to undo.
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    } finally {
      this.#open = undefined;
      this.#release();
    }
    for (const run of t.afterCommit) run();
    return out;
  }

  /** {@inheritDoc SqlEngine.afterCommit} */
  afterCommit(fn: () => void): void {
    if (this.#inside()) this.#open!.afterCommit.push(fn);
    else fn();
  }

  /** {@inheritDoc SqlEngine.healthy} */
  async healthy(): Promise<boolean> {
    try {
      return (await this.get("SELECT 1 AS ok"))?.ok === 1;
    } catch {
      return false;
    }
  }

  /** {@inheritDoc SqlEngine.close} */
  async close(): Promise<void> {
    await this.#acquire();
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
    // Whoever still waits gets the closed connection's error rather than waiting forever.
    this.#release();
  }

  /** True when the caller runs inside the open transaction's function. */
  #inside(): boolean {
    return this.#open !== undefined && this.#context.getStore() === this.#open;
  }

  /**
   * Runs `work` now when the connection is free or the caller is inside the
   * open transaction, else once the transaction (and whoever queued before)
   * is done. A uniqueness failure comes out as {@link UniqueViolation}.
   */
  #statement<T>(work: () => T): Promise<T> {
    if (!this.#busy || this.#inside()) {
      try {
        return Promise.resolve(work());
      } catch (err) {
        return Promise.reject(engineError(err));
      }
    }
    return this.#acquire().then(() => {
      try {
        return work();
      } catch (err) {
        throw engineError(err);
      } finally {
        this.#release();
      }
    });
  }

  /** Resolves once the connection is the caller's; {@link SqliteEngine.#release} hands it on. */
  #acquire(): Promise<void> {
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#busy = false;
  }

  /** Returns a prepared statement for `sql`, compiled once and reused. */
  #prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }
}

/** SQLite's unique and primary-key failures as {@link UniqueViolation}; other errors as they are. */
function engineError(err: unknown): unknown {
  const code = (err as { errcode?: number } | null)?.errcode;
  return code === SQLITE_CONSTRAINT_UNIQUE || code === SQLITE_CONSTRAINT_PRIMARYKEY
    ? new UniqueViolation(err)
    : err;
}
