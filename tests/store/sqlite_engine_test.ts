/**
 * The SQLite engine's transactions over its one shared connection: what a
 * transaction writes is seen by nobody else before it commits, whatever
 * comes from outside waits for it (and is never undone with it), a
 * rejection undoes all of it, nested transactions join, and uniqueness
 * failures come out as `UniqueViolation`.
 */
import assert from "node:assert/strict";
import { ConflictError, uniqueOr } from "../../src/store/errors.ts";
import { UniqueViolation } from "../../src/store/sql.ts";
import { SqliteEngine } from "../../src/store/sqlite_engine.ts";
import { engineContract } from "./engine_contract.ts";

// The contract PostgreSQL's engine passes, unchanged, on a fresh migrated file each.
engineContract("sqlite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-contract-" });
  return new SqliteEngine(`${dir}/gatehouse.db`);
});

/** Runs `fn` on an engine over a fresh database file with a table `t (k TEXT PRIMARY KEY)`. */
async function withEngine(fn: (db: SqliteEngine) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-engine-" });
  const db = new SqliteEngine(`${dir}/gatehouse.db`);
  try {
    await db.run("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)");
    await fn(db);
  } finally {
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The keys in `t`, in order. */
async function keys(db: SqliteEngine): Promise<string[]> {
  return (await db.all("SELECT k FROM t ORDER BY k")).map((r) => r.k as string);
}

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a transaction's writes are not seen outside it before it commits; a statement from outside waits for it", async () => {
  await withEngine(async (db) => {
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const { promise: written, resolve: wrote } = Promise.withResolvers<void>();
    const tx = db.tx(async () => {
      await db.run("INSERT INTO t (k) VALUES ('a')");
      // Inside, its own writes are there at once.
      assert.deepEqual(await keys(db), ["a"]);
      wrote();
      // Slow work while the transaction is open (a test's stand-in for anything awaited).
      await gate;
      await db.run("INSERT INTO t (k) VALUES ('b')");
    });
    await written;
    const outside = keys(db);
    assert.equal(await settlesWithin(outside, 50), false, "a read from outside did not wait");
    open();
    await tx;
    assert.deepEqual(await outside, ["a", "b"], "the read from outside saw the commit whole");
  });
});

Deno.test("a rejection rolls back every write of the transaction and runs none of its afterCommit; a write from outside meanwhile is kept", async () => {
  await withEngine(async (db) => {
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const { promise: written, resolve: wrote } = Promise.withResolvers<void>();
    const committed: string[] = [];
    const tx = db.tx(async () => {
      await db.run("INSERT INTO t (k) VALUES ('a')");
      await db.run("UPDATE t SET n = 1 WHERE k = 'a'");
      db.afterCommit(() => committed.push("a"));
      wrote();
      await gate;
      await db.run("INSERT INTO t (k) VALUES ('b')");
      throw new Error("boom");
    });
    await written;
    // Issued from outside while the transaction is open: it waits, then lands on its own.
    const outside = db.run("INSERT INTO t (k) VALUES ('c')");
    open();
    await assert.rejects(tx, /boom/);
    await outside;
    assert.deepEqual(await keys(db), ["c"]);
    assert.deepEqual(committed, []);
    // Outside a transaction, afterCommit runs at once.
    const now: string[] = [];
    db.afterCommit(() => now.push("now"));
    assert.deepEqual(now, ["now"]);
  });
});

Deno.test("nested transactions join the outer one: one commit, one rollback, afterCommit after the outer commit", async () => {
  await withEngine(async (db) => {
    const order: string[] = [];
    await db.tx(async () => {
      await db.run("INSERT INTO t (k) VALUES ('a')");
      await db.tx(async () => {
        await db.run("INSERT INTO t (k) VALUES ('b')");
        db.afterCommit(() => order.push("inner committed"));
      });
      order.push("inner done");
      // The inner transaction's writes wait for the outer commit like the outer's own.
      assert.deepEqual(order, ["inner done"]);
    });
    assert.deepEqual(order, ["inner done", "inner committed"]);
    assert.deepEqual(await keys(db), ["a", "b"]);

    // A rejection after a nested transaction finished undoes its writes too.
    await assert.rejects(
      db.tx(async () => {
        await db.tx(() => db.run("INSERT INTO t (k) VALUES ('c')"));
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.deepEqual(await keys(db), ["a", "b"]);
  });
});

Deno.test("a uniqueness failure surfaces as UniqueViolation, which uniqueOr turns into a ConflictError on its field", async () => {
  await withEngine(async (db) => {
    await db.run("INSERT INTO t (k) VALUES ('a')");
    const err = await db.run("INSERT INTO t (k) VALUES ('a')").catch((e) => e);
    assert.ok(err instanceof UniqueViolation);
    assert.match(String((err.cause as Error).message), /UNIQUE constraint failed: t\.k/);
    // Inside a transaction too, where it rolls the transaction back.
    await assert.rejects(
      db.tx(async () => {
        await db.run("INSERT INTO t (k) VALUES ('b')");
        await db.run("INSERT INTO t (k) VALUES ('a')");
      }),
      UniqueViolation,
    );
    assert.deepEqual(await keys(db), ["a"]);
    const conflict = await uniqueOr(
      "name",
      "this name is taken",
      () => db.run("INSERT INTO t (k) VALUES ('a')"),
    ).catch((e) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.equal(conflict.field, "name");
    assert.equal(conflict.message, "this name is taken");
    // Other failures pass through as they are.
    const other = await uniqueOr(
      "name",
      "taken",
      () => db.run("INSERT INTO t (k, n) VALUES ('x', NULL)"),
    )
      .catch((e) => e);
    assert.ok(!(other instanceof ConflictError) && !(other instanceof UniqueViolation));
    assert.match(String(other.message), /NOT NULL/);
  });
});

Deno.test("two concurrent transactions run one after the other, and both land", async () => {
  await withEngine(async (db) => {
    await db.run("CREATE TABLE seq (n INTEGER PRIMARY KEY)");
    // Each reads the highest number, waits, then writes the next: interleaved, both would
    // write the same number and one would fail.
    const next = (name: string) =>
      db.tx(async () => {
        const top = Number((await db.get("SELECT MAX(n) AS m FROM seq"))?.m ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await db.run("INSERT INTO seq (n) VALUES (?)", top + 1);
        await db.run("INSERT INTO t (k, n) VALUES (?, ?)", name, top + 1);
        return top + 1;
      });
    const [a, b] = await Promise.all([next("a"), next("b")]);
    assert.deepEqual([a, b], [1, 2], "the second began once the first had committed");
    assert.deepEqual(
      (await db.all("SELECT k, n FROM t ORDER BY n")).map((r) => [r.k, r.n]),
      [["a", 1], ["b", 2]],
    );
  });
});
