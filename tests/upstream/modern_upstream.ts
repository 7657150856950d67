/**
 * A small MCP server that speaks only protocol revision 2026-07-28 (the
 * stateless era), written by hand on `Deno.serve` without the SDK. It exists
 * to test Gatehouse against an upstream that has no `initialize`, no session,
 * no GET stream and no server-to-client requests.
 *
 * Streamable HTTP at `http://127.0.0.1:<port>/mcp`, POST only. It implements:
 * - per-request checks: `MCP-Protocol-Version` equal to `_meta`'s
 *   `io.modelcontextprotocol/protocolVersion`, the required `_meta` keys,
 *   `Mcp-Method` on every request and `Mcp-Name` on `tools/call` and
 *   `prompts/get` (Base64 sentinel decoded), and a loopback `Origin` when one
 *   is sent;
 * - `server/discover`, `tools/list`, `tools/call`, `prompts/list`,
 *   `prompts/get` and `subscriptions/listen`; `initialize` gets -32022;
 * - multi round-trip requests (`input_required`) whose `requestState` is
 *   HMAC-signed and bound to the method, the tool or prompt and its
 *   arguments, the caller's `Authorization` header, and an expiry;
 * - progress on a per-request SSE stream, and cancellation by disconnect.
 *
 * @module
 */

const VERSION = "2026-07-28";
const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPS = "io.modelcontextprotocol/clientCapabilities";
const META_SUB = "io.modelcontextprotocol/subscriptionId";
const SERVER_META = {
  "io.modelcontextprotocol/serverInfo": { name: "modern-upstream", version: "1.0.0" },
};
const RECORDED_HEADERS = [
  "mcp-protocol-version",
  "mcp-method",
  "mcp-name",
  "authorization",
  "traceparent",
];
const PROGRESS_STEPS = 4;
const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

type Json = Record<string, unknown>;
type Id = string | number;

/** One HTTP request the server received, as far as it could be read. */
export interface RecordedRequest {
  /** The HTTP method (`POST`, `GET`, ...). */
  httpMethod: string;
  /** The JSON-RPC method, when the body had one. */
  method?: string;
  /** The JSON-RPC id, when the body was a request. */
  id?: Id;
  /** The JSON-RPC params, when they were an object. */
  params?: Json;
  /** `mcp-protocol-version`, `mcp-method`, `mcp-name`, `authorization`, `traceparent`: those present. */
  headers: Record<string, string>;
  /** True when the client went away before `slow` finished. */
  aborted?: boolean;
}

/** Options for {@link modernUpstream}. */
export interface ModernUpstreamOptions {
  /** `ttlMs` on discover and list results (default 0: immediately stale). */
  ttlMs?: number;
  /** `cacheScope` on discover and list results (default `"public"`). */
  cacheScope?: "public" | "private";
  /** How long a `requestState` stays valid, in ms (default 60 000). */
  stateTtlMs?: number;
}

/** A running modern upstream; see {@link modernUpstream}. */
export interface ModernUpstream {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  /** Every HTTP request received, oldest first. */
  requests: RecordedRequest[];
  /** Adds the tool `extra` and sends `notifications/tools/list_changed` to listen streams. */
  changeTools(): void;
  /** Ends listen streams with their final result, aborts `slow` calls, stops the server. */
  close(): Promise<void>;
}

/** A JSON-RPC error and the HTTP status it is answered with. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status = 200,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const mismatch = (what: string) => new RpcError(-32020, `Header mismatch: ${what}`, 400);
const unsupported = (requested: unknown) =>
  new RpcError(-32022, `Unsupported protocol version: only ${VERSION} is supported`, 400, {
    supported: [VERSION],
    requested: String(requested ?? ""),
  });
const invalidState = (reason: string) =>
  new RpcError(-32602, "invalid requestState", 200, { reason });
const badInput = (key: string) => new RpcError(-32602, `invalid inputResponses.${key}`);

const complete = (body: Json): Json => ({ resultType: "complete", ...body, _meta: SERVER_META });
const text = (value: string, isError?: true): Json =>
  complete({ content: [{ type: "text", text: value }], ...(isError ? { isError } : {}) });
const inputRequired = (inputRequests: Json, requestState: string): Json => ({
  resultType: "input_required",
  inputRequests,
  requestState,
  _meta: SERVER_META,
});
const json = (payload: Json, status = 200) =>
  new Response(JSON.stringify({ jsonrpc: "2.0", ...payload }), {
    status,
    headers: { "content-type": "application/json" },
  });

const utf8 = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64 = (s: string) =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** JSON with object keys sorted, so equal arguments give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (!isObject(v)) return JSON.stringify(v) ?? "null";
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)}}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => (clearTimeout(timer), reject(signal.reason));
    const timer = setTimeout(() => (signal.removeEventListener("abort", stop), resolve()), ms);
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
}

/**
 * A streamed response written by `run`: SSE frames, or (json) the one message `send` gets.
 * `gone` aborts when the client disconnects. (Deno.serve does not abort `request.signal` for
 * a client that leaves before the response starts once the body is more than a few hundred
 * bytes, so long work answers through a stream whose `cancel` reliably fires.)
 */
function streamed(
  request: Request,
  type: "sse" | "json",
  run: (send: (m: Json) => void, gone: AbortSignal) => Promise<void>,
) {
  const cancelled = new AbortController();
  const gone = AbortSignal.any([cancelled.signal, request.signal]);
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      const send = (m: Json) => {
        const message = JSON.stringify({ jsonrpc: "2.0", ...m });
        if (!gone.aborted) {
          ctl.enqueue(
            utf8.encode(type === "sse" ? `event: message\ndata: ${message}\n\n` : message),
          );
        }
      };
      run(send, gone).catch(() => {}).finally(() => gone.aborted || ctl.close());
    },
    cancel: () => cancelled.abort(),
  });
  const headers = type === "sse" ? SSE_HEADERS : { "content-type": "application/json" };
  return new Response(body, { headers });
}

const tool = (name: string, description: string, properties: Json = {}, required?: string[]) => ({
  name,
  description,
  inputSchema: { type: "object", properties, ...(required ? { required } : {}) },
});
const TOOLS = [
  tool("echo", "Returns its text.", { text: { type: "string" } }, ["text"]),
  tool("ask_name", "Asks for the user's name (elicitation), then greets them."),
  tool("summarize", "Drafts a summary (sampling), then counts roots (roots/list).", {
    text: { type: "string" },
  }),
  tool("slow", "Waits ms milliseconds, reporting progress when asked.", {
    ms: { type: "integer", minimum: 0 },
  }, ["ms"]),
  tool("add_tool", "Adds the tool extra and announces the change."),
];
const EXTRA_TOOL = tool("extra", "Added by add_tool.");
const GREET = { name: "greet", description: "Greets the user, asking their name first." };
const NAME_QUESTION = {
  method: "elicitation/create",
  params: {
    mode: "form",
    message: "What is your name?",
    requestedSchema: {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name"],
    },
  },
};

/** One JSON-RPC request being answered. */
interface Ctx {
  id: Id;
  method: string;
  params: Json;
  /** `params.name` of tools/call and prompts/get. */
  name: string;
  args: Json;
  caps: Json;
  request: Request;
  rec: RecordedRequest;
}

/** Starts a 2026-07-28-only MCP server on 127.0.0.1 (a free port), path `/mcp`. */
export async function modernUpstream(options: ModernUpstreamOptions = {}): Promise<ModernUpstream> {
  const cacheHints = { ttlMs: options.ttlMs ?? 0, cacheScope: options.cacheScope ?? "public" };
  const stateTtlMs = options.stateTtlMs ?? 60_000;
  const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  const requests: RecordedRequest[] = [];
  const listeners = new Set<{ tools: boolean; notify(method: string): void; end(): void }>();
  const closing = new AbortController();
  let extra = false;

  function changeTools() {
    extra = true;
    for (const l of listeners) if (l.tools) l.notify("notifications/tools/list_changed");
  }

  // requestState = base64url(JSON payload) "." base64url(HMAC-SHA256 of `${payload}.${Authorization}`)
  async function seal(c: Ctx, step: string, data?: string): Promise<string> {
    const exp = Date.now() + stateTtlMs;
    const payload = { m: c.method, n: c.name, a: canonical(c.args), s: step, d: data, exp };
    const body = b64url(utf8.encode(JSON.stringify(payload)));
    const auth = c.request.headers.get("authorization") ?? "";
    const mac = await crypto.subtle.sign("HMAC", hmac, utf8.encode(`${body}.${auth}`));
    return `${body}.${b64url(new Uint8Array(mac))}`;
  }

  /** The verified state of a retry (undefined on a first call); -32602 when it fails. */
  async function unseal(c: Ctx): Promise<{ s: unknown; d?: string } | undefined> {
    const state = c.params.requestState;
    if (state === undefined) return undefined;
    const [body, mac, rest] = typeof state === "string" ? state.split(".") : [];
    const auth = c.request.headers.get("authorization") ?? "";
    let p: Json;
    try {
      // Only the canonical encoding: atob ignores the padding bits of the last character.
      const ok = body && mac && rest === undefined && b64url(unb64(mac)) === mac &&
        await crypto.subtle.verify("HMAC", hmac, unb64(mac), utf8.encode(`${body}.${auth}`));
      if (!ok) throw new Error();
      p = JSON.parse(new TextDecoder().decode(unb64(body)));
    } catch {
      throw invalidState("bad signature");
    }
    if (p.m !== c.method || p.n !== c.name || p.a !== canonical(c.args)) {
      throw invalidState("issued for another request");
    }
    if (typeof p.exp !== "number" || p.exp < Date.now()) throw invalidState("expired");
    return { s: p.s, d: typeof p.d === "string" ? p.d : undefined };
  }

  /** -32021 (HTTP 400) unless the request declared every capability in `names`. */
  function requireCaps(c: Ctx, ...names: string[]) {
    const missing = names.filter((n) => !isObject(c.caps[n]));
    // `elicitation: {}` means form mode; a non-empty object must list `form`.
    const e = c.caps.elicitation;
    if (names.includes("elicitation") && isObject(e) && Object.keys(e).length && !e.form) {
      missing.push("elicitation");
    }
    if (missing.length === 0) return;
    throw new RpcError(-32021, `Missing required client capability: ${missing.join(", ")}`, 400, {
      requiredCapabilities: Object.fromEntries(missing.map((n) => [n, {}])),
    });
  }

  const input = (c: Ctx, key: string) =>
    isObject(c.params.inputResponses) ? c.params.inputResponses[key] : undefined;

  /** One elicitation round: the name, null when declined or cancelled, or the question. */
  async function elicitName(c: Ctx): Promise<{ name: string | null } | { ask: Json }> {
    requireCaps(c, "elicitation");
    const state = await unseal(c);
    const reply = input(c, "name");
    if (state?.s === "name" && reply !== undefined) {
      if (!isObject(reply) || !["accept", "decline", "cancel"].includes(String(reply.action))) {
        throw badInput("name");
      }
      if (reply.action !== "accept") return { name: null };
      const name = isObject(reply.content) ? reply.content.name : undefined;
      if (typeof name === "string" && name !== "") return { name };
    }
    return { ask: inputRequired({ name: NAME_QUESTION }, await seal(c, "name")) };
  }

  /** Round 1 samples a draft ("draft"), round 2 lists roots ("roots"), then the result. */
  async function summarize(c: Ctx): Promise<Json> {
    requireCaps(c, "sampling", "roots");
    const state = await unseal(c);
    const roots = input(c, "roots");
    if (state?.s === "roots" && roots !== undefined) {
      if (!isObject(roots) || !Array.isArray(roots.roots)) throw badInput("roots");
      return text(`Summary: ${state.d} (${roots.roots.length} roots)`);
    }
    let draft = state?.s === "roots" ? state.d : undefined;
    const sampled = input(c, "draft");
    if (state?.s === "draft" && sampled !== undefined) {
      const blocks = isObject(sampled) ? [sampled.content].flat() : [];
      const block = blocks.find((b) => isObject(b) && b.type === "text");
      if (!isObject(block) || typeof block.text !== "string") throw badInput("draft");
      draft = block.text;
    }
    if (draft !== undefined) {
      return inputRequired({ roots: { method: "roots/list" } }, await seal(c, "roots", draft));
    }
    const about = typeof c.args.text === "string" ? c.args.text : "";
    const messages = [{ role: "user", content: { type: "text", text: `Summarize: ${about}` } }];
    const ask = { method: "sampling/createMessage", params: { messages, maxTokens: 200 } };
    return inputRequired({ draft: ask }, await seal(c, "draft"));
  }

  function slow(c: Ctx): Json | Response {
    const ms = Number.isInteger(c.args.ms) ? c.args.ms as number : -1;
    if (ms < 0) return text("ms must be an integer >= 0", true);
    const done = { id: c.id, result: text(`slept ${ms}ms`) };
    const token = (c.params._meta as Json).progressToken;
    return streamed(c.request, token === undefined ? "json" : "sse", async (send, gone) => {
      const signal = AbortSignal.any([gone, closing.signal]);
      try {
        const steps = token === undefined ? 1 : PROGRESS_STEPS;
        for (let progress = 0; progress < steps; progress++) {
          if (token !== undefined) {
            send({
              method: "notifications/progress",
              params: { progressToken: token, progress, total: steps },
            });
          }
          await sleep(ms / steps, signal);
        }
        send(done);
      } catch {
        c.rec.aborted = gone.aborted;
      }
    });
  }

  async function callTool(c: Ctx): Promise<Json | Response> {
    switch (c.name) {
      case "echo":
        return typeof c.args.text === "string"
          ? text(c.args.text)
          : text("text must be a string", true);
      case "ask_name": {
        const round = await elicitName(c);
        if ("ask" in round) return round.ask;
        return text(round.name === null ? "no name given" : `Hello, ${round.name}`);
      }
      case "summarize":
        return await summarize(c);
      case "slow":
        return slow(c);
      case "add_tool":
        changeTools();
        return text("ok");
      case "extra":
        if (extra) return text("extra");
    }
    throw new RpcError(-32602, `Unknown tool: ${c.name}`);
  }

  async function getPrompt(c: Ctx): Promise<Json> {
    if (c.name !== GREET.name) throw new RpcError(-32602, `Unknown prompt: ${c.name}`);
    const round = await elicitName(c);
    if ("ask" in round) return round.ask;
    const content = { type: "text", text: `Please greet ${round.name ?? "a stranger"}.` };
    return complete({ description: "A greeting", messages: [{ role: "user", content }] });
  }

  function listen(c: Ctx): Response {
    const wanted = c.params.notifications;
    if (!isObject(wanted)) throw new RpcError(-32602, "params.notifications is required");
    const honoured: Json = {};
    for (const k of ["toolsListChanged", "promptsListChanged"]) {
      if (wanted[k] === true) honoured[k] = true;
    }
    const _meta = { [META_SUB]: c.id };
    return streamed(c.request, "sse", async (send, gone) => {
      send({
        method: "notifications/subscriptions/acknowledged",
        params: { _meta, notifications: honoured },
      });
      await new Promise<void>((resolve) => {
        const listener = {
          tools: honoured.toolsListChanged === true,
          notify: (method: string) => send({ method, params: { _meta } }),
          end() { // the server ends the subscription: its final result, then close
            send({
              id: c.id,
              result: { resultType: "complete", _meta: { ...SERVER_META, ..._meta } },
            });
            done();
          },
        };
        const done = () => (listeners.delete(listener), resolve());
        listeners.add(listener);
        if (gone.aborted) done();
        else gone.addEventListener("abort", done, { once: true });
      });
    });
  }

  /** The header and `_meta` checks every request must pass (400 when it does not). */
  function check(headers: Headers, method: string, params: Json) {
    const version = headers.get("mcp-protocol-version");
    if (version === null) throw mismatch("missing MCP-Protocol-Version header");
    if (version !== VERSION) throw unsupported(version);
    const meta = params._meta;
    if (!isObject(meta) || typeof meta[META_VERSION] !== "string" || !isObject(meta[META_CAPS])) {
      throw new RpcError(
        -32602,
        `Invalid params: _meta needs ${META_VERSION} and ${META_CAPS}`,
        400,
      );
    }
    if (meta[META_VERSION] !== version) throw mismatch("MCP-Protocol-Version differs from _meta");
    const mcpMethod = headers.get("mcp-method");
    if (mcpMethod === null) throw mismatch("missing Mcp-Method header");
    if (mcpMethod !== method) throw mismatch(`Mcp-Method '${mcpMethod}' is not '${method}'`);
    if (!["tools/call", "prompts/get", "resources/read"].includes(method)) return;
    const raw = headers.get("mcp-name");
    if (raw === null) throw mismatch("missing Mcp-Name header");
    const sentinel = /^=\?base64\?(.*)\?=$/.exec(raw);
    let name = raw;
    try {
      if (sentinel) name = new TextDecoder("utf-8", { fatal: true }).decode(unb64(sentinel[1]));
    } catch {
      throw mismatch("Mcp-Name is not valid Base64");
    }
    if (name !== (method === "resources/read" ? params.uri : params.name)) {
      throw mismatch(`Mcp-Name '${raw}' does not match the body`);
    }
  }

  async function dispatch(c: Ctx): Promise<Json | Response> {
    const list = (body: Json) => {
      if (c.params.cursor !== undefined) throw new RpcError(-32602, "invalid cursor");
      return complete({ ...body, ...cacheHints });
    };
    switch (c.method) {
      case "server/discover": {
        const capabilities = { tools: { listChanged: true }, prompts: { listChanged: true } };
        return complete({ supportedVersions: [VERSION], capabilities, ...cacheHints });
      }
      case "tools/list":
        return list({ tools: extra ? [...TOOLS, EXTRA_TOOL] : TOOLS });
      case "tools/call":
        return await callTool(c);
      case "prompts/list":
        return list({ prompts: [GREET] });
      case "prompts/get":
        return await getPrompt(c);
      case "subscriptions/listen":
        return listen(c);
    }
    throw new RpcError(-32601, `Method not found: ${c.method}`, 404);
  }

  async function handle(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/mcp") return new Response(null, { status: 404 });
    const headers: Record<string, string> = {};
    for (const h of RECORDED_HEADERS) {
      if (request.headers.has(h)) headers[h] = request.headers.get(h)!;
    }
    const rec: RecordedRequest = { httpMethod: request.method, headers };
    requests.push(rec);
    if (request.method !== "POST") {
      return new Response(null, { status: 405, headers: { allow: "POST" } });
    }
    let id: Id | undefined;
    try {
      const origin = request.headers.get("origin");
      if (origin !== null && !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(origin)) {
        throw new RpcError(-32600, "Origin not allowed", 403);
      }
      if (!request.headers.get("content-type")?.includes("application/json")) {
        throw new RpcError(-32600, "Content-Type must be application/json", 415);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(await request.text());
      } catch {
        throw new RpcError(-32700, "Parse error", 400);
      }
      if (!isObject(msg) || msg.jsonrpc !== "2.0" || typeof msg.method !== "string") {
        throw new RpcError(-32600, "Invalid Request", 400);
      }
      const params = isObject(msg.params) ? msg.params : {};
      Object.assign(rec, { method: msg.method, params: msg.params });
      if (msg.id === undefined) return new Response(null, { status: 202 }); // a notification
      if (typeof msg.id !== "string" && typeof msg.id !== "number") {
        throw new RpcError(-32600, "Invalid Request: id must be a string or number", 400);
      }
      rec.id = id = msg.id;
      if (msg.method === "initialize") throw unsupported(params.protocolVersion);
      check(request.headers, msg.method, params);
      const name = String(params.name ?? "");
      const args = isObject(params.arguments) ? params.arguments : {};
      const caps = (params._meta as Json)[META_CAPS] as Json;
      const out = await dispatch({
        id,
        method: msg.method,
        params,
        name,
        args,
        caps,
        request,
        rec,
      });
      return out instanceof Response ? out : json({ id, result: out });
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      const error = {
        code: e.code,
        message: e.message,
        ...(e.data === undefined ? {} : { data: e.data }),
      };
      return json({ ...(id === undefined ? {} : { id }), error }, e.status);
    }
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}/mcp`,
    requests,
    changeTools,
    async close() {
      closing.abort();
      for (const l of listeners) l.end();
      await server.shutdown();
    },
  };
}
