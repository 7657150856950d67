/**
 * The store's paged lists: pages follow each other by key, and every page
 * query is answered from an index (no scan of the table, and no sort of the
 * org's rows) whatever filters it has. The plans are read with EXPLAIN QUERY
 * PLAN on the very statements the store sends its engine.
 */
import assert from "node:assert/strict";
import type { PageRequest } from "../../src/store/paging.ts";
import { openStore, Store } from "../../src/store/store.ts";
import { openTestStore } from "../helpers/database.ts";
import type { ToolFilter } from "../../src/store/tools.ts";
import { WatchedEngine } from "../helpers/watched_engine.ts";

const TOOL = {
  description: "",
  inputSchema: { type: "object", properties: {} },
  type: "http",
  executionConfig: { method: "GET", url: "https://x.io", timeout: 1000, retries: 0 },
};

/** Runs `fn` on a fresh store, with every SQL statement it sends recorded. */
async function withRecordingStore(
  fn: (store: Store, engine: WatchedEngine) => Promise<void>,
): Promise<void> {
  const engine = new WatchedEngine();
  const store = new Store(engine);
  try {
    await fn(store, engine);
  } finally {
    await store.close();
  }
}

/** The query plan of `sql` (every parameter bound to a placeholder value). */
async function planOf(engine: WatchedEngine, sql: string): Promise<string[]> {
  const params = (sql.match(/\?/g) ?? []).map(() => "x");
  const rows = await engine.inner.all(`EXPLAIN QUERY PLAN ${sql}`, ...params);
  return rows.map((r) => String(r.detail));
}

/** The statements `read` sends, each with its plan. */
async function plansOf(
  engine: WatchedEngine,
  read: () => Promise<unknown>,
): Promise<[string, string[]][]> {
  const from = engine.sent.length;
  await read();
  const plans: [string, string[]][] = [];
  for (const sql of engine.sent.slice(from).filter((sql) => /^\s*SELECT/i.test(sql))) {
    plans.push([sql.replace(/\s+/g, " "), await planOf(engine, sql)]);
  }
  return plans;
}

Deno.test("every page query is answered from an index, with any filters and from any key", async () => {
  await withRecordingStore(async (store, engine) => {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    const gw = await store.gateways.create(org.id, {
      name: "g",
      description: "",
      type: "mcp",
      endpoint: "/g",
      configuration: { transport: "http" },
    });
    const requests: PageRequest[] = [{ limit: 5 }, { limit: 5, after: ["n", "id"] }];
    const filters: ToolFilter[] = [];
    for (let bits = 0; bits < 16; bits++) {
      const f: ToolFilter = {};
      if (bits & 1) f.apiId = "api";
      if (bits & 2) f.serverId = "server";
      if (bits & 4) f.type = "http";
      if (bits & 8) f.q = "Text";
      filters.push(f);
    }
    const sorted: [string, string[]][] = [];
    for (const req of requests) {
      for (const f of filters) {
        sorted.push(...await plansOf(engine, () => store.tools.page(org.id, f, req)));
      }
      sorted.push(...await plansOf(engine, () => store.apis.page(org.id, req)));
      sorted.push(...await plansOf(engine, () => store.gateways.page(org.id, req)));
      sorted.push(...await plansOf(engine, () => store.servers.page(org.id, req)));
    }
    assert.equal(sorted.length, 2 * (16 + 3));
    for (const [sql, plan] of sorted) {
      const text = plan.join(" | ");
      assert.ok(!/\bSCAN\b/.test(text), `${sql}\n  scans: ${text}`);
      assert.ok(!/TEMP B-TREE/.test(text), `${sql}\n  sorts: ${text}`);
      assert.match(text, /USING (COVERING )?INDEX/, sql);
    }
    // With an API or a server, their index is the one taken (they narrow more than a type).
    const [, withApi] = (await plansOf(
      engine,
      () => store.tools.page(org.id, { apiId: "a", type: "http" }, { limit: 5 }),
    ))[0];
    assert.match(withApi.join(), /tools_api_name/);
    const [, withServer] = (await plansOf(
      engine,
      () => store.tools.page(org.id, { serverId: "s", type: "mcp" }, { limit: 5 }),
    ))[0];
    // (The first page may take the unique index of a server's names: no sort needed either.)
    assert.match(withServer.join(), /tools_server_name/);

    // A gateway's assignments: found through the gateway's own rows (its primary key), then
    // sorted; never by walking the org's tools.
    for (const req of requests) {
      const [[sql, plan]] = await plansOf(
        engine,
        () => store.tools.assignmentPage(org.id, gw.id, req),
      );
      const text = plan.join(" | ");
      assert.ok(!/\bSCAN\b/.test(text), `${sql}\n  scans: ${text}`);
      assert.match(
        text,
        /SEARCH gt USING (COVERING )?INDEX sqlite_autoindex_gateway_tools_1 \(gateway_id=\?\)/,
      );
      assert.match(text, /SEARCH t USING INDEX sqlite_autoindex_tools_1 \(id=\?\)/);
    }
  });
});

Deno.test("the paging indexes exist and the ones they make redundant are gone", async () => {
  const store = openStore(":memory:");
  try {
    const names = (await store.db.all(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )).map((r) => String(r.name));
    for (
      const name of [
        "tools_org_name",
        "tools_org_type_name",
        "tools_api_name",
        "tools_server_name_id",
        "gateways_org_created",
      ]
    ) {
      assert.ok(names.includes(name), name);
    }
    assert.ok(!names.includes("tools_api") && !names.includes("tools_server"));
  } finally {
    await store.close();
  }
});

Deno.test("pages follow each other by key (name, then id) and stay in their org", async () => {
  const store = await openTestStore(":memory:");
  try {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    const other = await store.orgs.create("B", "b", user.id);
    for (const name of ["b", "a", "c", "a_1", "B"]) {
      await store.tools.create(org.id, { ...TOOL, name });
    }
    await store.tools.create(other.id, { ...TOOL, name: "a0" });
    const seen: string[] = [];
    let after: readonly string[] | undefined;
    const sizes: number[] = [];
    do {
      const page = await store.tools.page(org.id, {}, { limit: 2, after });
      seen.push(...page.items.map((t) => t.name));
      sizes.push(page.items.length);
      after = page.next;
      if (after) assert.deepEqual(after, [page.items[1].name, page.items[1].id]);
    } while (after);
    assert.deepEqual(seen, ["B", "a", "a_1", "b", "c"]);
    assert.deepEqual(sizes, [2, 2, 1]);
    // Ties on the name are broken by id.
    const page = await store.tools.page(org.id, {}, { limit: 10, after: ["a", "\uffff"] });
    assert.deepEqual(page.items.map((t) => t.name), ["a_1", "b", "c"]);
    await assert.rejects(store.tools.page(org.id, {}, { limit: 0 }), RangeError);
    await assert.rejects(store.tools.page(org.id, {}, { limit: 2, after: ["a"] }), RangeError);
  } finally {
    await store.close();
  }
});
