/**
 * The `apis` repository on its own: imports and re-imports are single
 * transactions (a failure half-way leaves nothing, or the previous state),
 * and re-imports can swap names between kept tools.
 */
import assert from "node:assert/strict";
import type { ApiInput, OperationTool } from "../../src/store/apis.ts";
import { type Store } from "../../src/store/store.ts";
import { openTestStore } from "../helpers/database.ts";

function input(name: string): ApiInput {
  return {
    name,
    title: "T",
    version: "1",
    specVersion: "3.1.0",
    baseUrl: null,
    secret: null,
    include: null,
    exclude: null,
    specHash: "0".repeat(64),
  };
}

function op(route: string, baseName: string, operationId?: string): OperationTool {
  const o: OperationTool = {
    route,
    baseName,
    tool: {
      description: route,
      inputSchema: { type: "object", properties: {} },
      type: "http",
      executionConfig: { method: "GET", url: "https://x.example.com", timeout: 30000, retries: 0 },
    },
  };
  if (operationId) o.operationId = operationId;
  return o;
}

/** An operation whose tool cannot be written (JSON.stringify throws on a BigInt). */
function broken(route: string): OperationTool {
  const o = op(route, "broken");
  o.tool.inputSchema = { type: "object", properties: { n: { default: 1n } } };
  return o;
}

async function withStore(fn: (store: Store, orgId: string) => Promise<void>): Promise<void> {
  const store = await openTestStore(":memory:");
  try {
    const user = await store.users.create("a@example.com", "A");
    await fn(store, (await store.orgs.create("A", "a", user.id)).id);
  } finally {
    await store.close();
  }
}

Deno.test("an import that fails half-way leaves nothing behind", async () => {
  await withStore(async (store, orgId) => {
    await assert.rejects(
      store.apis.create(orgId, input("x"), [op("GET /a", "a"), broken("GET /b")]),
      TypeError,
    );
    assert.deepEqual(await store.apis.list(orgId), []);
    assert.deepEqual(await store.tools.list(orgId), []);
  });
});

Deno.test("a re-import that fails half-way keeps the previous tools", async () => {
  await withStore(async (store, orgId) => {
    const first = await store.apis.create(orgId, input("x"), [
      op("GET /a", "a"),
      op("GET /b", "b"),
    ]);
    await assert.rejects(
      store.apis.replace(orgId, first.api.id, input("renamed"), [
        op("GET /c", "c"),
        broken("GET /d"),
      ]),
      TypeError,
    );
    assert.equal((await store.apis.get(orgId, first.api.id))?.name, "x");
    assert.deepEqual(await store.apis.tools(first.api.id), first.tools);
  });
});

Deno.test("a re-import may swap names between kept tools", async () => {
  await withStore(async (store, orgId) => {
    const first = await store.apis.create(orgId, input("x"), [
      op("GET /x", "get_x"),
      op("GET /y", "get_y"),
    ]);
    const ids = Object.fromEntries(first.tools.map((t) => [t.route, t.id]));
    // The operations gain operationIds that ask for each other's names.
    const second = (await store.apis.replace(orgId, first.api.id, input("x"), [
      op("GET /x", "get_y", "get_y"),
      op("GET /y", "get_x", "get_x"),
    ]))!;
    assert.deepEqual(second.counts, { created: 0, updated: 2, removed: 0 });
    const byRoute = Object.fromEntries(second.tools.map((t) => [t.route, t]));
    assert.deepEqual([byRoute["GET /x"].id, byRoute["GET /x"].name], [ids["GET /x"], "get_y"]);
    assert.deepEqual([byRoute["GET /y"].id, byRoute["GET /y"].name], [ids["GET /y"], "get_x"]);
    assert.equal((await store.tools.get(orgId, ids["GET /x"]))?.name, "get_y");
  });
});
