/**
 * OpenAPI imports in progress, and the jobs that report them.
 *
 * Every import, answered at once or later, runs the same way: its body goes
 * to an import worker (`src/openapi/import_pool.ts`), which parses,
 * converts and writes it (`src/openapi/import_store.ts`) in one store
 * transaction; the change notices of the gateways it touched are given here,
 * on the main thread, whose caches listen. An import asked for asynchronously is also a job,
 * readable by its organization at `GET /apis/imports/{id}` while it runs
 * and for {@link JOB_TTL_MS} after it ends.
 *
 * Bounds: an organization has at most {@link MAX_PENDING_PER_ORG} imports
 * queued or running (more are refused with 429), the pool runs a few at
 * once for everyone, and each org keeps its {@link MAX_FINISHED_PER_ORG}
 * latest finished jobs at most. Jobs live in memory: a restart forgets them.
 *
 * @module
 */
import type { ImportPool } from "../openapi/import_pool.ts";
import { type ImportTarget, storeImport } from "../openapi/import_store.ts";
import {
  type ImportError,
  importError,
  type ImportProgress,
  type PreparedImport,
} from "../openapi/import_task.ts";
import { ConflictError } from "../store/errors.ts";
import type { Store } from "../store/store.ts";
import { newId } from "../store/util.ts";
import { ApiError } from "./errors.ts";

/** Imports an organization may have queued or running at once. */
export const MAX_PENDING_PER_ORG = 4;
/** How long a finished job can still be read, in ms. */
export const JOB_TTL_MS = 15 * 60 * 1000;
/** Finished jobs kept per organization; the oldest go first. */
export const MAX_FINISHED_PER_ORG = 100;

/** Where a job is. */
export type JobState = "queued" | "running" | "succeeded" | "failed";

/** What an import answers: the status and body a synchronous import gets. */
export interface ImportAnswer {
  status: 200 | 201;
  body: Record<string, unknown>;
}

/** An import job. */
interface Job {
  id: string;
  orgId: string;
  state: JobState;
  progress: ImportProgress | null;
  answer?: ImportAnswer;
  error?: ImportError;
  createdAt: string;
  finishedAt?: string;
  /** When it may no longer be read (ms since the epoch). */
  expires?: number;
}

/** An import started by {@link ImportJobs.start}. */
export interface StartedImport {
  /** The job, when one was asked for; present it with {@link presentJob}. */
  job?: Job;
  /** Settles with the import's answer, or rejects with an {@link ApiError}. */
  finished: Promise<ImportAnswer>;
}

/** A job as the API returns it. */
export function presentJob(job: Job) {
  return {
    id: job.id,
    state: job.state,
    progress: job.progress ?? { phase: null, operations: null, done: 0 },
    ...(job.answer ? { status: job.answer.status, result: job.answer.body } : {}),
    ...(job.error ? { status: job.error.status, error: errorDetail(job.error) } : {}),
    createdAt: job.createdAt,
    finishedAt: job.finishedAt ?? null,
    expiresAt: job.expires ? new Date(job.expires).toISOString() : null,
  };
}

/** An error as the API's error bodies hold it (the status is the job's). */
function errorDetail({ code, message, field }: ImportError) {
  return field === undefined ? { code, message } : { code, message, field };
}

/** Imports in progress and import jobs, per organization. */
export class ImportJobs {
  readonly #pending = new Map<string, number>();
  readonly #jobs = new Map<string, Job>();

  /** Creates the registry over `pool`, which runs the imports into `store`. */
  constructor(private readonly pool: ImportPool, private readonly store: Store) {}

  /**
   * Starts importing the request body `body` (JSON bytes) into `target`: as a job when
   * `asJob`, else only as a promise. Refuses (429) when the org already has
   * {@link MAX_PENDING_PER_ORG} imports queued or running.
   */
  start(target: ImportTarget, body: Uint8Array<ArrayBuffer>, asJob: boolean): StartedImport {
    const { orgId } = target;
    this.#sweep();
    this.#admit(orgId);
    const job: Job = {
      id: newId(),
      orgId,
      state: "queued",
      progress: null,
      createdAt: new Date().toISOString(),
    };
    if (asJob) this.#jobs.set(job.id, job);
    const finished = this.#run(job, target, body);
    // A job's outcome is read from the job; nobody else awaits it, so a bug is logged here.
    if (asJob) {
      finished.catch((err) => {
        if (!(err instanceof ApiError) && !(err instanceof ConflictError)) {
          console.error("internal error in an OpenAPI import job:", err);
        }
      });
    }
    return { job: asJob ? job : undefined, finished };
  }

  /**
   * Runs the import body `body` of `orgId` up to the store write and answers
   * what it would store: a dry run, which writes nothing. It counts against
   * the org's imports in progress like an import (429 past them).
   */
  async preview(orgId: string, body: Uint8Array<ArrayBuffer>): Promise<PreparedImport> {
    this.#admit(orgId);
    try {
      return await this.pool.prepare(body);
    } finally {
      this.#release(orgId);
    }
  }

  /** Counts an import of `orgId` in progress, or refuses it (429) past the org's limit. */
  #admit(orgId: string): void {
    const pending = this.#pending.get(orgId) ?? 0;
    if (pending >= MAX_PENDING_PER_ORG) {
      throw new ApiError(
        429,
        "too_many_imports",
        `this organization already has ${MAX_PENDING_PER_ORG} imports in progress; ` +
          "wait for one to finish",
        undefined,
        { "Retry-After": "5" },
      );
    }
    this.#pending.set(orgId, pending + 1);
  }

  #release(orgId: string): void {
    const left = this.#pending.get(orgId)! - 1;
    if (left > 0) this.#pending.set(orgId, left);
    else this.#pending.delete(orgId);
  }

  /** Job `id` of `orgId`, unless it is another org's, unknown or expired. */
  get(orgId: string, id: string): Job | undefined {
    this.#sweep();
    const job = this.#jobs.get(id);
    return job?.orgId === orgId ? job : undefined;
  }

  async #run(
    job: Job,
    target: ImportTarget,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<ImportAnswer> {
    try {
      const result = await this.pool.run(body, {
        started: () => {
          job.state = "running";
        },
        progress: (progress) => {
          job.progress = progress;
        },
      }, target);
      let stored;
      if ("stored" in result) {
        stored = result.stored;
        this.store.changes.emit(stored.gateways);
      } else {
        // The store is in memory, out of the worker's reach: written here (notices included).
        job.progress = { operations: null, done: 0, ...job.progress, phase: "storing" };
        stored = await storeImport(this.store, target, result.prepared);
      }
      job.answer = { status: stored.status, body: stored.body };
      job.state = "succeeded";
      return job.answer;
    } catch (err) {
      job.error = importError(err);
      job.state = "failed";
      throw err;
    } finally {
      this.#release(job.orgId);
      job.finishedAt = new Date().toISOString();
      job.expires = Date.now() + JOB_TTL_MS;
      this.#trim(job.orgId);
    }
  }

  /** Drops expired jobs. */
  #sweep(): void {
    const now = Date.now();
    for (const [id, job] of this.#jobs) {
      if (job.expires !== undefined && job.expires <= now) this.#jobs.delete(id);
    }
  }

  /** Keeps the latest {@link MAX_FINISHED_PER_ORG} finished jobs of `orgId`. */
  #trim(orgId: string): void {
    const finished = [...this.#jobs.values()].filter((j) =>
      j.orgId === orgId && j.expires !== undefined
    );
    // The map keeps insertion (creation) order: the first are the oldest.
    for (const j of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_PER_ORG))) {
      this.#jobs.delete(j.id);
    }
  }
}
