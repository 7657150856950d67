/**
 * The Deno load generator of `scripts/bench.ts`, run as its own process so
 * it never shares an event loop with a server under test.
 *
 * - `--mode ws`: wrk cannot speak WebSocket. Keeps `--connections` sockets,
 *   each with exactly one request outstanding (send, wait for the answer,
 *   send again), optionally after an MCP `initialize` handshake per socket.
 * - `--mode http`: the fallback when `wrk` cannot be installed: as many
 *   concurrent `fetch` loops over keep-alive connections.
 *
 * Load runs for `--warmup` seconds unmeasured, then `--duration` seconds
 * measured; only requests sent and answered inside the measured window
 * count. Every answer must contain `--expect` and none of the error markers
 * (`"error":{`, `"isError":true`), or it counts as an error. Prints one line,
 * `RESULT {json}` (see {@link LoadResult}).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** What one load run measured. */
export interface LoadResult {
  /** Requests answered inside the measured window. */
  requests: number;
  /** Length of the measured window, in seconds. */
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Failures by kind: `socket` (connect/close/reset), `status` (non-2xx), `invalid` (wrong body). */
  errors: { socket: number; status: number; invalid: number };
}

/** The `p`th percentile (0-100) of sorted `xs`, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

const ERROR_MARKERS = ['"error":{', '"isError":true'];

/** Collects latencies and errors for the measured window. */
class Recorder {
  #lat: number[] = [];
  start = Infinity;
  end = Infinity;
  errors = { socket: 0, status: 0, invalid: 0 };
  stopping = false;

  /** Records a request sent at `sent` and answered at `done` (ms), if inside the window. */
  add(sent: number, done: number): void {
    if (sent >= this.start && done <= this.end) this.#lat.push(done - sent);
  }

  /** Checks an answer body; false (and one error) when it is not a success. */
  check(body: string, expect: string): boolean {
    if (!body.includes(expect) || ERROR_MARKERS.some((m) => body.includes(m))) {
      if (!this.stopping) this.errors.invalid++;
      return false;
    }
    return true;
  }

  result(): LoadResult {
    const lat = Float64Array.from(this.#lat).sort();
    const seconds = (this.end - this.start) / 1000;
    let sum = 0;
    for (const x of lat) sum += x;
    return {
      requests: lat.length,
      seconds,
      rps: lat.length / seconds,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      meanMs: lat.length ? sum / lat.length : 0,
      maxMs: lat.length ? lat[lat.length - 1] : 0,
      errors: this.errors,
    };
  }
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mode: { type: "string" },
    url: { type: "string" },
    header: { type: "string", multiple: true },
    protocol: { type: "string", multiple: true },
    body: { type: "string" },
    expect: { type: "string" },
    init: { type: "boolean" },
    "unique-ids": { type: "boolean" },
    connections: { type: "string" },
    warmup: { type: "string" },
    duration: { type: "string" },
  },
});

const url = values.url!;
const body = values.body!;
const expect = values.expect ?? '"result"';
const connections = Number(values.connections ?? 32);
const warmupMs = Number(values.warmup ?? 2) * 1000;
const durationMs = Number(values.duration ?? 8) * 1000;
const rec = new Recorder();

async function openSocket(): Promise<WebSocket> {
  const ws = new WebSocket(url, values.protocol ?? []);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`WebSocket ${url}: ${(e as ErrorEvent).message}`));
  });
  if (values.init) {
    const answered = new Promise<string>((resolve) => {
      ws.onmessage = (e) => resolve(e.data as string);
    });
    ws.send(JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "gatehouse-bench", version: "1" },
      },
    }));
    const init = await answered;
    if (!init.includes('"result"')) throw new Error(`initialize failed: ${init}`);
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  }
  return ws;
}

/** One socket's loop: one request outstanding at a time until the run stops. */
function driveSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    ws.onmessage = (e) => {
      const now = performance.now();
      if (rec.check(e.data as string, expect)) rec.add(sent, now);
      if (rec.stopping) {
        ws.close(1000);
        return resolve();
      }
      sent = performance.now();
      ws.send(body);
    };
    ws.onclose = () => {
      if (!rec.stopping) rec.errors.socket++;
      resolve();
    };
    ws.onerror = () => {};
    sent = performance.now();
    ws.send(body);
  });
}

let nextId = 1;
// Requests in flight together on one session must not share an id.
const [idBefore, idAfter] = body.split('"id":1');
const bodyFor = () =>
  values["unique-ids"] && idAfter !== undefined ? `${idBefore}"id":${nextId++}${idAfter}` : body;

async function httpLoop(headers: Headers): Promise<void> {
  while (!rec.stopping) {
    const sent = performance.now();
    try {
      const res = await fetch(url, { method: "POST", headers, body: bodyFor() });
      const text = await res.text();
      const now = performance.now();
      if (res.status < 200 || res.status > 299) {
        if (!rec.stopping) rec.errors.status++;
      } else if (rec.check(text, expect)) rec.add(sent, now);
    } catch {
      if (!rec.stopping) rec.errors.socket++;
    }
  }
}

async function main(): Promise<void> {
  let loops: Promise<void>[];
  if (values.mode === "ws") {
    const sockets = await Promise.all(Array.from({ length: connections }, openSocket));
    loops = sockets.map(driveSocket);
  } else {
    const headers = new Headers();
    for (const h of values.header ?? []) {
      const i = h.indexOf(":");
      headers.set(h.slice(0, i).trim(), h.slice(i + 1).trim());
    }
    loops = Array.from({ length: connections }, () => httpLoop(headers));
  }
  await new Promise((r) => setTimeout(r, warmupMs));
  rec.start = performance.now();
  // The benchmark reads the server's CPU time on these two lines.
  console.log("MEASURING");
  await new Promise((r) => setTimeout(r, durationMs));
  rec.end = performance.now();
  console.log("MEASURED");
  rec.stopping = true;
  await Promise.all(loops);
  console.log(`RESULT ${JSON.stringify(rec.result())}`);
}

if (import.meta.main) await main();
