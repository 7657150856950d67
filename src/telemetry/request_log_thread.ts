/**
 * Where the request log's writer sends its batches when the store is a
 * database file: a Web Worker that builds their segments and writes them on
 * its own connection (`request_log_worker.ts`), so that the main thread
 * only packs records ({@link PackedRecords}: one shared byte buffer a batch)
 * and hands them over. A structured clone of records as objects took 3 to 4.5 µs
 * each. It is a Web Worker, not `node:worker_threads`: this runtime's
 * worker_threads copied a byte array at about 15 ms per 100 KB, and their
 * messages cost the main thread 40 times the CPU time in a test of the same
 * traffic.
 *
 * @module
 */
import type { PackedRecords } from "../store/log_segments.ts";

const WORKER_URL = new URL("./request_log_worker.ts", import.meta.url);

/** What writes a batch of records: {@link RequestLogThread}, or the store's `RequestLog` itself. */
export interface BatchWriter {
  /** Writes `packed` in one transaction; rejects when the store refuses it. */
  writePacked(packed: PackedRecords): Promise<void>;
  /** Releases what it holds (a thread), after the last batch. */
  close?(): Promise<void>;
  /** Gets ready for the first batch now (starts a thread), so no request waits for that. */
  warm?(): void;
}

/**
 * A worker thread that writes batches into the database file at `dbPath`.
 * A Web Worker keeps the process alive while it runs, so it starts with the
 * first batch (or {@link warm}) and ends after `idleMs` without one, so a
 * process that stops writing can exit; the server, which closes it at
 * shutdown, keeps it for good (`Infinity`). Starting one holds up the main
 * thread for about 25 ms (and takes about 50 ms of CPU time with its first
 * batch): a server starts it with itself, not when a request's record
 * fills the first batch.
 */
export class RequestLogThread implements BatchWriter {
  readonly #dbPath: string;
  readonly #idleMs: number;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  #next = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;
  /** A thread ending (its connection closing), which {@link close} waits for. */
  #ending: Promise<void> = Promise.resolve();

  /** A writer into `dbPath`; no thread starts until the first batch. */
  constructor(dbPath: string, idleMs = 60_000) {
    this.#dbPath = dbPath;
    this.#idleMs = idleMs;
  }

  /** Starts the thread now, if none runs. */
  warm(): void {
    this.#started();
  }

  /** Hands `packed` to the thread (shared: the caller keeps it to retry); resolves once committed. */
  writePacked(packed: PackedRecords): Promise<void> {
    return this.#send(this.#started(), { kind: "insert", packed });
  }

  /** Closes the thread's connection, then ends the thread (after the writer's last batch). */
  async close(): Promise<void> {
    clearTimeout(this.#idle);
    this.#end();
    await this.#ending;
  }

  #started(): Worker {
    clearTimeout(this.#idle);
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_URL, { type: "module" });
    worker.onmessage = ({ data }: MessageEvent<{ id: number; error?: string }>) => {
      const waiting = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (data.error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(data.error));
      if (this.#pending.size === 0 && this.#worker === worker && Number.isFinite(this.#idleMs)) {
        this.#idle = setTimeout(() => this.#end(), this.#idleMs);
        Deno.unrefTimer(this.#idle);
      }
    };
    worker.onerror = (e: ErrorEvent) => {
      // Handled here: unhandled, a worker's error would end the whole process.
      e.preventDefault();
      for (const w of this.#pending.values()) {
        w.reject(new Error(`the request log thread failed: ${e.message}`));
      }
      this.#pending.clear();
      if (this.#worker === worker) this.#worker = undefined;
      worker.terminate();
    };
    worker.postMessage({ kind: "open", dbPath: this.#dbPath });
    this.#worker = worker;
    return worker;
  }

  /** Ends the current thread, if any: its connection closes after the batches sent to it. */
  #end(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    const ended = this.#send(worker, { kind: "close" }).catch(() => {}).then(() =>
      worker.terminate()
    );
    this.#ending = Promise.all([this.#ending, ended]).then(() => {});
  }

  #send(worker: Worker, message: Record<string, unknown>): Promise<void> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }
}
