/**
 * The request log's writing thread: batches of records arrive from the
 * main thread ({@link RequestLogThread}) and are written here, on a
 * connection of its own to the database file. A batch of 1,000 rows with
 * its rollup takes SQLite 10 to 25 ms; at tens of thousands of requests a
 * second, on the thread that answers requests, that was a fifth to a third
 * of its time.
 *
 * Messages in: `{kind: "open", dbPath}` once, then `{kind: "insert", id,
 * batch}` (a `LogBatch`), and `{kind: "close", id}` last; out:
 * `{id, error?}` per insert and for the close, in order. The connection is
 * closed before the thread ends: one left open by an ended thread keeps its
 * locks in the process, and the next open of the file finds it locked.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import type { LogBatch } from "../store/log_segments.ts";
import { RequestLog } from "../store/request_log.ts";
import { SqliteEngine } from "../store/sqlite_engine.ts";

const port = parentPort!;
let db: SqliteEngine | undefined;
let log: RequestLog | undefined;

type Message =
  | { kind: "open"; dbPath: string }
  | { kind: "insert"; id: number; batch: LogBatch }
  | { kind: "close"; id: number };

// Messages are handled in arrival order: the engine queues each write behind the one before, and
// the close behind them all.
port.on("message", async (m: Message) => {
  if (m.kind === "open") {
    // This connection only writes the log. In WAL mode NORMAL still survives a crash of the
    // process (SIGKILL); only a power cut can take back the last commits, which the log's
    // promise (at most the last second's rows) allows. FULL cost an fsync per batch.
    db = new SqliteEngine(m.dbPath, { synchronous: "normal" });
    log = new RequestLog(db);
    return;
  }
  if (m.kind === "close") {
    await db?.close();
    port.postMessage({ id: m.id });
    return;
  }
  try {
    await log!.write(m.batch);
    port.postMessage({ id: m.id });
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
});
