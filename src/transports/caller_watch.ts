/**
 * Noticing that the client of an HTTP request went away, for work that
 * outlives a short grace period only.
 *
 * @module
 */
import { LateAnswers } from "./post_streams.ts";

/**
 * How long a call runs before its client's connection is watched (ms). A
 * client gone sooner is noticed by then (1.25 × this at most, the shared
 * timer's tick); its call's work is stopped then, as it would have been.
 */
export const CALLER_GRACE_MS = 100;

/**
 * Watches the connections of requests whose work is still running after
 * {@link CALLER_GRACE_MS}. Reading `req.signal` and listening on it makes
 * the runtime watch the connection: 160 → 224 µs a request in a bare
 * forwarding `Deno.serve` on 2 cores (`bench/README.md`), and most calls end
 * well within the grace period. Read after the client has gone, the signal
 * still aborts (within milliseconds).
 */
export class CallerWatch {
  // Its own timer: the tick of a LateAnswers follows the first wait it is given.
  #late = new LateAnswers();

  /**
   * Aborts `stop` once `req`'s client goes away, watched from the grace
   * period on; the returned function stops watching (call it when the work
   * ends, or the signal is read for nothing).
   */
  watch(req: Request, stop: AbortController): () => void {
    let signal: AbortSignal | undefined;
    const lost = () => stop.abort(signal?.reason);
    const cancel = this.#late.watch(CALLER_GRACE_MS, () => {
      signal = req.signal;
      if (signal.aborted) lost();
      else signal.addEventListener("abort", lost, { once: true });
    });
    return () => {
      cancel();
      signal?.removeEventListener("abort", lost);
    };
  }
}
