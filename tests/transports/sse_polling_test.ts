/**
 * SEP-1699 SSE polling on Streamable HTTP (MCP 2025-11-25): a request whose
 * answer is not ready at once becomes a resumable stream that starts with a
 * priming event; the server closes the connection after its hold time with
 * a `retry`, and `GET` with `Last-Event-ID` carries on with that stream only.
 * Raw HTTP where the wire matters, the MCP SDK's client where a user would
 * notice, and a federated upstream tool through the gateway.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { McpSettings } from "../../src/config.ts";
import type { Tool } from "../../src/store/tools.ts";
import type { CallToolResult, ExecutionContext } from "../../src/tools/executor.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { api } from "../upstream/gateway_fixtures.ts";
import { until } from "../upstream/fixtures.ts";
import { sessionServer } from "../upstream/session_server.ts";
import {
  type Gateway,
  type Json,
  mcp,
  newKey,
  setupGateway,
  sleep,
  type SseBlock,
  SseReader,
  TransportExecutor,
  waitFor,
} from "./fixtures.ts";

/** Short timings, so a test sees a whole polling cycle in well under a second. */
const POLLING: Partial<McpSettings> = {
  streamAfterMs: 50,
  streamHoldMs: 300,
  streamRetryMs: 50,
  streamResumeMs: 1500,
};

/**
 * The transport tests' executor plus `gated`: a call that answers
 * `{"gated": tag}` once the test opens its gate (and stops on abort).
 */
class GatedExecutor extends TransportExecutor {
  #gates = new Map<string, PromiseWithResolvers<void>>();
  /** Tags of gated calls that saw their signal abort. */
  readonly aborted: string[] = [];

  #gate(tag: string): PromiseWithResolvers<void> {
    let g = this.#gates.get(tag);
    if (!g) this.#gates.set(tag, g = Promise.withResolvers<void>());
    return g;
  }

  /** Lets the gated call tagged `tag` answer. */
  open(tag: string): void {
    this.#gate(tag).resolve();
  }

  override async execute(
    tool: Tool,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<CallToolResult> {
    if (tool.name !== "gated") return await super.execute(tool, args, ctx);
    const tag = String(args.tag);
    this.calls.push({ tool: tool.name, args, signal: ctx.signal, aborted: false });
    if (args.progress) ctx.progress(1, 2, "before");
    await new Promise<void>((resolve, reject) => {
      ctx.signal.addEventListener("abort", () => {
        this.aborted.push(tag);
        reject(ctx.signal.reason);
      }, { once: true });
      this.#gate(tag).promise.then(resolve);
    });
    if (args.progress) ctx.progress(2, 2, "after");
    return { content: [{ type: "text", text: JSON.stringify({ gated: tag }) }] };
  }
}

interface Rig {
  s: TestServer;
  executor: GatedExecutor;
  gw: Gateway;
}

/** A server with the polling timings (or `settings`) and gateway `/x` with the `gated` tool too. */
async function withRig(
  fn: (rig: Rig) => Promise<void>,
  settings: Partial<McpSettings> = POLLING,
): Promise<void> {
  const executor = new GatedExecutor();
  const s = await startTestServer({ mcp: mcp(settings) }, new Map([["http", executor]]));
  try {
    const gw = await setupGateway(s);
    const tool = await api(s, "POST", "/tools", {
      name: "gated",
      description: "answers when the test lets it",
      inputSchema: { type: "object", properties: {} },
      type: "http",
      executionConfig: { method: "POST", url: "https://tool.test/gated" },
    }, 201);
    await api(s, "POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }, 201);
    await fn({ s, executor, gw });
  } finally {
    await s.close();
  }
}

/** A raw 2025-11-25 session (or `version`) opened with `key`. */
interface RawSession {
  id: string;
  headers: Record<string, string>;
  /** POSTs a JSON-RPC message with the session's headers (and `accept`). */
  post(body: unknown, accept?: string): Promise<Response>;
  /** GETs with `Last-Event-ID` (and `session` instead of this one's id, when given). */
  resume(lastEventId: string, session?: string): Promise<Response>;
}

const SDK_ACCEPT = "application/json, text/event-stream";

async function openSession(gw: Gateway, key = gw.key, version = "2025-11-25"): Promise<RawSession> {
  const base = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const init = await fetch(gw.httpUrl, {
    method: "POST",
    headers: { ...base, accept: SDK_ACCEPT },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: version,
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  });
  const answer = await init.json();
  assert.equal(answer.result?.protocolVersion, version, JSON.stringify(answer));
  const id = init.headers.get("mcp-session-id");
  assert.ok(id);
  const headers = { ...base, "mcp-session-id": id, "mcp-protocol-version": version };
  const post = (body: unknown, accept = SDK_ACCEPT) =>
    fetch(gw.httpUrl, {
      method: "POST",
      headers: { ...headers, accept },
      body: JSON.stringify(body),
    });
  const done = await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  assert.equal(done.status, 202);
  await done.body?.cancel();
  return {
    id,
    headers,
    post,
    resume: (lastEventId, session = id) =>
      fetch(gw.httpUrl, {
        headers: {
          authorization: headers.authorization,
          "mcp-session-id": session,
          "mcp-protocol-version": version,
          accept: "text/event-stream",
          "last-event-id": lastEventId,
        },
      }),
  };
}

function callGated(id: number, tag: string, extra: Record<string, unknown> = {}) {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "gated", arguments: { tag, ...extra } },
  };
}

/** Every block of an SSE response until its end, with `retry` fields kept. */
async function readAll(res: Response): Promise<(SseBlock & { retry?: string })[]> {
  const text = await res.text();
  return text.split(/\n\n/).filter((b) => b.trim() !== "").map((raw) => {
    const block: SseBlock & { retry?: string } = { comments: [] };
    const data: string[] = [];
    for (const line of raw.split("\n")) {
      const i = line.indexOf(":");
      const field = line.slice(0, i);
      const value = line.slice(i + 1).replace(/^ /, "");
      if (field === "") block.comments.push(value);
      else if (field === "id") block.id = value;
      else if (field === "event") block.event = value;
      else if (field === "retry") block.retry = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) block.data = data.join("\n");
    return block;
  });
}

const messagesOf = (blocks: SseBlock[]): Json[] =>
  blocks.filter((b) => b.data).map((b) => JSON.parse(b.data!));

Deno.test("SSE polling: a slow call's stream primes first, is closed mid-call with a retry, and GET with Last-Event-ID delivers the result", async () => {
  await withRig(async ({ gw, executor }) => {
    const session = await openSession(gw);
    const res = await session.post(callGated(7, "slow"));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const first = await readAll(res); // The server ends this connection on its own.
    assert.ok(first.length >= 1);
    const [priming] = first;
    assert.match(priming.id ?? "", /^\d+-0$/, "the priming event has an id");
    assert.equal(priming.data, "", "and empty data");
    assert.equal(
      priming.retry,
      String(POLLING.streamRetryMs),
      "and tells the client when to come back",
    );
    assert.deepEqual(messagesOf(first), [], "the connection closed before any answer");
    assert.ok(first.some((b, i) => i > 0 && b.retry !== undefined), "a retry precedes the close");
    assert.equal(executor.aborted.length, 0, "the call still runs");

    executor.open("slow");
    const resumed = await session.resume(priming.id!);
    assert.equal(resumed.status, 200);
    const rest = await readAll(resumed); // Ends after the response.
    const [answer] = messagesOf(rest);
    assert.equal(answer.id, 7);
    assert.deepEqual(answer.result.content, [{ type: "text", text: '{"gated":"slow"}' }]);
    const stream = priming.id!.split("-")[0];
    for (const b of rest.filter((b) => b.id)) assert.ok(b.id!.startsWith(`${stream}-`));

    // Collected: the stream is gone, and saying so is a clear 404.
    const again = await session.resume(rest.find((b) => b.data)!.id!);
    assert.equal(again.status, 404);
    assert.match((await again.json()).error.message, /names no stream of this session/);
  });
});

Deno.test("SSE polling: a client that drops the connection resumes from its last event and gets each later event once", async () => {
  await withRig(async ({ gw, executor }) => {
    const session = await openSession(gw);
    const res = await session.post({
      ...callGated(8, "drop", { progress: true }),
      params: {
        name: "gated",
        arguments: { tag: "drop", progress: true },
        _meta: { progressToken: "p" },
      },
    });
    // The progress notification turns the answer into a stream at once (no waiting).
    const sse = new SseReader(res);
    const priming = (await sse.nextEvent())!;
    assert.match(priming.id ?? "", /^\d+-0$/);
    const progress = (await sse.nextEvent())!;
    assert.equal(JSON.parse(progress.data!).params.message, "before");
    assert.match(progress.id ?? "", /^\d+-1$/);
    await sse.close(); // The network dropped; the client keeps the last id it saw.
    await sleep(100);
    assert.equal(executor.aborted.length, 0, "a disconnection is not a cancellation");

    executor.open("drop");
    const resumed = await readAll(await session.resume(progress.id!));
    const messages = messagesOf(resumed);
    assert.deepEqual(messages.map((m) => m.params?.message ?? m.result?.content[0].text), [
      "after",
      '{"gated":"drop"}',
    ], "only what came after the client's last event, in order, once");
    const ids = resumed.filter((b) => b.data).map((b) => b.id);
    assert.equal(new Set(ids).size, ids.length, "ids are unique within the stream");
  });
});

Deno.test("SSE polling: another session, another key, an unknown or malformed id never resumes a stream", async () => {
  await withRig(async ({ s, gw, executor }) => {
    const owner = await openSession(gw);
    const sameKey = await openSession(gw);
    const otherKey = await openSession(gw, await newKey(s, gw));
    const res = await owner.post(callGated(9, "mine"));
    const sse = new SseReader(res);
    const priming = (await sse.nextEvent())!;
    await sse.close();

    // Another session of the same credential: its own streams only.
    const cross = await sameKey.resume(priming.id!);
    assert.equal(cross.status, 404);
    const error = await cross.json();
    assert.equal(error.error.code, -32600);
    assert.match(error.error.message, /no stream of this session/);
    // Another credential presenting the owner's session id: the session is not theirs.
    const stolen = await fetch(gw.httpUrl, {
      headers: {
        ...otherKey.headers,
        "mcp-session-id": owner.id,
        "last-event-id": priming.id!,
        accept: "text/event-stream",
      },
    });
    assert.equal(stolen.status, 404);
    assert.match((await stolen.json()).error.message, /Session not found/);
    // An id this server never issued, and one of no recognizable shape.
    const unknown = await owner.resume("999999-0");
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const malformed = await owner.resume("not-an-id");
    assert.equal(malformed.status, 400);
    assert.match((await malformed.json()).error.message, /Last-Event-ID 'not-an-id'/);
    // A resume without a session is refused like any sessionless GET.
    const bare = await fetch(gw.httpUrl, {
      headers: {
        authorization: `Bearer ${gw.key}`,
        accept: "text/event-stream",
        "last-event-id": priming.id!,
      },
    });
    assert.equal(bare.status, 400);
    await bare.body?.cancel();

    // None of that touched the stream: its owner still gets the answer.
    executor.open("mine");
    const [answer] = messagesOf(await readAll(await owner.resume(priming.id!)));
    assert.equal(answer.id, 9);
    assert.equal(answer.result.content[0].text, '{"gated":"mine"}');
    // And the other sessions' GET streams never saw it.
    const theirs = await fetch(gw.httpUrl, {
      headers: { ...sameKey.headers, accept: "text/event-stream" },
    });
    const reader = new SseReader(theirs);
    const opening = await reader.nextEvent();
    assert.equal(opening?.data, "", "only the GET stream's own priming event");
    assert.match(opening?.id ?? "", /^\d+$/, "GET stream ids are of their own kind");
    await reader.close();
  });
});

Deno.test("SSE polling: the SDK client completes a slow call whose stream the server closed, by resuming with Last-Event-ID", async () => {
  await withRig(async ({ gw, executor }) => {
    const seen: { method: string; lastEventId: string | null; type: string | null }[] = [];
    const watching: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(init?.headers);
      seen.push({
        method: init?.method ?? "GET",
        lastEventId: headers.get("last-event-id"),
        type: res.headers.get("content-type"),
      });
      return res;
    };
    const transport = new StreamableHTTPClientTransport(new URL(gw.httpUrl), {
      requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
      fetch: watching,
    });
    const client = new Client({ name: "polling", version: "1" }, { capabilities: {} });
    await client.connect(transport);
    try {
      const call = client.callTool({ name: "gated", arguments: { tag: "sdk" } });
      // Let the server close the POST stream and the client poll at least once before answering.
      await waitFor("the client's resume", () => seen.some((r) => r.lastEventId?.includes("-")));
      executor.open("sdk");
      const result = await call;
      assert.deepEqual(result.content, [{ type: "text", text: '{"gated":"sdk"}' }]);
      const post = seen.find((r) => r.method === "POST" && r.type?.startsWith("text/event-stream"));
      assert.ok(post, "the slow call was answered as a stream");
      assert.equal(executor.aborted.length, 0);
      // Fast calls of the same client stay plain JSON.
      const before = seen.length;
      await client.callTool({ name: "echo", arguments: { n: 1 } });
      const fast = seen.slice(before).find((r) => r.method === "POST");
      assert.match(fast?.type ?? "", /^application\/json/);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
});

Deno.test("SSE polling: answers ready at once stay JSON, or one complete event for clients that rank SSE first", async () => {
  await withRig(async ({ gw }) => {
    const session = await openSession(gw);
    const list = { jsonrpc: "2.0", id: 1, method: "tools/list" };
    const json = await session.post(list);
    assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal((await json.json()).result.tools.length, 6);
    // Three at once, SSE ranked first (as the conformance suite asks): three working streams.
    const streams = await Promise.all(
      [1, 2, 3].map((i) =>
        session.post({ ...list, id: 100 + i }, "text/event-stream, application/json")
      ),
    );
    for (const [i, res] of streams.entries()) {
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const blocks = await readAll(res);
      assert.deepEqual(blocks.map((b) => b.event), ["message"], "one complete event");
      assert.equal(blocks[0].id, undefined, "nothing to resume in a complete stream");
      assert.equal(JSON.parse(blocks[0].data!).id, 101 + i);
    }
    // q-values outrank the order.
    const byQ = await session.post(list, "text/event-stream;q=0.5, application/json");
    assert.match(byQ.headers.get("content-type") ?? "", /^application\/json/);
    await byQ.body?.cancel();
    // An error answer is an answer like any other: one complete event.
    const unknown = await session.post(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: 42 } },
      "text/event-stream, application/json",
    );
    const [error] = messagesOf(await readAll(unknown));
    assert.equal(error.id, 2);
    assert.ok(error.error, JSON.stringify(error));
  });
});

Deno.test("SSE polling: 2025-06-18 sessions and 2026-07-28 requests are answered as before, without resumable streams", async () => {
  await withRig(async ({ gw, executor }) => {
    const old = await openSession(gw, gw.key, "2025-06-18");
    const pending = old.post(callGated(3, "old"));
    await sleep(POLLING.streamAfterMs! * 3);
    executor.open("old");
    const res = await pending;
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal((await res.json()).result.content[0].text, '{"gated":"old"}');
    // A 2025-06-18 session's GET with a POST-shaped id resumes nothing.
    const resume = await old.resume("1-0");
    assert.equal(resume.status, 404);
    await resume.body?.cancel();

    const stateless = fetch(gw.httpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gw.key}`,
        "content-type": "application/json",
        accept: "text/event-stream, application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "gated",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: {
          name: "gated",
          arguments: { tag: "stateless" },
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    await sleep(POLLING.streamAfterMs! * 3);
    executor.open("stateless");
    const answer = await stateless;
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
    const body = await answer.json();
    assert.equal(body.result.content[0].text, '{"gated":"stateless"}', JSON.stringify(body));
  });
});

Deno.test("SSE polling: a client that never comes back has its call stopped, and an uncollected answer expires", async () => {
  await withRig(async ({ gw, executor }) => {
    const session = await openSession(gw);
    // Gone for good: the call is stopped once the resume window passes, not at the disconnect.
    const sse = new SseReader(await session.post(callGated(5, "gone")));
    await sse.nextEvent();
    await sse.close();
    await sleep(200);
    assert.deepEqual(executor.aborted, []);
    await waitFor("the abandoned call to stop", () => executor.aborted.includes("gone"), 5000);

    // Answered while nobody listened, and never collected: dropped after the same window.
    const sse2 = new SseReader(await session.post(callGated(6, "late")));
    const priming = (await sse2.nextEvent())!;
    await sse2.close();
    executor.open("late");
    await sleep(POLLING.streamResumeMs! + 500);
    const expired = await session.resume(priming.id!);
    assert.equal(expired.status, 404);
    await expired.body?.cancel();
  });
});

Deno.test("SSE polling: a session keeps a bounded number of resumable streams; past it a request is held open as before", async () => {
  await withRig(async ({ gw, executor }) => {
    const session = await openSession(gw);
    const cap = 32; // maxResumableStreams (src/app.ts)
    const responses = await Promise.all(
      Array.from({ length: cap + 1 }, (_, i) => session.post(callGated(10 + i, `cap-${i}`))),
    );
    const reads = responses.map((res) => {
      const sse = new SseReader(res);
      const read = { sse, first: sse.nextEvent(10_000), got: undefined as SseBlock | undefined };
      read.first.then((b) => read.got = b);
      return read;
    });
    await waitFor("the resumable streams to prime", () => reads.filter((r) => r.got).length >= cap);
    await sleep(100);
    const primed = reads.filter((r) => r.got?.id?.endsWith("-0"));
    assert.equal(primed.length, cap, "every stream up to the cap is resumable");
    const held = reads.filter((r) => !r.got);
    assert.equal(held.length, 1, "the one past the cap waits for its answer on its connection");
    for (let i = 0; i <= cap; i++) executor.open(`cap-${i}`);
    const last = await held[0].first;
    assert.equal(last?.event, "message");
    assert.ok(JSON.parse(last!.data!).result, last!.data);
    for (const r of reads) await r.sse.close();
  });
});

Deno.test("SSE polling: a federated upstream tool slower than the hold is delivered to the SDK client through the gateway", async () => {
  const gate = Promise.withResolvers<void>();
  const upstream = sessionServer({
    make: () => {
      const server = new McpServer({ name: "slow-upstream", version: "1.0.0" });
      server.registerTool("slow", { description: "Answers when the test lets it." }, async () => {
        await gate.promise;
        return { content: [{ type: "text" as const, text: "slow and steady" }] };
      });
      return server;
    },
  });
  try {
    await withRig(async ({ s, gw }) => {
      const created = await api(s, "POST", "/servers", {
        name: "slow",
        transport: "streamable-http",
        url: upstream.url,
      }, 201);
      await until(
        async () => (await api(s, "GET", `/servers/${created.id}`)).status.state === "ready",
        20_000,
        "upstream ready",
      );
      await api(
        s,
        "POST",
        `/gateways/${gw.id}/servers`,
        { serverId: created.id, prefix: "up" },
        201,
      );
      const resumes: string[] = [];
      const transport = new StreamableHTTPClientTransport(new URL(gw.httpUrl), {
        requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
        fetch: ((input, init) => {
          const last = new Headers(init?.headers).get("last-event-id");
          if (last) resumes.push(last);
          return fetch(input, init);
        }) as typeof fetch,
      });
      const client = new Client({ name: "federated", version: "1" }, { capabilities: {} });
      await client.connect(transport);
      try {
        const { tools } = await client.listTools();
        const names: string[] = tools.map((t: Json) => t.name);
        const name = names.find((n) => n.endsWith("slow"));
        assert.ok(name, JSON.stringify(names));
        const call = client.callTool({ name, arguments: {} });
        await waitFor("a poll after the gateway closed the stream", () => resumes.length > 0);
        gate.resolve();
        const result = await call;
        assert.deepEqual(result.content, [{ type: "text", text: "slow and steady" }]);
      } finally {
        await transport.terminateSession().catch(() => {});
        await client.close();
      }
    });
  } finally {
    gate.resolve();
    await upstream.stop();
  }
});
