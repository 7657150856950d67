/**
 * List pages bounded by bytes (`GATEHOUSE_LIST_PAGE_BYTES`) as well as by
 * count: a page ends before the tool that would take its JSON over the
 * budget, holds at least one tool however large, and the keyset cursors
 * hold as with count-bounded pages.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import {
  apiIn,
  createGateway,
  createTool,
  type Json,
  ok,
  openSession,
  type RawSession,
  req,
  type ToolSpec,
  withMcpServer,
} from "../helpers/mcp.ts";

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength;
const BUDGET = 4096;

/** 30 tools of equal-length names (so their cursors are as long), 30 to 1,800 bytes of text. */
const TOOLS: ToolSpec[] = Array.from({ length: 30 }, (_, i) => ({
  name: `t${String(i).padStart(2, "0")}`,
  description: `${"é".repeat((i * 37) % 60)}${"x".repeat(30 + ((i * 7919) % 1800))}`,
}));
/** One tool far over the budget by itself. */
const HUGE: ToolSpec = { name: "t15a", description: "h".repeat(2 * BUDGET) };

/** Every page of `tools/list` in `session`, as parsed and as sent. */
async function pages(session: RawSession): Promise<{ result: Json; text: string }[]> {
  const out: { result: Json; text: string }[] = [];
  let cursor: string | undefined;
  do {
    const a = await session.rpc(req(1, "tools/list", cursor === undefined ? {} : { cursor }));
    assert.equal(a.status, 200, a.text);
    out.push({ result: a.body.result, text: a.text });
    cursor = a.body.result.nextCursor;
    assert.ok(out.length <= 100, "paging must end");
  } while (cursor !== undefined);
  return out;
}

Deno.test("tools/list pages by bytes: every tool once, each page within the budget unless its one tool is larger, and as full as the budget allows", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: [...TOOLS, HUGE] });
    const session = await openSession(gw.url, gw.key);
    const all = await pages(session);
    const names = all.flatMap((p) => p.result.tools.map((t: Json) => t.name));
    assert.deepEqual(names, [...TOOLS, HUGE].map((t) => t.name).sort());
    assert.ok(all.length >= 5, `${all.length} pages`);
    for (const [i, { result, text }] of all.entries()) {
      // The page sent is its JSON as built, byte for byte.
      assert.equal(text, `{"jsonrpc":"2.0","id":1,"result":${JSON.stringify(result)}}`);
      const bytes = utf8(JSON.stringify(result));
      const tools = result.tools as Json[];
      if (tools.some((t) => t.name === HUGE.name)) {
        assert.deepEqual(tools.map((t) => t.name), [HUGE.name], "a tool over the budget is alone");
        assert.ok(bytes > BUDGET);
        continue;
      }
      assert.ok(bytes <= BUDGET, `page ${i}: ${bytes} bytes`);
      const next = all[i + 1]?.result.tools[0];
      if (next === undefined || next.name === HUGE.name) continue;
      // The next tool did not fit: with it (and a cursor as long), the page would be over.
      const fuller = { tools: [...tools, next], nextCursor: result.nextCursor };
      if (all[i + 1].result.tools.length === 1 && !all[i + 1].result.nextCursor) {
        delete (fuller as Json).nextCursor;
      }
      assert.ok(utf8(JSON.stringify(fuller)) > BUDGET, `page ${i} could hold ${next.name}`);
    }
  }, { pageBytes: BUDGET, pageSize: 100 });
});

Deno.test("tools/list pages end at pageSize or the byte budget, whichever comes first; changes between pages neither repeat nor skip", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: TOOLS });
    const session = await openSession(gw.url, gw.key);
    const all = await pages(session);
    const sizes = all.map((p) => p.result.tools.length);
    assert.ok(sizes.every((n) => n >= 1 && n <= 4), sizes.join(","));
    assert.ok(sizes.includes(4) && sizes.some((n) => n < 4), sizes.join(","));
    assert.equal(sum(sizes), TOOLS.length);

    // Remove a tool already listed and add one after the first page's cursor.
    const first = all[0].result;
    const api = apiIn(s, "default");
    const gone = first.tools[0].name;
    assert.equal((await api("DELETE", `/gateways/${gw.id}/tools/${gw.toolIds[gone]}`)).status, 204);
    const last = first.tools.at(-1).name;
    const added = await createTool(api, { name: `${last}a`, description: "new" });
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: added }), 201);
    const a = await session.rpc(req(2, "tools/list", { cursor: first.nextCursor }));
    assert.equal(a.body.result.tools[0].name, `${last}a`);
    assert.deepEqual(
      a.body.result.tools.slice(1).map((t: Json) => t.name),
      all[1].result.tools.map((t: Json) => t.name).slice(0, a.body.result.tools.length - 1),
    );
  }, { pageBytes: BUDGET, pageSize: 4 });
});

Deno.test("GATEHOUSE_LIST_PAGE_BYTES sets the budget: 1 MiB by default, 1 KiB to 1 GiB", () => {
  const env = (value?: string) => (name: string) =>
    name === "GATEHOUSE_LIST_PAGE_BYTES" ? value : undefined;
  assert.equal(loadConfig([], env()).mcp.pageBytes, 1024 * 1024);
  assert.equal(loadConfig([], env("2048")).mcp.pageBytes, 2048);
  for (const bad of ["1023", "1.5", "lots", String(2 ** 30 + 1)]) {
    assert.throws(() => loadConfig([], env(bad)), /GATEHOUSE_LIST_PAGE_BYTES must be an integer/);
  }
});

const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
