/**
 * `deno task bench`: throughput, latency, memory and start-up figures for
 * Gatehouse, each beside references measured in the same run on the same
 * machine:
 *
 * - the ceiling: a bare `Deno.serve` (and bare WebSocket) answering the same
 *   JSON-RPC bytes, or forwarding to the same upstream (`bench_ceiling.ts`);
 * - the official MCP TypeScript SDK serving the same 20 tools, stateless per
 *   request or with sessions (`bench_sdk.ts`).
 *
 * The federated figures put an upstream MCP server (`bench_mcp_upstream.ts`,
 * the SDK serving one `echo` tool) behind a gateway of its own, in a Gatehouse
 * whose database holds nothing else, so the other figures are unchanged by it.
 *
 * Every server and load generator is its own child process on loopback, so no
 * two share an event loop. HTTP load comes from `wrk` (installed with apt-get
 * when missing, else `bench_load.ts` stands in); WebSocket load always from
 * `bench_load.ts`. Prints one Markdown table and writes
 * `bench/results/<time>.json` and `bench/results/latest.json`.
 *
 * Settings are flags or `BENCH_*` variables (flags win); see `bench/README.md`.
 * Any failed request (non-2xx, socket error, wrong answer) fails the run.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { LoadResult } from "./bench_load.ts";
import { UPSTREAM_BODY } from "./bench_upstream.ts";
import { postgresInstalled, startLocalPostgres } from "./local_postgres.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCRIPTS = `${ROOT}scripts/`;
/** The Gatehouse entry point under test; `--gatehouse` replaces it (set once, in main). */
let MAIN = `${ROOT}src/main.ts`;
let TWIN = "";
const ADMIN_KEY = `gha_bench_${crypto.randomUUID().replaceAll("-", "")}`;
const GATEWAY_PATH = "/mcp/default/bench";
const TOOL_COUNT = 20;
/** The prefix federated tools are attached with: the upstream's `echo` is served as `up_echo`. */
const FED_PREFIX = "up";
/** The two ways an upstream MCP server may keep (or not keep) state for its clients. */
const UPSTREAM_MODES = ["stateless", "stateful"] as const;
type UpstreamMode = typeof UPSTREAM_MODES[number];

// ---------------------------------------------------------------- settings

/** Every knob of a run. */
export interface Settings {
  /** Measured seconds per load run. */
  duration: number;
  /** Unmeasured seconds of load before each run (JIT warm-up, connection set-up). */
  warmup: number;
  /** Concurrent connections (HTTP) or sockets (WebSocket), each with one request outstanding. */
  connections: number;
  /** wrk threads. */
  threads: number;
  /** Idle connections opened for the memory figures. */
  idleConnections: number;
  /** Idle sessions, each after one federated call, opened for the federated memory figures. */
  federatedSessions: number;
  /** Idle Streamable HTTP sessions held open for the scale figures. */
  scaleSessions: number;
  /** Connections of the wide latency row (the others use `connections`). */
  wideConnections: number;
  /** Start-ups measured (the median is reported). */
  startupRuns: number;
  /** Tools and gateways in the start-up database. */
  startupTools: number;
  startupGateways: number;
  /** Sections or scenario ids to run (empty: everything). */
  only: string[];
  /** `auto` (wrk when available), `wrk` or `deno`. */
  loadgen: string;
  /** Write a V8 CPU profile of every Gatehouse server under load. */
  profile: boolean;
  /** Where results go. */
  outDir: string;
  /** The Gatehouse entry point under test (another checkout's `src/main.ts` for A/B runs). */
  gatehouseMain: string;
  /** Another entry point to measure in turns with Gatehouse, instead of the unrecorded twin. */
  twinMain: string;
  /**
   * `both`: the in-memory rows also run against a Gatehouse whose store is
   * in PostgreSQL (a local server the bench starts), when it is installed;
   * `sqlite`: SQLite only.
   */
  store: "both" | "sqlite";
}

const KNOBS = {
  duration: ["BENCH_DURATION", "8"],
  warmup: ["BENCH_WARMUP", "2"],
  connections: ["BENCH_CONNECTIONS", "32"],
  threads: ["BENCH_THREADS", "1"],
  "idle-connections": ["BENCH_IDLE_CONNECTIONS", "1000"],
  "federated-sessions": ["BENCH_FEDERATED_SESSIONS", "1000"],
  "scale-sessions": ["BENCH_SCALE_SESSIONS", "10000"],
  "wide-connections": ["BENCH_WIDE_CONNECTIONS", "256"],
  "startup-runs": ["BENCH_STARTUP_RUNS", "3"],
  "startup-tools": ["BENCH_STARTUP_TOOLS", "1000"],
  "startup-gateways": ["BENCH_STARTUP_GATEWAYS", "100"],
  only: ["BENCH_ONLY", ""],
  loadgen: ["BENCH_LOADGEN", "auto"],
  profile: ["BENCH_PROFILE", ""],
  out: ["BENCH_OUT", `${ROOT}bench/results`],
  gatehouse: ["BENCH_GATEHOUSE_MAIN", `${ROOT}src/main.ts`],
  twin: ["BENCH_TWIN", ""],
  store: ["BENCH_STORE", "both"],
} as const;

function loadSettings(args: string[]): Settings {
  const options = Object.fromEntries(
    Object.keys(KNOBS).map((k) => [k, { type: "string" as const }]),
  );
  const { values } = parseArgs({ args, options, strict: true });
  const get = (k: keyof typeof KNOBS) =>
    (values[k] as string | undefined) ?? Deno.env.get(KNOBS[k][0]) ?? KNOBS[k][1];
  const num = (k: keyof typeof KNOBS, min: number) => {
    const n = Number(get(k));
    if (!Number.isFinite(n) || n < min) throw new Error(`--${k} must be a number >= ${min}`);
    return n;
  };
  const s: Settings = {
    duration: num("duration", 0.5),
    warmup: num("warmup", 0),
    connections: Math.round(num("connections", 1)),
    threads: Math.round(num("threads", 1)),
    idleConnections: Math.round(num("idle-connections", 1)),
    federatedSessions: Math.round(num("federated-sessions", 1)),
    scaleSessions: Math.round(num("scale-sessions", 1)),
    wideConnections: Math.round(num("wide-connections", 1)),
    startupRuns: Math.round(num("startup-runs", 1)),
    startupTools: Math.round(num("startup-tools", 1)),
    startupGateways: Math.round(num("startup-gateways", 1)),
    only: get("only").split(",").map((x) => x.trim()).filter(Boolean),
    loadgen: get("loadgen"),
    profile: ["1", "true", "yes"].includes(get("profile")),
    outDir: get("out").replace(/\/+$/, ""),
    gatehouseMain: get("gatehouse"),
    twinMain: get("twin"),
    store: get("store") as Settings["store"],
  };
  if (!["auto", "wrk", "deno"].includes(s.loadgen)) {
    throw new Error("--loadgen must be auto, wrk or deno");
  }
  if (!["both", "sqlite"].includes(s.store)) throw new Error("--store must be both or sqlite");
  s.threads = Math.min(s.threads, s.connections);
  return s;
}

// ---------------------------------------------------------------- processes

/** A child process with its output collected and scannable. */
export class Child {
  readonly proc: Deno.ChildProcess;
  readonly pid: number;
  #out = "";
  #waiters: (() => void)[] = [];
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(readonly name: string, argv: string[], env: Record<string, string> = {}) {
    // Deno cannot raise its own open-file limit, so a shell raises it and then becomes deno.
    const shell = 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
    this.proc = new Deno.Command("bash", {
      args: ["-c", shell, "bash", ...argv],
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: ROOT,
    }).spawn();
    this.pid = this.proc.pid;
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        // Only the start matters for handshakes and the end for error reports.
        this.#out = (this.#out + t).length > 200_000
          ? this.#out.slice(-100_000) + t
          : this.#out + t;
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    const pumps = Promise.all([pump(this.proc.stdout), pump(this.proc.stderr)]);
    this.status = this.proc.status.then(async (st) => {
      await pumps.catch(() => {});
      this.#exited = true;
      for (const w of this.#waiters.splice(0)) w();
      return st;
    });
  }

  get output(): string {
    return this.#out;
  }

  /** Waits until the output matches `re`; throws with the output if the process exits first. */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const m = re.exec(this.#out);
      if (m) return m;
      if (this.#exited) throw new Error(`${this.name} exited before ${re}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${re} in time:\n${this.tail()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  tail(n = 3000): string {
    return this.#out.slice(-n);
  }

  /** Resident memory in bytes (VmRSS of /proc/<pid>/status). */
  rss(): number {
    const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!m) throw new Error(`no VmRSS for ${this.name}`);
    return Number(m[1]) * 1024;
  }

  /** CPU time the process has used so far (user + system, all threads), in seconds. */
  cpuSeconds(): number {
    const stat = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.proc.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      try {
        this.proc.kill("SIGKILL");
      } catch { /* already gone */ }
    }, graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<Deno.CommandStatus> {
    try {
      this.proc.kill("SIGKILL");
    } catch { /* already gone */ }
    return this.status;
  }
}

/** Kernel clock ticks per second, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = (() => {
  const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
    .outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim()) || 100;
})();

const children = new Set<Child>();

function spawn(name: string, argv: string[], env: Record<string, string> = {}): Child {
  const c = new Child(name, argv, env);
  children.add(c);
  c.status.then(() => children.delete(c));
  return c;
}

function denoScript(script: string, args: string[], flags: string[] = []): string[] {
  return [Deno.execPath(), "run", "-A", ...flags, `${SCRIPTS}${script}`, ...args];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server among `scripts/` started on a free port, once it printed `LISTENING <port>`. */
export async function startScript(name: string, script: string, args: string[]) {
  const child = spawn(name, denoScript(script, ["--port", "0", ...args]));
  const port = Number((await child.waitFor(/LISTENING (\d+)/))[1]);
  return { child, url: `http://127.0.0.1:${port}` };
}

/** A running Gatehouse child (`src/main.ts`). */
interface GatehouseProc {
  child: Child;
  url: string;
}

async function startGatehouse(
  dataDir: string,
  opts: { profileDir?: string; pollMs?: number; env?: Record<string, string>; main?: string } = {},
): Promise<GatehouseProc & { healthyAfterMs: number; startedAt: number }> {
  const port = freePort();
  const flags = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  const startedAt = performance.now();
  const child = spawn("gatehouse", [
    Deno.execPath(),
    "run",
    "-A",
    ...flags,
    opts.main ?? MAIN,
    "--port",
    String(port),
    "--data",
    dataDir,
  ], { GATEHOUSE_ADMIN_KEY: ADMIN_KEY, ...opts.env });
  const url = `http://127.0.0.1:${port}`;
  const healthyAfterMs = await waitHealthy(child, `${url}/healthz`, startedAt, opts.pollMs ?? 20);
  return { child, url, healthyAfterMs, startedAt };
}

/** Polls `url` until it answers 2xx; the time since `since`, in ms. */
async function waitHealthy(child: Child, url: string, since: number, pollMs: number) {
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return performance.now() - since;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      throw new Error(`${child.name} did not become healthy:\n${child.tail()}`);
    }
    const exited = await Promise.race([child.status.then(() => true), sleep(pollMs)]);
    if (exited) throw new Error(`${child.name} exited while starting:\n${child.tail()}`);
  }
}

// ---------------------------------------------------------------- management API

async function api(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

function toolBody(name: string, upstream: string) {
  return {
    name,
    description: "Retrieve a list of users with pagination",
    inputSchema: {
      type: "object",
      properties: {
        page: { type: "integer", description: "Page number" },
        limit: { type: "integer", description: "Items per page" },
      },
      required: [],
    },
    type: "http",
    executionConfig: {
      method: "GET",
      url: `${upstream}/users`,
      queryParams: { page: "{{parameters.page}}", limit: "{{parameters.limit}}" },
    },
  };
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

/**
 * Creates `gateways` gateways (`/bench`, then `/gw-0002`...) with api_key auth
 * and `tools` http tools spread evenly over them through the management API;
 * returns a gateway key of the first gateway.
 */
async function seed(base: string, upstream: string, tools: number, gateways: number) {
  const names = Array.from({ length: tools }, (_, i) => `get_users_${String(i).padStart(2, "0")}`);
  const toolIds = await pool(
    names,
    8,
    async (n) => (await api(base, "POST", "/tools", toolBody(n, upstream))).id as string,
  );
  const perGateway = Math.ceil(tools / gateways);
  const keys = await pool(Array.from({ length: gateways }, (_, i) => i), 8, async (i) => {
    const gw = await api(base, "POST", "/gateways", {
      name: i === 0 ? "Bench" : `Gateway ${i + 1}`,
      type: "mcp",
      endpoint: i === 0 ? "/bench" : `/gw-${String(i + 1).padStart(4, "0")}`,
      configuration: { transport: "http" },
    });
    const mine = toolIds.slice(i * perGateway, (i + 1) * perGateway);
    if (mine.length > 0) await api(base, "POST", `/gateways/${gw.id}/tools`, { toolIds: mine });
    await api(base, "POST", `/gateways/${gw.id}/auth`, { type: "api_key" });
    return i === 0
      ? (await api(base, "POST", `/gateways/${gw.id}/keys`, { name: "bench" })).key as string
      : "";
  });
  return keys[0];
}

/** One upstream MCP server attached to its own gateway. */
interface FederatedGateway {
  /** The upstream's base URL (its MCP endpoint is `<url>/mcp`). */
  upstream: string;
  serverId: string;
  /** The gateway's MCP path, e.g. `/mcp/default/fed-stateless`. */
  path: string;
  key: string;
}

/** A database with the federated gateways, one per upstream mode. */
interface Federation {
  dataDir: string;
  gateways: Record<UpstreamMode, FederatedGateway>;
}

/** Polls `GET /servers/:id` until the server is ready; throws with its status after 60 s. */
async function waitReady(base: string, serverId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (true) {
    const { status } = await api(base, "GET", `/servers/${serverId}`);
    if (status.state === "ready") return;
    if (Date.now() > deadline) {
      throw new Error(`server ${serverId} not ready: ${JSON.stringify(status)}`);
    }
    await sleep(50);
  }
}

/**
 * Prepares `dataDir` with one Streamable HTTP server per upstream mode, each
 * attached (prefix {@link FED_PREFIX}) to a gateway of its own with api_key
 * auth. Loopback upstreams need no outbound setting: the default policy
 * allows them, as it does for the `http` tools of {@link seed}.
 */
async function seedFederation(
  dataDir: string,
  upstreams: Record<UpstreamMode, string>,
): Promise<Federation> {
  const gh = await startGatehouse(dataDir);
  try {
    const gateways = {} as Record<UpstreamMode, FederatedGateway>;
    for (const mode of UPSTREAM_MODES) {
      const server = await api(gh.url, "POST", "/servers", {
        name: `bench-mcp-${mode}`,
        transport: "streamable-http",
        url: `${upstreams[mode]}/mcp`,
      });
      await waitReady(gh.url, server.id);
      const gw = await api(gh.url, "POST", "/gateways", {
        name: `Federated ${mode}`,
        type: "mcp",
        endpoint: `/fed-${mode}`,
        configuration: { transport: "http" },
      });
      await api(gh.url, "POST", `/gateways/${gw.id}/servers`, {
        serverId: server.id,
        prefix: FED_PREFIX,
      });
      await api(gh.url, "POST", `/gateways/${gw.id}/auth`, { type: "api_key" });
      const { key } = await api(gh.url, "POST", `/gateways/${gw.id}/keys`, { name: "bench" });
      gateways[mode] = {
        upstream: upstreams[mode],
        serverId: server.id,
        path: `/mcp/default/fed-${mode}`,
        key,
      };
    }
    return { dataDir, gateways };
  } finally {
    await gh.child.stop();
  }
}

/** Gatehouse on the federation's database, once its upstream servers are connected again. */
/** The bench's gateway seeded a second time, in a Gatehouse whose store is in PostgreSQL. */
interface PostgresGatehouse {
  /** Its data folder (the vault key; the database is elsewhere). */
  dataDir: string;
  /** `GATEHOUSE_DATABASE_URL`. */
  env: Record<string, string>;
  /** A gateway key of its `/bench` gateway. */
  key: string;
}

/**
 * Starts a local PostgreSQL server (durable, as PostgreSQL ships) and seeds
 * the bench's gateway into a database of it; the server stops when the bench
 * exits.
 */
async function seedPostgres(dataDir: string, upstream: string): Promise<PostgresGatehouse> {
  const server = await startLocalPostgres();
  const env = { GATEHOUSE_DATABASE_URL: await server.createDatabase() };
  const gh = await startGatehouse(dataDir, { env });
  try {
    return { dataDir, env, key: await seed(gh.url, upstream, TOOL_COUNT, 1) };
  } finally {
    await gh.child.stop();
  }
}

async function startFederated(fed: Federation, opts: { profileDir?: string } = {}) {
  const gh = await startGatehouse(fed.dataDir, opts);
  try {
    for (const mode of UPSTREAM_MODES) await waitReady(gh.url, fed.gateways[mode].serverId);
  } catch (err) {
    await gh.child.stop();
    throw err;
  }
  return gh;
}

// ---------------------------------------------------------------- requests and checks

const LIST_BODY = '{"jsonrpc":"2.0","method":"tools/list","id":1}';
const CALL_BODY =
  '{"jsonrpc":"2.0","method":"tools/call","id":1,"params":{"name":"get_users_00","arguments":{"page":1,"limit":10}}}';
/**
 * `tools/call` of the federated `echo`, echoing the upstream JSON API's
 * document: the answer is the same text as {@link CALL_BODY}'s, so the
 * federated row differs from the `http` tool rows by the upstream protocol only.
 */
const FED_CALL_BODY = JSON.stringify({
  jsonrpc: "2.0",
  method: "tools/call",
  id: 1,
  params: { name: `${FED_PREFIX}_echo`, arguments: { text: UPSTREAM_BODY } },
});
const ACCEPT_BOTH = "application/json, text/event-stream";

/** One HTTP or WebSocket load recipe against one target. */
export type Load =
  | {
    kind: "http";
    url: string;
    headers: Record<string, string>;
    body: string;
    /**
     * Number each request (`"id":1` becomes 1, 2, 3...): requests in flight
     * together on one session must not share an id, or a server may pair an
     * answer with the wrong request (the SDK then leaves one unanswered).
     */
    uniqueIds?: boolean;
  }
  | { kind: "ws"; url: string; protocols: string[]; init: boolean; body: string };

type Method = "tools/list" | "tools/call";

/** Whether a JSON-RPC answer is the right success for `method`. */
function validAnswer(method: Method, text: string): string | undefined {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 300)}`;
  }
  const r = msg?.result;
  if (!r) return `no result: ${text.slice(0, 300)}`;
  if (method === "tools/list") {
    return r.tools?.length === TOOL_COUNT
      ? undefined
      : `expected ${TOOL_COUNT} tools: ${text.slice(0, 300)}`;
  }
  if (r.isError) return `tool error: ${text.slice(0, 300)}`;
  return r.content?.[0]?.text === UPSTREAM_BODY
    ? undefined
    : `wrong tool result: ${text.slice(0, 300)}`;
}

/** Sends one request of `load` and checks the answer; throws when it is wrong. */
async function check(label: string, method: Method, load: Load): Promise<void> {
  let text: string;
  if (load.kind === "http") {
    const res = await fetch(load.url, { method: "POST", headers: load.headers, body: load.body });
    text = await res.text();
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  } else {
    const ws = new WebSocket(load.url, load.protocols);
    const next = () =>
      new Promise<string>((resolve, reject) => {
        ws.onmessage = (e) => resolve(e.data as string);
        ws.onclose = (e) => reject(new Error(`${label}: socket closed ${e.code} ${e.reason}`));
      });
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`${label}: WebSocket failed`));
    });
    if (load.init) {
      ws.send(JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "b", version: "1" },
        },
      }));
      const init = await next();
      if (!init.includes('"result"')) throw new Error(`${label}: initialize failed: ${init}`);
      ws.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    }
    ws.send(load.body);
    text = await next();
    ws.onclose = null;
    ws.close();
  }
  const problem = validAnswer(method, text);
  if (problem) throw new Error(`${label}: ${problem}`);
}

/** Opens an initialized Streamable HTTP session; the headers its requests must carry. */
async function openSession(url: string, base: Record<string, string>) {
  const headers = { ...base, "content-type": "application/json", accept: ACCEPT_BOTH };
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "gatehouse-bench", version: "1" },
      },
    }),
  });
  const text = await res.text();
  const id = res.headers.get("mcp-session-id");
  if (!res.ok || !id) throw new Error(`initialize at ${url}: ${res.status} ${text}`);
  const version = JSON.parse(text).result.protocolVersion as string;
  const session = { ...headers, "mcp-session-id": id, "mcp-protocol-version": version };
  const ack = await fetch(url, {
    method: "POST",
    headers: session,
    body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  });
  await ack.body?.cancel();
  if (ack.status !== 202) throw new Error(`notifications/initialized at ${url}: ${ack.status}`);
  return session;
}

// ---------------------------------------------------------------- load generators

/** Installs wrk with apt-get when missing; false when it cannot be had. */
async function ensureWrk(): Promise<boolean> {
  const has = async () =>
    (await new Deno.Command("bash", { args: ["-c", "command -v wrk"], stdout: "null" }).output())
      .success;
  if (await has()) return true;
  console.error("bench: wrk not found; installing it with apt-get...");
  const sudo = Deno.uid() === 0 ? "" : "sudo -n ";
  const script =
    `(${sudo}apt-get install -y -qq wrk || (${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq wrk))`;
  await new Deno.Command("bash", {
    args: ["-c", `${script} >/dev/null 2>&1`],
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).output();
  if (await has()) return true;
  console.error(
    "bench: could not install wrk; using the Deno load generator (scripts/bench_load.ts)",
  );
  return false;
}

/** A Lua string literal for wrk. */
function lua(s: string): string {
  return JSON.stringify(s); // JSON string escapes are valid Lua escapes for these ASCII bodies.
}

/** Lua that numbers requests per thread (`"id":"<thread>-<n>"`), for session scenarios. */
function wrkUniqueIds(body: string): string[] {
  const [before, after] = body.split('"id":1');
  if (after === undefined) throw new Error(`no "id":1 in ${body}`);
  return [
    "local threads = 0",
    'setup = function(thread) threads = threads + 1; thread:set("tid", threads) end',
    "local n = 0",
    "request = function()",
    "  n = n + 1",
    `  return wrk.format(nil, nil, nil, ${lua(before + '"id":"')} .. tostring(tid) .. "-" .. n .. ${
      lua('"' + after)
    })`,
    "end",
  ];
}

/**
 * `load` by wrk for `seconds` (`s.threads` threads, `s.connections`
 * connections), with `server`'s CPU time per request over that window.
 * Socket errors and non-2xx answers are counted in `errors`; throws when wrk
 * itself fails. Its Lua script is written under `tmp`.
 */
export async function runWrk(
  load: Load & { kind: "http" },
  seconds: number,
  s: Pick<Settings, "threads" | "connections">,
  tmp: string,
  server: Child,
): Promise<Measured> {
  const script = `${tmp}/wrk-${crypto.randomUUID()}.lua`;
  const headerLines = Object.entries(load.headers).map(([k, v]) =>
    `wrk.headers[${lua(k)}] = ${lua(v)}`
  );
  await Deno.writeTextFile(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${lua(load.body)}`,
      ...headerLines,
      ...(load.uniqueIds ? wrkUniqueIds(load.body) : []),
      "done = function(summary, latency, requests)",
      "  local e = summary.errors",
      '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"mean\\":%f,\\"max\\":%d}\\n",',
      "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,",
      "    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))",
      "end",
      "",
    ].join("\n"),
  );
  const cpu0 = server.cpuSeconds();
  const child = spawn("wrk", [
    "wrk",
    `-t${s.threads}`,
    `-c${s.connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    script,
    load.url,
  ]);
  const st = await child.status;
  const cpu = server.cpuSeconds() - cpu0;
  const m = /WRKJSON (\{.*\})/.exec(child.output);
  if (!st.success || !m) throw new Error(`wrk failed:\n${child.tail()}`);
  const w = JSON.parse(m[1]);
  const secs = w.us / 1e6;
  return {
    requests: w.requests,
    seconds: secs,
    rps: w.requests / secs,
    p50Ms: w.p50 / 1000,
    p99Ms: w.p99 / 1000,
    meanMs: w.mean / 1000,
    maxMs: w.max / 1000,
    errors: { socket: w.connect + w.read + w.write + w.timeout, status: w.status, invalid: 0 },
    serverCpuUsPerRequest: w.requests > 0 ? (cpu * 1e6) / w.requests : NaN,
  };
}

async function runDenoLoad(
  load: Load,
  s: Settings,
  warmup: number,
  duration: number,
  server: Child,
): Promise<Measured> {
  const args = [
    "--mode",
    load.kind,
    "--url",
    load.url,
    "--body",
    load.body,
    "--connections",
    String(s.connections),
    "--warmup",
    String(warmup),
    "--duration",
    String(duration),
  ];
  if (load.kind === "http") {
    for (const [k, v] of Object.entries(load.headers)) args.push("--header", `${k}: ${v}`);
    if (load.uniqueIds) args.push("--unique-ids");
  } else {
    for (const p of load.protocols) args.push("--protocol", p);
    if (load.init) args.push("--init");
  }
  const child = spawn("load", denoScript("bench_load.ts", args));
  // The generator says when its measured window opens and closes; the server's CPU is read then.
  await child.waitFor(/^MEASURING$/m, (warmup + 60) * 1000);
  const cpu0 = server.cpuSeconds();
  await child.waitFor(/^MEASURED$/m, (duration + 60) * 1000);
  const cpu = server.cpuSeconds() - cpu0;
  const st = await child.status;
  const m = /RESULT (\{.*\})/.exec(child.output);
  if (!st.success || !m) throw new Error(`load generator failed:\n${child.tail()}`);
  const r = JSON.parse(m[1]) as LoadResult;
  return { ...r, serverCpuUsPerRequest: r.requests > 0 ? (cpu * 1e6) / r.requests : NaN };
}

/** A load result with the server's CPU time per request over the measured window. */
export interface Measured extends LoadResult {
  /**
   * CPU time (user + system, all threads) the server process spent per
   * request, in microseconds: steadier than requests/s on a shared machine.
   */
  serverCpuUsPerRequest: number;
}

/** Warm-up then measured load against `server`; uses wrk for HTTP unless told otherwise. */
async function measure(load: Load, s: Settings, useWrk: boolean, tmp: string, server: Child) {
  if (load.kind === "http" && useWrk) {
    if (s.warmup > 0) await runWrk(load, s.warmup, s, tmp, server);
    return await runWrk(load, s.duration, s, tmp, server);
  }
  return await runDenoLoad(load, s, s.warmup, s.duration, server);
}

/**
 * Rounds the Gatehouse cell, its unobserved twin and its PostgreSQL twin are
 * split into: each measured in turn (A B C C B A ...), so that load from
 * elsewhere on a shared machine falls on all alike and the cost column (and
 * PostgreSQL's figures) compare like with like.
 */
const PAIR_ROUNDS = 4;

/** A server and the load that measures it. */
interface Leg {
  load: Load;
  server: Child;
}

/** `rounds` measurements of one target as one: totals summed, latencies the median round's. */
function merged(rounds: Measured[]): Measured {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const middle = (pick: (r: Measured) => number) => {
    const xs = rounds.map(pick).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: middle((r) => r.p50Ms),
    p99Ms: middle((r) => r.p99Ms),
    meanMs: rounds.reduce((n, r) => n + r.meanMs * r.requests, 0) / requests,
    maxMs: Math.max(...rounds.map((r) => r.maxMs)),
    errors: {
      socket: rounds.reduce((n, r) => n + r.errors.socket, 0),
      status: rounds.reduce((n, r) => n + r.errors.status, 0),
      invalid: rounds.reduce((n, r) => n + r.errors.invalid, 0),
    },
    serverCpuUsPerRequest: rounds.reduce((n, r) => n + r.serverCpuUsPerRequest * r.requests, 0) /
      requests,
  };
}

/** Targets warmed, then measured in alternating rounds of {@link PAIR_ROUNDS}. */
async function measureInTurns(
  legs: Leg[],
  s: Settings,
  useWrk: boolean,
  tmp: string,
): Promise<Measured[]> {
  // Whole seconds: wrk reads its duration as an integer.
  const round = { ...s, warmup: 0, duration: Math.max(1, Math.round(s.duration / PAIR_ROUNDS)) };
  if (s.warmup > 0) {
    for (const leg of legs) {
      await measure(leg.load, { ...s, warmup: 0, duration: s.warmup }, useWrk, tmp, leg.server);
    }
  }
  const got: Measured[][] = legs.map(() => []);
  const order = legs.map((_, k) => k);
  for (let i = 0; i < PAIR_ROUNDS; i++) {
    for (const k of i % 2 === 0 ? order : order.toReversed()) {
      got[k].push(await measure(legs[k].load, round, useWrk, tmp, legs[k].server));
    }
  }
  return got.map(merged);
}

// ---------------------------------------------------------------- machine

/** The machine a run happened on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  deno: string;
  v8: string;
  loadgen: string;
}

function machine(loadgen: string): Machine {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown",
    cores: (cpuinfo.match(/^processor\s*:/gm) ?? []).length || navigator.hardwareConcurrency,
    memoryBytes: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    loadgen,
  };
}

async function wrkVersion(): Promise<string> {
  const out = await new Deno.Command("wrk", { args: ["-v"], stdout: "piped", stderr: "piped" })
    .output().catch(() => undefined);
  if (!out) return "wrk";
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return /wrk (\S+)/.exec(text)?.[0] ?? "wrk";
}

// ---------------------------------------------------------------- throughput

/**
 * What a row measures: Gatehouse as shipped, Gatehouse with its request log
 * and metrics off (what observing every request costs), Gatehouse with its
 * store in PostgreSQL, the bare-runtime ceiling and the official SDK.
 */
type Target = "gatehouse" | "unobserved" | "postgres" | "ceiling" | "sdk";

/** The settings that turn off what Gatehouse records of each request. */
const UNOBSERVED_ENV = { GATEHOUSE_REQUEST_LOG: "off", GATEHOUSE_METRICS: "off" };

/** A load scenario. */
interface Scenario {
  id: string;
  label: string;
  method: Method;
  transport: "http" | "session" | "ws";
  /**
   * The tool is an upstream MCP server's (stateless), served by a federated
   * gateway; the references are Gatehouse and the forwarding ceiling only.
   */
  federated?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    id: "list-http",
    label: "tools/list · stateless HTTP POST",
    method: "tools/list",
    transport: "http",
  },
  {
    id: "call-http",
    label: "tools/call · stateless HTTP POST",
    method: "tools/call",
    transport: "http",
  },
  {
    id: "list-session",
    label: "tools/list · Streamable HTTP session",
    method: "tools/list",
    transport: "session",
  },
  {
    id: "call-session",
    label: "tools/call · Streamable HTTP session",
    method: "tools/call",
    transport: "session",
  },
  { id: "list-ws", label: "tools/list · WebSocket", method: "tools/list", transport: "ws" },
  { id: "call-ws", label: "tools/call · WebSocket", method: "tools/call", transport: "ws" },
  {
    id: "federated-call",
    label: "tools/call · federated: Streamable HTTP session → upstream MCP server",
    method: "tools/call",
    transport: "session",
    federated: true,
  },
];

/** One measured run. */
interface Run extends Measured {
  scenario: string;
  target: Target;
  /** What the reference is, in words. */
  reference: string;
}

const wsUrl = (http: string) => http.replace(/^http/, "ws");

interface Refs {
  ceiling: string;
  sdk: string;
  sdkStateful: string;
}

/** A Gatehouse gateway to load: the server's base URL, the gateway's MCP path and a key. */
interface GatewayTarget {
  url: string;
  path: string;
  key: string;
}

/**
 * The load recipe of `sc` against `target` (opening a session first where
 * needed); `gw.url` is the Gatehouse that serves both Gatehouse targets.
 */
async function loadFor(sc: Scenario, target: Target, gw: GatewayTarget, refs: Refs) {
  const body = sc.federated ? FED_CALL_BODY : sc.method === "tools/list" ? LIST_BODY : CALL_BODY;
  const key = gw.key;
  const seedHeaders: Record<string, string> = { "content-type": "application/json" };
  const gatehouse = target === "gatehouse" || target === "unobserved" || target === "postgres";
  if (gatehouse) seedHeaders.authorization = `Bearer ${key}`;
  const base = gatehouse
    ? gw.url
    : target === "ceiling"
    ? refs.ceiling
    : sc.transport === "session"
    ? refs.sdkStateful
    : refs.sdk;
  const url = base + gw.path;
  if (sc.transport === "ws") {
    const protocols = gatehouse ? ["mcp", `bearer.${key}`] : ["mcp"];
    return {
      kind: "ws",
      url: wsUrl(url) + "/ws",
      protocols,
      init: gatehouse,
      body,
    } as Load;
  }
  if (sc.transport === "session") {
    const headers = await openSession(url, seedHeaders);
    return { kind: "http", url, headers, body, uniqueIds: true } as Load;
  }
  // The seed's request exactly; the SDK refuses a POST whose Accept lacks either type.
  const headers = target === "sdk" ? { ...seedHeaders, accept: ACCEPT_BOTH } : seedHeaders;
  return { kind: "http", url, headers, body } as Load;
}

const UNOBSERVED = "Gatehouse with its request log and metrics off";
const ON_POSTGRES = "Gatehouse with its store in PostgreSQL";
const REFERENCE: Record<Scenario["transport"], Record<Target, string>> = {
  http: {
    gatehouse: "Gatehouse",
    unobserved: UNOBSERVED,
    postgres: ON_POSTGRES,
    ceiling: "bare Deno.serve",
    sdk: "MCP SDK, stateless (server + transport per request)",
  },
  session: {
    gatehouse: "Gatehouse",
    unobserved: UNOBSERVED,
    postgres: ON_POSTGRES,
    ceiling: "bare Deno.serve",
    sdk: "MCP SDK, one transport per session",
  },
  ws: {
    gatehouse: "Gatehouse",
    unobserved: UNOBSERVED,
    postgres: ON_POSTGRES,
    ceiling: "bare Deno WebSocket",
    sdk: "",
  },
};
const FEDERATED_REFERENCE: Record<Target, string> = {
  gatehouse: "Gatehouse, federated gateway",
  unobserved: "",
  postgres: "",
  ceiling: "bare Deno.serve forwarding to the upstream MCP server with fetch",
  sdk: "",
};

async function throughput(
  s: Settings,
  wanted: (id: string) => boolean,
  ctx: {
    dataDir: string;
    upstream: string;
    key: string;
    tmp: string;
    useWrk: boolean;
    profileDir: string;
    /** The federated database: set when a federated scenario is wanted. */
    fed?: Federation;
    /** The same gateway with the store in PostgreSQL: set for the (PostgreSQL) rows. */
    pg?: PostgresGatehouse;
  },
): Promise<Run[]> {
  const scenarios = SCENARIOS.filter((sc) => wanted(sc.id));
  if (scenarios.length === 0) return [];
  const fed = ctx.fed;
  if (scenarios.some((sc) => sc.federated) && !fed) throw new Error("no federated database");
  let gh = await startGatehouse(ctx.dataDir);
  // The same database served with nothing recorded: the difference is what recording costs.
  // Or, for an A/B comparison (`--twin`), another tree's Gatehouse, recording as shipped.
  const ghOff = await startGatehouse(
    ctx.dataDir,
    TWIN ? { main: TWIN } : { env: UNOBSERVED_ENV },
  );
  const ghPg = ctx.pg && await startGatehouse(ctx.pg.dataDir, { env: ctx.pg.env });
  // The federated gateways' Gatehouse runs on its own database, started when first needed.
  let ghFed: GatehouseProc | undefined;
  // The ceiling answers tools/list with the very bytes Gatehouse sends.
  const listRes = await fetch(gh.url + GATEWAY_PATH, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.key}`, "content-type": "application/json" },
    body: LIST_BODY,
  });
  const listFile = `${ctx.tmp}/tools-list.json`;
  await Deno.writeFile(listFile, new Uint8Array(await listRes.arrayBuffer()));
  const ceiling = await startScript("ceiling", "bench_ceiling.ts", [
    "--upstream",
    ctx.upstream,
    "--list-file",
    listFile,
    ...(fed
      ? [
        "--mcp-upstream",
        `${fed.gateways.stateless.upstream}/mcp`,
        "--mcp-prefix",
        `${FED_PREFIX}_`,
      ]
      : []),
  ]);
  const sdk = await startScript("sdk", "bench_sdk.ts", [
    "--upstream",
    ctx.upstream,
    "--tools",
    String(TOOL_COUNT),
  ]);
  const sdkStateful = await startScript("sdk-stateful", "bench_sdk.ts", [
    "--upstream",
    ctx.upstream,
    "--tools",
    String(TOOL_COUNT),
    "--mode",
    "stateful",
  ]);
  const refs: Refs = { ceiling: ceiling.url, sdk: sdk.url, sdkStateful: sdkStateful.url };
  const runs: Run[] = [];
  try {
    for (const sc of scenarios) {
      // One profile per scenario: restart Gatehouse with the profiler on.
      const profile = s.profile ? { profileDir: `${ctx.profileDir}/${sc.id}` } : undefined;
      let gw: GatewayTarget;
      if (sc.federated) {
        if (!ghFed || profile) {
          await ghFed?.child.stop();
          ghFed = await startFederated(fed!, profile);
        }
        gw = { url: ghFed.url, ...fed!.gateways.stateless };
      } else {
        if (profile) {
          await gh.child.stop();
          gh = await startGatehouse(ctx.dataDir, profile);
        }
        gw = { url: gh.url, path: GATEWAY_PATH, key: ctx.key };
      }
      const twins: Target[] = ghPg ? ["unobserved", "postgres"] : ["unobserved"];
      const targets: Target[] = sc.federated
        ? ["gatehouse", "ceiling"]
        : sc.transport === "ws"
        ? ["gatehouse", ...twins, "ceiling"]
        : ["gatehouse", ...twins, "ceiling", "sdk"];
      const legOf = async (target: Target): Promise<Leg> => {
        const load = await loadFor(
          sc,
          target,
          target === "unobserved"
            ? { ...gw, url: ghOff.url }
            : target === "postgres"
            ? { url: ghPg!.url, path: GATEWAY_PATH, key: ctx.pg!.key }
            : gw,
          refs,
        );
        await check(`${sc.id} against ${target}`, sc.method, load);
        const server = target === "gatehouse"
          ? (sc.federated ? ghFed! : gh).child
          : target === "unobserved"
          ? ghOff.child
          : target === "postgres"
          ? ghPg!.child
          : target === "ceiling"
          ? ceiling.child
          : sc.transport === "session"
          ? sdkStateful.child
          : sdk.child;
        return { load, server };
      };
      const record = async (target: Target, leg: Leg, r: Measured) => {
        await check(`${sc.id} against ${target} (after the run)`, sc.method, leg.load);
        const reference = sc.federated
          ? FEDERATED_REFERENCE[target]
          : REFERENCE[sc.transport][target];
        runs.push({ ...r, scenario: sc.id, target, reference });
      };
      // Every target of the row in the same rounds, so that the ratios compare servers that saw
      // the same machine: measured one after the other, on a VM whose speed drifts over minutes,
      // the ceiling ran 1.7× faster in one run than in another of the same hour.
      const legs: Leg[] = [];
      for (const t of targets) legs.push(await legOf(t));
      progress(`${sc.id} against ${targets.join(", ")}, in turns...`);
      const got = await measureInTurns(legs, s, ctx.useWrk, ctx.tmp);
      for (const [k, t] of targets.entries()) await record(t, legs[k], got[k]);
    }
  } finally {
    await Promise.all([
      gh.child.stop(),
      ghOff.child.stop(),
      ghPg?.child.stop(),
      ghFed?.child.stop(),
      ceiling.child.stop(),
      sdk.child.stop(),
      sdkStateful.child.stop(),
    ]);
  }
  return runs;
}

// ---------------------------------------------------------------- memory

/** RSS figures of one server kind. */
interface MemoryFigures {
  /** RSS right after start-up and a settle, in bytes (median over the fresh starts). */
  idleRssBytes: number;
  /** RSS growth per held connection, in bytes, by kind. */
  perConnection: Partial<Record<HoldKind, number>>;
}

type HoldKind = "http-get" | "sse" | "ws";

/**
 * Opens `count` idle connections of `kind` to `server` (each making the
 * request `handshake.call` first, when given) and measures its RSS growth per
 * connection; `whileHeld` runs once they are all open and measured.
 */
async function holdAndMeasure(
  server: Child,
  kind: HoldKind,
  url: string,
  count: number,
  handshake: { key?: string; init: boolean; call?: string },
  whileHeld?: () => Promise<void>,
): Promise<{ idle: number; perConnection: number }> {
  await sleep(1000);
  const idle = server.rss();
  const args = ["--mode", kind, "--url", url, "--count", String(count)];
  if (handshake.key) args.push("--key", handshake.key);
  if (!handshake.init) args.push("--no-init");
  if (handshake.call) args.push("--call", handshake.call);
  const holder = spawn(`hold-${kind}`, denoScript("bench_hold.ts", args));
  try {
    await holder.waitFor(/READY (\d+)/, 180_000);
    // Let the server finish whatever the last connections started before reading.
    await sleep(1500);
    const after = server.rss();
    await whileHeld?.();
    return { idle, perConnection: (after - idle) / count };
  } finally {
    await holder.kill();
  }
}

async function memory(
  s: Settings,
  ctx: { dataDir: string; upstream: string; key: string; tmp: string },
): Promise<{ gatehouse: MemoryFigures; ceiling: MemoryFigures; sdk: MemoryFigures }> {
  const n = s.idleConnections;
  const gatehouse: MemoryFigures = { idleRssBytes: 0, perConnection: {} };
  const idles: number[] = [];
  const paths: Record<HoldKind, (base: string) => string> = {
    "http-get": (b) => b + GATEWAY_PATH,
    sse: (b) => `${b}${GATEWAY_PATH}/sse`,
    ws: (b) => `${wsUrl(b)}${GATEWAY_PATH}/ws`,
  };
  for (const kind of ["http-get", "sse", "ws"] as const) {
    progress(`memory: ${n} idle ${kind} connections to Gatehouse...`);
    const gh = await startGatehouse(ctx.dataDir);
    try {
      const m = await holdAndMeasure(gh.child, kind, paths[kind](gh.url), n, {
        key: ctx.key,
        init: true,
      });
      idles.push(m.idle);
      gatehouse.perConnection[kind] = m.perConnection;
    } finally {
      await gh.child.stop();
    }
  }
  gatehouse.idleRssBytes = median(idles);

  const ceiling: MemoryFigures = { idleRssBytes: 0, perConnection: {} };
  const cIdles: number[] = [];
  for (const kind of ["http-get", "ws"] as const) {
    progress(`memory: ${n} idle ${kind} connections to the bare server...`);
    const c = await startScript("ceiling", "bench_ceiling.ts", ["--upstream", ctx.upstream]);
    try {
      // The bare server has no sessions, so nothing to initialize.
      const m = await holdAndMeasure(c.child, kind, paths[kind](c.url), n, { init: false });
      cIdles.push(m.idle);
      ceiling.perConnection[kind] = m.perConnection;
    } finally {
      await c.child.stop();
    }
  }
  ceiling.idleRssBytes = median(cIdles);
  // The bare server's SSE stream is the same GET stream as its Streamable HTTP one.
  ceiling.perConnection.sse = ceiling.perConnection["http-get"];

  progress(`memory: ${n} idle Streamable HTTP sessions with GET streams to the SDK...`);
  const sdk: MemoryFigures = { idleRssBytes: 0, perConnection: {} };
  const sdkServer = await startScript("sdk-stateful", "bench_sdk.ts", [
    "--upstream",
    ctx.upstream,
    "--mode",
    "stateful",
  ]);
  try {
    // Sessions need the initialize handshake; the SDK reference has no auth, so no key.
    const m = await holdAndMeasure(
      sdkServer.child,
      "http-get",
      paths["http-get"](sdkServer.url),
      n,
      { init: true },
    );
    sdk.idleRssBytes = m.idle;
    sdk.perConnection["http-get"] = m.perConnection;
  } finally {
    await sdkServer.child.stop();
  }
  return { gatehouse, ceiling, sdk };
}

// ---------------------------------------------------------------- scale

/** Gatehouse among many idle sessions, and under many connections. */
interface ScaleFigures {
  /** Idle Streamable HTTP sessions (initialized, GET stream open) held open. */
  sessions: number;
  /** RSS growth per idle session, in bytes. */
  perSessionBytes: number;
  /** tools/list in a session of its own while the idle ones are held (the list-session load). */
  listAmongIdle: Measured;
  /** tools/list · stateless HTTP POST at `connections` connections, Gatehouse and the ceiling. */
  wide: { connections: number; gatehouse: Measured; ceiling: Measured };
}

async function scale(
  s: Settings,
  ctx: { dataDir: string; upstream: string; key: string; tmp: string; useWrk: boolean },
): Promise<ScaleFigures> {
  const n = s.scaleSessions;
  const gw = (url: string): GatewayTarget => ({ url, path: GATEWAY_PATH, key: ctx.key });
  const refs = { ceiling: "", sdk: "", sdkStateful: "" };
  const listSession = SCENARIOS.find((x) => x.id === "list-session")!;
  const listHttp = SCENARIOS.find((x) => x.id === "list-http")!;
  progress(`scale: ${int(n)} idle Streamable HTTP sessions, then tools/list among them...`);
  // The default allows 5,000 sessions per key: all of these share the bench's one key.
  const limits = {
    GATEHOUSE_MAX_SESSIONS_PER_KEY: String(2 * n),
    GATEHOUSE_MAX_SESSIONS_PER_GATEWAY: String(2 * n),
  };
  const gh = await startGatehouse(ctx.dataDir, { env: limits });
  let listAmongIdle: Measured | undefined;
  let perSessionBytes: number;
  try {
    const m = await holdAndMeasure(gh.child, "http-get", gh.url + GATEWAY_PATH, n, {
      key: ctx.key,
      init: true,
    }, async () => {
      const load = await loadFor(listSession, "gatehouse", gw(gh.url), refs);
      await check("scale: tools/list among idle sessions", "tools/list", load);
      listAmongIdle = await measure(load, s, ctx.useWrk, ctx.tmp, gh.child);
    });
    perSessionBytes = m.perConnection;
  } finally {
    await gh.child.stop();
  }

  const c = s.wideConnections;
  progress(`scale: tools/list · stateless HTTP POST at ${c} connections...`);
  const wideSettings = { ...s, connections: c };
  const wideGh = await startGatehouse(ctx.dataDir);
  const ceiling = await startScript("ceiling", "bench_ceiling.ts", ["--upstream", ctx.upstream]);
  try {
    const ghLoad = await loadFor(listHttp, "gatehouse", gw(wideGh.url), refs);
    const cLoad = await loadFor(listHttp, "ceiling", gw(wideGh.url), {
      ...refs,
      ceiling: ceiling.url,
    });
    await check("scale: wide tools/list", "tools/list", ghLoad);
    const [gatehouse, bare] = await measureInTurns(
      [{ load: ghLoad, server: wideGh.child }, { load: cLoad, server: ceiling.child }],
      wideSettings,
      ctx.useWrk,
      ctx.tmp,
    );
    return {
      sessions: n,
      perSessionBytes,
      listAmongIdle: listAmongIdle!,
      wide: { connections: c, gatehouse, ceiling: bare },
    };
  } finally {
    await Promise.all([wideGh.child.stop(), ceiling.child.stop()]);
  }
}

/** Gatehouse's RSS with idle sessions that have each made one federated call. */
interface FederatedMemory {
  /** RSS right after start-up, the upstreams connected and one checked call, in bytes. */
  idleRssBytes: number;
  /** RSS growth per held session, in bytes. */
  perSessionBytes: number;
  /**
   * Sessions the upstream held for Gatehouse beyond those it held before:
   * one per downstream session when Gatehouse keeps an upstream session for
   * each (up to its cap per server), 0 when they all share its connection,
   * and always 0 for the stateless upstream.
   */
  upstreamSessions: number;
}

/**
 * For each upstream mode: `n` idle Streamable HTTP sessions with GET streams
 * to the federated gateway, each after one federated `tools/call`, held
 * while Gatehouse's RSS is read.
 */
async function federatedMemory(
  n: number,
  fed: Federation,
): Promise<{ sessions: number } & Record<UpstreamMode, FederatedMemory>> {
  const out = { sessions: n } as { sessions: number } & Record<UpstreamMode, FederatedMemory>;
  for (const mode of UPSTREAM_MODES) {
    progress(`memory: ${n} idle sessions after one federated call each (${mode} upstream)...`);
    const gw = fed.gateways[mode];
    const gh = await startFederated(fed);
    try {
      // Fails the run before the sessions are opened, and takes the first call's one-off costs. It
      // goes to the stateless gateway, so the stateful upstream holds no session for it.
      const checked = fed.gateways.stateless;
      const checkUrl = gh.url + checked.path;
      const load: Load = {
        kind: "http",
        url: checkUrl,
        headers: await openSession(checkUrl, { authorization: `Bearer ${checked.key}` }),
        body: FED_CALL_BODY,
      };
      await check(`federated memory (${mode})`, "tools/call", load);
      const held = async () =>
        (await (await fetch(`${gw.upstream}/stats`)).json()).sessions as number;
      const before = await held();
      let upstreamSessions = 0;
      const m = await holdAndMeasure(
        gh.child,
        "http-get",
        gh.url + gw.path,
        n,
        { key: gw.key, init: true, call: FED_CALL_BODY },
        async () => void (upstreamSessions = await held() - before),
      );
      out[mode] = { idleRssBytes: m.idle, perSessionBytes: m.perConnection, upstreamSessions };
    } finally {
      await gh.child.stop();
    }
  }
  return out;
}

// ---------------------------------------------------------------- start-up

/** Start-up times, in ms (medians of the runs). */
interface Startup {
  tools: number;
  gateways: number;
  gatehouse: {
    healthzMs: number;
    toolsListMs: number;
    runs: { healthzMs: number; toolsListMs: number }[];
  };
  ceiling: { healthzMs: number; runs: number[] };
}

async function startup(s: Settings, ctx: { upstream: string; tmp: string }): Promise<Startup> {
  const dataDir = await Deno.makeTempDir({ dir: ctx.tmp, prefix: "startup-" });
  progress(
    `start-up: preparing a database with ${s.startupTools} tools and ${s.startupGateways} gateways...`,
  );
  const prep = await startGatehouse(dataDir);
  let key: string;
  try {
    key = await seed(prep.url, ctx.upstream, s.startupTools, s.startupGateways);
  } finally {
    await prep.child.stop();
  }
  // The first gateway holds startupTools / startupGateways tools; its list is the one timed.
  const expected = Math.ceil(s.startupTools / s.startupGateways);
  const runs: { healthzMs: number; toolsListMs: number }[] = [];
  // One start unmeasured: Deno's module cache and the OS page cache are warm for every measured one.
  for (let i = -1; i < s.startupRuns; i++) {
    const gh = await startGatehouse(dataDir, { pollMs: 2 });
    try {
      const res = await fetch(gh.url + GATEWAY_PATH, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: LIST_BODY,
      });
      const text = await res.text();
      const listedAt = performance.now() - gh.startedAt;
      const count = JSON.parse(text).result?.tools?.length;
      if (res.status !== 200 || count !== expected) {
        throw new Error(`start-up tools/list: ${res.status} ${text.slice(0, 300)}`);
      }
      if (i >= 0) runs.push({ healthzMs: gh.healthyAfterMs, toolsListMs: listedAt });
    } finally {
      await gh.child.stop();
    }
  }
  const bare: number[] = [];
  for (let i = -1; i < s.startupRuns; i++) {
    const port = freePort();
    const t0 = performance.now();
    const child = spawn("bare", denoScript("bench_upstream.ts", ["--port", String(port)]));
    try {
      const ms = await waitHealthy(child, `http://127.0.0.1:${port}/healthz`, t0, 2);
      if (i >= 0) bare.push(ms);
    } finally {
      await child.stop();
    }
  }
  return {
    tools: s.startupTools,
    gateways: s.startupGateways,
    gatehouse: {
      healthzMs: median(runs.map((r) => r.healthzMs)),
      toolsListMs: median(runs.map((r) => r.toolsListMs)),
      runs,
    },
    ceiling: { healthzMs: median(bare), runs: bare },
  };
}

// ---------------------------------------------------------------- report

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function progress(msg: string): void {
  console.error(`bench: ${msg}`);
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const pct = (a: number, b: number) =>
  Number.isFinite(a / b) && b > 0 ? `${Math.round((a / b) * 100)}%` : "–";
/**
 * The requests/s lost going from `off` to `on` (negative: none lost, within noise), with the
 * server CPU time per request that the two spent.
 */
const cost = (on: Run, off: Run) =>
  Number.isFinite(on.rps / off.rps) && off.rps > 0
    ? `${Math.round((1 - on.rps / off.rps) * 100)}% (${int(off.rps)}/s ${TWIN ? "twin" : "off"}; ${
      int(on.serverCpuUsPerRequest)
    } vs ${int(off.serverCpuUsPerRequest)} µs)`
    : "–";
/** A throughput cell: requests/s · p50 / p99 latency · server CPU time per request. */
const cellOf = (x: Measured) =>
  `${int(x.rps)}/s · ${ms(x.p50Ms)} / ${ms(x.p99Ms)} ms · ${int(x.serverCpuUsPerRequest)} µs`;
/** The failed requests of `xs`, added up. */
const errorsOf = (...xs: (Measured | undefined)[]) =>
  String(xs.reduce(
    (n, x) => n + (x ? x.errors.socket + x.errors.status + x.errors.invalid : 0),
    0,
  ));
const times = (a: number, b: number) =>
  Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(1)}×` : "–";

/** Everything a run produced (the JSON file). */
export interface BenchReport {
  ok: boolean;
  startedAt: string;
  elapsedSeconds: number;
  /** Wall time of each section, in seconds. */
  sectionSeconds: Record<string, number>;
  machine: Machine;
  settings: Omit<Settings, "outDir">;
  throughput: Run[];
  /**
   * Gatehouse's requests/s over each reference's, and the same for server CPU
   * efficiency (reference CPU per request over Gatehouse's), which shared
   * cores disturb less.
   */
  ratios: {
    scenario: string;
    vsCeiling?: number;
    vsSdk?: number;
    /** Requests/s with the request log and metrics on, over with them off. */
    vsUnobserved?: number;
    /** Requests/s with the store in PostgreSQL, over with it in SQLite. */
    postgresVsSqlite?: number;
    cpuVsCeiling?: number;
    cpuVsSdk?: number;
  }[];
  memory?: Awaited<ReturnType<typeof memory>>;
  scale?: ScaleFigures;
  federatedMemory?: Awaited<ReturnType<typeof federatedMemory>>;
  startup?: Startup;
  failures: string[];
}

function table(r: BenchReport): string {
  const rows: string[][] = [];
  const head = [
    "scenario",
    "Gatehouse",
    "ceiling",
    "MCP SDK",
    "Gatehouse / ceiling",
    "Gatehouse / SDK",
    r.settings.twinMain ? `Gatehouse vs twin (${r.settings.twinMain})` : "log + metrics cost",
    "errors",
  ];
  for (const sc of SCENARIOS) {
    const of = (t: Target) => r.throughput.find((x) => x.scenario === sc.id && x.target === t);
    const g = of("gatehouse");
    if (!g) continue;
    const c = of("ceiling");
    const k = of("sdk");
    const u = of("unobserved");
    const p = of("postgres");
    const cell = (x?: Run) => x ? cellOf(x) : "–";
    rows.push([
      sc.label,
      cell(g),
      cell(c),
      cell(k),
      c ? pct(g.rps, c.rps) : "–",
      k ? pct(g.rps, k.rps) : "–",
      u ? cost(g, u) : "–",
      errorsOf(g, u, c, k),
    ]);
    if (p) {
      rows.push([
        `${sc.label} (PostgreSQL)`,
        cell(p),
        cell(c),
        cell(k),
        c ? pct(p.rps, c.rps) : "–",
        k ? pct(p.rps, k.rps) : "–",
        "–",
        errorsOf(p),
      ]);
    }
  }
  const m = r.memory;
  if (m) {
    rows.push([
      "memory · idle RSS",
      mib(m.gatehouse.idleRssBytes),
      mib(m.ceiling.idleRssBytes),
      mib(m.sdk.idleRssBytes),
      times(m.gatehouse.idleRssBytes, m.ceiling.idleRssBytes),
      times(m.gatehouse.idleRssBytes, m.sdk.idleRssBytes),
      "–",
      "–",
    ]);
  }
  const n = int(r.settings.idleConnections);
  const kinds: [HoldKind, string][] = [
    ["http-get", `memory · per idle Streamable HTTP session + GET stream (${n} open)`],
    ["sse", `memory · per idle SSE session (${n} open)`],
    ["ws", `memory · per idle WebSocket session (${n} open)`],
  ];
  for (const [kind, label] of kinds) {
    if (m) {
      const g = m.gatehouse.perConnection[kind];
      const c = m.ceiling.perConnection[kind];
      const k = m.sdk.perConnection[kind];
      rows.push([
        label,
        g === undefined ? "–" : kib(g),
        c === undefined ? "–" : kib(c),
        k === undefined ? "–" : kib(k),
        g !== undefined && c !== undefined ? times(g, c) : "–",
        g !== undefined && k !== undefined ? times(g, k) : "–",
        "–",
        "–",
      ]);
    }
    // The federated sessions are Streamable HTTP sessions with GET streams too: their row follows.
    const f = r.federatedMemory;
    if (kind === "http-get" && f) {
      for (const mode of UPSTREAM_MODES) {
        const upstream = `${mode} upstream holding ${int(f[mode].upstreamSessions)} sessions`;
        rows.push([
          `memory · per idle Streamable HTTP session + GET stream after one federated call (${
            int(f.sessions)
          } open; ${upstream})`,
          kib(f[mode].perSessionBytes),
          "–",
          "–",
          "–",
          "–",
          "–",
          "–",
        ]);
      }
    }
  }
  const sc = r.scale;
  if (sc) {
    rows.push([
      `scale · per idle Streamable HTTP session + GET stream (${int(sc.sessions)} open)`,
      kib(sc.perSessionBytes),
      "–",
      "–",
      "–",
      "–",
      "–",
      "–",
    ]);
    const among = sc.listAmongIdle;
    rows.push([
      `scale · tools/list · Streamable HTTP session among ${int(sc.sessions)} idle ones`,
      cellOf(among),
      "–",
      "–",
      "–",
      "–",
      "–",
      errorsOf(among),
    ]);
    const w = sc.wide;
    rows.push([
      `scale · tools/list · stateless HTTP POST at ${int(w.connections)} connections`,
      cellOf(w.gatehouse),
      cellOf(w.ceiling),
      "–",
      pct(w.gatehouse.rps, w.ceiling.rps),
      "–",
      "–",
      errorsOf(w.gatehouse, w.ceiling),
    ]);
  }
  const st = r.startup;
  if (st) {
    rows.push([
      `start-up · process start to first /healthz (${int(st.tools)} tools, ${
        int(st.gateways)
      } gateways)`,
      `${ms(st.gatehouse.healthzMs)} ms`,
      `${ms(st.ceiling.healthzMs)} ms`,
      "–",
      times(st.gatehouse.healthzMs, st.ceiling.healthzMs),
      "–",
      "–",
      "–",
    ]);
    rows.push([
      "start-up · process start to first tools/list",
      `${ms(st.gatehouse.toolsListMs)} ms`,
      "–",
      "–",
      "–",
      "–",
      "–",
      "–",
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function header(r: BenchReport): string {
  const mc = r.machine;
  const s = r.settings;
  return [
    `Machine: ${mc.cpu}, ${mc.cores} cores, ${
      (mc.memoryBytes / 1024 ** 3).toFixed(1)
    } GiB RAM, ${mc.os}; Deno ${mc.deno} (V8 ${mc.v8})`,
    `Load: ${mc.loadgen} for HTTP (${s.threads} thread${
      s.threads > 1 ? "s" : ""
    }), scripts/bench_load.ts for WebSocket; ${s.connections} connections, one request outstanding on each; ${s.warmup} s warm-up + ${s.duration} s measured per cell; ${r.startedAt}`,
    "Cells: requests/s · p50 / p99 latency · server CPU time per request. Ratios: requests/s (higher is better), or memory and time (lower is better).",
  ].join("\n");
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const s = loadSettings(Deno.args);
  MAIN = s.gatehouseMain;
  TWIN = s.twinMain;
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const wanted = (id: string) =>
    s.only.length === 0 || s.only.includes(id) || s.only.includes("throughput");
  const wantSection = (name: string) =>
    s.only.length === 0 || s.only.includes(name) ||
    (name === "throughput" && SCENARIOS.some((x) => s.only.includes(x.id))) ||
    (name === "federated-memory" && s.only.includes("memory"));
  const wantThroughput = wantSection("throughput");
  const wantFederation = wantSection("federated-memory") ||
    (wantThroughput && SCENARIOS.some((x) => x.federated && wanted(x.id)));

  const useWrk = s.loadgen !== "deno" && await ensureWrk();
  if (s.loadgen === "wrk" && !useWrk) throw new Error("wrk was asked for but cannot be installed");
  const loadgen = useWrk ? await wrkVersion() : "scripts/bench_load.ts";
  const tmp = await Deno.makeTempDir({ prefix: "gatehouse-bench-" });
  const stamp = startedAt.replace(/[:.]/g, "-");
  const profileDir = `${s.outDir}/profiles/${stamp}`;
  const { outDir: _, ...settings } = s;
  const report: BenchReport = {
    ok: false,
    startedAt,
    elapsedSeconds: 0,
    sectionSeconds: {},
    machine: machine(loadgen),
    settings,
    throughput: [],
    ratios: [],
    failures: [],
  };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      report.sectionSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
    }
  };
  try {
    const upstream = await startScript("upstream", "bench_upstream.ts", []);
    // The upstream MCP servers run for the whole run: Gatehouse reconnects to them at every start.
    const mcpUpstreams = wantFederation
      ? await Promise.all(
        UPSTREAM_MODES.map((mode) =>
          startScript(`mcp-upstream-${mode}`, "bench_mcp_upstream.ts", ["--mode", mode])
        ),
      )
      : [];
    try {
      let fed: Federation | undefined;
      if (wantFederation) {
        progress("seeding the federated gateways...");
        const [stateless, stateful] = mcpUpstreams.map((u) => u.url);
        fed = await seedFederation(`${tmp}/federated`, { stateless, stateful });
      }
      const dataDir = `${tmp}/data`;
      if (wantThroughput || wantSection("memory") || wantSection("scale")) {
        progress(`seeding a gateway with ${TOOL_COUNT} tools...`);
        const gh = await startGatehouse(dataDir);
        let key: string;
        try {
          key = await seed(gh.url, upstream.url, TOOL_COUNT, 1);
        } finally {
          await gh.child.stop();
        }
        let pg: PostgresGatehouse | undefined;
        if (wantThroughput && s.store === "both") {
          if (postgresInstalled()) {
            progress(`seeding the same gateway with the store in PostgreSQL...`);
            pg = await seedPostgres(`${tmp}/postgres`, upstream.url);
          } else {
            progress(
              "PostgreSQL is not installed (apt-get install postgresql): no PostgreSQL rows",
            );
          }
        }
        const ctx = { dataDir, upstream: upstream.url, key, tmp, useWrk, profileDir, fed, pg };
        if (wantThroughput) {
          report.throughput = await timed("throughput", () => throughput(s, wanted, ctx));
        }
        if (wantSection("memory")) report.memory = await timed("memory", () => memory(s, ctx));
        if (wantSection("scale")) report.scale = await timed("scale", () => scale(s, ctx));
      }
      if (fed && wantSection("federated-memory")) {
        const f = fed;
        report.federatedMemory = await timed(
          "federated-memory",
          () => federatedMemory(s.federatedSessions, f),
        );
      }
      if (wantSection("startup")) {
        report.startup = await timed("startup", () => startup(s, { upstream: upstream.url, tmp }));
      }
    } finally {
      await Promise.all([upstream, ...mcpUpstreams].map((u) => u.child.stop()));
    }
  } finally {
    await Promise.all([...children].map((c) => c.kill()));
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }

  for (const sc of SCENARIOS) {
    const of = (t: Target) => report.throughput.find((x) => x.scenario === sc.id && x.target === t);
    const g = of("gatehouse");
    if (!g) continue;
    const c = of("ceiling");
    const k = of("sdk");
    const u = of("unobserved");
    const p = of("postgres");
    report.ratios.push({
      scenario: sc.id,
      vsCeiling: c ? g.rps / c.rps : undefined,
      vsSdk: k ? g.rps / k.rps : undefined,
      vsUnobserved: u ? g.rps / u.rps : undefined,
      postgresVsSqlite: p ? p.rps / g.rps : undefined,
      cpuVsCeiling: c ? c.serverCpuUsPerRequest / g.serverCpuUsPerRequest : undefined,
      cpuVsSdk: k ? k.serverCpuUsPerRequest / g.serverCpuUsPerRequest : undefined,
    });
  }
  const scaled = report.scale;
  const runs: [string, Measured][] = [
    ...report.throughput.map((r): [string, Measured] => [`${r.scenario} against ${r.target}`, r]),
    ...(scaled
      ? [
        ["scale: tools/list among idle sessions", scaled.listAmongIdle],
        [`scale: tools/list at ${scaled.wide.connections} connections`, scaled.wide.gatehouse],
        [`scale: the ceiling at ${scaled.wide.connections} connections`, scaled.wide.ceiling],
      ] as [string, Measured][]
      : []),
  ];
  for (const [label, r] of runs) {
    const e = r.errors;
    if (e.socket + e.status + e.invalid > 0) {
      report.failures.push(
        `${label}: ${e.socket} socket, ${e.status} non-2xx, ${e.invalid} wrong answers`,
      );
    }
    if (r.requests === 0) report.failures.push(`${label}: no request completed`);
  }
  report.ok = report.failures.length === 0;
  report.elapsedSeconds = Math.round((performance.now() - t0) / 100) / 10;

  await Deno.mkdir(s.outDir, { recursive: true });
  const json = JSON.stringify(report, null, 2) + "\n";
  const file = `${s.outDir}/${stamp}.json`;
  await Deno.writeTextFile(file, json);
  // latest.json is what the README quotes: only a clean run may replace it.
  if (report.ok) await Deno.writeTextFile(`${s.outDir}/latest.json`, json);

  console.log(header(report));
  console.log();
  console.log(table(report));
  console.log();
  console.log(
    `Results: ${file}${
      report.ok ? ` (and ${s.outDir}/latest.json)` : ""
    }; ${report.elapsedSeconds} s`,
  );
  if (s.profile) {
    console.log(
      `CPU profiles: ${profileDir}/<scenario>/ (read with deno run -A scripts/bench_profile.ts <file>)`,
    );
  }
  if (!report.ok) {
    console.error(`\nbench FAILED: requests failed, so the figures above are not valid:`);
    for (const f of report.failures) console.error(`  - ${f}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(`bench FAILED: ${err instanceof Error ? err.message : err}`);
  }
  Deno.exit(code);
}
