/**
 * Starting real Gatehouse servers for tests: in this process (fast, with the
 * store at hand) or as a child process (for restarts and crashes), each on a
 * loopback port with its own SQLite file, or its own PostgreSQL database
 * with `GATEHOUSE_TEST_DATABASE=postgres` (see `database.ts`).
 *
 * @module
 */
import {
  ACCESS_KEY_PREFIX,
  displayPrefix,
  generateToken,
  hashToken,
} from "../../src/auth/tokens.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import type { ExecutorRegistry } from "../../src/tools/executor.ts";
import { databaseFor } from "./database.ts";

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

/** Keys of the admin's user in orgs other than the first, per server, made once each. */
const orgKeys = new WeakMap<TestServer, Map<string, string>>();

/**
 * An access key of the admin key's user acting in org `slug` (an access key
 * acts only in the org it was issued in). The first org's is the admin key;
 * for other orgs of the user one is issued through the store, as `POST
 * /login` would; for orgs the user is not in, the admin key (refused there).
 */
export async function keyIn(s: TestServer, slug: string): Promise<string> {
  const adminKey = (await s.store.accessKeys.byHash(hashToken(s.adminKey)))!;
  const org = await s.store.orgs.bySlug(slug);
  // Not a member there: the admin key itself, which that org refuses.
  if (!org || org.id === adminKey.orgId || !await s.store.orgs.roleOf(org.id, adminKey.userId)) {
    return s.adminKey;
  }
  let keys = orgKeys.get(s);
  if (!keys) orgKeys.set(s, keys = new Map());
  let raw = keys.get(slug);
  if (!raw) {
    raw = generateToken(ACCESS_KEY_PREFIX);
    await s.store.accessKeys.create(org.id, adminKey.userId, {
      name: "test",
      hash: hashToken(raw),
      prefix: displayPrefix(raw),
      expiresAt: null,
    });
    keys.set(slug, raw);
  }
  return raw;
}

/**
 * Starts a server in this process on a free loopback port with a fresh data
 * folder; `executors` replaces how tools run (tests of the protocol core).
 * `overrides.databaseUrl` `""` keeps it on SQLite (a test that reads the file).
 */
export async function startTestServer(
  overrides: Partial<Config> = {},
  executors?: ExecutorRegistry,
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? await Deno.makeTempDir({ prefix: "gatehouse-test-" });
  const adminKey = overrides.adminKey ?? `gha_test_${crypto.randomUUID()}`;
  const dbPath = overrides.dbPath ?? `${dataDir}/gatehouse.db`;
  // `databaseUrl: ""` keeps a test on SQLite whatever the run's database.
  const databaseUrl = "databaseUrl" in overrides
    ? overrides.databaseUrl
    : await databaseFor(dbPath);
  const config: Config = {
    ...loadConfig([], () => undefined),
    port: 0,
    dataDir,
    dbPath,
    adminKey,
    ...(databaseUrl ? { databaseUrl } : {}),
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

/** A `src/main.ts` child process with its output captured. */
export interface MainProcess {
  process: Deno.ChildProcess;
  /** Everything printed so far, stdout then stderr. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (unless already exited) and waits for the exit status and all output. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** A server running as a child process, once it answers `/healthz`. */
export interface ChildServer extends MainProcess {
  url: string;
}

/** Picks a free loopback port, outside the range the system hands out for port 0. */
export function freePort(): number {
  // Below Linux's ephemeral range (32768-60999): the port-0 listeners and outgoing connections of
  // tests running alongside never take it in the moment between this check and the real bind.
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
}

/** Starts `src/main.ts` with exactly `args` and `env` (no flags added), capturing its output. */
export function spawnMain(args: string[], env: Record<string, string>): MainProcess {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys=setPriority",
      new URL("../../src/main.ts", import.meta.url).pathname,
      ...args,
    ],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const pump = (stream: ReadableStream<Uint8Array>, add: (t: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: add }));
  const pumps = Promise.all([
    pump(process.stdout, (t) => void (stdout += t)),
    pump(process.stderr, (t) => void (stderr += t)),
  ]);
  return {
    process,
    output: () => stdout + stderr,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal?: Deno.Signal) => {
      if (signal) {
        try {
          process.kill(signal);
        } catch {
          // Already gone.
        }
      }
      const status = await process.status;
      await pumps;
      return status;
    },
  };
}

/**
 * The environment that gives a `src/main.ts` process on `dataDir` its
 * database: with the tests on PostgreSQL, the data folder's stand-in in
 * `GATEHOUSE_DATABASE_URL`; nothing on SQLite (the folder holds the file).
 */
export async function databaseEnv(dataDir: string): Promise<Record<string, string>> {
  const databaseUrl = await databaseFor(`${dataDir}/gatehouse.db`);
  return databaseUrl ? { GATEHOUSE_DATABASE_URL: databaseUrl } : {};
}

/**
 * Starts `src/main.ts` on a free port with `--data dataDir` (plus `args`) and
 * waits until `/healthz` answers. With the tests on PostgreSQL it gets the
 * data folder's database in `GATEHOUSE_DATABASE_URL`, unless `env` sets it
 * (to `""` for SQLite).
 */
export async function startChildServer(
  dataDir: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<ChildServer> {
  const port = freePort();
  const main = spawnMain(["--port", String(port), "--data", dataDir, ...args], {
    ...await databaseEnv(dataDir),
    ...env,
  });
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
      await main.stop("SIGKILL");
      throw new Error(`server did not start:\n${main.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ...main, url, stop: (signal: Deno.Signal = "SIGTERM") => main.stop(signal) };
}
