/**
 * The 2026-07-28-only test upstream on its own, driven with plain fetch:
 * discovery, the header and `_meta` rules, multi round-trip requests with a
 * signed requestState, listen streams, progress and cancellation.
 */
import assert from "node:assert/strict";
import {
  type ModernUpstream,
  modernUpstream,
  type ModernUpstreamOptions,
} from "./modern_upstream.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const V = "2026-07-28";
const ALL_CAPS = { elicitation: {}, sampling: {}, roots: {} };
const SERVER_META = {
  "io.modelcontextprotocol/serverInfo": { name: "modern-upstream", version: "1.0.0" },
};
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

interface PostOptions {
  id?: string | number;
  caps?: Json;
  /** Extra `_meta` keys, or null for no `_meta` at all. */
  meta?: Json | null;
  /** Header overrides; null removes a header. */
  headers?: Record<string, string | null>;
  signal?: AbortSignal;
}

let nextId = 1;

/** POSTs one modern request with the headers and `_meta` a conforming client sends. */
function post(url: string, method: string, params: Json = {}, opts: PostOptions = {}) {
  const headers: Record<string, string | null> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    "mcp-method": method,
    ...(["tools/call", "prompts/get"].includes(method) ? { "mcp-name": params.name } : {}),
    ...opts.headers,
  };
  const _meta = opts.meta === null ? undefined : {
    "io.modelcontextprotocol/protocolVersion": V,
    "io.modelcontextprotocol/clientInfo": { name: "self-test", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": opts.caps ?? ALL_CAPS,
    ...opts.meta,
  };
  return fetch(url, {
    method: "POST",
    headers: Object.entries(headers).filter((e): e is [string, string] => e[1] !== null),
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: opts.id ?? nextId++,
      method,
      params: { ...params, _meta },
    }),
    signal: opts.signal,
  });
}

/** The JSON-RPC messages of a whole JSON or SSE body. */
async function messages(res: Response): Promise<Json[]> {
  const body = await res.text();
  if (!res.headers.get("content-type")?.startsWith("text/event-stream")) return [JSON.parse(body)];
  return body.split("\n\n").map(sseData).filter((d) => d !== "").map((d) => JSON.parse(d));
}

const sseData = (frame: string) =>
  frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");

/** Posts and reads the answer: HTTP status and the final JSON-RPC message. */
async function rpc(url: string, method: string, params: Json = {}, opts: PostOptions = {}) {
  const res = await post(url, method, params, opts);
  const all = await messages(res);
  return { status: res.status, headers: res.headers, all, answer: all[all.length - 1] };
}

/** The result of a call that must succeed. */
async function result(url: string, method: string, params: Json = {}, opts: PostOptions = {}) {
  const { status, answer } = await rpc(url, method, params, opts);
  assert.equal(status, 200, JSON.stringify(answer));
  assert.ok(answer.result, JSON.stringify(answer));
  return answer.result;
}

async function expectError(
  answer: Promise<{ status: number; answer: Json }>,
  status: number,
  code: number,
  data?: unknown,
) {
  const got = await answer;
  assert.equal(got.status, status, JSON.stringify(got.answer));
  assert.equal(got.answer.error?.code, code, JSON.stringify(got.answer));
  if (data !== undefined) assert.deepEqual(got.answer.error.data, data);
  return got.answer;
}

/** Reads SSE messages one by one from a response that stays open. */
function stream(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<Json> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const data = sseData(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (data !== "") return JSON.parse(data);
          continue;
        }
        const chunk = await within(reader.read(), "the next SSE message");
        if (chunk.done) throw new Error("the stream ended");
        buffer += chunk.value;
      }
    },
    async ended(): Promise<boolean> {
      return buffer === "" && (await within(reader.read(), "the end of the stream")).done;
    },
    cancel: () => reader.cancel(),
  };
}

async function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(what: string, ok: () => boolean) {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), `timed out waiting for ${what}`);
}

async function withServer(
  fn: (s: ModernUpstream) => Promise<void>,
  options?: ModernUpstreamOptions,
) {
  const server = await modernUpstream(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

Deno.test("server/discover names the one version, the capabilities, cache hints and server info", async () => {
  await withServer(async ({ url, requests }) => {
    const { status, headers, answer } = await rpc(url, "server/discover", {}, { id: "d-1" });
    assert.equal(status, 200);
    assert.equal(headers.get("content-type"), "application/json");
    assert.equal(headers.get("mcp-session-id"), null);
    assert.deepEqual(answer, {
      jsonrpc: "2.0",
      id: "d-1",
      result: {
        resultType: "complete",
        supportedVersions: [V],
        capabilities: { tools: { listChanged: true }, prompts: { listChanged: true } },
        ttlMs: 0,
        cacheScope: "public",
        _meta: SERVER_META,
      },
    });
    assert.equal(requests.length, 1);
    assert.equal(requests[0].method, "server/discover");
    assert.equal(requests[0].id, "d-1");
    assert.deepEqual(requests[0].headers, {
      "mcp-protocol-version": V,
      "mcp-method": "server/discover",
    });
  });
});

Deno.test("list results carry resultType and the configured cache hints", async () => {
  await withServer(async ({ url }) => {
    const tools = await result(url, "tools/list");
    assert.equal(tools.resultType, "complete");
    assert.deepEqual([tools.ttlMs, tools.cacheScope], [5000, "private"]);
    assert.deepEqual(tools.tools.map((t: Json) => t.name), [
      "echo",
      "ask_name",
      "summarize",
      "slow",
      "add_tool",
    ]);
    const prompts = await result(url, "prompts/list");
    assert.deepEqual(prompts.prompts.map((p: Json) => p.name), ["greet"]);
    assert.deepEqual([prompts.resultType, prompts.ttlMs], ["complete", 5000]);
    await expectError(rpc(url, "tools/list", { cursor: "nope" }), 200, -32602);
    const echo = await result(url, "tools/call", { name: "echo", arguments: { text: "hi" } });
    assert.deepEqual(echo, {
      resultType: "complete",
      content: [{ type: "text", text: "hi" }],
      _meta: SERVER_META,
    });
  }, { ttlMs: 5000, cacheScope: "private" });
});

Deno.test("requests that break the header or _meta rules get 400 and a modern error", async () => {
  await withServer(async ({ url }) => {
    const echo = { name: "echo", arguments: { text: "x" } };
    const noVersion = { headers: { "mcp-protocol-version": null } };
    await expectError(rpc(url, "tools/list", {}, noVersion), 400, -32020);
    const old = {
      headers: { "mcp-protocol-version": "2025-11-25" },
      meta: { "io.modelcontextprotocol/protocolVersion": "2025-11-25" },
    };
    const refused = await expectError(rpc(url, "tools/list", {}, { ...old, id: 7 }), 400, -32022, {
      supported: [V],
      requested: "2025-11-25",
    });
    assert.equal(refused.id, 7);
    const metaDiffers = { meta: { "io.modelcontextprotocol/protocolVersion": "2025-11-25" } };
    await expectError(rpc(url, "tools/list", {}, metaDiffers), 400, -32020);
    await expectError(rpc(url, "tools/list", {}, { meta: null }), 400, -32602);
    const noCaps = { meta: { "io.modelcontextprotocol/clientCapabilities": undefined } };
    await expectError(rpc(url, "tools/list", {}, noCaps), 400, -32602);
    await expectError(rpc(url, "tools/list", {}, { headers: { "mcp-method": null } }), 400, -32020);
    const wrongMethod = { headers: { "mcp-method": "tools/list" } };
    await expectError(rpc(url, "server/discover", {}, wrongMethod), 400, -32020);
    await expectError(rpc(url, "tools/call", echo, { headers: { "mcp-name": null } }), 400, -32020);
    const wrongName = { headers: { "mcp-name": "add_tool" } };
    await expectError(rpc(url, "tools/call", echo, wrongName), 400, -32020);
    // The Base64 sentinel form of Mcp-Name is decoded before it is compared.
    const encoded = { headers: { "mcp-name": `=?base64?${btoa("echo")}?=` } };
    assert.equal((await result(url, "tools/call", echo, encoded)).content[0].text, "x");
    const evil = { headers: { origin: "http://evil.example" } };
    await expectError(rpc(url, "tools/list", {}, evil), 403, -32600);
  });
});

Deno.test("everything but a well-formed modern request is turned away", async () => {
  await withServer(async ({ url }) => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(url, { method, headers: { accept: "text/event-stream" } });
      await res.body?.cancel();
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "POST");
    }
    const bad = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      jsonrpc: "2.0",
      error: { code: -32700, message: "Parse error" },
    });
    await expectError(rpc(url, "ping"), 404, -32601);
    await expectError(rpc(url, "logging/setLevel", { level: "info" }), 404, -32601);
    await expectError(rpc(url, "tools/call", { name: "nope", arguments: {} }), 200, -32602);
    await expectError(rpc(url, "prompts/get", { name: "nope" }), 200, -32602);
    const note = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: {} }),
    });
    await note.body?.cancel();
    assert.equal(note.status, 202);
  });
});

Deno.test("initialize from a legacy client is refused with -32022 naming 2026-07-28", async () => {
  await withServer(async ({ url }) => {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "legacy", version: "1" },
        },
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("mcp-session-id"), null);
    const answer = await res.json();
    assert.equal(answer.id, 0);
    assert.equal(answer.error.code, -32022);
    assert.match(answer.error.message, /2026-07-28/);
    assert.deepEqual(answer.error.data, { supported: [V], requested: "2025-11-25" });
  });
});

Deno.test("ask_name elicits a name over two requests, carrying a signed requestState", async () => {
  await withServer(async ({ url, requests }) => {
    const call = { name: "ask_name", arguments: {} };
    const first = await result(url, "tools/call", call);
    assert.equal(first.resultType, "input_required");
    assert.deepEqual(first.inputRequests, { name: NAME_QUESTION });
    assert.equal(typeof first.requestState, "string");
    const accept = { name: { action: "accept", content: { name: "Ada" } } };
    const retry = { ...call, inputResponses: accept, requestState: first.requestState };
    assert.deepEqual(await result(url, "tools/call", retry), {
      resultType: "complete",
      content: [{ type: "text", text: "Hello, Ada" }],
      _meta: SERVER_META,
    });
    assert.equal(requests.at(-1)!.headers["mcp-name"], "ask_name");
    assert.deepEqual(requests.at(-1)!.params!.inputResponses, accept);
    for (const action of ["decline", "cancel"]) {
      const declined = { ...retry, inputResponses: { name: { action } } };
      const r = await result(url, "tools/call", declined);
      assert.deepEqual(r.content, [{ type: "text", text: "no name given" }]);
    }
    // Input without the state it answers is asked for again.
    const again = await result(url, "tools/call", { ...call, inputResponses: accept });
    assert.equal(again.resultType, "input_required");
    const malformed = { ...retry, inputResponses: { name: { action: "maybe" } } };
    await expectError(rpc(url, "tools/call", malformed), 200, -32602);
  });
});

Deno.test("ask_name and greet need the elicitation capability (form mode)", async () => {
  await withServer(async ({ url }) => {
    const required = { requiredCapabilities: { elicitation: {} } };
    for (const caps of [{}, { sampling: {} }, { elicitation: { url: {} } }]) {
      const call = { name: "ask_name", arguments: {} };
      await expectError(rpc(url, "tools/call", call, { caps }), 400, -32021, required);
      await expectError(
        rpc(url, "prompts/get", { name: "greet" }, { caps }),
        400,
        -32021,
        required,
      );
    }
    const formOnly = { elicitation: { form: {} } };
    const ok = await result(url, "tools/call", { name: "ask_name" }, { caps: formOnly });
    assert.equal(ok.resultType, "input_required");
  });
});

Deno.test("a tampered, misdirected, re-principalled or expired requestState is refused", async () => {
  await withServer(async ({ url }) => {
    const call = { name: "ask_name", arguments: {} };
    const auth = { headers: { authorization: "Bearer one" } };
    const { requestState } = await result(url, "tools/call", call, auth);
    const inputResponses = { name: { action: "accept", content: { name: "Ada" } } };
    const [body, mac] = requestState.split(".");
    const forged = btoa(JSON.stringify({ m: "tools/call", n: "ask_name", s: "name", exp: 9e15 }))
      .replace(/=+$/, "");
    // Flip the low bit of one base64url character: of the payload, of the MAC, and of the MAC's
    // last character, where that bit is padding (same bytes, but not the string that was issued).
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const change = (at: number) =>
      requestState.slice(0, at) + B64[B64.indexOf(requestState[at]) ^ 1] +
      requestState.slice(at + 1);
    const changed = [0, body.length + 1, requestState.length - 1].map(change);
    for (const state of [...changed, `${forged}.${mac}`, `${body}`, `${requestState}.x`, 42]) {
      const retry = { ...call, inputResponses, requestState: state };
      const error = await expectError(rpc(url, "tools/call", retry, auth), 200, -32602);
      assert.equal(error.error.message, "invalid requestState");
    }
    const other = { headers: { authorization: "Bearer two" } };
    const retry = { ...call, inputResponses, requestState };
    await expectError(rpc(url, "tools/call", retry, other), 200, -32602);
    const asGreet = { name: "greet", inputResponses, requestState };
    await expectError(rpc(url, "prompts/get", asGreet, auth), 200, -32602);
    const otherArgs = { ...retry, arguments: { extra: 1 } };
    await expectError(rpc(url, "tools/call", otherArgs, auth), 200, -32602);
    assert.equal((await result(url, "tools/call", retry, auth)).content[0].text, "Hello, Ada");
  });
  await withServer(async ({ url }) => {
    const call = { name: "ask_name", arguments: {} };
    const { requestState } = await result(url, "tools/call", call);
    await new Promise((r) => setTimeout(r, 20));
    const retry = { ...call, inputResponses: { name: { action: "decline" } }, requestState };
    await expectError(rpc(url, "tools/call", retry), 200, -32602, { reason: "expired" });
  }, { stateTtlMs: 5 });
});

Deno.test("summarize samples a draft, then lists roots, across two input rounds", async () => {
  await withServer(async ({ url }) => {
    const call = { name: "summarize", arguments: { text: "MCP has a stateless era." } };
    const noRoots = { requiredCapabilities: { roots: {} } };
    await expectError(
      rpc(url, "tools/call", call, { caps: { sampling: {} } }),
      400,
      -32021,
      noRoots,
    );
    const first = await result(url, "tools/call", call);
    assert.equal(first.resultType, "input_required");
    assert.deepEqual(first.inputRequests, {
      draft: {
        method: "sampling/createMessage",
        params: {
          messages: [{
            role: "user",
            content: { type: "text", text: "Summarize: MCP has a stateless era." },
          }],
          maxTokens: 200,
        },
      },
    });
    const sampled = {
      role: "assistant",
      content: { type: "text", text: "MCP went stateless." },
      model: "test-model",
      stopReason: "endTurn",
    };
    const second = await result(url, "tools/call", {
      ...call,
      inputResponses: { draft: sampled },
      requestState: first.requestState,
    });
    assert.equal(second.resultType, "input_required");
    assert.deepEqual(second.inputRequests, { roots: { method: "roots/list" } });
    assert.notEqual(second.requestState, first.requestState);
    const roots = { roots: [{ uri: "file:///a" }, { uri: "file:///b", name: "b" }] };
    const final = await result(url, "tools/call", {
      ...call,
      inputResponses: { roots },
      requestState: second.requestState,
    });
    assert.deepEqual(final.content, [{
      type: "text",
      text: "Summary: MCP went stateless. (2 roots)",
    }]);
    // The round-1 state does not skip ahead to the result.
    const skipped = await result(url, "tools/call", {
      ...call,
      inputResponses: { roots },
      requestState: first.requestState,
    });
    assert.equal(skipped.resultType, "input_required");
    assert.deepEqual(Object.keys(skipped.inputRequests), ["draft"]);
  });
});

Deno.test("prompts/get greet asks for the name first", async () => {
  await withServer(async ({ url }) => {
    const first = await result(url, "prompts/get", { name: "greet" });
    assert.deepEqual(first.inputRequests, { name: NAME_QUESTION });
    const done = await result(url, "prompts/get", {
      name: "greet",
      inputResponses: { name: { action: "accept", content: { name: "Ada" } } },
      requestState: first.requestState,
    });
    assert.deepEqual(done, {
      resultType: "complete",
      description: "A greeting",
      messages: [{ role: "user", content: { type: "text", text: "Please greet Ada." } }],
      _meta: SERVER_META,
    });
  });
});

Deno.test("a listen stream is acknowledged, then told of tool changes add_tool makes", async () => {
  const server = await modernUpstream();
  const { url } = server;
  let closed = false;
  const res = await post(url, "subscriptions/listen", {
    notifications: { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true },
  }, { id: "listen-1" });
  const prompts = await post(url, "subscriptions/listen", {
    notifications: { promptsListChanged: true },
  }, { id: 9 });
  const tools = stream(res);
  const promptsOnly = stream(prompts);
  try {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const subscription = { "io.modelcontextprotocol/subscriptionId": "listen-1" };
    assert.deepEqual(await tools.next(), {
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: {
        _meta: subscription,
        notifications: { toolsListChanged: true, promptsListChanged: true },
      },
    });
    assert.deepEqual((await promptsOnly.next()).params, {
      _meta: { "io.modelcontextprotocol/subscriptionId": 9 },
      notifications: { promptsListChanged: true },
    });
    const added = await result(url, "tools/call", { name: "add_tool", arguments: {} });
    assert.deepEqual(added.content, [{ type: "text", text: "ok" }]);
    assert.deepEqual(await tools.next(), {
      jsonrpc: "2.0",
      method: "notifications/tools/list_changed",
      params: { _meta: subscription },
    });
    const list = await result(url, "tools/list");
    assert.ok(list.tools.some((t: Json) => t.name === "extra"));
    const extra = await result(url, "tools/call", { name: "extra", arguments: {} });
    assert.deepEqual(extra.content, [{ type: "text", text: "extra" }]);
    await expectError(rpc(url, "subscriptions/listen", {}), 200, -32602);
    // The client leaving ends its subscription; the server then ends the other gracefully.
    await tools.cancel();
    await server.close();
    closed = true;
    assert.deepEqual(await promptsOnly.next(), {
      jsonrpc: "2.0",
      id: 9,
      result: {
        resultType: "complete",
        _meta: { ...SERVER_META, "io.modelcontextprotocol/subscriptionId": 9 },
      },
    });
    assert.ok(await promptsOnly.ended());
  } finally {
    await tools.cancel().catch(() => {});
    await promptsOnly.cancel().catch(() => {});
    if (!closed) await server.close();
  }
});

Deno.test("slow reports progress on an SSE stream that ends with its result", async () => {
  await withServer(async ({ url }) => {
    const call = { name: "slow", arguments: { ms: 40 } };
    const plain = await rpc(url, "tools/call", call);
    assert.equal(plain.headers.get("content-type"), "application/json");
    assert.deepEqual(plain.answer.result.content, [{ type: "text", text: "slept 40ms" }]);
    const res = await post(url, "tools/call", call, { meta: { progressToken: "p-1" } });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const all = await messages(res);
    assert.deepEqual(
      all.slice(0, 4).map((m) => m.params),
      [0, 1, 2, 3].map((progress) => ({
        progressToken: "p-1",
        progress,
        total: 4,
      })),
    );
    assert.equal(all.length, 5);
    assert.deepEqual(all[4].result.content, [{ type: "text", text: "slept 40ms" }]);
    for (const ms of [-1, 1.5, "soon"]) {
      const bad = await result(url, "tools/call", { name: "slow", arguments: { ms } });
      assert.deepEqual(bad.content, [{ type: "text", text: "ms must be an integer >= 0" }]);
      assert.equal(bad.isError, true);
    }
  });
});

Deno.test("slow stops when its client goes away, with or without a progress stream", async () => {
  await withServer(async ({ url, requests }) => {
    const abort = new AbortController();
    const call = { name: "slow", arguments: { ms: 10_000 } };
    // Without a progress token the answer is JSON, its headers sent at once, its body when done.
    const res = await post(url, "tools/call", call, { signal: abort.signal, id: "s-1" });
    assert.equal(res.headers.get("content-type"), "application/json");
    abort.abort();
    await assert.rejects(res.text());
    await waitFor(
      "the abort to be seen",
      () => requests.find((r) => r.id === "s-1")!.aborted === true,
    );

    const sse = await post(url, "tools/call", call, { id: "s-2", meta: { progressToken: 1 } });
    const progress = stream(sse);
    assert.equal((await progress.next()).method, "notifications/progress");
    await progress.cancel();
    await waitFor(
      "the abort to be seen",
      () => requests.find((r) => r.id === "s-2")!.aborted === true,
    );
  });
});
