/**
 * `GET /gateways/{id}/stats?interval=`: the gateway's figures step by step
 * (per minute or per hour), for charts, agreeing with the totals; and the
 * bounds of a series refused with the field named.
 */
import assert from "node:assert/strict";
import type { Json } from "../helpers/mcp.ts";
import { startFixture } from "../transports/fixtures.ts";

async function call(url: string, key: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
}

Deno.test("stats with interval give each step's calls, errors and p95, for the gateway and each tool", async () => {
  const f = await startFixture();
  try {
    const tool = (name: string, id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: {} },
    });
    await call(f.gw.httpUrl, f.gw.key, { jsonrpc: "2.0", id: 1, method: "tools/list" });
    await call(f.gw.httpUrl, f.gw.key, tool("echo", 2));
    await call(f.gw.httpUrl, f.gw.key, tool("echo", 3));
    await call(f.gw.httpUrl, f.gw.key, tool("boom", 4));
    const since = new Date(Date.now() - 3_600_000).toISOString();
    for (const interval of ["minute", "hour"]) {
      const res = await f.s.api(
        "GET",
        `/gateways/${f.gw.id}/stats?since=${since}&interval=${interval}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const stats = res.body as Json;
      assert.equal(stats.interval, interval);
      const step = interval === "minute" ? 60_000 : 3_600_000;
      for (const p of stats.series) assert.equal(Date.parse(p.at) % step, 0);
      const sum = (points: Json[], k: string) => points.reduce((n, p) => n + p[k], 0);
      assert.equal(sum(stats.series, "calls"), stats.calls);
      assert.equal(stats.calls, 4);
      assert.equal(sum(stats.series, "errors"), stats.errors);
      assert.ok(stats.series.every((p: Json) => p.calls > 0 && p.p95Ms !== null));
      const byName = Object.fromEntries(stats.tools.map((t: Json) => [t.name, t]));
      assert.equal(sum(byName.echo.series, "calls"), 2);
      assert.equal(sum(byName.echo.series, "errors"), 0);
      assert.equal(sum(byName.boom.series, "errors"), 1);
      assert.equal(byName.boom.series.at(-1).errorRate, 1);
    }
    // Without interval the answer is as before: no series.
    const plain = (await f.s.api("GET", `/gateways/${f.gw.id}/stats`)).body as Json;
    assert.equal(plain.series, undefined);
    assert.equal(plain.tools[0].series, undefined);

    const day = new Date(Date.now() - 86_400_000 - 120_000).toISOString();
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    for (
      const [query, field] of [
        ["interval=second", "interval"],
        [`since=${day}&interval=minute`, "since"],
        [`since=${old}&interval=minute`, "since"],
        ["interval=hour&interval=minute", "interval"],
        ["step=minute", "step"],
      ]
    ) {
      const res = await f.s.api("GET", `/gateways/${f.gw.id}/stats?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error?.field, field, query);
    }
    // A day of hours is fine.
    const hours = await f.s.api("GET", `/gateways/${f.gw.id}/stats?since=${day}&interval=hour`);
    assert.equal(hours.status, 200);
  } finally {
    await f.close();
  }
});
