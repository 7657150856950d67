/**
 * Shared set-up for the MCP tests: gateways with tools, auth and keys made
 * through the management API, a test executor whose behaviour each tool
 * picks, raw JSON-RPC-over-HTTP calls, and connected MCP SDK clients.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Config, loadConfig, type McpSettings } from "../../src/config.ts";
import type { Tool } from "../../src/store/tools.ts";
import type { ExecutionContext, LogLevel, ToolExecutor } from "../../src/tools/executor.ts";
import { apiCall, type ApiResponse, keyIn, startTestServer, type TestServer } from "./server.ts";

/**
 * A JSON value as tests read it. Loosely typed on purpose: the assertions,
 * not the compiler, check response shapes here.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;

// ---------------------------------------------------------------------------
// Test executor

/**
 * What a test tool does when called; the executor reads it from the last
 * path segment of the tool's `executionConfig.url` (`https://tool.test/echo`).
 *
 * - `echo`: returns the arguments as text and as `structuredContent`.
 * - `chatty`: reports progress 1..3 of 3 and logs one message at each of
 *   debug, info, warning and error, then returns `done`.
 * - `wait`: blocks until its signal aborts, then rejects with the reason.
 * - `boom`: throws (a fault in the server: JSON-RPC internal error).
 */
export type Behaviour = "echo" | "chatty" | "wait" | "boom";

/** One call the test executor saw. */
export interface SeenCall {
  tool: string;
  args: Record<string, unknown>;
  signal: AbortSignal;
}

/** A {@link ToolExecutor} for tools of type `http` that never leaves the process. */
export class TestExecutor implements ToolExecutor {
  /** Every call, in order of arrival. */
  readonly calls: SeenCall[] = [];
  /** Reasons of the aborts `wait` calls saw, in order. */
  readonly aborts: unknown[] = [];
  #waiters: { when: () => boolean; resolve: () => void }[] = [];

  /** Resolves once `when()` holds (checked after every call start and abort). */
  until(when: () => boolean, timeoutMs = 5000): Promise<void> {
    if (when()) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(
      () => reject(new Error("TestExecutor.until timed out")),
      timeoutMs,
    );
    this.#waiters.push({
      when,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
    });
    return promise;
  }

  #poke(): void {
    for (const w of [...this.#waiters]) {
      if (w.when()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Runs `tool` by its behaviour. */
  async execute(tool: Tool, args: Record<string, unknown>, ctx: ExecutionContext) {
    this.calls.push({ tool: tool.name, args, signal: ctx.signal });
    this.#poke();
    const behaviour = String(tool.executionConfig.url).split("/").pop() as Behaviour;
    switch (behaviour) {
      case "echo":
        return {
          content: [{ type: "text", text: JSON.stringify(args) }],
          structuredContent: { echoed: args },
        };
      case "chatty": {
        for (const level of ["debug", "info", "warning", "error"] as LogLevel[]) {
          ctx.log(level, { said: level });
        }
        for (let i = 1; i <= 3; i++) {
          ctx.progress(i, 3, `step ${i}`);
          // A regression (or repeat) is not progress; the core must drop it.
          ctx.progress(i - 0.5, 3);
          await new Promise((r) => setTimeout(r, 5));
        }
        return { content: [{ type: "text", text: "done" }] };
      }
      case "wait": {
        const { promise, reject } = Promise.withResolvers<never>();
        const onAbort = () => {
          this.aborts.push(ctx.signal.reason);
          this.#poke();
          reject(ctx.signal.reason ?? new Error("aborted"));
        };
        if (ctx.signal.aborted) onAbort();
        else ctx.signal.addEventListener("abort", onAbort, { once: true });
        return await promise;
      }
      case "boom":
        throw new Error("the test executor blew up");
      default:
        throw new Error(`unknown test behaviour '${behaviour}'`);
    }
  }
}

// ---------------------------------------------------------------------------
// Servers and gateways

/** The default MCP settings with `partial` over them (config overrides replace `mcp` whole). */
export function mcpSettings(partial: Partial<McpSettings> = {}): McpSettings {
  return { ...loadConfig([], () => undefined).mcp, ...partial };
}

/** A server with a {@link TestExecutor} for `http` tools. */
export interface McpTestServer extends TestServer {
  executor: TestExecutor;
}

/** Starts a server whose `http` tools run on a fresh {@link TestExecutor}. */
export async function startMcpServer(
  mcp: Partial<McpSettings> = {},
  overrides: Partial<Config> = {},
): Promise<McpTestServer> {
  const executor = new TestExecutor();
  const s = await startTestServer(
    { mcp: mcpSettings(mcp), ...overrides },
    new Map([["http", executor]]),
  );
  return Object.assign(s, { executor });
}

/** Runs `fn` against a fresh MCP test server and always closes it. */
export async function withMcpServer(
  fn: (s: McpTestServer) => Promise<void>,
  mcp: Partial<McpSettings> = {},
  overrides: Partial<Config> = {},
): Promise<void> {
  const s = await startMcpServer(mcp, overrides);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** A tool the helper creates: a name, a behaviour and optional MCP fields. */
export interface ToolSpec {
  name: string;
  behaviour?: Behaviour;
  description?: string;
  title?: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** The input schema of tools that take `text` (required) and `count` (integer, 0..10). */
export const ECHO_SCHEMA = {
  type: "object",
  properties: {
    text: { type: "string", description: "What to echo" },
    count: { type: "integer", minimum: 0, maximum: 10 },
  },
  required: ["text"],
  additionalProperties: false,
};

/** The API body of `spec`. */
export function toolBody(spec: ToolSpec): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: spec.name,
    description: spec.description ?? `Test tool ${spec.name}`,
    inputSchema: spec.inputSchema ?? { type: "object", properties: {} },
    type: "http",
    executionConfig: { method: "POST", url: `https://tool.test/${spec.behaviour ?? "echo"}` },
  };
  if (spec.title !== undefined) body.title = spec.title;
  if (spec.outputSchema !== undefined) body.outputSchema = spec.outputSchema;
  if (spec.annotations !== undefined) body.annotations = spec.annotations;
  return body;
}

/** A management API caller: `(method, path, body?)`, optionally acting in another org. */
export type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

/** The admin's API caller acting in org `slug`, with a key issued there (see {@link keyIn}). */
export function apiIn(s: TestServer, slug: string): Api {
  return async (method, path, body) =>
    apiCall(s.url, await keyIn(s, slug), method, path, body, { "x-organization": slug });
}

/** Asserts `res` has `status`, showing the body otherwise, and returns its body. */
export function ok(res: ApiResponse, status = 200): Json {
  assert.equal(
    res.status,
    status,
    `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`,
  );
  return res.body;
}

/** Creates a tool from `spec`; returns its id. */
export async function createTool(api: Api, spec: ToolSpec): Promise<string> {
  return ok(await api("POST", "/tools", toolBody(spec)), 201).id;
}

/** What {@link createGateway} made. */
export interface McpGateway {
  id: string;
  orgSlug: string;
  endpoint: string;
  /** The gateway's Streamable HTTP URL. */
  url: string;
  /** A gateway key with every scope (undefined when `auth` is not `api_key`). */
  key: string;
  keyId: string;
  /** Tool ids by name. */
  toolIds: Record<string, string>;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Defaults to a random `/gw-xxxxxxxx`. */
  endpoint?: string;
  /** Tools to create and assign (specs) or assign (ids). */
  tools?: (ToolSpec | { id: string; name: string })[];
  /** Auth method to add; `null` adds none (default deny). Defaults to `api_key`. */
  auth?: "api_key" | "none" | null;
  /** Org to create it in (default `default`). */
  orgSlug?: string;
  /** The gateway's description (MCP `instructions`). */
  description?: string;
}

/**
 * Creates a gateway with `tools` assigned, an auth method and (for `api_key`)
 * a gateway key with every scope.
 */
export async function createGateway(
  s: TestServer,
  opts: GatewayOptions = {},
): Promise<McpGateway> {
  const orgSlug = opts.orgSlug ?? "default";
  const api = apiIn(s, orgSlug);
  const endpoint = opts.endpoint ?? `/gw-${crypto.randomUUID().slice(0, 8)}`;
  const gw = ok(
    await api("POST", "/gateways", {
      name: `Gateway ${endpoint}`,
      type: "mcp",
      endpoint,
      configuration: { transport: "http" },
      ...(opts.description === undefined ? {} : { description: opts.description }),
    }),
    201,
  );
  const toolIds: Record<string, string> = {};
  for (const t of opts.tools ?? []) {
    toolIds[t.name] = "id" in t ? t.id : await createTool(api, t as ToolSpec);
  }
  const ids = Object.values(toolIds);
  if (ids.length > 0) ok(await api("POST", `/gateways/${gw.id}/tools`, { toolIds: ids }), 201);
  const auth = opts.auth === undefined ? "api_key" : opts.auth;
  if (auth !== null) ok(await api("POST", `/gateways/${gw.id}/auth`, { type: auth }), 201);
  let key = "", keyId = "";
  if (auth === "api_key") {
    const k = ok(await api("POST", `/gateways/${gw.id}/keys`, { name: "test" }), 201);
    key = k.key;
    keyId = k.id;
  }
  return {
    id: gw.id,
    orgSlug,
    endpoint,
    url: `${s.url}/mcp/${orgSlug}${endpoint}`,
    key,
    keyId,
    toolIds,
  };
}

/** Issues another key for `gw` with `scopes`; returns the raw key. */
export async function issueKey(
  s: TestServer,
  gw: McpGateway,
  scopes?: string[],
): Promise<{ key: string; id: string }> {
  const body = ok(
    await apiIn(s, gw.orgSlug)("POST", `/gateways/${gw.id}/keys`, {
      name: "extra",
      ...(scopes ? { scopes } : {}),
    }),
    201,
  );
  return { key: body.key, id: body.id };
}

/** The standard tool set of the SDK tests: one of each behaviour. */
export const STANDARD_TOOLS: ToolSpec[] = [
  {
    name: "echo",
    title: "Echo",
    description: "Echoes its arguments",
    inputSchema: ECHO_SCHEMA,
    outputSchema: {
      type: "object",
      properties: { echoed: { type: "object" } },
      required: ["echoed"],
    },
    annotations: { readOnlyHint: true, idempotentHint: true },
  },
  { name: "chatty", behaviour: "chatty", description: "Reports progress and logs" },
  { name: "wait", behaviour: "wait", description: "Runs until cancelled" },
  { name: "boom", behaviour: "boom", description: "Fails inside the server" },
];

// ---------------------------------------------------------------------------
// Raw JSON-RPC over HTTP

/** The MCP `Accept` header clients send. */
export const MCP_ACCEPT = "application/json, text/event-stream";

/** Options of {@link rpc}. */
export interface RpcOptions {
  /** Sent as `Authorization: Bearer` (omit for none). */
  key?: string;
  session?: string;
  /** `MCP-Protocol-Version` header. */
  version?: string;
  /** `Accept` header; default {@link MCP_ACCEPT}; `null` sends none. */
  accept?: string | null;
  method?: string;
  headers?: Record<string, string>;
  client?: Deno.HttpClient;
  /** Ends the request early (the client hangs up). */
  signal?: AbortSignal;
}

/** A read HTTP answer: JSON body (or SSE messages), status and headers. */
export interface RpcAnswer {
  status: number;
  headers: Headers;
  /** The JSON body; for SSE, the last message; undefined when empty. */
  body: Json;
  /** For SSE answers, every `data:` message in order. */
  messages: Json[];
  text: string;
}

/** How long {@link rpc} and {@link send} wait for a whole answer. */
export const ANSWER_TIMEOUT_MS = 10_000;

/** Parses SSE text into the JSON of its non-empty `data:` events. */
export function sseMessages(text: string): Json[] {
  const out: Json[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) =>
      l.slice(5).replace(/^ /, "")
    ).join("\n");
    if (data !== "") out.push(JSON.parse(data));
  }
  return out;
}

/** Reads a whole response (JSON, SSE or empty). */
export async function readAnswer(res: Response): Promise<RpcAnswer> {
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  let body: Json, messages: Json[] = [];
  if (type.startsWith("text/event-stream")) {
    messages = sseMessages(text);
    body = messages[messages.length - 1];
  } else if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body, messages, text };
}

/** POSTs `body` (a value, or a raw string sent as is) to an MCP URL and reads the answer. */
export async function rpc(url: string, body: unknown, opts: RpcOptions = {}): Promise<RpcAnswer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const accept = opts.accept === undefined ? MCP_ACCEPT : opts.accept;
  if (accept !== null) headers.accept = accept;
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.session) headers["mcp-session-id"] = opts.session;
  if (opts.version) headers["mcp-protocol-version"] = opts.version;
  Object.assign(headers, opts.headers);
  const res = await fetch(url, {
    method: opts.method ?? "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
    client: opts.client,
    // An answer that never ends (a stream where none belongs) fails the test instead of hanging it.
    signal: opts.signal
      ? AbortSignal.any([opts.signal, AbortSignal.timeout(ANSWER_TIMEOUT_MS)])
      : AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return await readAnswer(res);
}

/** Sends any HTTP request to an MCP URL and reads the answer. */
export async function send(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: string,
  client?: Deno.HttpClient,
): Promise<RpcAnswer> {
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  return await readAnswer(await fetch(url, { method, headers, body, client, signal }));
}

/** An `initialize` request for `version`. */
export function initializeRequest(version = "2025-11-25", id: number | string = 0) {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion: version,
      capabilities: {},
      clientInfo: { name: "gatehouse-tests", version: "1.0.0" },
    },
  };
}

/** A session opened with raw HTTP: its id and version. */
export interface RawSession {
  id: string;
  version: string;
  /** POSTs `body` in this session (with the session and version headers). */
  rpc(body: unknown, opts?: RpcOptions): Promise<RpcAnswer>;
}

/** Initializes a session at `version` with raw HTTP and sends `notifications/initialized`. */
export async function openSession(
  url: string,
  key: string,
  version = "2025-11-25",
): Promise<RawSession> {
  const init = await rpc(url, initializeRequest(version), { key });
  assert.equal(init.status, 200, init.text);
  const id = init.headers.get("mcp-session-id");
  assert.ok(id, "initialize must issue Mcp-Session-Id");
  const negotiated = init.body.result.protocolVersion as string;
  const opts = (o: RpcOptions = {}): RpcOptions => ({
    key,
    session: id,
    // The header exists from 2025-06-18 on; older clients do not send it.
    version: negotiated >= "2025-06-18" ? negotiated : undefined,
    ...o,
  });
  const done = await rpc(url, { jsonrpc: "2.0", method: "notifications/initialized" }, opts());
  assert.equal(done.status, 202, done.text);
  return { id, version: negotiated, rpc: (body, o) => rpc(url, body, opts(o)) };
}

/** A JSON-RPC request object. */
export function req(id: number | string, method: string, params?: Record<string, unknown>) {
  return params === undefined
    ? { jsonrpc: "2.0", id, method }
    : { jsonrpc: "2.0", id, method, params };
}

/** Asserts a JSON-RPC error answer: HTTP status, error code and echoed id. */
export function expectRpcError(
  a: RpcAnswer,
  status: number,
  code: number,
  id?: number | string | null,
): Json {
  assert.equal(a.status, status, `expected HTTP ${status}, got ${a.status}: ${a.text}`);
  assert.equal(a.body?.jsonrpc, "2.0", a.text);
  assert.equal(a.body?.error?.code, code, a.text);
  assert.equal(typeof a.body.error.message, "string");
  if (id !== undefined) assert.equal(a.body.id, id, a.text);
  return a.body.error;
}

// ---------------------------------------------------------------------------
// SDK clients

/** Options of {@link connectClient}. */
export interface ConnectOptions {
  /** Extra headers on every request (default: `Authorization: Bearer <key>`). */
  headers?: Record<string, string>;
  /** A fetch to use instead of the global one (to watch or shape the client's HTTP). */
  fetch?: typeof fetch;
}

/** A connected SDK client and its transport. */
export interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

/** Connects an MCP SDK client to `url` with gateway key `key`. */
export async function connectClient(
  url: string,
  key: string,
  opts: ConnectOptions = {},
): Promise<Connected> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: opts.headers ?? { authorization: `Bearer ${key}` } },
    fetch: opts.fetch,
  });
  const client = new Client({ name: "gatehouse-tests", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

/**
 * A fetch that behaves like the global one, except that the client's optional
 * GET stream is answered locally with 405 (what a server without one says):
 * a client that never holds a stream open, so its session can go idle.
 */
export const fetchWithoutGetStream: typeof fetch = (input, init) =>
  (init?.method ?? "GET") === "GET"
    ? Promise.resolve(new Response(null, { status: 405 }))
    : fetch(input, init);

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Opens a 2026-07-28 `subscriptions/listen` stream (request id `sub-1`) on
 * `url` with gateway key `key`; its frames collect as they arrive until
 * `close` ends the stream.
 */
export async function openListenStream(
  url: string,
  key: string,
  notifications: Record<string, unknown>,
): Promise<{ frames: Json[]; close(): Promise<void> }> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: "POST",
    signal: controller.signal,
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "subscriptions/listen",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: "sub-1",
      method: "subscriptions/listen",
      params: {
        notifications,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const frames: Json[] = [];
  const close = readSseMessages(res, controller, (m) => frames.push(m));
  return { frames, close };
}

/**
 * Reads the SSE messages of `res` as they arrive, handing each one's JSON to
 * `each` (events without data are skipped), until the body ends; the returned
 * function aborts `controller` (the request's) and waits for the reading to stop.
 */
export function readSseMessages(
  res: Response,
  controller: AbortController,
  each: (message: Json) => void,
): () => Promise<void> {
  const reading = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const message of sseMessages(block)) each(message);
        }
      }
    } catch {
      // Aborted by the test.
    }
  })();
  return async () => {
    controller.abort();
    await reading;
  };
}
