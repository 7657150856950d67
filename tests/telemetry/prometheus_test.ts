/**
 * A real Prometheus server scrapes a running Gatehouse with the metrics
 * token and answers PromQL over the scraped series. The `prometheus` binary
 * must be installed (Debian's `prometheus` package, as `.ci/run` does): the
 * test fails, not skips, without it.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { freePort, startTestServer } from "../helpers/server.ts";
import { connectSdk, mcp, setupGateway, sleep, TransportExecutor } from "../transports/fixtures.ts";

const TOKEN = "prometheus-scrape-token-0123456789";

/** Runs `PromQL` against the Prometheus at `base`; the instant vector's samples. */
async function query(base: string, promql: string): Promise<[Record<string, string>, number][]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await res.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  return (body.data.result as { metric: Record<string, string>; value: [number, string] }[])
    .map((r) => [r.metric, Number(r.value[1])]);
}

/** Polls `promql` until `ok` holds of its answer or `ms` pass; the last answer. */
async function until(
  base: string,
  promql: string,
  ok: (result: [Record<string, string>, number][]) => boolean,
  ms: number,
): Promise<[Record<string, string>, number][]> {
  const deadline = Date.now() + ms;
  let last: [Record<string, string>, number][] = [];
  while (Date.now() < deadline) {
    // Until Prometheus listens, its port refuses connections: try again.
    last = await query(base, promql).catch(() => []);
    if (ok(last)) return last;
    await sleep(200);
  }
  return last;
}

Deno.test("a real Prometheus scrapes Gatehouse with the metrics token and answers PromQL", async () => {
  const base = loadConfig([], () => undefined);
  const s = await startTestServer(
    { mcp: mcp(), metrics: { ...base.metrics, token: TOKEN } },
    new Map([["http", new TransportExecutor()]]),
  );
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-prometheus-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const gw = await setupGateway(s);
    const sdk = await connectSdk("http", gw);
    await sdk.client.listTools();
    for (let i = 0; i < 3; i++) await sdk.client.callTool({ name: "echo", arguments: {} });
    await sdk.close();
    // initialize, tools/list and three calls; nothing more happens while Prometheus scrapes.
    const expected = 5;

    const target = new URL(s.url).host;
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: gatehouse",
        "    authorization:",
        `      credentials_file: ${dir}/token`,
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    // From a file, so the token is in no command line or config dump.
    await Deno.writeTextFile(`${dir}/token`, TOKEN);
    const port = freePort();
    try {
      child = new Deno.Command("prometheus", {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new Error(
        "the prometheus binary is not installed: install Debian's prometheus package " +
          "(apt-get install -y prometheus), as .ci/run does",
      );
    }
    const prom = `http://127.0.0.1:${port}`;
    const up = await until(prom, 'up{job="gatehouse"}', (r) => r[0]?.[1] === 1, 15_000);
    assert.equal(up[0]?.[1], 1, `Prometheus never scraped Gatehouse: ${JSON.stringify(up)}`);
    const sum = await until(
      prom,
      "sum(gatehouse_mcp_requests_total)",
      (r) => r[0]?.[1] === expected,
      5_000,
    );
    assert.equal(sum[0]?.[1], expected, JSON.stringify(sum));
    const calls = await query(
      prom,
      `sum by (tool) (gatehouse_tool_calls_total{gateway="${gw.id}",outcome="ok"})`,
    );
    assert.deepEqual(calls, [[{ tool: "echo" }, 3]]);
    const builds = await query(prom, "gatehouse_build_info");
    assert.equal(builds.length, 1);
  } finally {
    if (child) {
      child.kill("SIGTERM");
      const stderr = new TextDecoder().decode((await child.output()).stderr);
      // Its log, for a failure's sake; it never holds the token (read from a file).
      if (!stderr.includes("See you next time")) console.error(stderr.slice(-4000));
    }
    await s.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
