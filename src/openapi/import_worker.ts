/**
 * The import worker: a thread of its own that turns an import request's body
 * into tools (`prepareImport`), so that parsing, validating, dereferencing
 * and converting a document of tens of megabytes never holds up the thread
 * that answers requests. It writes nothing; the main thread stores the
 * result. Started by `import_pool.ts`, one import at a time per worker.
 *
 * Messages in: `{body}`, the request body's bytes (JSON) as an ArrayBuffer. Out, in order: `checked` (the
 * request's fields), `progress` (any number), then either `tools` batches
 * followed by `done`, or `failed`.
 *
 * @module
 */
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { importError, prepareImport } from "./import_task.ts";
import type { OperationTool } from "../store/apis.ts";

/**
 * About how many bytes (as JSON) of tools one message carries. The main
 * thread decodes each message in one go, so a batch must stay small enough
 * to decode in a few milliseconds: 10 MB of tools in one message takes it
 * 75 ms.
 */
const BATCH_BYTES = 512 * 1024;

/**
 * The nice value of this thread (Linux: per thread). An import competes for
 * the CPU with the thread that answers requests; on a machine with two
 * cores, and other work, at equal priority the scheduler hands the import
 * enough time to stretch every request's own work past 50 ms. Lowered, the
 * import takes what the server does not need.
 */
export const WORKER_NICE = 5;

const port = parentPort!;

try {
  // Needs `--allow-sys=setPriority`; without it, the import runs at normal priority.
  setPriority(WORKER_NICE);
} catch {
  port.postMessage({ kind: "priority", lowered: false });
}

function sendTools(ops: OperationTool[]): void {
  let batch: OperationTool[] = [];
  let bytes = 0;
  for (const op of ops) {
    batch.push(op);
    bytes += JSON.stringify(op).length;
    if (bytes >= BATCH_BYTES) {
      port.postMessage({ kind: "tools", tools: batch });
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) port.postMessage({ kind: "tools", tools: batch });
}

port.on("message", async ({ body }: { body: ArrayBuffer }) => {
  try {
    // Decoded as `Request.text()` would: malformed UTF-8 becomes U+FFFD, then fails as JSON.
    const prepared = await prepareImport(new TextDecoder().decode(body), {
      checked: (request) => port.postMessage({ kind: "checked", request }),
      progress: (progress) => port.postMessage({ kind: "progress", progress }),
    });
    sendTools(prepared.ops);
    port.postMessage({
      kind: "done",
      input: prepared.input,
      warnings: prepared.warnings,
      limits: prepared.limits,
    });
  } catch (err) {
    const error = importError(err);
    if (error.status >= 500) console.error("internal error in an OpenAPI import:", err);
    port.postMessage({ kind: "failed", error });
  }
});
