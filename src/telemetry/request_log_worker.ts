/**
 * The request log's writing thread: packed batches of records arrive from
 * the main thread ({@link RequestLogThread}), and are turned into segments
 * and rollups and written here, on a connection of its own to the database
 * file: about 1.5 µs a record of this thread's time, none of the thread
 * that answers requests.
 *
 * Messages in: `{kind: "open", dbPath}` once, then `{kind: "insert", id,
 * packed}` (`PackedRecords`), and `{kind: "close", id}` last; out:
 * `{id, error?}` per insert and for the close, in order. The connection is
 * closed before the thread ends: one left open by an ended thread keeps its
 * locks in the process, and the next open of the file finds it locked.
 *
 * @module
 */
import type { PackedRecords } from "../store/log_segments.ts";
import { RequestLog } from "../store/request_log.ts";
import { SqliteEngine } from "../store/sqlite_engine.ts";
import { lowerThreadPriority } from "../util/background.ts";

const port = self as unknown as Worker;
let db: SqliteEngine | undefined;
let log: RequestLog | undefined;

type Message =
  | { kind: "open"; dbPath: string }
  | { kind: "insert"; id: number; packed: PackedRecords }
  | { kind: "close"; id: number };

// Messages are handled in arrival order: the engine queues each write behind the one before, and
// the close behind them all.
// Its writes wait a little when the server is busy; its requests must not.
lowerThreadPriority();

port.onmessage = async ({ data: m }: MessageEvent<Message>) => {
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
    await log!.writePacked(m.packed);
    port.postMessage({ id: m.id });
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
};
