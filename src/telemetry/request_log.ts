/**
 * The request log's writer: a {@link RecordSink} that keeps records in
 * memory and writes them to the store in batches, off the hot path.
 *
 * - `add` packs the record into the open batch (O(1), no store access, no
 *   object kept per record: see `RecordPacker`).
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
 *   again on the next tick; past `maxBuffered` the oldest batches are
 *   dropped and counted ({@link RequestLogWriter.dropped}), so memory stays
 *   bounded.
 * - Retention runs in the background every `retentionEveryMs`: rows older
 *   than `retentionMs`, then the oldest beyond `maxRows`, deleted `chunk`
 *   rows per transaction with a yield between chunks, so no long
 *   transaction blocks requests or flushes.
 *
 * @module
 */
import { type PackedRecords, RecordPacker } from "../store/log_segments.ts";
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

/** A batch being filled, or full and waiting to be written (packed once, kept for a retry). */
interface Pending {
  packer: RecordPacker;
  packed?: PackedRecords;
}

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
  /** Full batches, oldest first, waiting to be written (the first may be being written). */
  readonly #full: Pending[] = [];
  /** The batch records are added to. */
  #open: Pending;
  /** Records in `#full` and `#open`. */
  #buffered = 0;
  #dropped = 0;
  /** Rows in the log, once counted (at the first retention run), kept up to date after. */
  #rows: number | undefined;
  #flushTimer: ReturnType<typeof setInterval> | undefined;
  #retentionTimer: ReturnType<typeof setInterval> | undefined;
  /** A write of the buffer is under way or scheduled. */
  #draining = false;
  /** The batch being written, until it is committed or refused. */
  #writing: Promise<boolean> | undefined;
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
    this.#open = this.#newBatch();
  }

  /** Records not written yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Records dropped because the buffer was full (the store could not be written). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Starts the flush and retention timers (neither keeps the process alive) and warms the writer. */
  start(): void {
    if (this.#flushTimer !== undefined || this.#closed) return;
    this.#batches.warm?.();
    const flush = setInterval(() => {
      if (!this.#draining) void this.#drain(true);
    }, this.#flushMs);
    const retention = setInterval(() => void this.retain(), this.#retentionEveryMs);
    Deno.unrefTimer(flush);
    Deno.unrefTimer(retention);
    this.#flushTimer = flush;
    this.#retentionTimer = retention;
  }

  /** Buffers `record` (O(1)); a full batch is written on the next turn of the event loop. */
  add(record: RequestRecord): void {
    this.#open.packer.add(record);
    this.#buffered++;
    if (this.#open.packer.size < this.#batchSize) return;
    this.#seal();
    // Dropped a whole batch at a time, never the one being written.
    while (this.#buffered > this.#maxBuffered) {
      const at = this.#writing ? 1 : 0;
      if (at >= this.#full.length) break;
      const [gone] = this.#full.splice(at, 1);
      this.#buffered -= gone.packer.size;
      this.#dropped += gone.packer.size;
    }
    if (!this.#draining && this.#flushTimer !== undefined) {
      this.#draining = true;
      setTimeout(() => void this.#drain(false), 0);
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
    this.#seal();
    while (this.#full.length > 0) {
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

  #newBatch(): Pending {
    return { packer: new RecordPacker(Math.min(this.#batchSize, 1024)) };
  }

  /** Moves the open batch, if it holds records, to the full ones. */
  #seal(): void {
    if (this.#open.packer.size === 0) return;
    this.#full.push(this.#open);
    this.#open = this.#newBatch();
  }

  /**
   * Writes the buffer a batch at a time, yielding between batches: `all`
   * (the timer) writes what is buffered when it starts, the open batch too;
   * otherwise (a batch filled up) the full batches only. Records that arrive
   * meanwhile wait for the next full batch or tick: chasing them under a
   * steady load wrote batches of a few dozen rows, each with a transaction
   * and a message to the thread, and cost the log's thread 4 times as much.
   */
  async #drain(all: boolean): Promise<void> {
    this.#draining = true;
    try {
      while (this.#writing) await this.#writing;
      if (all) this.#seal();
      let batches = this.#full.length;
      while (!this.#closed && batches-- > 0 && this.#full.length > 0) {
        if (!await this.#writeBatch()) return;
        await yieldToRequests();
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Writes the oldest full batch in one transaction; false when the store refused it. */
  #writeBatch(): Promise<boolean> {
    const writing = this.#writeOldest();
    this.#writing = writing;
    return writing.finally(() => {
      if (this.#writing === writing) this.#writing = undefined;
    });
  }

  async #writeOldest(): Promise<boolean> {
    const batch = this.#full[0];
    batch.packed ??= batch.packer.pack();
    try {
      await this.#batches.writePacked(batch.packed);
    } catch (err) {
      if (!this.#failing) {
        console.error(
          `request log: writing ${batch.packed.count} records failed (kept in memory, at most ` +
            `${this.#maxBuffered}): ${(err as Error).message}`,
        );
      }
      this.#failing = true;
      return false;
    }
    this.#failing = false;
    // Dropping never takes the batch being written, so it is still the first.
    this.#full.shift();
    this.#buffered -= batch.packed.count;
    if (this.#rows !== undefined) this.#rows += batch.packed.count;
    return true;
  }
}
