/**
 * The same protocol behaviour on every transport: one table of scenarios run
 * over Streamable HTTP, SSE and WebSocket with the MCP SDK's clients (and
 * each transport's raw channel for malformed messages), expecting identical
 * results.
 */
import assert from "node:assert/strict";
import {
  EmptyResultSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  connectSdk,
  type Fixture,
  type Json,
  type Kind,
  KINDS,
  openRawSse,
  openWs,
  type SdkClient,
  sleep,
  startFixture,
  TOOL_NAMES,
  waitFor,
  within,
  WsInbox,
} from "./fixtures.ts";

/** A transport's raw channel: sends one message as is and returns the answer to it. */
interface RawChannel {
  exchange(text: string, id: number | null): Promise<Json>;
  close(): Promise<void>;
}

async function rawChannel(kind: Kind, f: Fixture): Promise<RawChannel> {
  const { gw } = f;
  switch (kind) {
    case "http":
      return {
        exchange: async (text) => {
          const res = await fetch(gw.httpUrl, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              authorization: `Bearer ${gw.key}`,
            },
            body: text,
          });
          return await res.json();
        },
        close: () => Promise.resolve(),
      };
    case "sse": {
      const raw = await openRawSse(gw);
      return {
        exchange: async (text) => {
          assert.equal((await raw.post(text)).status, 202);
          return await raw.sse.nextMessage();
        },
        close: () => raw.close(),
      };
    }
    case "ws": {
      const inbox = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp"));
      return { exchange: (text, id) => inbox.request(text, id), close: () => inbox.close() };
    }
  }
}

/** The HTTP status an SDK connect failure reports. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "number" && code >= 100) return code;
  const m = /\b([1-5]\d\d)\b/.exec(String((err as Error).message ?? err));
  return m ? Number(m[1]) : undefined;
}

/** The JSON-RPC error code an SDK call rejected with. */
async function rpcCode(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "number" ? code : `not an McpError: ${err}`;
  }
}

/** Every scenario over `kind`; the result is what must be the same on every transport. */
async function scenarios(kind: Kind, f: Fixture): Promise<Record<string, Json>> {
  const out: Record<string, Json> = {};
  const { client, close } = await connectSdk(kind, f.gw);
  try {
    out.initialize = {
      serverInfo: client.getServerVersion(),
      capabilities: client.getServerCapabilities(),
    };
    out.toolsList = (await client.listTools()).tools.map((t: Json) => t.name).sort();
    out.toolsCall = await client.callTool({ name: "echo", arguments: { n: 1, s: "é" } });

    const progress: Json[] = [];
    const chatty = await client.callTool({ name: "chatty", arguments: {} }, undefined, {
      onprogress: (p: Json) => progress.push(p),
    });
    out.progress = { progress, result: chatty.content };

    out.logging = await logging(client);
    out.cancellation = await cancellation(kind, client, f);

    const raw = await rawChannel(kind, f);
    try {
      const parse = await raw.exchange('{"jsonrpc":"2.0","id":41,"method":"ping"', null);
      const badMethod = await raw.exchange('{"jsonrpc":"2.0","id":42,"method":42}', 42);
      const badVersion = await raw.exchange('{"jsonrpc":"1.0","id":43,"method":"ping"}', 43);
      out.rawErrors = [parse, badMethod, badVersion].map((m) => ({
        id: m.id,
        code: m.error?.code,
      }));
    } finally {
      await raw.close();
    }
    out.errors = {
      unknownMethod: await rpcCode(
        client.request({ method: "gatehouse/no-such-method", params: {} }, EmptyResultSchema),
      ),
      unknownTool: await rpcCode(client.callTool({ name: "no-such-tool", arguments: {} })),
      executorThrows: await rpcCode(client.callTool({ name: "boom", arguments: {} })),
    };
    // The connection survived every error.
    out.pingAfterErrors = await client.ping();
  } finally {
    await close();
  }
  out.auth = {};
  for (const [how, key] of [["no key", null], ["wrong key", "gk_not_a_real_key"]] as const) {
    try {
      const c = await connectSdk(kind, f.gw, key);
      await c.close();
      out.auth[how] = "connected";
    } catch (err) {
      out.auth[how] = statusOf(err);
    }
  }
  return out;
}

async function logging(client: Client): Promise<Json> {
  const logs: Json[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n: Json) => {
    logs.push(n.params);
  });
  const setLevel = await client.setLoggingLevel("warning");
  await client.callTool({ name: "chatty", arguments: {} });
  return { setLevel, logs };
}

async function cancellation(kind: Kind, client: Client, f: Fixture): Promise<Json> {
  const tag = `cancel-${kind}`;
  const ac = new AbortController();
  const call = client.callTool({ name: "wait", arguments: { tag } }, undefined, {
    signal: ac.signal,
  });
  const [seen] = await waitFor("the call to start", () => {
    const c = f.executor.tagged(tag);
    return c.length === 1 && c;
  });
  const runningBefore = !seen.aborted;
  ac.abort(new Error("the user gave up"));
  const outcome = await call.then(() => "resolved", () => "rejected");
  await waitFor("the executor to see the abort", () => seen.aborted);
  return { runningBefore, outcome, executorAborted: seen.aborted };
}

Deno.test("Parity: Streamable HTTP, SSE and WebSocket behave the same", async (t) => {
  const f = await startFixture();
  const results: Partial<Record<Kind, Record<string, Json>>> = {};
  try {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        results[kind] = await scenarios(kind, f);
      });
    }
  } finally {
    await f.close();
  }
  const http = results.http!;
  assert.ok(http, "the HTTP run finished");

  // What every transport must have produced.
  assert.deepEqual(http.initialize, {
    serverInfo: { name: "gatehouse", title: "gw /x", version: http.initialize.serverInfo.version },
    capabilities: { tools: { listChanged: true }, logging: {} },
  });
  assert.equal(typeof http.initialize.serverInfo.version, "string");
  assert.deepEqual(http.toolsList, TOOL_NAMES);
  assert.deepEqual(http.toolsCall, { content: [{ type: "text", text: '{"n":1,"s":"é"}' }] });
  assert.deepEqual(http.progress, {
    progress: [1, 2, 3].map((i) => ({ progress: i, total: 3, message: `step ${i}` })),
    result: [{ type: "text", text: "done" }],
  });
  assert.deepEqual(http.logging, {
    setLevel: {},
    logs: [
      { level: "warning", logger: "chatty", data: { said: "warning" } },
      { level: "error", logger: "chatty", data: { said: "error" } },
    ],
  });
  assert.deepEqual(http.cancellation, {
    runningBefore: true,
    outcome: "rejected",
    executorAborted: true,
  });
  assert.deepEqual(http.rawErrors, [
    { id: null, code: -32700 },
    { id: 42, code: -32600 },
    { id: 43, code: -32600 },
  ]);
  assert.deepEqual(http.errors, {
    unknownMethod: -32601,
    unknownTool: -32602,
    executorThrows: -32603,
  });
  assert.deepEqual(http.pingAfterErrors, {});
  assert.deepEqual(http.auth, { "no key": 401, "wrong key": 401 });

  // And the others produced exactly the same.
  for (const kind of KINDS) {
    assert.deepEqual(results[kind], http, `${kind} differs from Streamable HTTP`);
  }
});

Deno.test("Parity: tool changes and gateway deletion reach clients on every transport", async () => {
  const f = await startFixture();
  const clients = new Map<Kind, SdkClient>();
  try {
    const changed = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
    for (const kind of KINDS) {
      const c = await connectSdk(kind, f.gw);
      c.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed.set(kind, changed.get(kind)! + 1);
      });
      clients.set(kind, c);
    }
    // The Streamable HTTP client opens its GET stream in the background: change the
    // assignment (disable, enable) until every client has heard of a change.
    const assigned: Json[] = (await f.s.api("GET", `/gateways/${f.gw.id}/tools`)).body
      .tools as Json[];
    const echo = assigned.find((t) => t.name === "echo");
    assert.ok(echo, "echo is assigned");
    const toolId = echo.toolId;
    await waitFor("list_changed on every transport", async () => {
      for (const enabled of [false, true]) {
        const r = await f.s.api("PATCH", `/gateways/${f.gw.id}/tools/${toolId}`, { enabled });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      await sleep(50);
      return KINDS.every((k) => changed.get(k)! > 0);
    });
    // Disabled tools are gone from every transport's list.
    assert.equal(
      (await f.s.api("PATCH", `/gateways/${f.gw.id}/tools/${toolId}`, { enabled: false })).status,
      200,
    );
    for (const kind of KINDS) {
      const names = (await clients.get(kind)!.client.listTools()).tools.map((t: Json) => t.name);
      assert.deepEqual(names.sort(), TOOL_NAMES.filter((n) => n !== "echo"), kind);
    }

    // Deleting the gateway ends the long-lived connections and every later request.
    const rawSse = await openRawSse(f.gw);
    try {
      assert.equal((await f.s.api("DELETE", `/gateways/${f.gw.id}`)).status, 204);
      assert.equal(await rawSse.sse.nextEvent(), undefined, "the SSE stream ended");
    } finally {
      await rawSse.close();
    }
    await within(clients.get("ws")!.closed, 5000, "WebSocket client closed by the server");
    // (The SDK's SSE client reconnects instead of reporting a close; its requests fail.)
    for (const kind of ["sse", "http"] as const) {
      await assert.rejects(clients.get(kind)!.client.ping(), (e) => statusOf(e) === 404, kind);
    }
    for (const kind of KINDS) {
      await assert.rejects(connectSdk(kind, f.gw), (e) => statusOf(e) === 404, kind);
    }
  } finally {
    for (const c of clients.values()) await c.close().catch(() => {});
    await f.close();
  }
});
