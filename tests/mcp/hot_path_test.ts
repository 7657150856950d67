/**
 * The invariants that keep the hot path fast, checked without timing
 * anything: once a gateway has served its first requests, tools/list and
 * tools/call (an `http` tool with a secret in its headers and an input
 * schema, against a real upstream) run no SQL statement on the store; the
 * request log's writes are the only ones, and they happen in batches, off
 * the request. The decrypted secrets the vault keeps follow every write.
 */
import assert from "node:assert/strict";
import { withServer } from "../api/fixtures.ts";
import { addSecret, httpTool, toolGateway } from "../secrets/fixtures.ts";
import { createGateway, ok, req, rpc, sleep } from "../helpers/mcp.ts";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { TestServer } from "../helpers/server.ts";
import { hang, startUpstream } from "../tools/upstream.ts";
import { defaultExecutors } from "../../src/tools/registry.ts";
import { CALLER_GRACE_MS } from "../../src/transports/caller_watch.ts";
import { OrgOutboundPolicies } from "../../src/tools/outbound_policy.ts";
import { waitFor } from "../transports/fixtures.ts";

/** Records every statement `s`'s store runs until the returned function is called. */
function watchStatements(s: TestServer): () => string[] {
  const db = s.store.db;
  const seen: string[] = [];
  const original = { get: db.get, all: db.all, run: db.run };
  for (const name of ["get", "all", "run"] as const) {
    const method = original[name] as (sql: string, ...args: unknown[]) => Promise<unknown>;
    (db as unknown as Record<string, unknown>)[name] = (sql: string, ...args: unknown[]) => {
      seen.push(sql.replace(/\s+/g, " ").trim());
      return method.call(db, sql, ...args);
    };
  }
  return () => {
    Object.assign(db, original);
    // The request log's batches are written through the store when it is in memory or
    // PostgreSQL; with a database file its thread writes them on a connection of its own.
    return seen.filter((sql) => !/request_log|request_stats/.test(sql));
  };
}

/**
 * Records the `AbortSignal.timeout` and `AbortSignal.any` calls made from
 * `src/` until the returned function is called. Neither can be let go of
 * when the work ends: each keeps about 1 KB for as long as its timeout.
 */
function watchUnclearableSignals(): () => string[] {
  const original = { timeout: AbortSignal.timeout, any: AbortSignal.any };
  const seen: string[] = [];
  const record = (name: string) => {
    const at = new Error().stack?.split("\n").find((line) => line.includes("/src/"));
    if (at) seen.push(`${name} ${at.trim()}`);
  };
  AbortSignal.timeout = (ms: number) => {
    record("AbortSignal.timeout");
    return original.timeout.call(AbortSignal, ms);
  };
  AbortSignal.any = (signals: AbortSignal[]) => {
    record("AbortSignal.any");
    return original.any.call(AbortSignal, signals);
  };
  return () => {
    Object.assign(AbortSignal, original);
    return seen;
  };
}

Deno.test("tools/list and tools/call run no SQL once a gateway is warm", async () => {
  const up = startUpstream({ "/users": () => Response.json([{ id: 1, name: "Ada" }]) });
  try {
    await withServer(async (s) => {
      const secret = await addSecret(s, {
        name: "UP_TOKEN",
        type: "bearer_token",
        value: "tok-hot-1",
      });
      const gw = await toolGateway(s, [
        httpTool(
          "get_users",
          `${up.url}/users`,
          { method: "GET", headers: { Authorization: "Bearer {{secrets.UP_TOKEN}}" } },
          { page: { type: "integer", minimum: 1 } },
        ),
      ]);
      // Warm: the first list and call may read the store and fill caches.
      let id = 1000;
      assert.equal((await gw.session.rpc(req(id++, "tools/list"))).status, 200);
      assert.equal((await gw.call("get_users", { page: 1 })).isError, undefined);

      const stop = watchStatements(s);
      const stopSignals = watchUnclearableSignals();
      for (let i = 0; i < 10; i++) {
        const list = await gw.session.rpc(req(id++, "tools/list"));
        assert.equal(list.body.result.tools.length, 1, list.text);
        const result = await gw.call("get_users", { page: i + 1 });
        assert.equal(result.isError, undefined, JSON.stringify(result));
      }
      const signals = stopSignals();
      const statements = stop();
      assert.deepEqual(statements, [], "statements run by 10 lists and 10 calls");
      // Under load they would pile up for the whole tool timeout (30 s): 126 → 400 MiB at 12,000/s.
      assert.deepEqual(signals, [], "signals that outlive 10 lists and 10 calls");
      assert.equal(up.to("/users").length, 11);
      assert.equal(up.to("/users")[10].headers.authorization, "Bearer tok-hot-1");

      // What is cached follows every write: a rotated value is used on the next call, a renamed
      // or deleted secret is missing at once.
      const rotate = await s.api("PATCH", `/secrets/${secret.id}`, { value: "tok-hot-2" });
      assert.equal(rotate.status, 200, JSON.stringify(rotate.body));
      assert.equal((await gw.call("get_users")).isError, undefined);
      assert.equal(up.to("/users")[11].headers.authorization, "Bearer tok-hot-2");
      const rename = await s.api("PATCH", `/secrets/${secret.id}`, { name: "UP_TOKEN_OLD" });
      assert.equal(rename.status, 200, JSON.stringify(rename.body));
      const renamed = await gw.call("get_users");
      assert.equal(renamed.isError, true);
      assert.match(renamed.content[0].text, /secret 'UP_TOKEN' not configured/);
      assert.equal(
        (await s.api("PATCH", `/secrets/${secret.id}`, { name: "UP_TOKEN" })).status,
        200,
      );
      assert.equal((await gw.call("get_users")).isError, undefined);
      assert.equal((await s.api("DELETE", `/secrets/${secret.id}`)).status, 204);
      assert.equal((await gw.call("get_users")).isError, true);
      assert.equal(up.to("/users").length, 13);
    });
  } finally {
    await up.close();
  }
});

/**
 * Wraps `req` so that what the server reads of it is counted: each header
 * name asked for, and whether its signal or its body stream was touched.
 */
function watchRequest(req: Request): { headers: Map<string, number>; touched: string[] } {
  const seen = { headers: new Map<string, number>(), touched: [] as string[] };
  const headers = req.headers;
  for (const name of ["get", "has"] as const) {
    const original = headers[name].bind(headers);
    headers[name] = ((key: string) => {
      const k = key.toLowerCase();
      seen.headers.set(k, (seen.headers.get(k) ?? 0) + 1);
      return original(key);
    }) as never;
  }
  for (const prop of ["signal", "body"]) {
    const getter = Object.getOwnPropertyDescriptor(Request.prototype, prop)!.get!;
    Object.defineProperty(req, prop, {
      get() {
        seen.touched.push(prop);
        return getter.call(this);
      },
    });
  }
  return seen;
}

/** A second app over `s`'s store, so its handler can be given requests directly. */
async function withDirectApp(
  s: TestServer,
  fn: (built: ReturnType<typeof createApp>) => Promise<void>,
): Promise<void> {
  const policies = new OrgOutboundPolicies(s.store);
  const executors = defaultExecutors({ outbound: (orgId) => policies.get(orgId) });
  const built = createApp({ store: s.store, config: loadConfig([], () => undefined), executors });
  try {
    await fn(built);
  } finally {
    await built.importPool.close();
    built.mcp.dispose();
    await built.forwarder.close();
    await built.upstreams.close();
    for (const e of executors.values()) e.close?.();
    await built.requestLog?.close();
  }
}

/** A POST of `message` to `gatewayUrl`'s path, as the server would receive it. */
function mcpRequest(
  gatewayUrl: string,
  key: string,
  message: unknown,
  signal?: AbortSignal,
): Request {
  const body = JSON.stringify(message);
  return new Request(`http://127.0.0.1${new URL(gatewayUrl).pathname}`, {
    method: "POST",
    headers: {
      host: "127.0.0.1",
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "content-length": String(new TextEncoder().encode(body).byteLength),
    },
    body,
    signal,
  });
}

Deno.test("a warm tools/list over HTTP skips the router, reads each header once, and never touches the request's signal or body stream", async () => {
  await withServer(async (s) => {
    const tool = ok(
      await s.api("POST", "/tools", httpTool("get_users", "http://127.0.0.1:9/u")),
      201,
    );
    const gw = await createGateway(s, { tools: [{ id: tool.id, name: tool.name }] });
    await withDirectApp(s, async (built) => {
      let routed = 0;
      const route = built.app.fetch;
      built.app.fetch = (...args) => {
        routed++;
        return route(...args);
      };
      const list = async () => {
        const request = mcpRequest(gw.url, gw.key, req(1, "tools/list"));
        const seen = watchRequest(request);
        const res = await built.fetch(request);
        const answer = await res.json();
        assert.equal(res.status, 200, JSON.stringify(answer));
        assert.deepEqual(answer.result.tools.map((t: { name: string }) => t.name), ["get_users"]);
        return seen;
      };
      await list();
      const seen = await list();
      assert.equal(seen.headers.get("authorization"), 1, "the credential was not read");
      const twice = [...seen.headers].filter(([, n]) => n > 1).map(([name]) => name);
      assert.deepEqual(twice, [], "headers read more than once");
      // A gateway key in Authorization: X-API-Key is never looked at; nor are the envelope
      // headers of the stateless era, for a request of an earlier one.
      for (const name of ["x-api-key", "mcp-method", "mcp-name"]) {
        assert.equal(seen.headers.has(name), false, `${name} was read`);
      }
      assert.deepEqual(seen.touched, [], "the request's signal or body stream was touched");
      assert.equal(routed, 0, "a tools/list went through the app's router");
      // The router still serves what is not an MCP request.
      const health = await built.fetch(new Request("http://127.0.0.1/healthz"));
      assert.equal(health.status, 200);
      await health.body?.cancel();
      assert.equal(routed, 1);
    });
  });
});

Deno.test("a tools/call answered within the grace period never touches the request's signal; a longer one whose client is gone is stopped", async () => {
  const up = startUpstream({
    "/fast": () => Response.json({ ok: true }),
    // Watches its client: it records whether the gateway gave up on it.
    "/hang": hang(10_000, true),
  });
  try {
    await withServer(async (s) => {
      const gw = await createGateway(s, {
        tools: [
          ok(await s.api("POST", "/tools", httpTool("fast", `${up.url}/fast`)), 201),
          ok(await s.api("POST", "/tools", httpTool("hang", `${up.url}/hang`)), 201),
        ].map((t) => ({ id: t.id, name: t.name })),
      });
      await withDirectApp(s, async (built) => {
        const call = (name: string, signal?: AbortSignal) =>
          mcpRequest(gw.url, gw.key, req(7, "tools/call", { name, arguments: {} }), signal);
        const fast: string[][] = [];
        for (let i = 0; i < 3; i++) {
          const request = call("fast");
          fast.push(watchRequest(request).touched);
          const res = await built.fetch(request);
          const answer = await res.json();
          assert.equal(answer.result.isError, undefined, JSON.stringify(answer));
        }
        // Not later either: an answered call stops waiting for its grace period to end.
        await sleep(CALLER_GRACE_MS * 2);
        assert.deepEqual(fast, [[], [], []], "the request's signal or body stream was touched");
        // The client goes away at once; its call is stopped once past the grace period.
        const gone = new AbortController();
        const request = call("hang", gone.signal);
        const seen = watchRequest(request);
        const answering = built.fetch(request);
        const upstream = await up.nth(3);
        gone.abort();
        await waitFor("the call to stop", () => upstream.wasAborted());
        assert.deepEqual(seen.touched, ["signal"]);
        await Promise.resolve(answering).then((r) => r.body?.cancel(), () => {});
      });
      // The same through a real connection: the runtime still tells a signal read after the
      // client hung up.
      const gone = new AbortController();
      const answering = rpc(gw.url, req(8, "tools/call", { name: "hang", arguments: {} }), {
        key: gw.key,
        signal: gone.signal,
      }).catch(() => "hung up");
      const upstream = await up.nth(4);
      gone.abort();
      assert.equal(await answering, "hung up");
      await waitFor("the call to stop", () => upstream.wasAborted());
    });
  } finally {
    await up.close();
  }
});
