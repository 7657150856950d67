/**
 * The PostgreSQL engine: an {@link SqlEngine} over a pool of connections (the
 * `postgres` driver), for replicas that share one database.
 *
 * Statements arrive in the SQL both engines accept; their `?` placeholders
 * become `$1..$n` (once per statement text) and they run as prepared
 * statements. Values come back as SQLite's would: integers of every width
 * (and `COUNT`, `SUM`) as `number`, booleans as 1 and 0, `bytea` as
 * `Uint8Array`.
 *
 * Transactions run on a connection of their own, found through the async
 * context. They are serialised, as SQLite's write transactions are: the
 * repositories read and then write inside one (the next audit number, the
 * last owner of an org) and rely on nobody writing in between. Within this
 * process they wait in line without holding a connection; across replicas
 * a transaction-scoped advisory lock orders them. Reads outside a
 * transaction never wait for it.
 *
 * A lost connection surfaces as {@link StoreUnavailable}: the server rolls
 * back what the connection had open, the engine sends nothing more on it,
 * and the next statement connects anew, so the engine recovers by itself
 * when the server is back.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import postgres from "postgres";
import {
  type Row,
  type RunResult,
  type SqlEngine,
  type SqlValue,
  StoreUnavailable,
  UniqueViolation,
  UnstorableText,
} from "./sql.ts";

/**
 * Changes announced between replicas: what one writes, the others hear.
 * Delivery is at most once, and only while listening: a listener is told
 * through `onListening` each time listening (re)starts, after which it must
 * assume it missed what was said meanwhile.
 */
export interface ChangeChannel {
  /**
   * Calls `onMessage` with the payload of every notice on `channel`, and
   * `onListening` once listening starts and again after every reconnect.
   * Resolves once listening; answers the function that stops it.
   */
  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onListening?: () => void,
  ): Promise<() => Promise<void>>;
  /** Announces `payload` on `channel`; inside a transaction, only once it commits. */
  notify(channel: string, payload: string): Promise<void>;
}

/** Settings of a {@link PostgresEngine}; the URL's own query parameters also apply. */
export interface PostgresOptions {
  /** Connections in the pool (10). */
  maxConnections?: number;
  /** Seconds a connection attempt may take before the statement fails (10). */
  connectTimeoutSeconds?: number;
}

/** Key of the advisory lock that orders write transactions across replicas. */
const WRITER_LOCK = 7_262_117_001;
/** Statement texts whose numbered form is kept. */
const NUMBERED_CACHE = 2000;
/** How long `close` waits for statements and transactions under way, in ms. */
const CLOSE_WAIT_MS = 10_000;
/** The longest wait between two attempts to listen again, in ms. */
const RELISTEN_MAX_MS = 2000;
/** Error codes of the driver and the socket that mean the connection is gone. */
const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * True when `err` says the server cannot be used now: the socket's or
 * driver's connection errors, SQLSTATE class 08 (connection exception),
 * 57P01 to 57P05 (shut down by an operator or a crash, starting up, dropped,
 * idle timeout) and 53300 (too many connections).
 */
function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  if (CONNECTION_LOST.has(code)) return true;
  return err instanceof postgres.PostgresError &&
    (code.startsWith("08") || /^57P0[1-5]$/.test(code) || code === "53300");
}

/** The store's error for the driver's `err`. */
function translated(err: unknown): unknown {
  if (err instanceof postgres.PostgresError && err.code === "23505") {
    return new UniqueViolation(err);
  }
  // "character not in repertoire" and "untranslatable character": a NUL in a text parameter.
  if (err instanceof postgres.PostgresError && (err.code === "22021" || err.code === "22P05")) {
    return new UnstorableText(err);
  }
  if (isUnavailable(err)) return new StoreUnavailable(err);
  return err;
}

/**
 * `sql` with each `?` placeholder numbered `$1`, `$2`, ... in order; a `?`
 * inside a string literal, a quoted identifier, a dollar-quoted string or a
 * comment is left alone.
 */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const at = sql.indexOf(end, from);
    return at === -1 ? sql.length : at + end.length;
  };
  while (i < sql.length) {
    const c = sql[i];
    let next = i + 1;
    if (c === "?") {
      out += `$${++n}`;
      i = next;
      continue;
    }
    if (c === "'" || c === '"') {
      // E'...' strings escape with backslashes; the others double the quote.
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? "") && !/\w/.test(sql[i - 2] ?? "");
      while (next < sql.length) {
        if (escapes && sql[next] === "\\") next += 2;
        else if (sql[next] === c && sql[next + 1] === c) next += 2;
        else if (sql[next] === c) {
          next++;
          break;
        } else next++;
      }
    } else if (c === "-" && sql[i + 1] === "-") {
      next = skipTo("\n", i);
    } else if (c === "/" && sql[i + 1] === "*") {
      next = skipTo("*/", i + 2);
    } else if (c === "$" && !/\w/.test(sql[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) next = skipTo(tag, i + tag.length);
    }
    out += sql.slice(i, next);
    i = next;
  }
  return out;
}

/** The bytes of a `bytea` value in PostgreSQL's hex output (`\x0aff`). */
function bytesOf(text: string): Uint8Array {
  return Uint8Array.fromHex(text.slice(2));
}

/** How values cross the wire: integers as `number`, booleans as 1/0, `bytea` as `Uint8Array`. */
const TYPES = {
  int8: { to: 20, from: [20], parse: Number, serialize: String },
  numeric: { to: 1700, from: [1700], parse: Number, serialize: String },
  bool: {
    to: 16,
    from: [16],
    parse: (text: string) => (text === "t" ? 1 : 0),
    // SQLite's booleans are integers: 0 is false, any other number true.
    serialize: (v: unknown) =>
      typeof v === "number" || typeof v === "bigint" ? (Number(v) !== 0 ? "t" : "f") : String(v),
  },
  bytea: {
    to: 17,
    from: [17],
    parse: bytesOf,
    serialize: (v: Uint8Array) => `\\x${v.toHex()}`,
  },
};

/** A transaction under way, as statements issued within it find it. */
interface Tx {
  sql: postgres.TransactionSql;
  afterCommit: (() => void)[];
  /** The transaction is over: committed, rolled back, or cut with its connection. */
  ended: boolean;
  /** Its function has returned or thrown: statements from its context now use the pool. */
  settled: boolean;
}

/** Listeners of one channel. */
interface Subscription {
  onMessage: (payload: string) => void;
  onListening?: () => void;
}

/** A PostgreSQL database the repositories (and replicas' change feeds) speak to. */
export class PostgresEngine implements SqlEngine, ChangeChannel {
  /** Always `postgres`. */
  readonly kind = "postgres" as const;
  readonly #sql: postgres.Sql;
  readonly #options: postgres.Options<Record<string, postgres.PostgresType>>;
  /** Its database's URL, password included: for threads of this process only, never shown. */
  readonly url: string;
  readonly #context = new AsyncLocalStorage<Tx>();
  readonly #numbered = new Map<string, string>();
  /** Statements and transactions under way, which `close` lets finish. */
  readonly #busy = new Set<Promise<unknown>>();
  /** Settles when the transaction before the next one in this process is done. */
  #writers: Promise<void> = Promise.resolve();
  #listener: postgres.Sql | undefined;
  readonly #channels = new Map<string, Set<Subscription>>();
  #relistening = false;
  #relistenAgain = false;
  #relistenTimer: ReturnType<typeof setTimeout> | undefined;
  #closing = false;

  /** An engine on the database at `url` (`postgres://user:password@host:port/database`). */
  constructor(url: string, options: PostgresOptions = {}) {
    this.url = url;
    this.#options = {
      max: options.maxConnections ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      // Tries again soon after a failure, but never more than once a second per connection.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: "gatehouse" },
      types: TYPES,
    };
    this.#sql = postgres(url, this.#options);
  }

  /** The first row `sql` yields, if any. */
  async get(sql: string, ...params: SqlValue[]): Promise<Row | undefined> {
    return (await this.#query(sql, params))[0];
  }

  /** Every row `sql` yields. */
  async all(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    return [...await this.#query(sql, params)];
  }

  /** Runs a write. */
  async run(sql: string, ...params: SqlValue[]): Promise<RunResult> {
    return { changes: (await this.#query(sql, params)).count ?? 0 };
  }

  /**
   * Runs `script`, statements separated by semicolons and without
   * placeholders, in one round trip (migrations); inside a transaction, on
   * its connection.
   */
  async exec(script: string): Promise<void> {
    const [runner, tx] = this.#runner();
    try {
      await this.#busyWith(runner.unsafe(script));
    } catch (err) {
      if (tx && isUnavailable(err)) tx.ended = true;
      throw translated(err);
    }
  }

  /** Runs `fn` in one transaction (see {@link SqlEngine.tx}); transactions take turns. */
  async tx<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.#context.getStore();
    if (outer && !outer.settled) {
      if (outer.ended) throw new StoreUnavailable(new Error("the transaction was cut"));
      return await fn();
    }
    const before = this.#writers;
    let done!: () => void;
    this.#writers = new Promise((resolve) => (done = resolve));
    try {
      await before;
      return await this.#busyWith(this.#transaction(fn));
    } finally {
      done();
    }
  }

  /** Runs `fn` after the current transaction commits, at once outside one. */
  afterCommit(fn: () => void): void {
    const tx = this.#context.getStore();
    if (tx && !tx.ended) tx.afterCommit.push(fn);
    // A transaction cut while its function still runs never commits: its notices are dropped.
    else if (!tx || tx.settled) fn();
  }

  /** True when the database answers a trivial query within `timeoutMs`. */
  async healthy(timeoutMs = 2000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
    const answer = this.#sql.unsafe("SELECT 1 AS ok").then(
      (rows) => rows[0]?.ok === 1,
      () => false,
    );
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Closes the pool and the listening connection once the statements and
   * transactions under way have finished (or after 10 s).
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#relistenTimer);
    this.#channels.clear();
    // The engine waits for its own work rather than the driver's drain: a connection whose
    // statement the server cut stays "busy" to the driver, whose drain then waits in vain.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    await Promise.race([Promise.allSettled(this.#busy), late]);
    clearTimeout(timer);
    await Promise.all([this.#sql.end({ timeout: 0 }), this.#listener?.end({ timeout: 0 })]);
  }

  /** Starts calling `onMessage` for notices on `channel` (see {@link ChangeChannel.listen}). */
  async listen(
    channel: string,
    onMessage: (payload: string) => void,
    onListening?: () => void,
  ): Promise<() => Promise<void>> {
    const subscription: Subscription = { onMessage, onListening };
    let subscribers = this.#channels.get(channel);
    if (!subscribers) {
      try {
        await this.#listening().unsafe(`LISTEN ${quoted(channel)}`);
      } catch (err) {
        throw translated(err);
      }
      subscribers = this.#channels.get(channel) ?? new Set();
      this.#channels.set(channel, subscribers);
    }
    subscribers.add(subscription);
    if (onListening) deliver(onListening);
    return async () => {
      const current = this.#channels.get(channel);
      if (!current?.delete(subscription) || current.size > 0) return;
      this.#channels.delete(channel);
      await this.#listening().unsafe(`UNLISTEN ${quoted(channel)}`).catch(() => {});
    };
  }

  /** Announces `payload` on `channel` (see {@link ChangeChannel.notify}). */
  async notify(channel: string, payload: string): Promise<void> {
    await this.#query("SELECT pg_notify(?, ?)", [channel, payload]);
  }

  /** The connection the current context's statements go to, and its transaction if any. */
  #runner(): [postgres.ISql, Tx | undefined] {
    const tx = this.#context.getStore();
    if (!tx || tx.settled) return [this.#sql, undefined];
    // Nothing more may go to a cut transaction's connection: the driver would send it on
    // a socket that is gone, or, reconnected, outside the transaction.
    if (tx.ended) throw new StoreUnavailable(new Error("the transaction was cut"));
    return [tx.sql, tx];
  }

  async #query(sql: string, params: SqlValue[]): Promise<postgres.RowList<Row[]>> {
    const [runner, tx] = this.#runner();
    try {
      return await this.#busyWith(
        runner.unsafe<Row[]>(
          this.#numberedOf(sql),
          params as postgres.ParameterOrJSON<never>[],
          { prepare: true },
        ),
      );
    } catch (err) {
      if (tx && isUnavailable(err)) tx.ended = true;
      throw translated(err);
    }
  }

  /** `work`, counted as under way until it settles. */
  async #busyWith<T>(work: Promise<T>): Promise<T> {
    this.#busy.add(work);
    try {
      return await work;
    } finally {
      this.#busy.delete(work);
    }
  }

  #numberedOf(sql: string): string {
    let numbered = this.#numbered.get(sql);
    if (numbered === undefined) {
      numbered = numberPlaceholders(sql);
      if (this.#numbered.size >= NUMBERED_CACHE) {
        this.#numbered.delete(this.#numbered.keys().next().value!);
      }
      this.#numbered.set(sql, numbered);
    }
    return numbered;
  }

  async #transaction<T>(fn: () => Promise<T>): Promise<T> {
    const tx: Tx = { sql: undefined!, afterCommit: [], ended: false, settled: false };
    let value: T;
    try {
      value = await this.#sql.begin(async (sql) => {
        tx.sql = sql;
        let outcome: { ok: true; value: T } | { ok: false; error: unknown };
        try {
          await this.#context.run(
            tx,
            () => this.exec(`SELECT pg_advisory_xact_lock(${WRITER_LOCK})`),
          );
          outcome = { ok: true, value: await this.#context.run(tx, fn) };
        } catch (error) {
          outcome = { ok: false, error };
        } finally {
          tx.settled = true;
        }
        // Cut: the driver must not send COMMIT or ROLLBACK on the lost connection, so its
        // part of the transaction never finishes (the server has rolled it back already).
        if (tx.ended) return await new Promise<never>(() => {});
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      }) as T;
    } catch (err) {
      throw translated(err);
    } finally {
      tx.ended = true;
    }
    for (const run of tx.afterCommit) run();
    return value;
  }

  /** The connection that listens, made on first use. */
  #listening(): postgres.Sql {
    // onnotify is the hook the driver's own listen() is built on (missing from its types);
    // that one re-listens too, but leaves a listener behind when its first LISTEN fails.
    const options: postgres.Options<Record<string, postgres.PostgresType>> & {
      onnotify: (channel: string, payload: string) => void;
    } = {
      ...this.#options,
      max: 1,
      idle_timeout: undefined,
      max_lifetime: null,
      onnotify: (channel, payload) => {
        for (const s of this.#channels.get(channel) ?? []) deliver(() => s.onMessage(payload));
      },
      onclose: () => this.#relisten(),
    };
    this.#listener ??= postgres(this.url, options);
    return this.#listener;
  }

  /** Listens again on every channel after the listening connection was lost, until it works. */
  async #relisten(): Promise<void> {
    if (this.#closing || this.#channels.size === 0) return;
    if (this.#relistening) {
      this.#relistenAgain = true;
      return;
    }
    this.#relistening = true;
    for (let attempt = 0; !this.#closing && this.#channels.size > 0; attempt++) {
      this.#relistenAgain = false;
      const channels = [...this.#channels.keys()];
      try {
        await this.#listening().unsafe(channels.map((c) => `LISTEN ${quoted(c)}`).join("; "));
        if (this.#relistenAgain) continue;
        for (const c of channels) {
          for (const s of this.#channels.get(c) ?? []) {
            if (s.onListening) deliver(s.onListening);
          }
        }
        break;
      } catch {
        if (this.#closing) break;
        const wait = Math.min(50 * 2 ** attempt, RELISTEN_MAX_MS);
        await new Promise<void>((resolve) => {
          this.#relistenTimer = setTimeout(resolve, wait);
        });
      }
    }
    this.#relistening = false;
  }
}

/** `name` as a quoted SQL identifier. */
function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Calls a listener; one that throws is reported, and the others still hear. */
function deliver(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error("a change channel listener failed:", err);
  }
}
