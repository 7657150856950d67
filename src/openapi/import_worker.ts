/**
 * The import worker: a thread of its own that turns an import request's body
 * into tools (`prepareImport`) and writes them (`storeImport`, on a
 * connection of its own to the database), so that parsing, validating,
 * dereferencing, converting and storing a document of tens of megabytes
 * never holds up the thread that answers requests. Started by
 * `import_pool.ts`, one import at a time per worker.
 *
 * Messages in: `{body, database?, target}`, the request body's bytes (JSON)
 * as an ArrayBuffer, the database and what to write it as. Out, in order:
 * `progress` (any number; `storing` last,
 * after which the write is not interrupted), then `stored` or `failed`.
 * Without `database` (a store in memory) the worker writes nothing: it sends
 * `tools` batches and `done`, and the main thread stores them.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { lowerThreadPriority } from "../util/background.ts";
import { openThreadStore, type Store, type ThreadDatabase } from "../store/store.ts";
import { installJsonConsole } from "../telemetry/logger.ts";
import { checkSecret, type ImportTarget, storeImport } from "./import_store.ts";
import { importError, prepareImport } from "./import_task.ts";
import type { OperationTool } from "../store/apis.ts";

// The server logs JSON lines: so does this worker, on the same output.
if (Deno.env.get("GATEHOUSE_LOG_FORMAT") === "json") installJsonConsole();

/**
 * About how many bytes (as JSON) of tools one message carries. The main
 * thread decodes each message in one go, so a batch must stay small enough
 * to decode in a few milliseconds: 10 MB of tools in one message takes it
 * 75 ms.
 */
const BATCH_BYTES = 512 * 1024;

const port = parentPort!;

if (!lowerThreadPriority()) port.postMessage({ kind: "priority", lowered: false });

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

/** What the pool sends: see the module doc. */
interface ImportMessage {
  body: ArrayBuffer;
  database?: ThreadDatabase;
  target?: ImportTarget;
}

port.on("message", async ({ body, database, target }: ImportMessage) => {
  // Opened for this import only: a worker ended while idle then holds no connection.
  let store: Store | undefined;
  try {
    let last = { operations: null as number | null, done: 0 };
    // Decoded as `Request.text()` would: malformed UTF-8 becomes U+FFFD, then fails as JSON.
    const prepared = await prepareImport(new TextDecoder().decode(body), {
      checked: async (request) => {
        if (database !== undefined && target) {
          store = openThreadStore(database);
          // Now, not after the document is converted: a typo is refused at once.
          await checkSecret(store, target.orgId, request.options.secret);
        }
      },
      progress: (progress) => {
        last = progress;
        port.postMessage({ kind: "progress", progress });
      },
    });
    if (!store) {
      sendTools(prepared.ops);
      port.postMessage({
        kind: "done",
        input: prepared.input,
        warnings: prepared.warnings,
        limits: prepared.limits,
      });
      return;
    }
    port.postMessage({ kind: "progress", progress: { ...last, phase: "storing" } });
    port.postMessage({ kind: "stored", stored: await storeImport(store, target!, prepared) });
  } catch (err) {
    const error = importError(err);
    if (error.status >= 500) console.error("internal error in an OpenAPI import:", err);
    port.postMessage({ kind: "failed", error });
  } finally {
    await store?.close();
  }
});
