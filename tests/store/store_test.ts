import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ConflictError } from "../../src/store/errors.ts";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { openTestStore } from "../helpers/database.ts";

const TOOL = {
  name: "t",
  description: "",
  inputSchema: { type: "object", properties: {} },
  type: "http",
  executionConfig: { method: "GET", url: "https://x.io", timeout: 1000, retries: 0 },
};
const GATEWAY = {
  name: "g",
  description: "",
  type: "mcp" as const,
  endpoint: "/g",
  configuration: { transport: "http" as const },
};

/** A store in the suite's database (SQLite, or PostgreSQL with GATEHOUSE_TEST_DATABASE). */
async function withStore(fn: (store: Store) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-store-" });
  const store = await openTestStore(`${dir}/gatehouse.db`);
  try {
    await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A store in a SQLite file, for the tests that open the file themselves. */
async function withSqliteStore(fn: (store: Store, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-store-" });
  const store = openStore(`${dir}/gatehouse.db`);
  try {
    await fn(store, `${dir}/gatehouse.db`);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("reopening a database keeps its data and schema version", async () => {
  await withSqliteStore(async (store, path) => {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    await store.gateways.create(org.id, GATEWAY);
    await store.close();
    const again = openStore(path);
    try {
      assert.deepEqual(await again.orgs.bySlug("a"), org);
      assert.equal((await again.gateways.list(org.id)).length, 1);
      const v = (await again.db.get("PRAGMA user_version"))?.user_version;
      assert.equal(v, SCHEMA_VERSION);
      // Committed writes survive power loss too, not only a process crash.
      assert.equal((await again.db.get("PRAGMA journal_mode"))?.journal_mode, "wal");
      assert.equal((await again.db.get("PRAGMA synchronous"))?.synchronous, 2);
    } finally {
      await again.close();
    }
  });
});

Deno.test("a database from a newer Gatehouse is refused and left as it is", async () => {
  await withSqliteStore(async (store, path) => {
    await store.close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openStore(path), /newer than this build/);
    const check = new DatabaseSync(path);
    assert.equal(check.prepare("PRAGMA user_version").get()?.user_version, SCHEMA_VERSION + 1);
    check.close();
  });
});

Deno.test("a transaction that throws leaves nothing behind, nested ones included", async () => {
  await withStore(async (store) => {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    await assert.rejects(
      store.tx(async () => {
        await store.gateways.create(org.id, GATEWAY);
        await store.tx(() => store.tools.create(org.id, TOOL));
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.deepEqual(await store.gateways.list(org.id), []);
    assert.deepEqual(await store.tools.list(org.id), []);
    // A failed org creation (taken slug) adds no membership either.
    const other = await store.users.create("b@example.com", "B");
    await assert.rejects(store.orgs.create("Again", "a", other.id), ConflictError);
    assert.deepEqual(await store.orgs.forUser(other.id), []);
  });
});

Deno.test("change notices given inside a transaction wait for its commit, and a rollback drops them", async () => {
  await withSqliteStore(async (store, path) => {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    const heard: string[][] = [];
    const revoked: string[] = [];
    // Another connection to the file sees only what is committed.
    const reader = new DatabaseSync(path, { readOnly: true });
    const names: (string | undefined)[] = [];
    store.changes.subscribe(({ gatewayIds }) => {
      // Told after the commit: the change is there for everyone to read.
      const row = reader.prepare("SELECT name FROM gateways WHERE id = ?").get(gatewayIds[0]);
      names.push(row?.name as string | undefined);
      heard.push(gatewayIds);
    });
    store.changes.onRevoked((id) => revoked.push(id));
    try {
      const gw = await store.tx(async () => {
        const gw = await store.gateways.create(org.id, GATEWAY);
        await store.tx(() => store.gateways.update(org.id, gw.id, { ...GATEWAY, name: "h" }));
        assert.deepEqual(heard, []);
        return gw;
      });
      assert.deepEqual(heard, [[gw.id], [gw.id]]);
      assert.deepEqual(names, ["h", "h"]);
      await assert.rejects(
        store.tx(async () => {
          await store.gateways.delete(org.id, gw.id);
          await store.users.setPasswordHash(user.id, "x");
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.deepEqual(heard, [[gw.id], [gw.id]]);
      assert.deepEqual(revoked, []);
      // Outside a transaction, notices go out once the write is done, before its caller hears.
      await store.gateways.delete(org.id, gw.id);
      assert.deepEqual(heard, [[gw.id], [gw.id], [gw.id]]);
      assert.deepEqual(names, ["h", "h", undefined]);
    } finally {
      reader.close();
    }
  });
});

Deno.test("assigning tools is all or none, and only tools of the gateway's org", async () => {
  await withStore(async (store) => {
    const user = await store.users.create("a@example.com", "A");
    const a = await store.orgs.create("A", "a", user.id);
    const b = await store.orgs.create("B", "b", user.id);
    const gw = await store.gateways.create(a.id, GATEWAY);
    const mine: string[] = [];
    for (const i of [1, 2, 3]) {
      mine.push((await store.tools.create(a.id, { ...TOOL, name: `t${i}` })).id);
    }
    const theirs = (await store.tools.create(b.id, TOOL)).id;
    const versionBefore = store.changes.version;
    assert.deepEqual(await store.tools.assign(a.id, gw.id, [...mine, theirs], true), [theirs]);
    assert.deepEqual(await store.tools.assignments(gw.id), []);
    assert.equal(store.changes.version, versionBefore, "a refused assignment announced a change");
    assert.deepEqual(await store.tools.assign(a.id, gw.id, mine, false), []);
    assert.deepEqual(
      (await store.tools.assignments(gw.id)).map((x) => x.enabled),
      [false, false, false],
    );
    assert.equal((await store.tools.assignment(gw.id, mine[1]))?.tool.name, "t2");
    assert.equal(await store.tools.assignment(gw.id, theirs), undefined);
  });
});

Deno.test("an organization always keeps an owner", async () => {
  await withStore(async (store) => {
    const first = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", first.id);
    await assert.rejects(store.orgs.setRole(org.id, first.id, "admin"), ConflictError);
    await assert.rejects(store.orgs.removeMember(org.id, first.id), ConflictError);
    assert.equal(await store.orgs.roleOf(org.id, first.id), "owner");
    const second = await store.users.create("b@example.com", "B");
    await store.orgs.addMember(org.id, second.id, "owner");
    assert.equal(await store.orgs.setRole(org.id, first.id, "viewer"), true);
    await assert.rejects(store.orgs.removeMember(org.id, second.id), ConflictError);
    assert.equal(await store.orgs.removeMember(org.id, first.id), true);
    assert.equal(await store.orgs.removeMember(org.id, first.id), false);
    assert.equal(await store.orgs.setRole(org.id, first.id, "owner"), false);
  });
});
