/**
 * Several Gatehouse replicas for tests: `src/main.ts` child processes on one
 * real PostgreSQL database (a fresh one on the module's test server), with
 * the same admin key and vault key, as an operator runs them behind a load
 * balancer; and the management API and MCP set-up the replica tests share.
 *
 * @module
 */
import assert from "node:assert/strict";
import { apiCall, type ApiResponse, type ChildServer, startChildServer } from "./server.ts";
import { freshDatabase } from "./postgres.ts";

/** A running replica: a child process with its own data folder. */
export interface Replica extends ChildServer {
  dataDir: string;
  /** The management API with the admin key, in the default org. */
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

/** Replicas sharing one database. */
export interface Replicas {
  replicas: Replica[];
  databaseUrl: string;
  adminKey: string;
  /** The environment each replica was started with. */
  env: Record<string, string>;
  /** Starts another replica on the same database (one killed comes back this way). */
  add(): Promise<Replica>;
  /** Stops every replica still running and removes their data folders. */
  close(): Promise<void>;
}

/** A vault key written as hex (32 bytes): every replica must decrypt the same secrets. */
function vaultKey(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toHex();
}

/** Starts `count` replicas on a fresh database; `env` adds settings to each. */
export async function startReplicas(
  count = 2,
  env: Record<string, string> = {},
): Promise<Replicas> {
  const databaseUrl = await freshDatabase();
  const adminKey = `gha_test_${crypto.randomUUID()}`;
  const shared = {
    GATEHOUSE_DATABASE_URL: databaseUrl,
    GATEHOUSE_ADMIN_KEY: adminKey,
    GATEHOUSE_SECRET_KEY: vaultKey(),
    ...env,
  };
  const replicas: Replica[] = [];
  const add = async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-replica-" });
    const child = await startChildServer(dataDir, shared);
    const replica: Replica = {
      ...child,
      dataDir,
      api: (method, path, body) => apiCall(child.url, adminKey, method, path, body),
    };
    replicas.push(replica);
    return replica;
  };
  // One after the other: the first migrates the database and creates the default org.
  for (let i = 0; i < count; i++) await add();
  return {
    replicas,
    databaseUrl,
    adminKey,
    env: shared,
    add,
    async close() {
      for (const r of replicas) {
        await r.stop("SIGTERM");
        await Deno.remove(r.dataDir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** A round-robin balancer in front of `replicas`: each request goes to the next one. */
export function roundRobin(replicas: Replica[]): { url: string; close(): Promise<void> } {
  let next = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
    const target = replicas[next++ % replicas.length];
    const url = new URL(r.url);
    return fetch(target.url + url.pathname + url.search, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      signal: r.signal,
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** Asserts `res` has `status` (showing the body otherwise); its body. */
// deno-lint-ignore no-explicit-any
export function expect(res: ApiResponse, status = 200): any {
  assert.equal(
    res.status,
    status,
    `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`,
  );
  return res.body;
}

/** A tool backend on a loopback port: every request is answered with the path it asked for. */
export function echoBackend(): { url: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => Response.json({ answered: new URL(req.url).pathname }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** A gateway made through `replica`: its id, MCP path and a key with every scope. */
export interface ReplicaGateway {
  id: string;
  /** `/mcp/default/<endpoint>`: add it to any replica's URL. */
  path: string;
  key: string;
  keyId: string;
}

/** An HTTP tool calling `backend` (see {@link echoBackend}) named `name`: its id. */
export async function createEchoTool(replica: Replica, backend: string, name: string) {
  return expect(
    await replica.api("POST", "/tools", {
      name,
      description: `Echoes through ${name}`,
      inputSchema: { type: "object", properties: { text: { type: "string" } } },
      type: "http",
      executionConfig: { method: "POST", url: `${backend}/${name}` },
    }),
    201,
  ).id as string;
}

/** Creates, through `replica`, a gateway with `api_key` auth, a key and tool `echo`. */
export async function createGateway(replica: Replica, backend: string): Promise<ReplicaGateway> {
  const endpoint = `/gw-${crypto.randomUUID().slice(0, 8)}`;
  const gw = expect(
    await replica.api("POST", "/gateways", {
      name: `Gateway ${endpoint}`,
      type: "mcp",
      endpoint,
      configuration: { transport: "http" },
    }),
    201,
  );
  const tool = await createEchoTool(replica, backend, `echo_${gw.id.slice(0, 6)}`);
  expect(await replica.api("POST", `/gateways/${gw.id}/tools`, { toolIds: [tool] }), 201);
  expect(await replica.api("POST", `/gateways/${gw.id}/auth`, { type: "api_key" }), 201);
  const key = expect(await replica.api("POST", `/gateways/${gw.id}/keys`, { name: "test" }), 201);
  return { id: gw.id, path: `/mcp/default${endpoint}`, key: key.key, keyId: key.id };
}

/**
 * Polls `check` every 5 ms until it holds: the ms it took. Fails after
 * `timeoutMs`.
 */
export async function delayUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<number> {
  const start = performance.now();
  while (!await check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

/** The p50 and max of `ms`, rounded to 0.1 ms, for printing. */
export function spread(ms: number[]): { p50: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    p50: round(sorted[Math.floor(sorted.length / 2)]),
    max: round(sorted[sorted.length - 1]),
  };
}
