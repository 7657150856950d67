/**
 * Import workers: the threads that run `prepareImport` and write its result
 * (see `import_worker.ts`), a few at a time, each bounded in time and memory.
 *
 * At most `concurrency` imports run at once; later ones wait their turn in
 * order. A worker that finished an import serves the next one (its parser
 * libraries are loaded by then). One worker is kept for good, started by
 * {@link ImportPool.warm} before the server listens: creating a worker holds
 * up the creating thread for 50 to 75 ms (Deno waits for the new isolate),
 * which must not happen while requests are being answered. Other workers
 * end after `idleMs` without work.
 * A worker that runs past `timeoutMs`, or exits or fails on its own, is
 * ended and its import rejected with an {@link ApiError} saying so: a
 * caller is never left waiting. Memory is bounded by V8's heap limit for
 * the worker (`memoryMb`); a worker that reaches it stops working, and the
 * deadline then ends it. The deadline stops at the store write, which is
 * never cut short: a thread ended inside a transaction would leave the
 * database locked for the whole process. `close` waits for writes under way.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { ApiError } from "../api/errors.ts";
import type { OperationTool } from "../store/apis.ts";
import type { ThreadDatabase } from "../store/store.ts";
import type { ImportTarget, StoredImport } from "./import_store.ts";
import type { ImportError, ImportHooks, PreparedImport } from "./import_task.ts";

/** How the workers are bounded. */
export interface ImportPoolOptions {
  /** Imports that run at once. */
  concurrency: number;
  /** Longest an import may take in its worker, in ms. */
  timeoutMs: number;
  /** Heap limit of each worker, in MiB. */
  memoryMb: number;
  /** How long a worker without work is kept for the next import, in ms (default 30 s). */
  idleMs?: number;
  /** The worker module (tests substitute one that misbehaves). */
  workerUrl?: URL;
  /**
   * The database workers write imports to; absent for a store in memory,
   * whose imports the caller writes itself.
   */
  database?: ThreadDatabase;
}

/** An import's end: written by its worker, or prepared for the caller to write. */
export type ImportResult = { stored: StoredImport } | { prepared: PreparedImport };

/**
 * Told as an import goes: its progress, and when it leaves the queue. The
 * request's fields are checked in the worker, which may be writing by the
 * time a message about them would arrive here.
 */
export interface ImportRunHooks extends Pick<ImportHooks, "progress"> {
  started?(): void;
}

/** What a worker sends. */
type WorkerMessage =
  | { kind: "progress"; progress: Parameters<NonNullable<ImportHooks["progress"]>>[0] }
  | { kind: "tools"; tools: OperationTool[] }
  | {
    kind: "done";
    input: PreparedImport["input"];
    warnings: string[];
    limits: PreparedImport["limits"];
  }
  | { kind: "stored"; stored: StoredImport }
  | { kind: "failed"; error: ImportError }
  | { kind: "priority"; lowered: false };

const WORKER_URL = new URL("./import_worker.ts", import.meta.url);

let priorityWarned = false;

function stopping(): ApiError {
  return new ApiError(
    503,
    "unavailable",
    "the server is stopping; the import was not stored: send it again",
  );
}

/** Runs imports in worker threads; see the module doc. */
export class ImportPool {
  readonly #options: Required<Omit<ImportPoolOptions, "database">> & {
    database?: ThreadDatabase;
  };
  /** Workers without work; `timer` ends one, except the one kept for good. */
  readonly #idle: { worker: Worker; timer?: ReturnType<typeof setTimeout> }[] = [];
  readonly #live = new Set<Worker>();
  readonly #waiting: { start(): void; fail(err: Error): void }[] = [];
  /** Writes under way: each settles when its worker has answered. */
  readonly #writing = new Set<Promise<void>>();
  #running = 0;
  #closed = false;

  /** Creates the pool; workers start with {@link ImportPool.warm} or the first import. */
  constructor(options: ImportPoolOptions) {
    this.#options = { idleMs: 30_000, workerUrl: WORKER_URL, ...options };
  }

  /**
   * Runs the import whose request body (JSON) is `body` in a worker, once
   * one is free, and has the worker write it into `target` when the pool
   * has a database. The body's buffer is transferred to the worker: it is
   * unusable here afterwards. Rejects with an {@link ApiError}: the request's or the
   * document's fault (400), an API re-imported that is gone (404), a name taken (409), a
   * time limit (422), a worker that failed (500) or a pool closing (503).
   */
  run(
    body: Uint8Array<ArrayBuffer>,
    hooks: ImportRunHooks,
    target: ImportTarget,
  ): Promise<ImportResult> {
    return this.#queued(body, hooks, target);
  }

  /**
   * Runs the import whose request body is `body` up to the store write, as
   * {@link ImportPool.run} does, and answers what is to be written.
   */
  async prepare(
    body: Uint8Array<ArrayBuffer>,
    hooks: ImportRunHooks = {},
  ): Promise<PreparedImport> {
    const result = await this.#queued(body, hooks, undefined);
    if (!("prepared" in result)) throw new Error("a worker wrote an import it was not asked to");
    return result.prepared;
  }

  async #queued(
    body: Uint8Array<ArrayBuffer>,
    hooks: ImportRunHooks,
    target: ImportTarget | undefined,
  ): Promise<ImportResult> {
    if (this.#closed) throw stopping();
    if (this.#running >= this.#options.concurrency) {
      await new Promise<void>((start, fail) => this.#waiting.push({ start, fail }));
    } else {
      this.#running++;
    }
    try {
      hooks.started?.();
      return await this.#runIn(this.#takeIdle() ?? this.#spawn(), body, hooks, target);
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next import, so none can jump the queue.
      if (next) next.start();
      else this.#running--;
    }
  }

  /** Starts the worker that is kept for good, unless there is one. */
  warm(): void {
    if (this.#closed || this.#live.size > 0) return;
    this.#park(this.#spawn());
  }

  /**
   * Ends every worker once the writes under way are done; imports still
   * running or waiting are rejected (503).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.fail(stopping());
    for (const { timer } of this.#idle.splice(0)) clearTimeout(timer);
    await Promise.all(this.#writing);
    await Promise.all([...this.#live].map((w) => w.terminate()));
    this.#live.clear();
  }

  #spawn(): Worker {
    const worker = new Worker(this.#options.workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.#options.memoryMb },
    });
    this.#live.add(worker);
    return worker;
  }

  #takeIdle(): Worker | undefined {
    const idle = this.#idle.pop();
    if (!idle) return undefined;
    clearTimeout(idle.timer);
    idle.worker.ref();
    return idle.worker;
  }

  #park(worker: Worker): void {
    if (this.#closed) return this.#end(worker);
    // An idle worker must not keep the process alive (its timer ends with `close`).
    worker.unref();
    if (!this.#idle.some((x) => x.timer === undefined)) {
      // The one kept for good.
      this.#idle.push({ worker, timer: undefined });
      return;
    }
    const timer = setTimeout(() => {
      const i = this.#idle.findIndex((x) => x.worker === worker);
      if (i >= 0) this.#idle.splice(i, 1);
      this.#end(worker);
    }, this.#options.idleMs);
    this.#idle.push({ worker, timer });
  }

  #end(worker: Worker): void {
    this.#live.delete(worker);
    void worker.terminate();
  }

  #runIn(
    worker: Worker,
    body: Uint8Array<ArrayBuffer>,
    hooks: ImportRunHooks,
    target: ImportTarget | undefined,
  ): Promise<ImportResult> {
    const { timeoutMs, memoryMb } = this.#options;
    // Without a target, or a database to write to, the worker sends the tools back.
    const database = target ? this.#options.database : undefined;
    return new Promise((resolve, reject) => {
      const ops: OperationTool[] = [];
      let settled = false;
      let wrote: (() => void) | undefined;
      const finish = (reusable: boolean, outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        wrote?.();
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        if (reusable) this.#park(worker);
        else this.#end(worker);
        outcome();
      };
      const failed = (why: string) => {
        if (this.#closed) return stopping();
        console.error(`OpenAPI import: ${why}`);
        return new ApiError(
          500,
          "import_failed",
          `the import stopped unexpectedly (${why}); nothing was stored`,
        );
      };
      const timer = setTimeout(() =>
        finish(false, () =>
          reject(
            new ApiError(
              422,
              "import_limit_exceeded",
              `the document did not import within ${Math.round(timeoutMs / 1000)} s ` +
                `(an import may also use at most ${memoryMb} MiB of memory, and stops at that): ` +
                "import part of it with include",
              "spec",
            ),
          )), timeoutMs);
      const onMessage = (m: WorkerMessage) => {
        switch (m.kind) {
          case "progress":
            if (m.progress.phase === "storing" && !wrote) {
              clearTimeout(timer);
              const writing = new Promise<void>((done) => {
                wrote = () => {
                  this.#writing.delete(writing);
                  done();
                };
              });
              this.#writing.add(writing);
            }
            hooks.progress?.(m.progress);
            break;
          case "tools":
            for (const t of m.tools) ops.push(t);
            break;
          case "done":
            finish(
              true,
              () =>
                resolve({
                  prepared: { input: m.input, ops, warnings: m.warnings, limits: m.limits },
                }),
            );
            break;
          case "stored":
            finish(true, () => resolve({ stored: m.stored }));
            break;
          case "priority":
            // Said once per process: every worker would say the same.
            if (!priorityWarned) {
              priorityWarned = true;
              console.error(
                "OpenAPI imports run at normal priority (the import worker needs " +
                  "--allow-sys=setPriority to lower its own): large imports may slow other requests",
              );
            }
            break;
          case "failed": {
            const e = m.error;
            finish(true, () => reject(new ApiError(e.status as 400, e.code, e.message, e.field)));
            break;
          }
        }
      };
      const onError = (err: Error) =>
        finish(false, () => reject(failed(`its worker failed: ${err.message}`)));
      const onExit = (code: number) =>
        finish(false, () => reject(failed(`its worker exited with code ${code}`)));
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      // The buffer itself, transferred: not copied (a copy of tens of megabytes would hold up
      // this thread), and not as a Uint8Array, which Deno's worker_threads takes seconds to
      // pass (2.4 s for 11 MB; the bare ArrayBuffer: 1 ms).
      const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      const buffer = whole ? body.buffer : body.slice().buffer;
      worker.postMessage({ body: buffer, database, target }, [buffer]);
    });
  }
}
