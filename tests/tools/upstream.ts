/**
 * A real upstream HTTP server for executor tests: listens on a loopback port,
 * records every request exactly as it arrived (method, raw path and query,
 * headers, body, and whether the client went away) and answers per path.
 *
 * @module
 */
import type { ExecutionContext, LogLevel } from "../../src/tools/executor.ts";

/** One request as the upstream saw it. */
export interface Recorded {
  method: string;
  /** The path exactly as sent, still percent-encoded. */
  path: string;
  /** The query string exactly as sent, without `?` ("" when none). */
  query: string;
  headers: Record<string, string>;
  body: string;
  /** The body's bytes exactly as sent. */
  bytes: Uint8Array;
  /** Resolves when a {@link hang} handler saw the client abort the request. */
  aborted: Promise<void>;
  /** Whether a {@link hang} handler saw the client abort. */
  wasAborted(): boolean;
  /** Records that the client went away (called by handlers watching `req.signal`). */
  markAborted(): void;
  /** Aborts when the upstream closes, so lingering handlers finish at once. */
  closing: AbortSignal;
}

/** Answers one request; `n` counts the requests to this path so far (1-based). */
export type Handler = (req: Request, rec: Recorded, n: number) => Response | Promise<Response>;

/** A running upstream. */
export interface Upstream {
  /** `http://127.0.0.1:port`. */
  url: string;
  requests: Recorded[];
  /** Requests to `path` only. */
  to(path: string): Recorded[];
  /** Resolves with the next request to arrive (or one already waiting, by index). */
  nth(i: number): Promise<Recorded>;
  close(): Promise<void>;
}

/**
 * Starts an upstream answering `routes` (by exact path, before percent-decoding;
 * a `*` route answers every other path).
 */
export function startUpstream(routes: Record<string, Handler>): Upstream {
  const requests: Recorded[] = [];
  const counts = new Map<string, number>();
  const waiters: { i: number; resolve: (r: Recorded) => void }[] = [];
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const raw = req.url.slice(req.url.indexOf("/", req.url.indexOf("://") + 3));
      const q = raw.indexOf("?");
      const path = q < 0 ? raw : raw.slice(0, q);
      const { promise: aborted, resolve } = Promise.withResolvers<void>();
      let flag = false;
      const bytes = new Uint8Array(await req.arrayBuffer());
      const rec: Recorded = {
        method: req.method,
        path,
        query: q < 0 ? "" : raw.slice(q + 1),
        headers: Object.fromEntries(req.headers),
        body: new TextDecoder().decode(bytes),
        bytes,
        aborted,
        wasAborted: () => flag,
        closing: closing.signal,
        markAborted: () => {
          flag = true;
          resolve();
        },
      };
      requests.push(rec);
      for (const w of waiters.filter((w) => w.i === requests.length - 1)) w.resolve(rec);
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const route = routes[path] ?? routes["*"];
      return route ? await route(req, rec, n) : new Response("no route", { status: 404 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    to: (p) => requests.filter((r) => r.path === p),
    nth: (i) => {
      if (requests[i]) return Promise.resolve(requests[i]);
      const { promise, resolve } = Promise.withResolvers<Recorded>();
      waiters.push({ i, resolve });
      return promise;
    },
    close: () => {
      closing.abort();
      return server.shutdown();
    },
  };
}

/**
 * A handler that answers `text` after `ms` (or when the upstream closes).
 * With `watchClient` it reads `req.signal` to record that the client went
 * away; Deno (legacy abort mode) then prints a one-time deprecation warning,
 * so only the tests that need to see the abort ask for it.
 */
export function hang(ms: number, watchClient = false, text = "late"): Handler {
  return async (req, rec) => {
    const signals = [rec.closing, ...(watchClient ? [req.signal] : [])];
    await delay(ms, AbortSignal.any(signals));
    if (watchClient && req.signal.aborted) rec.markAborted();
    return new Response(text);
  };
}

/** Waits `ms` or until `signal` aborts, whichever comes first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** An execution context that records logs and progress, cancelled through `controller`. */
export interface TestContext extends ExecutionContext {
  controller: AbortController;
  logs: { level: LogLevel; data: unknown }[];
  progressed: { progress: number; total?: number; message?: string }[];
}

/** A fresh context with a real AbortController. */
export function testContext(): TestContext {
  const controller = new AbortController();
  const logs: TestContext["logs"] = [];
  const progressed: TestContext["progressed"] = [];
  return {
    controller,
    signal: controller.signal,
    logs,
    progressed,
    log: (level, data) => logs.push({ level, data }),
    progress: (progress, total, message) => progressed.push({ progress, total, message }),
  };
}

/** The smallest valid PNG (1x1, transparent). */
export const PNG_BYTES = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** A free loopback port with nothing listening on it. */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
