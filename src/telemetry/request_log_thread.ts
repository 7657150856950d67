/**
 * Where the request log's writer sends its batches when the store is a
 * database file: a worker thread that writes them on its own connection
 * (`request_log_worker.ts`), so that the main thread only hands records
 * over instead of writing them. They go as the batch's segments
 * ({@link batchOf}: each org's records as one JSON text) and its rollup:
 * the thread then writes without parsing a record. A structured clone of
 * the records took 3 to 4.5 µs each, and a byte array is worse: this
 * runtime's worker_threads copy one at about 15 ms per 100 KB, where a
 * string of 300 KB costs almost nothing.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { batchOf } from "../store/log_segments.ts";
import type { RequestRecord } from "./requests.ts";

const WORKER_URL = new URL("./request_log_worker.ts", import.meta.url);

/** What writes a batch of records: {@link RequestLogThread}, or the store's `RequestLog` itself. */
export interface BatchWriter {
  /** Writes `records` in one transaction; rejects when the store refuses them. */
  insert(records: readonly RequestRecord[]): Promise<void>;
  /** Releases what it holds (a thread), after the last batch. */
  close?(): Promise<void>;
}

/** A worker thread that writes batches into the database file at `dbPath`. */
export class RequestLogThread implements BatchWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  #next = 0;

  /** Starts the thread; it keeps no process alive while nothing is being written. */
  constructor(dbPath: string) {
    this.#worker = new Worker(WORKER_URL);
    this.#worker.unref();
    this.#worker.on("message", ({ id, error }: { id: number; error?: string }) => {
      const waiting = this.#pending.get(id);
      this.#pending.delete(id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(error));
    });
    const fail = (why: string) => {
      for (const w of this.#pending.values()) w.reject(new Error(why));
      this.#pending.clear();
    };
    this.#worker.on("error", (err: Error) => fail(`the request log thread failed: ${err.message}`));
    this.#worker.on("exit", (code: number) => fail(`the request log thread exited (${code})`));
    this.#worker.postMessage({ kind: "open", dbPath });
  }

  /** Hands `records` to the thread; resolves once they are committed. */
  insert(records: readonly RequestRecord[]): Promise<void> {
    return this.#send({ kind: "insert", batch: batchOf(records) });
  }

  /** Closes the thread's connection, then ends the thread (after the writer's last batch). */
  async close(): Promise<void> {
    await this.#send({ kind: "close" }).catch(() => {});
    await this.#worker.terminate();
  }

  #send(message: Record<string, unknown>): Promise<void> {
    const id = this.#next++;
    // Held while a message is on its way: a shutdown must not end before it lands.
    this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }
}
