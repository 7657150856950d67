/**
 * Starting real Gatehouse servers for tests: in this process (fast, with the
 * store at hand) or as a child process (for restarts and crashes), each on a
 * loopback port with its own SQLite file.
 *
 * @module
 */
import { type Config, loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import type { ExecutorRegistry } from "../../src/tools/executor.ts";

/** A server started for a test, with its admin key and a JSON client. */
export interface TestServer extends RunningServer {
  adminKey: string;
  dataDir: string;
  /** `fetch` against the server with the admin key (or `key`) and JSON in and out. */
  api(method: string, path: string, body?: unknown, key?: string): Promise<ApiResponse>;
  /** Stops the server and removes its data folder. */
  close(): Promise<void>;
}

/** A parsed API response. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } };
}

/** Calls the API at `base` with JSON in and out. */
export async function apiCall(
  base: string,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const res = await fetch(base + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

/**
 * Starts a server in this process on a free loopback port with a fresh data
 * folder; `executors` replaces how tools run (tests of the protocol core).
 */
export async function startTestServer(
  overrides: Partial<Config> = {},
  executors?: ExecutorRegistry,
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? await Deno.makeTempDir({ prefix: "gatehouse-test-" });
  const adminKey = overrides.adminKey ?? `gha_test_${crypto.randomUUID()}`;
  const config: Config = {
    ...loadConfig([], () => undefined),
    port: 0,
    dataDir,
    dbPath: `${dataDir}/gatehouse.db`,
    adminKey,
    ...overrides,
  };
  const server = await startServer(config, executors);
  return {
    ...server,
    adminKey,
    dataDir,
    api: (method, path, body, key = adminKey) => apiCall(server.url, key, method, path, body),
    close: async () => {
      await server.shutdown();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A server running as a child process (`deno run src/main.ts`). */
export interface ChildServer {
  url: string;
  process: Deno.ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Picks a free loopback port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `src/main.ts` in a child process and waits until `/healthz` answers. */
export async function startChildServer(
  dataDir: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<ChildServer> {
  const port = freePort();
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("../../src/main.ts", import.meta.url).pathname,
      "--port",
      String(port),
      "--data",
      dataDir,
      ...args,
    ],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (true) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      await process.status;
      throw new Error(`server did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    process,
    output: () => out,
    stop: async (signal: Deno.Signal = "SIGTERM") => {
      try {
        process.kill(signal);
      } catch {
        // Already gone.
      }
      const status = await process.status;
      await pumps;
      return status;
    },
  };
}
