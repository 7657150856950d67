/**
 * The store's paged lists: pages follow each other by key, and every page
 * query is answered from an index (no scan of the table, and no sort of the
 * org's rows) whatever filters it has. The plans are read with EXPLAIN QUERY
 * PLAN on the very statements the store prepares.
 */
import assert from "node:assert/strict";
import type { PageRequest } from "../../src/store/paging.ts";
import { Store } from "../../src/store/store.ts";
import type { ToolFilter } from "../../src/store/tools.ts";

const TOOL = {
  description: "",
  inputSchema: { type: "object", properties: {} },
  type: "http",
  executionConfig: { method: "GET", url: "https://x.io", timeout: 1000, retries: 0 },
};

/** Runs `fn` on a fresh store, with every SQL statement it prepares recorded. */
function withRecordingStore(fn: (store: Store, prepared: string[]) => void): void {
  const store = new Store(":memory:");
  const prepared: string[] = [];
  const prepare = store.db.prepare.bind(store.db);
  store.db.prepare = (sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  };
  try {
    fn(store, prepared);
  } finally {
    store.close();
  }
}

/** The query plan of `sql` (every parameter bound to a placeholder value). */
function planOf(store: Store, sql: string): string[] {
  const params = (sql.match(/\?/g) ?? []).map(() => "x");
  return store.db.raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((r) =>
    String(r.detail)
  );
}

/** The statements `read` prepares, each with its plan. */
function plansOf(store: Store, prepared: string[], read: () => void): [string, string[]][] {
  const from = prepared.length;
  read();
  return prepared.slice(from).filter((sql) => /^\s*SELECT/i.test(sql)).map((sql) => [
    sql.replace(/\s+/g, " "),
    planOf(store, sql),
  ]);
}

Deno.test("every page query is answered from an index, with any filters and from any key", () => {
  withRecordingStore((store, prepared) => {
    const user = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", user.id);
    const gw = store.gateways.create(org.id, {
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
        sorted.push(...plansOf(store, prepared, () => store.tools.page(org.id, f, req)));
      }
      sorted.push(...plansOf(store, prepared, () => store.apis.page(org.id, req)));
      sorted.push(...plansOf(store, prepared, () => store.gateways.page(org.id, req)));
      sorted.push(...plansOf(store, prepared, () => store.servers.page(org.id, req)));
    }
    assert.equal(sorted.length, 2 * (16 + 3));
    for (const [sql, plan] of sorted) {
      const text = plan.join(" | ");
      assert.ok(!/\bSCAN\b/.test(text), `${sql}\n  scans: ${text}`);
      assert.ok(!/TEMP B-TREE/.test(text), `${sql}\n  sorts: ${text}`);
      assert.match(text, /USING (COVERING )?INDEX/, sql);
    }
    // With an API or a server, their index is the one taken (they narrow more than a type).
    const [, withApi] = plansOf(
      store,
      prepared,
      () => store.tools.page(org.id, { apiId: "a", type: "http" }, { limit: 5 }),
    )[0];
    assert.match(withApi.join(), /tools_api_name/);
    const [, withServer] = plansOf(
      store,
      prepared,
      () => store.tools.page(org.id, { serverId: "s", type: "mcp" }, { limit: 5 }),
    )[0];
    // (The first page may take the unique index of a server's names: no sort needed either.)
    assert.match(withServer.join(), /tools_server_name/);

    // A gateway's assignments: found through the gateway's own rows (its primary key), then
    // sorted; never by walking the org's tools.
    for (const req of requests) {
      const [[sql, plan]] = plansOf(
        store,
        prepared,
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

Deno.test("the paging indexes exist and the ones they make redundant are gone", () => {
  const store = new Store(":memory:");
  try {
    const names = store.db.raw.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    ).all().map((r) => String(r.name));
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
    store.close();
  }
});

Deno.test("pages follow each other by key (name, then id) and stay in their org", () => {
  const store = new Store(":memory:");
  try {
    const user = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", user.id);
    const other = store.orgs.create("B", "b", user.id);
    for (const name of ["b", "a", "c", "a_1", "B"]) store.tools.create(org.id, { ...TOOL, name });
    store.tools.create(other.id, { ...TOOL, name: "a0" });
    const seen: string[] = [];
    let after: readonly string[] | undefined;
    const sizes: number[] = [];
    do {
      const page = store.tools.page(org.id, {}, { limit: 2, after });
      seen.push(...page.items.map((t) => t.name));
      sizes.push(page.items.length);
      after = page.next;
      if (after) assert.deepEqual(after, [page.items[1].name, page.items[1].id]);
    } while (after);
    assert.deepEqual(seen, ["B", "a", "a_1", "b", "c"]);
    assert.deepEqual(sizes, [2, 2, 1]);
    // Ties on the name are broken by id.
    const page = store.tools.page(org.id, {}, { limit: 10, after: ["a", "\uffff"] });
    assert.deepEqual(page.items.map((t) => t.name), ["a_1", "b", "c"]);
    assert.throws(() => store.tools.page(org.id, {}, { limit: 0 }), RangeError);
    assert.throws(() => store.tools.page(org.id, {}, { limit: 2, after: ["a"] }), RangeError);
  } finally {
    store.close();
  }
});
