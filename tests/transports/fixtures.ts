/**
 * Shared set-up of the transport tests: a test executor for `http` tools, a
 * gateway with tools, an `api_key` method and a key made through the
 * management API, SDK clients over each transport, a raw SSE reader and a raw
 * WebSocket client over plain TCP (for peers that misbehave on purpose).
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { loadConfig, type McpSettings } from "../../src/config.ts";
import type { Tool } from "../../src/store/tools.ts";
import type {
  CallToolResult,
  ExecutionContext,
  LogLevel,
  ToolExecutor,
} from "../../src/tools/executor.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** A JSON value as the tests read it; assertions check the shapes. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}

/** Rejects when `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Test executor

/** One call the executor saw. */
export interface SeenCall {
  tool: string;
  args: Record<string, unknown>;
  signal: AbortSignal;
  /** Set when the call's signal aborted while it ran. */
  aborted: boolean;
}

/**
 * Runs `http` tools in-process, by tool name:
 * `echo` returns its arguments; `chatty` logs at debug, info, warning and
 * error and reports progress 1..3 of 3; `wait` runs until its signal aborts;
 * `boom` throws; `big` returns `args.bytes` bytes of text.
 */
export class TransportExecutor implements ToolExecutor {
  readonly calls: SeenCall[] = [];

  /** Calls whose `args.tag` is `tag`. */
  tagged(tag: string): SeenCall[] {
    return this.calls.filter((c) => c.args.tag === tag);
  }

  async execute(
    tool: Tool,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<CallToolResult> {
    const seen: SeenCall = { tool: tool.name, args, signal: ctx.signal, aborted: false };
    this.calls.push(seen);
    switch (tool.name) {
      case "echo":
        return { content: [{ type: "text", text: JSON.stringify(args) }] };
      case "chatty":
        for (const level of ["debug", "info", "warning", "error"] as LogLevel[]) {
          ctx.log(level, { said: level });
        }
        for (let i = 1; i <= 3; i++) {
          ctx.progress(i, 3, `step ${i}`);
          await sleep(2);
        }
        return { content: [{ type: "text", text: "done" }] };
      case "wait":
        return await new Promise<never>((_, reject) => {
          const onAbort = () => {
            seen.aborted = true;
            reject(ctx.signal.reason ?? new Error("aborted"));
          };
          if (ctx.signal.aborted) onAbort();
          else ctx.signal.addEventListener("abort", onAbort, { once: true });
        });
      case "boom":
        throw new Error("the test executor blew up");
      case "big":
        return { content: [{ type: "text", text: "x".repeat(Number(args.bytes ?? 1024)) }] };
      default:
        throw new Error(`no test behaviour for tool '${tool.name}'`);
    }
  }
}

// ---------------------------------------------------------------------------
// Servers and gateways

/** Default MCP settings with `partial` applied (config overrides replace `mcp` whole). */
export function mcp(partial: Partial<McpSettings> = {}): McpSettings {
  return { ...loadConfig([], () => undefined).mcp, ...partial };
}

/** A running test server with its executor and one gateway. */
export interface Fixture {
  s: TestServer;
  executor: TransportExecutor;
  gw: Gateway;
  close(): Promise<void>;
}

/** A gateway made for a test, with the URLs of every transport. */
export interface Gateway {
  id: string;
  key: string;
  port: number;
  /** Streamable HTTP URL. */
  httpUrl: string;
  sseUrl: string;
  wsUrl: string;
  /** Path of the gateway's MCP endpoint (`/mcp/default/x`). */
  path: string;
}

/** Names of the tools {@link setupGateway} assigns. */
export const TOOL_NAMES = ["big", "boom", "chatty", "echo", "wait"];

async function ok(
  res: Promise<{ status: number; body: Json }>,
  status: number,
  what: string,
): Promise<Json> {
  const r = await res;
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * Creates gateway `endpoint` (type mcp) with the test tools, an `api_key`
 * auth method and one key, all through the management API.
 */
export async function setupGateway(s: TestServer, endpoint = "/x"): Promise<Gateway> {
  const gw = await ok(
    s.api("POST", "/gateways", {
      name: `gw ${endpoint}`,
      type: "mcp",
      endpoint,
      configuration: { transport: "http" },
    }),
    201,
    "create gateway",
  );
  // Tool names are unique per organization: a second gateway reuses the tools.
  const existing = (await ok(s.api("GET", "/tools"), 200, "list tools")).tools as Json[];
  for (const name of TOOL_NAMES) {
    const tool = existing.find((t) => t.name === name) ?? await ok(
      s.api("POST", "/tools", {
        name: `${name}`,
        description: `transport test tool ${name}`,
        inputSchema: name === "big"
          ? { type: "object", properties: { bytes: { type: "integer" } } }
          : { type: "object", properties: {} },
        type: "http",
        executionConfig: { method: "POST", url: `https://tool.test/${name}` },
      }),
      201,
      `create tool ${name}`,
    );
    await ok(s.api("POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }), 201, "assign");
  }
  await ok(s.api("POST", `/gateways/${gw.id}/auth`, { type: "api_key" }), 201, "auth method");
  const key = await ok(s.api("POST", `/gateways/${gw.id}/keys`, { name: "k" }), 201, "key");
  const port = Number(new URL(s.url).port);
  const path = `/mcp/default${endpoint}`;
  return {
    id: gw.id,
    key: key.key,
    port,
    path,
    httpUrl: `${s.url}${path}`,
    sseUrl: `${s.url}${path}/sse`,
    wsUrl: `ws://127.0.0.1:${port}${path}/ws`,
  };
}

/** Issues another key for `gw`. */
export async function newKey(s: TestServer, gw: Gateway): Promise<string> {
  return (await ok(s.api("POST", `/gateways/${gw.id}/keys`, { name: "more" }), 201, "key")).key;
}

/** Starts a server with a {@link TransportExecutor} and MCP `settings`, and sets up gateway `/x`. */
export async function startFixture(settings: Partial<McpSettings> = {}): Promise<Fixture> {
  const executor = new TransportExecutor();
  const s = await startTestServer({ mcp: mcp(settings) }, new Map([["http", executor]]));
  try {
    const gw = await setupGateway(s);
    return { s, executor, gw, close: () => s.close() };
  } catch (err) {
    await s.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// SDK clients

/** The three MCP transports. */
export type Kind = "http" | "sse" | "ws";
export const KINDS: Kind[] = ["http", "sse", "ws"];

/** A connected SDK client. */
export interface SdkClient {
  client: Client;
  /** Resolves when the client's transport reports closed (by either side). */
  closed: Promise<void>;
  /** Closes the client and waits until its transport reports closed. */
  close(): Promise<void>;
}

/** The SDK transport for `kind`, presenting `key` (none when null). */
export function sdkTransport(
  kind: Kind,
  gw: Gateway,
  key: string | null,
): StreamableHTTPClientTransport | SSEClientTransport | WebSocketClientTransport {
  const auth: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  switch (kind) {
    case "http":
      return new StreamableHTTPClientTransport(new URL(gw.httpUrl), {
        requestInit: { headers: auth },
      });
    case "sse":
      return new SSEClientTransport(new URL(gw.sseUrl), {
        eventSourceInit: {
          fetch: (url: string | URL, init?: RequestInit) =>
            fetch(url, { ...init, headers: { accept: "text/event-stream", ...auth } }),
        },
        requestInit: { headers: auth },
      });
    case "ws": {
      const url = new URL(gw.wsUrl);
      if (key !== null) url.searchParams.set("api_key", key);
      return new WebSocketClientTransport(url);
    }
  }
}

/** Connects an SDK client over `kind` with `key` (default: the gateway's key). */
export async function connectSdk(
  kind: Kind,
  gw: Gateway,
  key: string | null = gw.key,
): Promise<SdkClient> {
  const transport = sdkTransport(kind, gw, key);
  const client = new Client({ name: "transport-tests", version: "1.0.0" }, { capabilities: {} });
  let closed = false;
  const { promise: closedP, resolve } = Promise.withResolvers<void>();
  client.onclose = () => {
    closed = true;
    resolve();
  };
  try {
    await client.connect(transport);
  } catch (err) {
    // Release whatever the transport opened (an SSE client's event source).
    await client.close().catch(() => {});
    throw err;
  }
  return {
    client,
    closed: closedP,
    close: async () => {
      if (kind === "http") {
        // End the session (DELETE) so its GET stream is closed by the server too.
        await (transport as StreamableHTTPClientTransport).terminateSession().catch(() => {});
      }
      await client.close();
      if (!closed) await within(closedP, 5000, `${kind} client close`);
    },
  };
}

// ---------------------------------------------------------------------------
// Raw SSE

/** One parsed SSE block: an event (with data) or a comment. */
export interface SseBlock {
  event?: string;
  data?: string;
  id?: string;
  comments: string[];
}

/** Reads an SSE response body block by block. */
export class SseReader {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  #decoder = new TextDecoder();
  #done = false;

  constructor(readonly response: Response) {
    assert.ok(response.body, "SSE response has a body");
    this.reader = response.body.getReader();
  }

  /** The next block, or undefined at the end of the stream. Rejects when the stream errs. */
  async next(timeoutMs = 5000): Promise<SseBlock | undefined> {
    while (true) {
      const end = this.#buf.search(/\r?\n\r?\n/);
      if (end >= 0) {
        const raw = this.#buf.slice(0, end);
        this.#buf = this.#buf.slice(end).replace(/^\r?\n\r?\n/, "");
        return parseBlock(raw);
      }
      if (this.#done) return undefined;
      const r = await within(this.reader.read(), timeoutMs, "SSE read");
      if (r.done) {
        this.#done = true;
        continue;
      }
      this.#buf += this.#decoder.decode(r.value, { stream: true });
    }
  }

  /** The next block that is an event (skipping comments). */
  async nextEvent(timeoutMs = 5000): Promise<SseBlock | undefined> {
    while (true) {
      const b = await this.next(timeoutMs);
      if (b === undefined || b.data !== undefined || b.event !== undefined) return b;
    }
  }

  /** The next `message` event's JSON. */
  async nextMessage(timeoutMs = 5000): Promise<Json> {
    const b = await this.nextEvent(timeoutMs);
    assert.ok(b, "the SSE stream ended before a message");
    assert.equal(b.event, "message", `expected a message event, got ${JSON.stringify(b)}`);
    return JSON.parse(b.data ?? "");
  }

  /** Cancels the body (the client goes away). */
  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

function parseBlock(raw: string): SseBlock {
  const block: SseBlock = { comments: [] };
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith(":")) block.comments.push(line.slice(1).trim());
    else {
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") block.event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") block.id = value;
    }
  }
  if (data.length > 0) block.data = data.join("\n");
  return block;
}

/** An open raw SSE connection: its reader and the POST URL of its session. */
export interface RawSse {
  sse: SseReader;
  /** Absolute URL from the `endpoint` event. */
  postUrl: string;
  sessionId: string;
  /** POSTs `body` (a value, or a raw string) to the session; returns status and text. */
  post(body: unknown): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** Opens `GET .../sse` with `key` and reads the `endpoint` event. */
export async function openRawSse(gw: Gateway, key = gw.key): Promise<RawSse> {
  const res = await fetch(gw.sseUrl, {
    headers: { accept: "text/event-stream", authorization: `Bearer ${key}` },
  });
  if (res.status !== 200) {
    const text = await res.text();
    throw new Error(`SSE open failed: ${res.status} ${text}`);
  }
  const sse = new SseReader(res);
  const first = await sse.nextEvent();
  assert.equal(first?.event, "endpoint");
  const postUrl = new URL(first!.data!, gw.sseUrl).href;
  const sessionId = new URL(postUrl).searchParams.get("sessionId") ?? "";
  return {
    sse,
    postUrl,
    sessionId,
    post: async (body) => {
      const r = await fetch(postUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: r.status, text: await r.text() };
    },
    close: () => sse.close(),
  };
}

// ---------------------------------------------------------------------------
// WebSocket helpers

/** Opens a WebSocket (Deno's client) and waits until it is open. */
export function openWs(
  url: string,
  opts?: string | string[] | WebSocketOptions,
): Promise<WebSocket> {
  const ws = new WebSocket(url, opts);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => {
      const msg = (e as ErrorEvent).message ?? "error";
      reject(new Error(`WebSocket failed to open: ${msg}`));
    };
  });
}

/** Collects the messages of `ws` and lets a test wait for them. */
export class WsInbox {
  readonly messages: Json[] = [];
  readonly closed: Promise<CloseEvent>;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.messages.push(typeof e.data === "string" ? JSON.parse(e.data) : e.data);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e)));
  }

  /** The first message with `id` (waits for it). */
  async reply(id: number | string | null, timeoutMs = 5000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.messages.find((m) => m && !Array.isArray(m) && m.id === id);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no WebSocket reply with id ${id}`);
      await within(new Promise<void>((r) => this.#waiters.push(r)), left, `reply ${id}`).catch(
        () => {},
      );
    }
  }

  /** Sends `msg` (a value or raw text) and waits for the reply with `id`. */
  request(msg: unknown, id: number | string | null): Promise<Json> {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
    return this.reply(id);
  }

  /** Closes the socket and waits for the close event. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
    }
    await within(this.closed, 5000, "WebSocket close");
  }
}

/** An `initialize` request. */
export function initialize(id: number | string = 0) {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion: "2025-03-26",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  };
}

/** A JSON-RPC request. */
export function rpcReq(id: number | string, method: string, params?: Record<string, unknown>) {
  return params === undefined
    ? { jsonrpc: "2.0", id, method }
    : { jsonrpc: "2.0", id, method, params };
}

// ---------------------------------------------------------------------------
// A WebSocket client on plain TCP, for peers that never read or never pong

/** What the server answered to a hand-made upgrade request. */
export interface Handshake {
  status: number;
  headers: Headers;
  /** The body (for refusals; empty after a 101). */
  body: string;
  conn: Deno.TcpConn;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Connects to the server and sends a WebSocket upgrade request for `path`
 * with `headers`; reads the status and headers (and, for refusals, the body).
 */
export async function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Handshake> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": key,
    "sec-websocket-version": "13",
    ...headers,
  };
  const head = `GET ${path} HTTP/1.1\r\n` +
    Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  await writeAll(conn, enc.encode(head));
  let buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  let end = -1;
  while (end < 0) {
    const n = await within(conn.read(chunk), 5000, "upgrade response");
    if (n === null) throw new Error("connection closed during the handshake");
    buf = concat(buf, chunk.subarray(0, n));
    end = dec.decode(buf).indexOf("\r\n\r\n");
  }
  const text = dec.decode(buf);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const h = new Headers();
  for (const l of lines) {
    const i = l.indexOf(":");
    h.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  let body = text.slice(end + 4);
  if (status !== 101) {
    const length = Number(h.get("content-length") ?? 0);
    while (enc.encode(body).length < length) {
      const n = await within(conn.read(chunk), 5000, "refusal body");
      if (n === null) break;
      body += dec.decode(chunk.subarray(0, n));
    }
  }
  return { status, headers: h, body, conn };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Writes all of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** A masked client text frame carrying `text`. */
export function textFrame(text: string): Uint8Array {
  const payload = enc.encode(text);
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = new Uint8Array(headerLen + 4 + len);
  frame[0] = 0x81;
  if (len < 126) frame[1] = 0x80 | len;
  else if (len < 65536) {
    frame[1] = 0x80 | 126;
    new DataView(frame.buffer).setUint16(2, len);
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(len));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, headerLen);
  for (let i = 0; i < len; i++) frame[headerLen + 4 + i] = payload[i] ^ mask[i % 4];
  return frame;
}

/** A server frame read by {@link readFrames}. */
export interface Frame {
  /** True on the last frame of a message. */
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/**
 * Reads `conn` until it ends, parsing server frames and passing each to
 * `onFrame`; resolves with why it ended ("eof" or the error's name).
 */
export async function readFrames(
  conn: Deno.Conn,
  onFrame: (f: Frame) => void,
): Promise<string> {
  let buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const chunk = new Uint8Array(64 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch (err) {
      return (err as Error).name;
    }
    if (n === null) return "eof";
    buf = concat(buf, chunk.subarray(0, n));
    while (buf.length >= 2) {
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = new DataView(buf.buffer, buf.byteOffset).getUint16(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(2));
        off = 10;
      }
      if (buf.length < off + len) break;
      onFrame({
        fin: (buf[0] & 0x80) !== 0,
        opcode: buf[0] & 0x0f,
        payload: buf.slice(off, off + len),
      });
      buf = buf.slice(off + len);
    }
  }
}

/** The close code of a close frame's payload. */
export function closeCode(f: Frame): number | undefined {
  return f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : undefined;
}
