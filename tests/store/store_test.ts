import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ConflictError } from "../../src/store/errors.ts";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { Store } from "../../src/store/store.ts";

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

async function withStore(fn: (store: Store, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-store-" });
  const store = new Store(`${dir}/gatehouse.db`);
  try {
    await fn(store, `${dir}/gatehouse.db`);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("reopening a database keeps its data and schema version", async () => {
  await withStore((store, path) => {
    const user = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", user.id);
    store.gateways.create(org.id, GATEWAY);
    store.close();
    const again = new Store(path);
    try {
      assert.deepEqual(again.orgs.bySlug("a"), org);
      assert.equal(again.gateways.list(org.id).length, 1);
      const v = again.db.raw.prepare("PRAGMA user_version").get()?.user_version;
      assert.equal(v, SCHEMA_VERSION);
      // Committed writes survive power loss too, not only a process crash.
      assert.equal(again.db.raw.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      assert.equal(again.db.raw.prepare("PRAGMA synchronous").get()?.synchronous, 2);
    } finally {
      again.close();
    }
  });
});

Deno.test("a database from a newer Gatehouse is refused and left as it is", async () => {
  await withStore((store, path) => {
    store.close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => new Store(path), /newer than this build/);
    const check = new DatabaseSync(path);
    assert.equal(check.prepare("PRAGMA user_version").get()?.user_version, SCHEMA_VERSION + 1);
    check.close();
  });
});

Deno.test("a transaction that throws leaves nothing behind, nested ones included", async () => {
  await withStore((store) => {
    const user = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", user.id);
    assert.throws(() =>
      store.tx(() => {
        store.gateways.create(org.id, GATEWAY);
        store.tx(() => store.tools.create(org.id, TOOL));
        throw new Error("boom");
      }), /boom/);
    assert.deepEqual(store.gateways.list(org.id), []);
    assert.deepEqual(store.tools.list(org.id), []);
    // A failed org creation (taken slug) adds no membership either.
    const other = store.users.create("b@example.com", "B");
    assert.throws(() => store.orgs.create("Again", "a", other.id), ConflictError);
    assert.deepEqual(store.orgs.forUser(other.id), []);
  });
});

Deno.test("change notices given inside a transaction wait for its commit, and a rollback drops them", async () => {
  await withStore((store) => {
    const user = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", user.id);
    const heard: string[][] = [];
    const revoked: string[] = [];
    store.changes.subscribe(({ gatewayIds }) => {
      // Told after the commit: no transaction is open any more.
      assert.equal(store.db.raw.isTransaction, false);
      heard.push(gatewayIds);
    });
    store.changes.onRevoked((id) => revoked.push(id));
    const gw = store.tx(() => {
      const gw = store.gateways.create(org.id, GATEWAY);
      store.tx(() => store.gateways.update(org.id, gw.id, { ...GATEWAY, name: "h" }));
      assert.deepEqual(heard, []);
      return gw;
    });
    assert.deepEqual(heard, [[gw.id], [gw.id]]);
    assert.throws(() =>
      store.tx(() => {
        store.gateways.delete(org.id, gw.id);
        store.users.setPasswordHash(user.id, "x");
        throw new Error("boom");
      }), /boom/);
    assert.deepEqual(heard, [[gw.id], [gw.id]]);
    assert.deepEqual(revoked, []);
    // Outside a transaction, notices go out at once, as before.
    store.gateways.delete(org.id, gw.id);
    assert.deepEqual(heard, [[gw.id], [gw.id], [gw.id]]);
  });
});

Deno.test("assigning tools is all or none, and only tools of the gateway's org", async () => {
  await withStore((store) => {
    const user = store.users.create("a@example.com", "A");
    const a = store.orgs.create("A", "a", user.id);
    const b = store.orgs.create("B", "b", user.id);
    const gw = store.gateways.create(a.id, GATEWAY);
    const mine = [1, 2, 3].map((i) => store.tools.create(a.id, { ...TOOL, name: `t${i}` }).id);
    const theirs = store.tools.create(b.id, TOOL).id;
    const versionBefore = store.changes.version;
    assert.deepEqual(store.tools.assign(a.id, gw.id, [...mine, theirs], true), [theirs]);
    assert.deepEqual(store.tools.assignments(gw.id), []);
    assert.equal(store.changes.version, versionBefore, "a refused assignment announced a change");
    assert.deepEqual(store.tools.assign(a.id, gw.id, mine, false), []);
    assert.deepEqual(store.tools.assignments(gw.id).map((x) => x.enabled), [false, false, false]);
    assert.equal(store.tools.assignment(gw.id, mine[1])?.tool.name, "t2");
    assert.equal(store.tools.assignment(gw.id, theirs), undefined);
  });
});

Deno.test("an organization always keeps an owner", async () => {
  await withStore((store) => {
    const first = store.users.create("a@example.com", "A");
    const org = store.orgs.create("A", "a", first.id);
    assert.throws(() => store.orgs.setRole(org.id, first.id, "admin"), ConflictError);
    assert.throws(() => store.orgs.removeMember(org.id, first.id), ConflictError);
    assert.equal(store.orgs.roleOf(org.id, first.id), "owner");
    const second = store.users.create("b@example.com", "B");
    store.orgs.addMember(org.id, second.id, "owner");
    assert.equal(store.orgs.setRole(org.id, first.id, "viewer"), true);
    assert.throws(() => store.orgs.removeMember(org.id, second.id), ConflictError);
    assert.equal(store.orgs.removeMember(org.id, first.id), true);
    assert.equal(store.orgs.removeMember(org.id, first.id), false);
    assert.equal(store.orgs.setRole(org.id, first.id, "owner"), false);
  });
});
