/**
 * The request log's writer: a {@link RecordSink} that keeps records in
 * memory and writes them to the store in batches, off the hot path.
 *
 * - `add` only appends to an array (O(1), no store access).
 * - A batch (at most `batchSize` rows) is one transaction, written by a
 *   {@link BatchWriter}: a thread of its own for a database file
 *   (`request_log_thread.ts`), the store itself for one in memory. The buffer is
 *   written at least every `flushMs` (1 s), soon after it reaches
 *   `batchSize`, and entirely at {@link RequestLogWriter.close} (shutdown, after
 *   the drain): what was acknowledged before a SIGTERM is kept; after a
 *   SIGKILL at most the last second's records are missing.
 * - Between batches the writer yields to the event loop, so a burst never
 *   holds the server up for more than one batch's transaction.
 * - When the store cannot be written, records stay buffered and are tried
 *   again on the next tick; past `maxBuffered` the oldest are dropped and
 *   counted ({@link RequestLogWriter.dropped}), so memory stays bounded.
 * - Retention runs in the background every `retentionEveryMs`: rows older
 *   than `retentionMs`, then the oldest beyond `maxRows`, deleted `chunk`
 *   rows per transaction with a yield between chunks, so no long
 *   transaction blocks requests or flushes.
 *
 * @module
 */
import type { RequestLog } from "../store/request_log.ts";
import type { BatchWriter } from "./request_log_thread.ts";
import type { RecordSink, RequestRecord } from "./requests.ts";

/** Settings of the writer; all but the retention limits have defaults. */
export interface RequestLogOptions {
  /** Rows older than this are deleted, in ms. */
  retentionMs: number;
  /** Rows beyond this many are deleted, oldest first. */
  maxRows: number;
  /** The longest a record waits in memory, in ms (default 1000). */
  flushMs?: number;
  /** Rows per transaction, and the buffer size that triggers a write at once (default 1000). */
  batchSize?: number;
  /** Records kept in memory while the store cannot be written (default 100,000). */
  maxBuffered?: number;
  /** How often retention runs, in ms (default 60,000). */
  retentionEveryMs?: number;
  /** Rows deleted per retention transaction (default 2000). */
  chunk?: number;
}

/** Resolves on the next turn of the event loop, so requests run between two batches. */
const yieldToRequests = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Writes records to the request log in batches, and keeps the log within its limits. */
export class RequestLogWriter implements RecordSink {
  readonly #log: RequestLog;
  readonly #batches: BatchWriter;
  readonly #retentionMs: number;
  readonly #maxRows: number;
  readonly #flushMs: number;
  readonly #batchSize: number;
  readonly #maxBuffered: number;
  readonly #retentionEveryMs: number;
  readonly #chunk: number;
  /** Buffered records from `#head` on; those before it are written or dropped. */
  #buffer: RequestRecord[] = [];
  #head = 0;
  /** Records taken off the front of `#buffer` so far (so positions survive a compaction). */
  #removed = 0;
  #dropped = 0;
  /** Rows in the log, once counted (at the first retention run), kept up to date after. */
  #rows: number | undefined;
  #flushTimer: ReturnType<typeof setInterval> | undefined;
  #retentionTimer: ReturnType<typeof setInterval> | undefined;
  /** A write of the whole buffer is under way or scheduled. */
  #draining = false;
  /** The batch being written, until it is committed or refused. */
  #writing: Promise<void> | undefined;
  #retaining: Promise<void> | undefined;
  /** A write has failed since the last that succeeded (reported once per streak). */
  #failing = false;
  #closed = false;

  /**
   * A writer into `log`, its batches written by `batches` (default: `log`
   * itself, on this thread); it writes nothing until {@link start}.
   */
  constructor(log: RequestLog, options: RequestLogOptions, batches: BatchWriter = log) {
    this.#log = log;
    this.#batches = batches;
    this.#retentionMs = options.retentionMs;
    this.#maxRows = options.maxRows;
    this.#flushMs = options.flushMs ?? 1000;
    this.#batchSize = options.batchSize ?? 1000;
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#retentionEveryMs = options.retentionEveryMs ?? 60_000;
    this.#chunk = options.chunk ?? 2000;
  }

  /** Records not written yet. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /** Records dropped because the buffer was full (the store could not be written). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Starts the flush and retention timers (neither keeps the process alive). */
  start(): void {
    if (this.#flushTimer !== undefined || this.#closed) return;
    const flush = setInterval(() => {
      if (!this.#draining) void this.#drain();
    }, this.#flushMs);
    const retention = setInterval(() => void this.retain(), this.#retentionEveryMs);
    Deno.unrefTimer(flush);
    Deno.unrefTimer(retention);
    this.#flushTimer = flush;
    this.#retentionTimer = retention;
  }

  /** Buffers `record` (O(1)); a full batch is written on the next turn of the event loop. */
  add(record: RequestRecord): void {
    this.#buffer.push(record);
    if (this.#buffer.length - this.#head > this.#maxBuffered) {
      this.#head++;
      this.#dropped++;
      // Compacted once per maxBuffered drops: amortised O(1), and the array stays bounded.
      if (this.#head >= this.#maxBuffered) this.#compact();
    }
    if (
      !this.#draining && this.#flushTimer !== undefined &&
      this.#buffer.length - this.#head >= this.#batchSize
    ) {
      this.#draining = true;
      setTimeout(() => void this.#drain(), 0);
    }
  }

  /**
   * Writes every buffered record now, a batch per transaction (shutdown,
   * and reads that must see what was acknowledged). Answers false when the
   * store refused a batch (the rest stays buffered).
   */
  async flush(): Promise<boolean> {
    // A write under way goes first: batches land in the order they were taken.
    while (this.#writing) await this.#writing;
    while (this.buffered > 0) {
      if (!await this.#writeBatch()) return false;
    }
    return true;
  }

  /** Stops the timers and writes what is buffered (shutdown: the store closes next). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#flushTimer);
    clearInterval(this.#retentionTimer);
    await this.#retaining;
    await this.flush();
    await this.#batches.close?.();
  }

  /**
   * Applies retention now: deletes rows older than the retention age, then
   * the oldest beyond the row cap, a chunk per transaction with a yield in
   * between. Resolves when the log is within its limits.
   */
  retain(): Promise<void> {
    this.#retaining ??= this.#retainAll().finally(() => (this.#retaining = undefined));
    return this.#retaining;
  }

  async #retainAll(): Promise<void> {
    try {
      while (!this.#closed) {
        const gone = await this.#log.deleteOlder(Date.now() - this.#retentionMs, this.#chunk);
        if (this.#rows !== undefined) this.#rows -= gone;
        if (gone === 0) break;
        await yieldToRequests();
      }
      this.#rows ??= await this.#log.count();
      while (!this.#closed && this.#rows > this.#maxRows) {
        await yieldToRequests();
        this.#rows -= await this.#log.deleteOldest(
          Math.min(this.#chunk, this.#rows - this.#maxRows),
        );
      }
    } catch (err) {
      // The next run tries again; the count is taken afresh in case it drifted.
      this.#rows = undefined;
      console.error("request log: retention failed:", (err as Error).message);
    }
  }

  /** Writes the buffer a batch at a time, yielding between batches. */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (!this.#closed && this.buffered > 0) {
        while (this.#writing) await this.#writing;
        if (!await this.#writeBatch()) return;
        if (this.buffered > 0) await yieldToRequests();
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Writes the oldest batch in one transaction; false when the store refused it. */
  #writeBatch(): Promise<boolean> {
    const written = this.#writeOldest();
    const writing = written.then(() => {});
    this.#writing = writing;
    return written.finally(() => {
      if (this.#writing === writing) this.#writing = undefined;
    });
  }

  async #writeOldest(): Promise<boolean> {
    // Absolute positions: records may be added, dropped and compacted while the batch is away.
    const end = this.#removed + Math.min(this.#buffer.length, this.#head + this.#batchSize);
    const batch = this.#buffer.slice(this.#head, end - this.#removed);
    try {
      await this.#batches.insert(batch);
    } catch (err) {
      if (!this.#failing) {
        console.error(
          `request log: writing ${batch.length} records failed (kept in memory, at most ` +
            `${this.#maxBuffered}): ${(err as Error).message}`,
        );
      }
      this.#failing = true;
      return false;
    }
    this.#failing = false;
    this.#head = Math.max(this.#head, end - this.#removed);
    if (this.#rows !== undefined) this.#rows += batch.length;
    if (this.#head === this.#buffer.length) {
      this.#removed += this.#buffer.length;
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head >= this.#batchSize * 16) {
      this.#compact();
    }
    return true;
  }

  #compact(): void {
    this.#removed += this.#head;
    this.#buffer = this.#buffer.slice(this.#head);
    this.#head = 0;
  }
}
