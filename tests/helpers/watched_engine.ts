/**
 * The real SQLite engine with a test's eyes on it: every statement the store
 * sends is recorded, and the answer of a chosen statement can be held back
 * after it ran, as a database across a network delivers a read some time
 * after it was made. Races that SQLite in the process is too quick to show
 * can then be played out step by step.
 */
import type { Row, RunResult, SqlEngine, SqlValue } from "../../src/store/sql.ts";
import { SqliteEngine } from "../../src/store/sqlite_engine.ts";

/** An answer being held back: `ran` resolves once the statement ran, `release` delivers it. */
export interface Held {
  ran: Promise<void>;
  release(): void;
}

interface Hold {
  pattern: RegExp;
  ran: () => void;
  released: Promise<void>;
}

/** A {@link SqliteEngine} over `path` that records statements and can hold answers back. */
export class WatchedEngine implements SqlEngine {
  readonly kind = "sqlite" as const;
  /** Every statement sent, in order. */
  readonly sent: string[] = [];
  /** The engine underneath, for statements of the test's own. */
  readonly inner: SqliteEngine;
  #holds: Hold[] = [];

  constructor(path = ":memory:") {
    this.inner = new SqliteEngine(path);
  }

  /** Holds back the answer of the next statement whose SQL matches `pattern`. */
  hold(pattern: RegExp): Held {
    const ran = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    this.#holds.push({ pattern, ran: ran.resolve, released: released.promise });
    return { ran: ran.promise, release: released.resolve };
  }

  get(sql: string, ...params: SqlValue[]): Promise<Row | undefined> {
    return this.#answer(sql, this.inner.get(sql, ...params));
  }

  all(sql: string, ...params: SqlValue[]): Promise<Row[]> {
    return this.#answer(sql, this.inner.all(sql, ...params));
  }

  run(sql: string, ...params: SqlValue[]): Promise<RunResult> {
    return this.#answer(sql, this.inner.run(sql, ...params));
  }

  tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.inner.tx(fn);
  }

  afterCommit(fn: () => void): void {
    this.inner.afterCommit(fn);
  }

  healthy(): Promise<boolean> {
    return this.inner.healthy();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #answer<T>(sql: string, answer: Promise<T>): Promise<T> {
    this.sent.push(sql);
    const i = this.#holds.findIndex((h) => h.pattern.test(sql));
    if (i < 0) return await answer;
    const [hold] = this.#holds.splice(i, 1);
    const value = await answer;
    hold.ran();
    await hold.released;
    return value;
  }
}
