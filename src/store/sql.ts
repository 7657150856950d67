/**
 * The one interface the store's repositories speak to a database through,
 * with an implementation per engine (SQLite inside the process, PostgreSQL
 * shared by replicas).
 *
 * Statements are written once, in the SQL both engines accept: `?`
 * placeholders (PostgreSQL's engine numbers them), timestamps as ISO-8601
 * text, booleans as the integers 0 and 1, JSON as text, and
 * `ON CONFLICT ... DO ...` rather than `INSERT OR ...`.
 *
 * @module
 */

/** A value a statement binds, or a row's column holds. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** One row of a result: column name to value (integers always as `number`). */
export type Row = Record<string, SqlValue>;

/** What a write reports. */
export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** Which engine an {@link SqlEngine} is. */
export type EngineKind = "sqlite" | "postgres";

/**
 * A database the repositories read and write. Every method is asynchronous,
 * so an engine across a network costs no event-loop time while it waits.
 */
export interface SqlEngine {
  /** Which engine this is (for the few statements whose SQL must differ). */
  readonly kind: EngineKind;
  /** The first row `sql` yields, if any. */
  get(sql: string, ...params: SqlValue[]): Promise<Row | undefined>;
  /** Every row `sql` yields. */
  all(sql: string, ...params: SqlValue[]): Promise<Row[]>;
  /** Runs a write. */
  run(sql: string, ...params: SqlValue[]): Promise<RunResult>;
  /**
   * Runs `fn` in one transaction: all of its writes land, or none do. Every
   * statement issued while `fn` runs (found through the async context, so
   * repositories need no handle passed in) belongs to the transaction;
   * statements from elsewhere never see or join it. Nested calls join the
   * outer transaction. Commits when `fn` resolves, rolls back when it rejects.
   */
  tx<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` once the current write is committed: at once outside a
   * transaction, after the outermost one commits inside one, and never when
   * it rolls back.
   */
  afterCommit(fn: () => void): void;
  /** True when the database answers a trivial query. */
  healthy(): Promise<boolean>;
  /** Closes the connection(s); waits for statements under way. */
  close(): Promise<void>;
}

/**
 * A write broke a uniqueness rule (a unique index or a primary key). Engines
 * raise this, never their native error, so the store can map it to a
 * conflict the same way on both.
 */
export class UniqueViolation extends Error {
  /** Wraps the engine's own error `cause`. */
  constructor(cause: unknown) {
    super("unique constraint violated", { cause });
    this.name = "UniqueViolation";
  }
}

/** The `Retry-After` of an answer refused because the database cannot be reached, in seconds. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/**
 * The database cannot be reached: the server is down, refused or ended the
 * connection, or is shutting down. A transaction cut this way was rolled
 * back whole, except when the connection was lost during its commit (or
 * during a single write outside a transaction): then it landed whole or not
 * at all, and which is unknown. The request may succeed once the server is
 * back; engines reconnect by themselves.
 */
export class StoreUnavailable extends Error {
  /** Wraps the driver's own error `cause`. */
  constructor(cause: unknown) {
    super("the database is unavailable", { cause });
    this.name = "StoreUnavailable";
  }
}

/**
 * A text value holds a character the database cannot store: PostgreSQL
 * refuses U+0000 in text, where SQLite keeps it. Bad input, never an
 * internal error.
 */
export class UnstorableText extends Error {
  /** Wraps the driver's own error `cause`. */
  constructor(cause: unknown) {
    super("text may not contain the character U+0000", { cause });
    this.name = "UnstorableText";
  }
}
