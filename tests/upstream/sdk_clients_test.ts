/**
 * What the server's own thread loads at start-up: the MCP SDK's client
 * (about 28 MiB once loaded) comes with the first upstream connection, and
 * the OpenAPI parsers with the first import (on the import worker), so a
 * Gatehouse that uses neither never pays for them. Read from the module
 * graph `deno info` reports: static imports only, dynamic ones are loaded
 * when reached.
 */
import assert from "node:assert/strict";

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Every module `main.ts` loads before it runs, through static imports of code (not types). */
async function loadedAtStart(): Promise<Set<string>> {
  const main = new URL("../../src/main.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, "deno info failed");
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
  const byName = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [main];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of byName.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code) stack.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("the server's thread loads no MCP SDK client and no OpenAPI parser at start-up", async () => {
  const loaded = [...await loadedAtStart()];
  assert.ok(loaded.some((s) => s.endsWith("/src/upstream/supervisor.ts")), "the graph was read");
  const heavy = loaded.filter((s) =>
    /^npm:\/?(@modelcontextprotocol\/sdk|@scalar\/openapi-parser|js-yaml|yaml)@/.test(s)
  );
  assert.deepEqual(heavy, []);
  assert.ok(
    !loaded.some((s) => s.endsWith("/src/upstream/sdk_clients.ts")),
    "sdk_clients.ts is imported statically",
  );
});
