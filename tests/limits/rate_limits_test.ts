/**
 * Rate limits end to end, on a real server with real clients: per caller
 * (a key's own limit, the gateway's default, a client address without
 * authentication), per gateway (all callers together) and per tool
 * assignment, on every transport; exact under concurrency, refilled as the
 * window slides, changed through the API without a restart, and marked in
 * the request records.
 */
import assert from "node:assert/strict";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { apiCall, startTestServer } from "../helpers/server.ts";
import { client, expectError, expectStatus, memberWithKey, separateOrg } from "../api/fixtures.ts";
import {
  connectSdk,
  type Fixture,
  type Gateway,
  type Json,
  mcp,
  newKey,
  setupGateway,
  sleep,
  startFixture,
  TransportExecutor,
} from "../transports/fixtures.ts";

/** A plain, sessionless JSON-RPC POST of `method` to `gw` with `key` (or extra `headers`). */
async function post(
  gw: Gateway,
  key: string | null,
  id: number,
  method = "tools/list",
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(gw.httpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id, method }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The management API as the test server's admin, JSON in and out. */
const asAdmin = (f: Fixture) => client(f.s, f.s.adminKey);

/** Sets the gateway's `configuration.rateLimits` through the API. */
async function setGatewayLimits(
  f: Fixture,
  gw: Gateway,
  rateLimits: Record<string, unknown>,
) {
  const res = await asAdmin(f)("PATCH", `/gateways/${gw.id}`, {
    configuration: { transport: "http", rateLimits },
  });
  expectStatus(res, 200);
  assert.deepEqual(res.body.configuration.rateLimits, rateLimits);
}

Deno.test("200 parallel requests at a per-caller limit of 50: exactly 50 through, 150 refused with the limit's headers", async () => {
  const f = await startFixture();
  const records: RequestRecord[] = [];
  f.s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    await setGatewayLimits(f, f.gw, { perCaller: { requests: 50, windowSeconds: 3600 } });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => post(f.gw, f.gw.key, i)),
    );
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(ok.length, 50);
    assert.equal(refused.length, 150);
    for (const a of ok) assert.ok(Array.isArray(a.body.result.tools));
    for (const a of refused) {
      const retry = Number(a.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 3600 * 2, `Retry-After ${retry}`);
      assert.equal(a.headers.get("ratelimit"), `"caller";r=0;t=${retry}`);
      assert.equal(a.headers.get("ratelimit-policy"), `"caller";q=50;w=3600`);
      assert.equal(a.body.error.code, -32029);
      assert.deepEqual(a.body.error.data, { retryAfterSeconds: retry, limit: "caller" });
    }
    // A second key is a second caller: its own 50.
    const other = await newKey(f.s, f.gw);
    assert.equal((await post(f.gw, other, 1)).status, 200);
    const limited = records.filter((r) => r.status === "rate_limited");
    assert.equal(limited.length, 150);
    assert.ok(limited.every((r) => r.limit === "caller" && r.errorCode === -32029));
    assert.equal(records.filter((r) => r.status === "ok").length, 51);
  } finally {
    await f.close();
  }
});

Deno.test("the gateway's ceiling holds for all callers together, across keys", async () => {
  const f = await startFixture();
  const records: RequestRecord[] = [];
  f.s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    await setGatewayLimits(f, f.gw, {
      perCaller: { requests: 8, windowSeconds: 600 },
      gateway: { requests: 10, windowSeconds: 600 },
    });
    const second = await newKey(f.s, f.gw);
    const answers = await Promise.all(
      Array.from({ length: 14 }, (_, i) => post(f.gw, i % 2 ? second : f.gw.key, i)),
    );
    assert.equal(answers.filter((a) => a.status === 200).length, 10);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(refused.length, 4);
    for (const a of refused) {
      assert.equal(a.body.error.data.limit, "gateway");
      assert.match(a.headers.get("ratelimit") ?? "", /^"gateway";r=0;t=\d+$/);
      // Both policies that apply to the caller are named.
      assert.equal(
        a.headers.get("ratelimit-policy"),
        `"gateway";q=10;w=600, "caller";q=8;w=600`,
      );
    }
    const limited = records.filter((r) => r.status === "rate_limited");
    assert.equal(limited.length, 4);
    assert.ok(limited.every((r) => r.limit === "gateway"));
  } finally {
    await f.close();
  }
});

for (const kind of ["http", "sse", "ws"] as const) {
  Deno.test(`a per-tool limit over ${kind}: an isError result saying when to retry, other tools still work`, async () => {
    const f = await startFixture();
    const records: RequestRecord[] = [];
    f.s.telemetry.addSink({ add: (r) => records.push(r) });
    try {
      const echo = ((await asAdmin(f)("GET", "/tools")).body.tools as Json[])
        .find((t) => t.name === "echo");
      const assigned = await asAdmin(f)("POST", `/gateways/${f.gw.id}/tools`, {
        toolId: echo.id,
        rateLimit: 2,
      });
      expectStatus(assigned, 201);
      assert.equal(
        (assigned.body.tools as Json[]).find((t) => t.toolId === echo.id).rateLimit,
        2,
      );
      const { client: c, close } = await connectSdk(kind, f.gw);
      try {
        for (let i = 0; i < 2; i++) {
          const r = await c.callTool({ name: "echo", arguments: { i } });
          assert.notEqual(r.isError, true);
        }
        const over = await c.callTool({ name: "echo", arguments: { i: 3 } });
        assert.equal(over.isError, true);
        const text = (over.content as { text: string }[])[0].text;
        assert.match(text, /Rate limit exceeded: tool echo takes 2 calls a minute/);
        assert.match(text, /retry in \d+ s/);
        // Another tool, and other requests, are not limited.
        const big = await c.callTool({ name: "big", arguments: { bytes: 3 } });
        assert.notEqual(big.isError, true);
        await c.listTools();
      } finally {
        await close();
      }
      // Another caller has its own two calls a minute.
      const other = await connectSdk(kind, f.gw, await newKey(f.s, f.gw));
      try {
        const r = await other.client.callTool({ name: "echo", arguments: {} });
        assert.notEqual(r.isError, true);
      } finally {
        await other.close();
      }
      const limited = records.filter((r) => r.status === "rate_limited");
      assert.equal(limited.length, 1);
      assert.equal(limited[0].limit, "tool");
      assert.equal(limited[0].name, "echo");
      assert.equal(limited[0].transport, kind);
    } finally {
      await f.close();
    }
  });
}

for (const kind of ["sse", "ws"] as const) {
  Deno.test(`over ${kind}, a caller over its key's limit gets a JSON-RPC error with retryAfterSeconds`, async () => {
    const f = await startFixture();
    try {
      const made = await asAdmin(f)("POST", `/gateways/${f.gw.id}/keys`, {
        name: "limited",
        rateLimit: { requests: 3, windowSeconds: 600 },
      });
      expectStatus(made, 201);
      assert.deepEqual(made.body.rateLimit, { requests: 3, windowSeconds: 600 });
      // initialize is a request, so it counts: two more fit.
      const { client: c, close } = await connectSdk(kind, f.gw, made.body.key);
      try {
        await c.listTools();
        await c.callTool({ name: "echo", arguments: {} });
        const err = await c.listTools().then(() => undefined, (e: Json) => e);
        assert.ok(err instanceof McpError, String(err));
        assert.equal(err.code, -32029);
        assert.equal(err.data.limit, "caller");
        assert.ok(err.data.retryAfterSeconds >= 1 && err.data.retryAfterSeconds <= 1200);
        // Other keys of the gateway are unaffected.
        assert.equal((await post(f.gw, f.gw.key, 1)).status, 200);
      } finally {
        await close();
      }
    } finally {
      await f.close();
    }
  });
}

Deno.test("without authentication, each client address is a caller of its own", async () => {
  // Trusting the loopback proxy lets the test speak for several addresses.
  const g = await startFixtureWith({ trustedProxies: ["127.0.0.1"] });
  const records: RequestRecord[] = [];
  g.s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    const methods = (await asAdmin(g)("GET", `/gateways/${g.gw.id}/auth`)).body.methods as Json[];
    for (const m of methods) {
      expectStatus(await asAdmin(g)("DELETE", `/gateways/${g.gw.id}/auth/${m.id}`), 204);
    }
    expectStatus(await asAdmin(g)("POST", `/gateways/${g.gw.id}/auth`, { type: "none" }), 201);
    await setGatewayLimits(g, g.gw, { perCaller: { requests: 3, windowSeconds: 600 } });
    const from = (address: string, id: number) =>
      post(g.gw, null, id, "tools/list", { "x-forwarded-for": address });
    const first = await Promise.all([1, 2, 3, 4, 5].map((i) => from("10.0.0.1", i)));
    assert.deepEqual(first.map((a) => a.status).sort(), [200, 200, 200, 429, 429]);
    assert.equal((await from("10.0.0.2", 6)).status, 200);
    const limited = records.filter((r) => r.status === "rate_limited");
    assert.equal(limited.length, 2);
    for (const r of limited) {
      assert.equal(r.caller.method, "none");
      assert.equal(r.caller.address, "10.0.0.1");
      assert.equal(r.limit, "caller");
    }
    assert.ok(records.some((r) => r.caller.address === "10.0.0.2" && r.status === "ok"));
  } finally {
    await g.close();
  }
});

Deno.test("the window slides: a refused caller gets through after Retry-After, and limit changes apply at once", async () => {
  const f = await startFixture();
  try {
    const made = await asAdmin(f)("POST", `/gateways/${f.gw.id}/keys`, {
      name: "short",
      rateLimit: { requests: 2, windowSeconds: 1 },
    });
    const key = made.body.key as string;
    assert.equal((await post(f.gw, key, 1)).status, 200);
    assert.equal((await post(f.gw, key, 2)).status, 200);
    const refused = await post(f.gw, key, 3);
    assert.equal(refused.status, 429);
    const retry = Number(refused.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
    await sleep(retry * 1000);
    assert.equal((await post(f.gw, key, 4)).status, 200);

    // Down to one request an hour: the next is refused, with the new policy.
    const tight = await asAdmin(f)("PATCH", `/gateways/${f.gw.id}/keys/${made.body.id}`, {
      rateLimit: { requests: 1, windowSeconds: 3600 },
    });
    expectStatus(tight, 200);
    assert.deepEqual(tight.body.rateLimit, { requests: 1, windowSeconds: 3600 });
    assert.equal((await post(f.gw, key, 5)).status, 200);
    const now = await post(f.gw, key, 6);
    assert.equal(now.status, 429);
    assert.equal(now.headers.get("ratelimit-policy"), `"caller";q=1;w=3600`);
    // No limit of its own, and none on the gateway: unlimited again.
    const none = await asAdmin(f)("PATCH", `/gateways/${f.gw.id}/keys/${made.body.id}`, {
      rateLimit: null,
    });
    assert.equal(none.body.rateLimit, null);
    assert.equal((await post(f.gw, key, 7)).status, 200);
    // The gateway's default applies to it now, changed without a restart; what the caller
    // made in this window under its own limit (request 5; 7 was unlimited) counts against it.
    await setGatewayLimits(f, f.gw, { perCaller: { requests: 2, windowSeconds: 3600 } });
    assert.equal((await post(f.gw, key, 8)).status, 200);
    const byDefault = await post(f.gw, key, 9);
    assert.equal(byDefault.status, 429);
    assert.equal(byDefault.headers.get("ratelimit-policy"), `"caller";q=2;w=3600`);
    const removed = await asAdmin(f)("PATCH", `/gateways/${f.gw.id}`, {
      configuration: { rateLimits: null },
    });
    assert.equal(expectStatus(removed, 200).body.configuration.rateLimits, undefined);
    assert.equal((await post(f.gw, key, 10)).status, 200);
  } finally {
    await f.close();
  }
});

Deno.test("notifications and answers are never limited; initialize and ping count", async () => {
  const f = await startFixture();
  try {
    const made = await asAdmin(f)("POST", `/gateways/${f.gw.id}/keys`, {
      name: "one",
      rateLimit: { requests: 1, windowSeconds: 3600 },
    });
    const key = made.body.key as string;
    assert.equal((await post(f.gw, key, 1, "ping")).status, 200);
    assert.equal((await post(f.gw, key, 2, "ping")).status, 429);
    const cancel = await fetch(f.gw.httpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 1 },
      }),
    });
    await cancel.body?.cancel();
    assert.equal(cancel.status, 202);
  } finally {
    await f.close();
  }
});

Deno.test("a key's limit is changed only by members of its org, and bad limits are 400s naming the field", async () => {
  const f = await startFixture();
  try {
    const keys = (await asAdmin(f)("GET", `/gateways/${f.gw.id}/keys`)).body.keys as Json[];
    const path = `/gateways/${f.gw.id}/keys/${keys[0].id}`;
    const body = { rateLimit: { requests: 5, windowSeconds: 60 } };
    const outsider = await separateOrg(f.s, "elsewhere");
    expectError(await outsider.call("PATCH", path, body), 404);
    const viewer = await memberWithKey(f.s, "viewer");
    expectError(await viewer.call("PATCH", path, body), 403);
    assert.equal(
      (await asAdmin(f)("GET", `/gateways/${f.gw.id}/keys`)).body.keys[0].rateLimit,
      null,
    );
    expectError(await asAdmin(f)("PATCH", `/gateways/${f.gw.id}/keys/nope`, body), 404);

    const admin = client(f.s, f.s.adminKey);
    const bad: [string, string, unknown, string][] = [
      ["PATCH", path, { rateLimit: { requests: 0, windowSeconds: 60 } }, "rateLimit.requests"],
      [
        "PATCH",
        path,
        { rateLimit: { requests: 5, windowSeconds: 1.5 } },
        "rateLimit.windowSeconds",
      ],
      ["PATCH", path, { rateLimit: { requests: 5 } }, "rateLimit.windowSeconds"],
      ["PATCH", path, { rateLimit: 5 }, "rateLimit"],
      ["PATCH", path, { rateLimit: { requests: 5, windowSeconds: 60, burst: 1 } }, "rateLimit"],
      ["PATCH", path, {}, "rateLimit"],
      ["POST", `/gateways/${f.gw.id}/keys`, {
        name: "k",
        rateLimit: { requests: "many", windowSeconds: 60 },
      }, "rateLimit.requests"],
      ["PATCH", `/gateways/${f.gw.id}`, {
        configuration: { rateLimits: { gateway: { requests: 1, windowSeconds: 100_000 } } },
      }, "configuration.rateLimits.gateway.windowSeconds"],
      ["PATCH", `/gateways/${f.gw.id}`, {
        configuration: { rateLimits: { perUser: { requests: 1, windowSeconds: 1 } } },
      }, "configuration.rateLimits.perUser"],
      [
        "PATCH",
        `/gateways/${f.gw.id}`,
        { configuration: { rateLimits: [] } },
        "configuration.rateLimits",
      ],
      ["POST", `/gateways/${f.gw.id}/tools`, { toolId: "x", rateLimit: 0 }, "rateLimit"],
      ["POST", `/gateways/${f.gw.id}/tools`, { toolId: "x", rateLimit: "1/min" }, "rateLimit"],
    ];
    for (const [method, p, b, field] of bad) {
      const res = await admin(method, p, b);
      expectError(res, 400, field);
      assert.ok(res.body.error.message.includes(field), res.body.error.message);
    }
    // An assignment's limit changes with PATCH, and null removes it.
    const tools = (await asAdmin(f)("GET", `/gateways/${f.gw.id}/tools`)).body.tools as Json[];
    const toolPath = `/gateways/${f.gw.id}/tools/${tools[0].toolId}`;
    expectError(await admin("PATCH", toolPath, { rateLimit: -1 }), 400, "rateLimit");
    const set = expectStatus(await admin("PATCH", toolPath, { rateLimit: 30 }), 200);
    assert.equal(set.body.rateLimit, 30);
    assert.equal(set.body.enabled, true);
    const cleared = expectStatus(await admin("PATCH", toolPath, { rateLimit: null }), 200);
    assert.equal(cleared.body.rateLimit, null);
    // Unauthenticated callers of the API get nothing either.
    expectError(await apiCall(f.s.url, undefined, "PATCH", path, body), 401);
  } finally {
    await f.close();
  }
});

/** A fixture on a server started with `overrides` (its gateway at `/x`). */
async function startFixtureWith(overrides: { trustedProxies: string[] }): Promise<Fixture> {
  const executor = new TransportExecutor();
  const s = await startTestServer({ mcp: mcp(), ...overrides }, new Map([["http", executor]]));
  try {
    const gw = await setupGateway(s);
    return { s, executor, gw, close: () => s.close() };
  } catch (err) {
    await s.close();
    throw err;
  }
}
