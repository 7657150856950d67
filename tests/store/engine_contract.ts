/**
 * What every {@link SqlEngine} promises, as tests to run against any of
 * them: `engineContract("postgres", open)` registers them, where `open`
 * answers an engine on a fresh database with Gatehouse's schema. The
 * statements are the portable SQL the repositories write, on the real tables.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type SqlEngine, UniqueViolation } from "../../src/store/sql.ts";

/** Answers an engine on a fresh, migrated database; the test closes it. */
export type EngineFactory = () => Promise<SqlEngine>;

const ORG = "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)";
const AT = "2026-12-01T00:00:00.000Z";

function addOrg(engine: SqlEngine, id: string, name = `org ${id}`) {
  return engine.run(ORG, id, name, `slug-${id}`, AT);
}

async function orgIds(engine: SqlEngine): Promise<string[]> {
  return (await engine.all("SELECT id FROM orgs ORDER BY id")).map((r) => r.id as string);
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Registers the contract's tests for the engines `open` makes, named after `label`. */
export function engineContract(label: string, open: EngineFactory): void {
  const test = (name: string, fn: (engine: SqlEngine) => Promise<void>) =>
    Deno.test(`${label} engine: ${name}`, async () => {
      const engine = await open();
      try {
        await fn(engine);
      } finally {
        await engine.close();
      }
    });

  test("get, all and run read and write rows, and run counts the rows it changed", async (e) => {
    assert.deepEqual(await e.run(ORG, "a", "A", "a", AT), { changes: 1 });
    await addOrg(e, "b");
    await addOrg(e, "c");
    assert.deepEqual({ ...await e.get("SELECT id, name, slug FROM orgs WHERE id = ?", "a") }, {
      id: "a",
      name: "A",
      slug: "a",
    });
    assert.equal(await e.get("SELECT id FROM orgs WHERE id = ?", "missing"), undefined);
    assert.deepEqual(await e.all("SELECT id FROM orgs WHERE id = ? LIMIT 5", "missing"), []);
    assert.deepEqual(await orgIds(e), ["a", "b", "c"]);
    const renamed = await e.run("UPDATE orgs SET name = ? WHERE id <> ?", "renamed", "a");
    assert.equal(renamed.changes, 2);
    assert.equal((await e.run("UPDATE orgs SET name = ? WHERE id = ?", "x", "zz")).changes, 0);
    assert.equal((await e.run("DELETE FROM orgs WHERE id IN (?, ?)", "a", "b")).changes, 2);
    assert.deepEqual(await orgIds(e), ["c"]);
  });

  test("text, big integers, bytes and null come back as they went in", async (e) => {
    const texts = [
      "plain",
      'it\'s "quoted" \\ back\\slashed',
      "what? a ? mark",
      "Ünïcödé 日本語 עברית 🎉 e\u0301",
      "",
    ];
    for (const [i, name] of texts.entries()) await addOrg(e, `t${i}`, name);
    for (const [i, name] of texts.entries()) {
      assert.equal((await e.get("SELECT name FROM orgs WHERE id = ?", `t${i}`))?.name, name);
    }
    // A ? inside a literal is text, not a placeholder; the one outside is.
    const literal = await e.get(
      "SELECT 'a ? b' AS lit, name FROM orgs WHERE name <> 'it''s a ?' AND id = ?",
      "t2",
    );
    assert.deepEqual({ ...literal }, { lit: "a ? b", name: "what? a ? mark" });

    const big = Number.MAX_SAFE_INTEGER;
    await e.run(
      `INSERT INTO request_stats (gateway_id, span, start, name, calls, errors, last_at)
       VALUES ('g', ?, ?, '', ?, ?, ?)`,
      60_000,
      big,
      -big,
      0,
      2 ** 40,
    );
    const row = await e.get("SELECT span, start, calls, errors, last_at, h0 FROM request_stats");
    assert.deepEqual({ ...row }, {
      span: 60_000,
      start: big,
      calls: -big,
      errors: 0,
      last_at: 2 ** 40,
      h0: 0,
    });
    const sums = await e.get(
      "SELECT COUNT(*) AS n, SUM(start) AS total, MAX(calls) AS most FROM request_stats",
    );
    assert.deepEqual({ ...sums }, { n: 1, total: big, most: -big });

    await e.run(
      "INSERT INTO users (id, email, name, created_at, password_hash) VALUES (?, ?, ?, ?, ?)",
      "u",
      "u@example.com",
      "U",
      AT,
      null,
    );
    assert.deepEqual({ ...await e.get("SELECT password_hash FROM users WHERE id = ?", "u") }, {
      password_hash: null,
    });

    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await e.run(
      "INSERT INTO vault_key_check (id, iv, ciphertext, created_at) VALUES (1, ?, ?, ?)",
      bytes,
      new Uint8Array(0),
      AT,
    );
    const blob = await e.get("SELECT iv, ciphertext FROM vault_key_check WHERE id = 1");
    assert.ok(blob?.iv instanceof Uint8Array);
    assert.deepEqual([...blob.iv], [...bytes]);
    assert.deepEqual(blob.ciphertext, new Uint8Array(0));
  });

  test("a transaction's writes are seen outside it only once it commits", async (e) => {
    const inside = gate();
    const outside = gate();
    const tx = e.tx(async () => {
      await addOrg(e, "a");
      assert.deepEqual(await orgIds(e), ["a"], "the transaction sees its own write");
      inside.open();
      await outside.opened;
      await addOrg(e, "b");
    });
    await inside.opened;
    // Read from outside the transaction while it is open. An engine may run the read at
    // once (it must not see the write) or hold it until the transaction ends.
    const read = orgIds(e);
    const early = await Promise.race([read, new Promise((r) => setTimeout(r, 500, "waiting"))]);
    if (early !== "waiting") assert.deepEqual(early, [], "an open transaction's write leaked");
    outside.open();
    await tx;
    if (early === "waiting") assert.deepEqual(await read, ["a", "b"]);
    assert.deepEqual(await orgIds(e), ["a", "b"]);
  });

  test("a rejected transaction undoes all its writes and runs no afterCommit", async (e) => {
    await addOrg(e, "kept");
    const ran: string[] = [];
    const failure = new Error("changed my mind");
    await assert.rejects(
      e.tx(async () => {
        await addOrg(e, "a");
        e.afterCommit(() => ran.push("outer"));
        await e.run("UPDATE orgs SET name = ? WHERE id = ?", "touched", "kept");
        await e.tx(async () => {
          await addOrg(e, "b");
          e.afterCommit(() => ran.push("inner"));
        });
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.deepEqual(await orgIds(e), ["kept"]);
    assert.equal((await e.get("SELECT name FROM orgs WHERE id = 'kept'"))?.name, "org kept");
    assert.deepEqual(ran, []);
  });

  test("afterCommit runs at once outside a transaction, after the outermost commit inside", async (e) => {
    const ran: string[] = [];
    e.afterCommit(() => ran.push("outside"));
    assert.deepEqual(ran, ["outside"]);
    const result = await e.tx(async () => {
      await addOrg(e, "a");
      e.afterCommit(() => ran.push("outer"));
      await e.tx(async () => {
        await addOrg(e, "b");
        e.afterCommit(() => ran.push("inner"));
      });
      assert.deepEqual(ran, ["outside"], "nothing runs before the outermost commit");
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(ran, ["outside", "outer", "inner"]);
  });

  test("a nested transaction joins the outer one: the outer's rollback undoes it", async (e) => {
    await assert.rejects(
      e.tx(async () => {
        await addOrg(e, "outer");
        const inner = await e.tx(async () => {
          await addOrg(e, "inner");
          return "inner done";
        });
        assert.equal(inner, "inner done");
        assert.deepEqual(await orgIds(e), ["inner", "outer"]);
        throw new Error("outer fails");
      }),
      /outer fails/,
    );
    assert.deepEqual(await orgIds(e), []);
  });

  test("concurrent transactions both land, each as if it ran alone", async (e) => {
    // Each reads how many orgs there are and writes the next slug: run side by side
    // without taking turns, both would read the same count and one would collide.
    const next = () =>
      e.tx(async () => {
        const n = Number((await e.get("SELECT COUNT(*) AS n FROM orgs"))?.n);
        await new Promise((r) => setTimeout(r, 20));
        await e.run(ORG, `o${n}`, `org ${n}`, `slug-${n}`, AT);
        await new Promise((r) => setTimeout(r, 20));
        await e.run("UPDATE orgs SET name = ? WHERE id = ?", `org ${n} done`, `o${n}`);
      });
    await Promise.all([next(), next(), next()]);
    // Rows compare by their fields (SQLite's have no prototype).
    const rows = (await e.all("SELECT id, name FROM orgs ORDER BY id")).map((r) => ({ ...r }));
    assert.deepEqual(rows, [
      { id: "o0", name: "org 0 done" },
      { id: "o1", name: "org 1 done" },
      { id: "o2", name: "org 2 done" },
    ]);
  });

  test("a duplicate key or unique value is a UniqueViolation, and undoes its transaction", async (e) => {
    await addOrg(e, "a");
    await assert.rejects(e.run(ORG, "a", "other", "other-slug", AT), UniqueViolation);
    await assert.rejects(e.run(ORG, "b", "other", "slug-a", AT), UniqueViolation);
    await assert.rejects(
      e.tx(async () => {
        await addOrg(e, "c");
        await addOrg(e, "a");
      }),
      UniqueViolation,
    );
    assert.deepEqual(await orgIds(e), ["a"]);
    await addOrg(e, "d");
    assert.deepEqual(await orgIds(e), ["a", "d"]);
  });

  Deno.test(`${label} engine: healthy while open, not once closed`, async () => {
    const engine = await open();
    assert.equal(await engine.healthy(), true);
    await engine.close();
    assert.equal(await engine.healthy(), false);
  });
}
