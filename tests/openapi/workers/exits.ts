/**
 * A stand-in import worker that dies on its first message, as a worker
 * whose thread crashed would: the pool must answer with an error, not hang.
 *
 * @module
 */
import process from "node:process";
import { parentPort } from "node:worker_threads";

parentPort!.on("message", () => process.exit(7));
