/**
 * A stand-in import worker that reads its message and never answers, as
 * one stuck in a loop or at its heap limit: the pool's deadline must end it.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

parentPort!.on("message", () => {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    // Busy: no message, no timer, nothing but the deadline can end this.
  }
});
