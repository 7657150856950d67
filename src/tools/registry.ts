/**
 * The executors a server runs tools with unless told otherwise.
 *
 * @module
 */
import type { ExecutorRegistry } from "./executor.ts";
import { HttpExecutor, type HttpExecutorOptions } from "./http_executor.ts";

/** Executors for every tool type Gatehouse runs itself: `http` for now. */
export function defaultExecutors(http: HttpExecutorOptions = {}): ExecutorRegistry {
  return new Map([["http", new HttpExecutor(http)]]);
}
