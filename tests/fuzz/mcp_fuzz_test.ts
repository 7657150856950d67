/**
 * Property-based fuzzing of the MCP endpoints: thousands of generated
 * JSON-RPC messages (see mcp_arbitraries.ts) against a real gateway whose
 * `http` tools call a real upstream, over Streamable HTTP (with and without a
 * session, with generated headers), the SSE transport (answers read from the
 * stream) and WebSocket text frames. Every answer must be well-formed (see
 * answers.ts): no 5xx, no -32603, the request's id, 202 for notifications.
 * The seed is fixed (printed; `FUZZ_SEED` picks another) and counts bounded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstream, type Upstream } from "../tools/upstream.ts";
import {
  answerProblems,
  isApiError,
  isServerNotification,
  responseProblems,
  type Sent,
  show,
} from "./answers.ts";
import { type Body, bodyBytes, describeBody, headerText, type Json } from "./json_arbitraries.ts";
import { mcpBodyArb, VERSIONS } from "./mcp_arbitraries.ts";
import { segmentArb } from "./api_arbitraries.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261201);
/** Generated messages per transport. */
const RUNS = { sessionless: 700, session: 500, sse: 400, ws: 600, paths: 400 };
/** How long an answer may take (a tool call goes to the upstream and back). */
const ANSWER_MS = 5000;
const MCP_ACCEPT = "application/json, text/event-stream";

/** The gateway under test: its URLs and keys. */
interface Target {
  url: string;
  key: string;
  revokedKey: string;
}

/** A gateway with three real `http` tools calling `up`, an `api_key` method and keys. */
async function setUp(s: TestServer, up: Upstream): Promise<Target> {
  const ok = async (method: string, path: string, body: unknown) => {
    const res = await s.api(method, path, body);
    assert.ok(res.status === 201, `${method} ${path}: ${res.status} ${show(res.body)}`);
    return res.body as Json;
  };
  const gw = await ok("POST", "/gateways", {
    name: "Fuzz",
    type: "mcp",
    endpoint: "/fuzz",
    configuration: { transport: "http" },
  });
  const tools = [
    {
      name: "lookup",
      inputSchema: {
        type: "object",
        properties: {
          q: { type: "string", maxLength: 200 },
          n: { type: "integer", minimum: 0, maximum: 100 },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["q"],
      },
      executionConfig: {
        method: "GET",
        url: `${up.url}/echo`,
        queryParams: { q: "{{parameters.q}}", n: "{{parameters.n}}", tags: "{{parameters.tags}}" },
      },
    },
    {
      name: "post_any",
      inputSchema: { type: "object", properties: { payload: {} } },
      executionConfig: {
        method: "POST",
        url: `${up.url}/echo`,
        body: "{{parameters.payload}}",
        bodyEncoding: "json",
      },
    },
    {
      name: "item",
      inputSchema: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
      executionConfig: { method: "DELETE", url: `${up.url}/items/{{parameters.id}}` },
    },
  ];
  const ids = [];
  for (const t of tools) {
    ids.push((await ok("POST", "/tools", { ...t, type: "http", description: t.name })).id);
  }
  await ok("POST", `/gateways/${gw.id}/tools`, { toolIds: ids });
  await ok("POST", `/gateways/${gw.id}/auth`, { type: "api_key" });
  const key = (await ok("POST", `/gateways/${gw.id}/keys`, { name: "fuzz" })).key;
  const revoked = await ok("POST", `/gateways/${gw.id}/keys`, { name: "revoked" });
  const del = await s.api("DELETE", `/gateways/${gw.id}/keys/${revoked.id}`);
  assert.ok(del.status < 300, show(del.body));
  return { url: `${s.url}/mcp/default/fuzz`, key, revokedKey: revoked.key };
}

/** What the server can read of `body`: the parsed JSON, leniently decoded when not clean UTF-8. */
function sentOf(body: Body): Sent {
  if ("json" in body) return { value: JSON.parse(body.json) };
  let text: string;
  // A byte order mark may be skipped or refused (RFC 8259 section 8.1).
  let lenient = body.bytes[0] === 0xef && body.bytes[1] === 0xbb && body.bytes[2] === 0xbf;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body.bytes);
  } catch {
    text = new TextDecoder().decode(body.bytes);
    lenient = true;
  }
  try {
    return { value: JSON.parse(text), lenient };
  } catch {
    return {};
  }
}

/** Generated Streamable HTTP headers: mostly a proper client's, sometimes anything. */
function headersArb(t: Target, session?: { id: string; version: string }) {
  const pick = <T>(usual: T, ...others: fc.Arbitrary<T>[]) =>
    fc.oneof({ weight: 30, arbitrary: fc.constant(usual) }, ...others);
  return fc.record({
    accept: pick<string | undefined>(
      MCP_ACCEPT,
      fc.constantFrom("application/json", "text/event-stream", "*/*", undefined, "text/html"),
      headerText,
    ),
    "content-type": pick<string | undefined>(
      "application/json",
      fc.constantFrom("application/json; charset=utf-8", "text/plain", undefined, "json"),
      headerText,
    ),
    authorization: pick<string | undefined>(
      `Bearer ${t.key}`,
      fc.constantFrom(undefined, `Bearer ${t.revokedKey}`, "Bearer ghk_nope", `Basic ${t.key}`),
      headerText,
    ),
    "mcp-protocol-version": pick<string | undefined>(
      session?.version,
      fc.constantFrom(...VERSIONS),
      headerText,
    ),
    "mcp-session-id": pick<string | undefined>(session?.id, fc.constant(undefined), headerText),
    "mcp-method": pick<string | undefined>(undefined, fc.constantFrom("tools/call", "ping")),
    "mcp-name": pick<string | undefined>(undefined, fc.constantFrom("lookup", "nope")),
    origin: pick<string | undefined>(undefined, fc.constantFrom("http://evil.example", "null")),
  });
}

/** Reads the `data:` messages of an SSE body. */
function sseData(text: string): Json[] {
  return text.split(/\r?\n\r?\n/).flatMap((block) => {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
    return data === "" ? [] : [JSON.parse(data)];
  });
}

/** Problems with a Streamable HTTP answer to `body` (empty when well-formed). */
async function httpProblems(res: Response, sent: Sent): Promise<string[]> {
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  const at = `HTTP ${res.status} ${text.slice(0, 300)}`;
  if (res.status >= 500) return [`server error: ${at}`];
  if (res.status === 202) {
    if (text !== "") return [`202 with a body: ${at}`];
    return answerProblems(sent, []).map((p) => `${p} (${at})`);
  }
  let messages: Json[];
  try {
    messages = type.startsWith("text/event-stream") ? sseData(text) : [JSON.parse(text)];
  } catch {
    return [`not JSON: ${at}`];
  }
  if (res.status === 200) {
    return answerProblems(sent, messages.filter((m) => !isServerNotification(m)))
      .map((p) => `${p} (${at})`);
  }
  if (res.status < 400 || res.status >= 500 || messages.length !== 1) return [`unexpected ${at}`];
  // A refusal: the API's error shape, or a JSON-RPC error (a batch may get its responses).
  const [body] = messages;
  if (isApiError(body)) return [];
  if (Array.isArray(body)) return answerProblems(sent, [body]).map((p) => `${p} (${at})`);
  const problems = responseProblems(body);
  if (problems.length > 0) return problems.map((p) => `${p} (${at})`);
  if (!("error" in body)) return [`a ${res.status} with a result: ${at}`];
  const value = sent.value;
  const id = value && !Array.isArray(value) && typeof value === "object" ? value.id : undefined;
  if (body.id !== null && body.id !== id) return [`error id ${show(body.id)} for ${show(id)}`];
  return [];
}

/** Asserts `problems` is empty, naming the input. */
function expectNone(problems: string[], what: string): void {
  if (problems.length > 0) throw new Error(`${what}\n  -> ${problems.join("\n  -> ")}`);
}

/** POSTs a generated body with generated headers to `url`. */
function post(url: string, body: Body, headers: Record<string, string | undefined>) {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.set(k, v);
  return fetch(url, {
    method: "POST",
    headers: h,
    body: bodyBytes(body),
    signal: AbortSignal.timeout(ANSWER_MS),
  });
}

/** Messages that arrive on a stream or socket, and waiting for them. */
class Inbox {
  readonly messages: Json[] = [];
  #wake: (() => void)[] = [];

  /** Adds a message. */
  push(m: Json): void {
    this.messages.push(m);
    for (const w of this.#wake.splice(0)) w();
  }

  /** Resolves once `cond()` holds; false after `ms`. */
  async until(cond: () => boolean, ms = ANSWER_MS): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
    return true;
  }
}

/** How many answers (messages or batches) `sent` is owed; undefined when it may be none. */
function owed(sent: Sent): number | undefined {
  const v = sent.value;
  if (v === undefined) return 1;
  const single = (m: Json) => answerProblems({ value: m }, []).length > 0;
  if (!Array.isArray(v)) return single(v) ? 1 : 0;
  if (v.some((m) => m?.method === "notifications/cancelled")) return undefined;
  return v.length === 0 || v.some(single) ? 1 : 0;
}

let sentinels = 0;

/**
 * Sends `body` down a session whose answers arrive in `inbox`; once the
 * answers owed are in, sends a ping (the sentinel): when it is answered,
 * everything else that arrived is the answer to `body`. (Waiting before the
 * ping also spares Deno's WebSocket client, which does not disable Nagle's
 * algorithm, a delayed-ACK stall of 40 ms per pair of frames.)
 */
async function viaInbox(
  inbox: Inbox,
  send: (bytes: Uint8Array<ArrayBuffer> | string) => Promise<void>,
  body: Body,
): Promise<string[]> {
  const sent = sentOf(body);
  const from = inbox.messages.length;
  const sentinel = `sentinel-${++sentinels}`;
  const due = owed(sent);
  const answers = () =>
    inbox.messages.slice(from).filter((m) => !isServerNotification(m) && m?.id !== sentinel);
  await send(bodyBytes(body));
  if (due !== undefined && !await inbox.until(() => answers().length >= due)) {
    return [`no answer within ${ANSWER_MS} ms; got ${show(answers())}`];
  }
  await send(JSON.stringify({ jsonrpc: "2.0", id: sentinel, method: "ping" }));
  if (!await inbox.until(() => inbox.messages.slice(from).some((m) => m?.id === sentinel))) {
    return [`the ping after it got no answer within ${ANSWER_MS} ms`];
  }
  if (due === undefined) await new Promise((r) => setTimeout(r, 100));
  return answerProblems(sent, answers());
}

/** Runs `numRuns` generated bodies through `check`, which returns the problems it saw. */
async function fuzz<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  numRuns: number,
  check: (input: T) => Promise<string[]>,
  describe: (input: T) => string,
): Promise<void> {
  const start = performance.now();
  await fc.assert(
    fc.asyncProperty(arb, async (input) => expectNone(await check(input), describe(input))),
    { seed: SEED, numRuns },
  );
  const ms = performance.now() - start;
  console.log(`${name}: ${numRuns} messages in ${ms.toFixed(0)} ms (seed ${SEED})`);
}

Deno.test("MCP fuzz: generated JSON-RPC over every transport gets well-formed answers", async (t) => {
  const up = startUpstream({
    "/echo": (_req, rec) => Response.json({ method: rec.method, bytes: rec.body.length }),
  });
  const s = await startTestServer();
  try {
    const target = await setUp(s, up);
    console.log(`fuzz seed ${SEED}`);

    await t.step("Streamable HTTP without a session", () =>
      fuzz(
        "sessionless",
        fc.tuple(mcpBodyArb, headersArb(target)),
        RUNS.sessionless,
        async ([body, headers]) =>
          await httpProblems(await post(target.url, body, headers), sentOf(body)),
        ([body, headers]) => `POST ${show(headers)} ${describeBody(body)}`,
      ));

    await t.step("Streamable HTTP in sessions", async () => {
      const sessions = [];
      for (const version of ["2025-03-26", "2025-11-25"]) {
        const init = {
          jsonrpc: "2.0",
          id: 0,
          method: "initialize",
          params: {
            protocolVersion: version,
            capabilities: {},
            clientInfo: { name: "fuzz", version: "1" },
          },
        };
        const headers = {
          accept: MCP_ACCEPT,
          "content-type": "application/json",
          authorization: `Bearer ${target.key}`,
        };
        const res = await post(target.url, { json: JSON.stringify(init) }, headers);
        await res.body?.cancel();
        const id = res.headers.get("mcp-session-id");
        assert.ok(id, `initialize ${version}: ${res.status}`);
        sessions.push({ id, version });
      }
      const arb = fc.constantFrom(...sessions).chain((session) =>
        fc.tuple(mcpBodyArb, headersArb(target, session))
      );
      await fuzz(
        "sessions",
        arb,
        RUNS.session,
        async ([body, headers]) =>
          await httpProblems(await post(target.url, body, headers), sentOf(body)),
        ([body, headers]) => `POST ${show(headers)} ${describeBody(body)}`,
      );
    });

    await t.step("SSE transport: POSTs answered down the stream", async () => {
      const stop = new AbortController();
      const res = await fetch(`${target.url}/sse`, {
        headers: { accept: "text/event-stream", authorization: `Bearer ${target.key}` },
        signal: stop.signal,
      });
      assert.equal(res.status, 200);
      const inbox = new Inbox();
      const endpoint = Promise.withResolvers<string>();
      let buffer = "";
      const reading = res.body!.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({
          write(chunk) {
            const blocks = (buffer + chunk).split(/\r?\n\r?\n/);
            buffer = blocks.pop() ?? "";
            for (const block of blocks) {
              const lines = block.split(/\r?\n/);
              const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim())
                .join("\n");
              if (lines.includes("event: endpoint")) {
                endpoint.resolve(new URL(data, target.url).href);
              } else if (data !== "") inbox.push(JSON.parse(data));
            }
          },
        }),
      ).catch(() => {});
      const postUrl = await endpoint.promise;
      const send = async (bytes: Uint8Array<ArrayBuffer> | string) => {
        const r = await fetch(postUrl, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${target.key}` },
          body: bytes,
        });
        const text = await r.text();
        if (r.status !== 202) inbox.push({ transportRefusal: r.status, text });
      };
      try {
        await send(JSON.stringify({
          jsonrpc: "2.0",
          id: "init",
          method: "initialize",
          params: {
            protocolVersion: "2024-11-05",
            capabilities: {},
            clientInfo: { name: "fuzz", version: "1" },
          },
        }));
        await inbox.until(() => inbox.messages.some((m) => m?.id === "init"));
        await fuzz(
          "sse",
          mcpBodyArb,
          RUNS.sse,
          (body) => viaInbox(inbox, send, body),
          describeBody,
        );
      } finally {
        stop.abort();
        await reading;
      }
    });

    await t.step("WebSocket text frames", async () => {
      const ws = new WebSocket(`${target.url.replace("http", "ws")}/ws`, {
        headers: { authorization: `Bearer ${target.key}` },
      });
      const inbox = new Inbox();
      ws.onmessage = (e) => inbox.push(JSON.parse(e.data));
      const closed = new Promise((r) => ws.onclose = r);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      const decoder = new TextDecoder();
      const send = (data: Uint8Array | string) => {
        assert.equal(ws.readyState, WebSocket.OPEN, "the server closed the WebSocket");
        ws.send(typeof data === "string" ? data : decoder.decode(data));
        return Promise.resolve();
      };
      try {
        await fuzz(
          "websocket",
          mcpBodyArb,
          RUNS.ws,
          (body) => viaInbox(inbox, send, body),
          describeBody,
        );
      } finally {
        ws.close();
        await closed;
      }
    });

    await t.step("MCP, SSE, WebSocket and OAuth URLs with generated paths", async () => {
      const suffix = fc.constantFrom(
        "",
        "/sse",
        "/ws",
        "/messages",
        "/message",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/oauth/register",
        "/oauth/authorize",
        "/oauth/token",
        "/oauth/revoke",
      );
      const prefix = fc.constantFrom(
        "/mcp",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server/mcp",
      );
      const query = fc.oneof(
        { weight: 3, arbitrary: fc.constant("") },
        fc.constantFrom(
          `?api_key=${target.key}`,
          "?api_key=%ZZ",
          "?sessionId=%ZZ&api_key=%",
          "?sessionId=00000000000000000000000000000000",
          "?client_id=%E0%A4%A&redirect_uri=%&response_type=code",
          "?a=%ZZ&a=%&%=1",
        ),
      );
      const arb = fc.record({
        path: fc.tuple(prefix, segmentArb(["default"]), segmentArb(["fuzz"]), suffix, query)
          .map(([p, org, endpoint, end, q]) => `${p}/${org}/${endpoint}${end}${q}`),
        method: fc.constantFrom("GET", "POST", "DELETE", "PUT", "OPTIONS"),
        body: mcpBodyArb,
        headers: headersArb(target),
      });
      await fuzz("paths", arb, RUNS.paths, async (r) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) h.set(k, v);
        const res = await fetch(`${s.url}${r.path}`, {
          method: r.method,
          headers: h,
          body: r.method === "GET" ? undefined : bodyBytes(r.body),
          signal: AbortSignal.timeout(ANSWER_MS),
        });
        if (res.status >= 500) return [`server error: HTTP ${res.status} ${await res.text()}`];
        // A stream that opened (SSE, a session's GET stream) is a fine answer; stop reading it.
        if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
          await res.body?.cancel();
          return [];
        }
        const text = await res.text();
        if (!(res.headers.get("content-type") ?? "").includes("json") || text === "") return [];
        let body: Json;
        try {
          body = JSON.parse(text);
        } catch {
          return [`not JSON: HTTP ${res.status} ${text.slice(0, 300)}`];
        }
        // The shapes of the three surfaces: JSON-RPC, the API's errors, OAuth's errors.
        const oauthError = typeof body?.error === "string";
        const rpc = Array.isArray(body) || responseProblems(body).length === 0;
        if (res.status >= 400 && !oauthError && !isApiError(body) && !rpc) {
          return [`an error in no known shape: HTTP ${res.status} ${text.slice(0, 300)}`];
        }
        return [];
      }, (r) => `${r.method} ${r.path} ${show(r.headers)} ${describeBody(r.body)}`);
    });

    // The generated calls were good enough to reach the upstream, many times.
    console.log(`the upstream saw ${up.requests.length} tool calls`);
    assert.ok(
      up.requests.length > 50,
      `only ${up.requests.length} tool calls reached the upstream`,
    );
    const health = await fetch(`${s.url}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { status: "ok" }]);
  } finally {
    await s.close();
    await up.close();
  }
});
