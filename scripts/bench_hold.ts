/**
 * Opens many idle MCP connections and keeps them open, for the memory
 * figures of `scripts/bench.ts` (which reads the server's RSS meanwhile).
 * Runs as its own process; prints `READY <n>` once all are open, then holds
 * them until killed.
 *
 * Modes (`--mode`):
 * - `http-get`: Streamable HTTP: `initialize` (and `notifications/initialized`)
 *   by POST, then the session's `GET` stream.
 * - `sse`: the 2024-11-05 SSE transport: `GET .../sse`, then `initialize`
 *   POSTed to the announced message URL, answered on the stream.
 * - `ws`: WebSocket with subprotocol `mcp`, then `initialize` on the socket.
 *
 * `--call BODY` (`http-get` only) POSTs one JSON-RPC request in each session
 * after the handshake and before its GET stream, and fails unless it is
 * answered with a result that is not a tool error: the federated memory
 * figure holds sessions that have each made one call to an upstream server.
 *
 * `--no-init` skips the MCP handshake (the bare ceiling server has no
 * sessions). The key goes in `--key` (Authorization header, or the
 * `bearer.<key>` subprotocol for WebSocket).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mode: { type: "string" },
    url: { type: "string" },
    key: { type: "string" },
    count: { type: "string" },
    "no-init": { type: "boolean" },
    call: { type: "string" },
    parallel: { type: "string" },
  },
});
const url = values.url!;
const init = !values["no-init"];
const call = values.call;
if (call !== undefined && (values.mode !== "http-get" || !init)) {
  throw new Error("--call needs --mode http-get and the handshake");
}
const count = Number(values.count ?? 1000);
const parallel = Number(values.parallel ?? 50);
const auth: Record<string, string> = values.key ? { authorization: `Bearer ${values.key}` } : {};
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "gatehouse-bench", version: "1" },
  },
});
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const held: unknown[] = [];

/** Keeps reading `body` (keep-alive comments) so the server never sees a stalled reader. */
function drain(body: ReadableStream<Uint8Array>): void {
  (async () => {
    for await (const _ of body) { /* discard */ }
  })().catch(() => {});
}

async function openHttpGet(): Promise<void> {
  let sessionId: string | null = null;
  let version = "2025-06-18";
  if (init) {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        ...auth,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: INITIALIZE,
    });
    const answer = await res.json();
    sessionId = res.headers.get("mcp-session-id");
    if (!res.ok || !sessionId) {
      throw new Error(`initialize: ${res.status} ${JSON.stringify(answer)}`);
    }
    version = answer.result.protocolVersion;
    const ack = await fetch(url, {
      method: "POST",
      headers: {
        ...auth,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sessionId,
        "mcp-protocol-version": version,
      },
      body: INITIALIZED,
    });
    await ack.body?.cancel();
    if (call !== undefined) await callOnce(sessionId, version);
  }
  const headers: Record<string, string> = { ...auth, accept: "text/event-stream" };
  if (sessionId) {
    headers["mcp-session-id"] = sessionId;
    headers["mcp-protocol-version"] = version;
  }
  const res = await fetch(url, { headers });
  if (res.status !== 200 || !res.body) throw new Error(`GET stream: ${res.status}`);
  held.push(res);
  drain(res.body);
}

/** Sends `--call` in the session; throws unless it is answered with a non-error result. */
async function callOnce(sessionId: string, version: string): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      ...auth,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": sessionId,
      "mcp-protocol-version": version,
    },
    body: call,
  });
  const text = await res.text();
  let result;
  try {
    result = JSON.parse(text).result;
  } catch { /* reported below */ }
  if (res.status !== 200 || !result || result.isError) {
    throw new Error(`call: ${res.status} ${text.slice(0, 300)}`);
  }
}

async function openSse(): Promise<void> {
  const res = await fetch(url, { headers: { ...auth, accept: "text/event-stream" } });
  if (res.status !== 200 || !res.body) throw new Error(`SSE stream: ${res.status}`);
  held.push(res);
  if (!init) return drain(res.body);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const next = async (pattern: RegExp) => {
    let m: RegExpExecArray | null;
    while (!(m = pattern.exec(text))) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`SSE stream ended: ${text}`);
      text += value;
    }
    return m;
  };
  const endpoint = (await next(/event: endpoint\ndata: (\S+)\n/))[1];
  const post = (body: string) =>
    fetch(new URL(endpoint, url), {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body,
    }).then((r) => r.body?.cancel());
  await post(INITIALIZE);
  await next(/event: message\ndata: \{[^\n]*"result"/);
  await post(INITIALIZED);
  (async () => {
    while (!(await reader.read()).done) { /* drain keep-alives */ }
  })().catch(() => {});
}

async function openWs(): Promise<void> {
  const protocols = ["mcp", ...(values.key ? [`bearer.${values.key}`] : [])];
  const ws = new WebSocket(url, protocols);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`WebSocket: ${(e as ErrorEvent).message}`));
  });
  held.push(ws);
  if (!init) return;
  const answered = new Promise<string>((resolve) => ws.onmessage = (e) => resolve(e.data));
  ws.send(INITIALIZE);
  const text = await answered;
  if (!text.includes('"result"')) throw new Error(`initialize: ${text}`);
  ws.send(INITIALIZED);
  ws.onmessage = null;
}

const open = { "http-get": openHttpGet, sse: openSse, ws: openWs }[values.mode ?? ""];
if (!open) throw new Error(`unknown --mode ${values.mode}`);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      next++;
      await open();
    }
  }),
);
console.log(`READY ${held.length}`);
// Hold everything until the benchmark kills this process.
setInterval(() => {}, 1 << 30);
