/**
 * The official MCP conformance suite (npm `@modelcontextprotocol/conformance`
 * 0.1.16) run against a real gateway, one server scenario per step.
 */
import assert from "node:assert/strict";
import { createGateway, STANDARD_TOOLS, withMcpServer } from "../helpers/mcp.ts";

const SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";
const SCENARIOS = [
  "server-initialize",
  "ping",
  "logging-set-level",
  "tools-list",
  "dns-rebinding-protection",
];

Deno.test("conformance 0.1.16 server scenarios pass against a gateway", async (t) => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    // `localhost`: the DNS-rebinding scenario only runs against a local URL.
    const url = new URL(gw.url);
    url.hostname = "localhost";
    url.searchParams.set("api_key", gw.key);
    for (const scenario of SCENARIOS) {
      await t.step(scenario, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", SUITE, "server", "--url", url.href, "--scenario", scenario],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `scenario ${scenario} failed:\n${text}`);
        assert.match(text, /Passed: (\d+)\/\1, 0 failed/, text);
      });
    }
  });
});
