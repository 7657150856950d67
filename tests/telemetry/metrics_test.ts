/**
 * `GET /metrics`: counters move as MCP requests happen on every transport,
 * histograms are cumulative and add up, label values stay bounded whatever
 * callers send, only admins and the metrics token read it, and promtool
 * accepts the output.
 */
import assert from "node:assert/strict";
import {
  ACCESS_KEY_PREFIX,
  displayPrefix,
  generateToken,
  hashToken,
} from "../../src/auth/tokens.ts";
import { loadConfig } from "../../src/config.ts";
import { MAX_TOOL_LABELS, Metrics } from "../../src/telemetry/metrics.ts";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { client, expectStatus, memberWithKey, separateOrg } from "../api/fixtures.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  connectSdk,
  KINDS,
  mcp,
  setupGateway,
  TransportExecutor,
  waitFor,
} from "../transports/fixtures.ts";
import {
  fetchMetrics,
  parseSamples,
  promtoolCheck,
  type Sample,
  samples,
  scrape,
  scrapeText,
  total,
} from "./prom_text.ts";

const TOKEN = "metrics-token-for-tests-0123456789";

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const base = loadConfig([], () => undefined);
  const s = await startTestServer(
    { mcp: mcp(), metrics: { ...base.metrics, token: TOKEN } },
    new Map([["http", new TransportExecutor()]]),
  );
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** A record as the dispatcher makes them, with `over` changed. */
function record(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    at: Date.now(),
    orgId: "org1",
    gatewayId: "gw1",
    transport: "http",
    protocolVersion: "2025-11-25",
    method: "tools/call",
    name: "echo",
    caller: { id: "k1", method: "api_key" },
    sessionId: null,
    status: "ok",
    errorCode: null,
    limit: null,
    durationMs: 3,
    bytesIn: 10,
    bytesOut: 10,
    upstream: null,
    ...over,
  };
}

const noSessions = () => ({ http: 0, sse: 0, ws: 0 });

/** Every histogram series of `all` named `name`: buckets cumulative, +Inf equal to _count. */
function assertHistograms(all: Sample[], name: string): number {
  const series = new Map<string, Sample[]>();
  for (const s of samples(all, `${name}_bucket`)) {
    const { le: _, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, buckets] of series) {
    const labels = JSON.parse(key);
    const les = buckets.map((b) => Number(b.labels.le === "+Inf" ? Infinity : b.labels.le));
    assert.deepEqual(les, [...les].sort((a, b) => a - b), `${key}: buckets in order`);
    assert.equal(les.at(-1), Infinity, `${key}: ends with +Inf`);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${key}: buckets are cumulative`);
    }
    const [count] = samples(all, `${name}_count`, labels);
    const [sum] = samples(all, `${name}_sum`, labels);
    assert.equal(buckets.at(-1)!.value, count.value, `${key}: +Inf bucket is _count`);
    assert.ok(sum.value >= 0);
  }
  return series.size;
}

for (const kind of KINDS) {
  Deno.test(`metrics count requests, tool calls and sessions over ${kind}`, async () => {
    await withServer(async (s) => {
      const gw = await setupGateway(s);
      const before = await scrape(s.url, TOKEN);
      assert.equal(total(before, "gatehouse_mcp_requests_total"), 0);
      const sdk = await connectSdk(kind, gw);
      await sdk.client.listTools();
      await sdk.client.callTool({ name: "echo", arguments: { said: "hi" } });
      await sdk.client.callTool({ name: "echo", arguments: { said: "again" } });
      await sdk.client.callTool({ name: "boom", arguments: {} }).catch(() => {});
      await sdk.client.callTool({ name: "nope", arguments: {} }).catch(() => {});
      const open = await scrape(s.url, TOKEN);
      assert.equal(total(open, "gatehouse_sessions_active", { transport: kind }), 1);
      await sdk.close();

      const at = { gateway: gw.id };
      const all = await scrape(s.url, TOKEN);
      const req = (method: string, status: string) =>
        total(all, "gatehouse_mcp_requests_total", { ...at, method, status });
      assert.equal(req("initialize", "ok"), 1);
      assert.equal(req("tools/list", "ok"), 1);
      assert.equal(req("tools/call", "ok"), 2);
      assert.equal(req("tools/call", "error"), 2);
      assert.equal(total(all, "gatehouse_mcp_requests_total"), 6);
      const calls = (tool: string, outcome: string) =>
        total(all, "gatehouse_tool_calls_total", { ...at, tool, outcome });
      assert.equal(calls("echo", "ok"), 2);
      assert.equal(calls("boom", "error"), 1);
      // An unknown name never gets a label of its own.
      assert.equal(calls("other", "error"), 1);
      assert.deepEqual(samples(all, "gatehouse_tool_calls_total", { tool: "nope" }), []);
      assert.equal(
        total(all, "gatehouse_mcp_request_duration_seconds_count", { ...at, method: "tools/call" }),
        4,
      );
      assert.equal(assertHistograms(all, "gatehouse_mcp_request_duration_seconds"), 3);
      // The session ends with its connection (or its DELETE).
      await waitFor("the session gauge back at 0", async () => {
        const now = await scrape(s.url, TOKEN);
        return total(now, "gatehouse_sessions_active", { transport: kind }) === 0;
      });
    });
  });
}

Deno.test("histogram buckets are cumulative, end at +Inf and add up to _count and _sum", async () => {
  const metrics = new Metrics({ sessions: noSessions });
  const durations = [0.1, 0.4, 0.5, 0.6, 3, 80, 2000, 120_000];
  for (const durationMs of durations) {
    metrics.add(record({ durationMs, upstream: { status: 200, durationMs } }));
  }
  const all = parseSamples(await metrics.render({ all: true }));
  const name = "gatehouse_mcp_request_duration_seconds";
  assert.equal(assertHistograms(all, name), 1);
  assert.equal(assertHistograms(all, "gatehouse_upstream_request_duration_seconds"), 1);
  const bucket = (le: string) => total(all, `${name}_bucket`, { le });
  // le is "less than or equal": 0.5 ms falls in the 0.0005 s bucket.
  assert.equal(bucket("0.0005"), 3);
  assert.equal(bucket("0.001"), 4);
  assert.equal(bucket("0.005"), 5);
  assert.equal(bucket("0.1"), 6);
  assert.equal(bucket("60"), 7);
  assert.equal(bucket("+Inf"), 8);
  const sum = total(all, `${name}_sum`);
  assert.ok(Math.abs(sum - durations.reduce((a, b) => a + b) / 1000) < 1e-9, String(sum));
  // The upstream's target is unnamed until the report says it.
  assert.equal(
    total(all, "gatehouse_upstream_request_duration_seconds_count", { upstream: "unknown" }),
    8,
  );
});

Deno.test("label values are bounded: tool names, methods and upstreams beyond their caps are 'other'", async () => {
  const metrics = new Metrics({ sessions: noSessions });
  for (let i = 0; i < 500; i++) {
    // Served tools (they ran), unknown tools (refused as invalid), made-up methods, upstreams.
    metrics.add(record({ name: `tool${i}` }));
    metrics.add(record({ name: `nope${i}`, status: "error", errorCode: -32602 }));
    metrics.add(record({ method: `made/up${i}`, name: null }));
    metrics.add(
      record({
        upstream: { status: 200, durationMs: 1, target: `host${i}` } as RequestRecord["upstream"],
      }),
    );
  }
  metrics.add(record({ status: "rate_limited", limit: "tool" }));
  const all = parseSamples(await metrics.render({ all: true }));
  const tools = new Set(samples(all, "gatehouse_tool_calls_total").map((s) => s.labels.tool));
  assert.equal(tools.size, MAX_TOOL_LABELS + 1);
  assert.ok(tools.has("tool0") && tools.has("other") && !tools.has("nope0"));
  assert.equal(total(all, "gatehouse_tool_calls_total", { tool: "other" }), 400 + 500 + 1);
  const methods = new Set(samples(all, "gatehouse_mcp_requests_total").map((s) => s.labels.method));
  assert.deepEqual([...methods].sort(), ["other", "tools/call"]);
  assert.equal(total(all, "gatehouse_mcp_requests_total", { method: "other" }), 500);
  const upstreams = new Set(
    samples(all, "gatehouse_upstream_request_duration_seconds_count").map((s) => s.labels.upstream),
  );
  assert.equal(upstreams.size, 101);
  assert.equal(total(all, "gatehouse_rate_limited_total", { kind: "tool" }), 1);
  assert.equal(total(all, "gatehouse_rate_limited_total"), 1);
});

Deno.test("500 unknown tool names over the wire make no new series", async () => {
  await withServer(async (s) => {
    const gw = await setupGateway(s);
    // 2025-03-26 takes JSON-RPC batches: five posts of 100 calls each.
    const post = (body: unknown) =>
      fetch(gw.httpUrl, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gw.key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-03-26",
        },
        body: JSON.stringify(body),
      }).then((r) => r.text());
    for (let i = 0; i < 500; i += 100) {
      await post(Array.from({ length: 100 }, (_, j) => ({
        jsonrpc: "2.0",
        id: i + j,
        method: "tools/call",
        params: { name: `made-up-${i + j}`, arguments: {} },
      })));
    }
    await post({ jsonrpc: "2.0", id: "x", method: "no/such/method" });
    const all = await scrape(s.url, TOKEN);
    assert.equal(total(all, "gatehouse_tool_calls_total", { tool: "other" }), 500);
    assert.equal(samples(all, "gatehouse_tool_calls_total").length, 1);
    assert.equal(total(all, "gatehouse_mcp_requests_total", { method: "other" }), 1);
    assert.ok(all.length < 200, `${all.length} samples`);
  });
});

Deno.test("/metrics needs an instance admin's access key or the metrics token", async () => {
  await withServer(async (s) => {
    const gw = await setupGateway(s);
    const sdk = await connectSdk("http", gw);
    await sdk.client.listTools();
    await sdk.close();

    const none = await fetchMetrics(s.url);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="gatehouse"');
    await none.body?.cancel();
    for (const wrong of ["gha_not-a-key", `${TOKEN}x`, gw.key]) {
      const res = await fetchMetrics(s.url, wrong);
      assert.equal(res.status, 401, wrong.slice(0, 4));
      await res.body?.cancel();
    }
    // The token and the instance admin see everything, the process included.
    for (const key of [TOKEN, s.adminKey, (await memberWithKey(s, "admin")).key]) {
      const all = await scrape(s.url, key);
      assert.equal(total(all, "gatehouse_mcp_requests_total", { gateway: gw.id }), 2);
      assert.ok(samples(all, "process_resident_memory_bytes")[0].value > 0);
    }
    for (const role of ["member", "viewer"] as const) {
      const { key } = await memberWithKey(s, role);
      const res = await fetchMetrics(s.url, key);
      assert.equal(res.status, 403, role);
      assert.match((await res.json()).error.message, /admin role/);
    }
    // An expired key and a revoked one are no keys at all.
    const admin = (await s.store.accessKeys.byHash(hashToken(s.adminKey)))!;
    const expired = generateToken(ACCESS_KEY_PREFIX);
    await s.store.accessKeys.create(admin.orgId, admin.userId, {
      name: "old",
      hash: hashToken(expired),
      prefix: displayPrefix(expired),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const issued = expectStatus(await client(s, s.adminKey)("POST", "/keys", { name: "r" }), 201);
    expectStatus(await client(s, s.adminKey)("DELETE", `/keys/${issued.body.id}`), 200);
    for (const key of [expired, issued.body.key as string]) {
      const res = await fetchMetrics(s.url, key);
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    // Another org's owner sees its own gateways only, and nothing instance-wide.
    const acme = await separateOrg(s, "acme");
    const theirs = await scrape(s.url, acme.key);
    assert.deepEqual(samples(theirs, "gatehouse_mcp_requests_total"), []);
    assert.deepEqual(samples(theirs, "process_resident_memory_bytes"), []);
    assert.deepEqual(samples(theirs, "gatehouse_sessions_active"), []);
  });
});

Deno.test("an org's view holds its own gateways' series only", async () => {
  const metrics = new Metrics({ sessions: noSessions, process: () => Promise.resolve([]) });
  metrics.add(record({ orgId: "a", gatewayId: "ga" }));
  metrics.add(record({ orgId: "b", gatewayId: "gb" }));
  const mine = parseSamples(await metrics.render({ all: false, orgId: "a" }));
  assert.deepEqual(
    [...new Set(mine.map((s) => s.labels.gateway))],
    ["ga"],
  );
  assert.deepEqual(samples(mine, "gatehouse_rate_limited_total"), []);
  const all = parseSamples(await metrics.render({ all: true }));
  assert.deepEqual([
    ...new Set(samples(all, "gatehouse_mcp_requests_total").map((s) => s.labels.gateway)),
  ], [
    "ga",
    "gb",
  ]);
});

Deno.test("promtool accepts the output, odd label values included", async () => {
  await withServer(async (s) => {
    const gw = await setupGateway(s);
    for (const kind of KINDS) {
      const sdk = await connectSdk(kind, gw);
      await sdk.client.callTool({ name: "echo", arguments: {} });
      if (kind !== "ws") await sdk.close();
      else {
        // Left open: the sessions gauge has a non-zero series too.
        const text = await scrapeText(s.url, TOKEN);
        const checked = await promtoolCheck(text);
        assert.ok(checked.ok, `promtool: ${checked.output}\n${text}`);
        assert.equal(checked.output.trim(), "", "no lint warnings");
        await sdk.close();
      }
    }
  });
  // Label values with a backslash, a quote and a newline are escaped.
  const metrics = new Metrics({ sessions: noSessions });
  metrics.add(record({ gatewayId: 'g"1\\\n', name: 'a"b\\c\nd' }));
  const text = await metrics.render({ all: true });
  assert.match(text, /gateway="g\\"1\\\\\\n",tool="a\\"b\\\\c\\nd"/);
  const checked = await promtoolCheck(text);
  assert.ok(checked.ok, `promtool: ${checked.output}\n${text}`);
  const [sample] = samples(parseSamples(text), "gatehouse_tool_calls_total");
  assert.equal(sample.labels.tool, 'a"b\\c\nd');
});

Deno.test("GATEHOUSE_METRICS=off counts nothing and serves no /metrics", async () => {
  const config = loadConfig([], (n) => ({ GATEHOUSE_METRICS: "off" } as Record<string, string>)[n]);
  assert.equal(config.metrics.enabled, false);
  assert.throws(
    () => loadConfig([], (n) => (n === "GATEHOUSE_METRICS" ? "no" : undefined)),
    /GATEHOUSE_METRICS must be on or off/,
  );
  assert.throws(
    () => loadConfig([], (n) => (n === "GATEHOUSE_METRICS_TOKEN" ? "short" : undefined)),
    (err: Error) => /16 to 256/.test(err.message) && !err.message.includes("short"),
  );
  const s = await startTestServer({ metrics: { enabled: false, token: TOKEN } });
  try {
    const res = await fetchMetrics(s.url, TOKEN);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await s.close();
  }
});
