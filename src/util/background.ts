/**
 * Background threads (imports, the request log's writes) run below the
 * thread that answers requests.
 *
 * @module
 */
import { setPriority } from "node:os";

/**
 * The nice value of a background thread (Linux: per thread). Background work
 * competes for the CPU with the thread that answers requests; on a machine
 * with two cores, and other work, at equal priority the scheduler hands it
 * enough time to stretch every request's own work past 50 ms. Lowered, it
 * takes what the server does not need.
 */
export const BACKGROUND_NICE = 5;

/**
 * Lowers the calling thread to {@link BACKGROUND_NICE}; false when it may not
 * (it needs `--allow-sys=setPriority`), and it then runs at normal priority.
 */
export function lowerThreadPriority(): boolean {
  try {
    setPriority(BACKGROUND_NICE);
    return true;
  } catch {
    return false;
  }
}
