import assert from "node:assert/strict";
import { numberPlaceholders, PostgresEngine } from "../../src/store/postgres_engine.ts";
import { Hono } from "hono";
import { handleError } from "../../src/api/errors.ts";
import { StoreUnavailable, UnstorableText } from "../../src/store/sql.ts";
import { migratePostgres } from "../../src/store/postgres_migrations.ts";
import { freshDatabase, testPostgres } from "../helpers/postgres.ts";
import { engineContract } from "./engine_contract.ts";

async function migrated(url?: string): Promise<PostgresEngine> {
  const engine = new PostgresEngine(url ?? await freshDatabase());
  await migratePostgres(engine);
  return engine;
}

engineContract("postgres", () => migrated());

const ORG = "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)";
const AT = "2026-12-01T00:00:00.000Z";

/** Unhandled rejections seen while `fn` ran (each test asserts there were none). */
async function rejectionsDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    seen.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", record);
  try {
    await fn();
    // Rejections are reported after the microtasks of the turn that made them.
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    globalThis.removeEventListener("unhandledrejection", record);
  }
  return seen;
}

/** Resolves once `fn` stops throwing, trying every 50 ms for up to `ms`. */
async function eventually<T>(fn: () => T | Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test("placeholders are numbered in order, but not inside literals, identifiers or comments", () => {
  assert.equal(numberPlaceholders("SELECT ? , ?"), "SELECT $1 , $2");
  assert.equal(
    numberPlaceholders(`SELECT 'a?''?' AS "b?""?", ? -- c?\n, /* d? */ ? FROM t WHERE x = ?`),
    `SELECT 'a?''?' AS "b?""?", $1 -- c?\n, /* d? */ $2 FROM t WHERE x = $3`,
  );
  assert.equal(numberPlaceholders(String.raw`SELECT E'\'?', ?`), String.raw`SELECT E'\'?', $1`);
  assert.equal(numberPlaceholders("SELECT $q$ ? $q$, $$?$$, ?"), "SELECT $q$ ? $q$, $$?$$, $1");
  assert.equal(numberPlaceholders("SELECT name?"), "SELECT name$1");
});

Deno.test("postgres engine: a stopped server is StoreUnavailable, and the same engine works once it is back", async () => {
  const server = await testPostgres();
  const engine = await migrated();
  try {
    const seen = await rejectionsDuring(async () => {
      await engine.run(ORG, "before", "before", "before", AT);
      const sleeping = engine.get("SELECT pg_sleep(30) AS slept").then(() => "slept", (e) => e);
      // Statement under way when the server stops, then statements while it is down.
      await new Promise((r) => setTimeout(r, 200));
      await server.stop();
      assert.ok(await sleeping instanceof StoreUnavailable);
      await assert.rejects(engine.get("SELECT 1 AS ok"), StoreUnavailable);
      await assert.rejects(engine.run(ORG, "down", "down", "down", AT), StoreUnavailable);
      await assert.rejects(engine.tx(() => engine.get("SELECT 1 AS ok")), StoreUnavailable);
      assert.equal(await engine.healthy(), false);
      await server.start();
      assert.deepEqual(await eventually(() => engine.get("SELECT id FROM orgs")), { id: "before" });
      await engine.run(ORG, "after", "after", "after", AT);
      assert.equal(await engine.healthy(), true);
    });
    assert.deepEqual(seen, []);
    const ids = (await engine.all("SELECT id FROM orgs ORDER BY id")).map((r) => r.id);
    assert.deepEqual(ids, ["after", "before"]);
  } finally {
    await engine.close();
  }
});

Deno.test("postgres engine: a transaction cut by the server's stop leaves nothing, and sends nothing more", async () => {
  const server = await testPostgres();
  const engine = await migrated();
  try {
    const seen = await rejectionsDuring(async () => {
      const inside = Promise.withResolvers<void>();
      const resume = Promise.withResolvers<void>();
      const late = Promise.withResolvers<unknown>();
      const cut = engine.tx(async () => {
        await engine.run(ORG, "a", "a", "a", AT);
        await engine.run(ORG, "b", "b", "b", AT);
        inside.resolve();
        await resume.promise;
        // Still running after its connection was lost: this must not land anywhere.
        const write = engine.run(ORG, "late", "late", "late", AT);
        late.resolve(write.then(() => "landed", (err) => err));
        await write;
      });
      const outcome = cut.then(() => "committed", (err) => err);
      await inside.promise;
      await server.stop();
      assert.ok(await outcome instanceof StoreUnavailable);
      await server.start();
      resume.resolve();
      assert.ok(await late.promise instanceof StoreUnavailable);
    });
    assert.deepEqual(seen, []);
    assert.deepEqual(await eventually(() => engine.all("SELECT id FROM orgs")), []);
  } finally {
    await engine.close();
  }
});

Deno.test("postgres engine: a transaction waiting when the server stops fails as StoreUnavailable, and the next one works", async () => {
  const server = await testPostgres();
  const engine = await migrated();
  try {
    const seen = await rejectionsDuring(async () => {
      const stopped = Promise.withResolvers<void>();
      const tx = engine.tx(async () => {
        await engine.run(ORG, "a", "a", "a", AT);
        await stopped.promise;
      });
      const outcome = tx.then(() => "committed", (err) => err);
      await new Promise((r) => setTimeout(r, 100));
      await server.stop();
      stopped.resolve();
      assert.ok(await outcome instanceof StoreUnavailable);
      await server.start();
      await eventually(() => engine.tx(() => engine.run(ORG, "b", "b", "b", AT)));
    });
    assert.deepEqual(seen, []);
    const ids = (await engine.all("SELECT id FROM orgs ORDER BY id")).map((r) => r.id);
    assert.deepEqual(ids, ["b"]);
  } finally {
    await engine.close();
  }
});

Deno.test("postgres engine: a notice sent inside a transaction is heard at commit, never on rollback", async () => {
  const url = await freshDatabase();
  const speaker = await migrated(url);
  const hearer = new PostgresEngine(url);
  try {
    const heard: string[] = [];
    const unlisten = await hearer.listen("changes", (payload) => heard.push(payload));
    await speaker.notify("changes", "outside");
    await eventually(() => assert.deepEqual(heard, ["outside"]));

    const sent = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const tx = speaker.tx(async () => {
      await speaker.notify("changes", "committed");
      sent.resolve();
      await release.promise;
    });
    await sent.promise;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(heard, ["outside"], "heard before the commit");
    release.resolve();
    await tx;
    await eventually(() => assert.deepEqual(heard, ["outside", "committed"]));

    await assert.rejects(
      speaker.tx(async () => {
        await speaker.notify("changes", "rolled back");
        throw new Error("no");
      }),
      /no/,
    );
    await speaker.notify("changes", "last");
    await eventually(() => assert.deepEqual(heard, ["outside", "committed", "last"]));
    await unlisten();
    await speaker.notify("changes", "after unlisten");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(heard, ["outside", "committed", "last"]);
  } finally {
    await Promise.all([speaker.close(), hearer.close()]);
  }
});

Deno.test("postgres engine: a listener hears again after the server restarts, and is told it listens anew", async () => {
  const server = await testPostgres();
  const url = await freshDatabase();
  const speaker = new PostgresEngine(url);
  const hearer = new PostgresEngine(url);
  try {
    const seen = await rejectionsDuring(async () => {
      const heard: string[] = [];
      let listening = 0;
      await hearer.listen("feed", (p) => heard.push(p), () => listening++);
      assert.equal(listening, 1);
      await speaker.notify("feed", "one");
      await eventually(() => assert.deepEqual(heard, ["one"]));

      await server.stop();
      await assert.rejects(speaker.notify("feed", "lost"), StoreUnavailable);
      await server.start();
      await eventually(() => assert.equal(listening, 2));
      await eventually(() => speaker.notify("feed", "two"));
      await eventually(() => assert.deepEqual(heard, ["one", "two"]));
    });
    assert.deepEqual(seen, []);
  } finally {
    await Promise.all([speaker.close(), hearer.close()]);
  }
});

Deno.test("postgres engine: listening while the server is down fails cleanly, and works once it is up", async () => {
  const server = await testPostgres();
  const url = await freshDatabase();
  const engine = new PostgresEngine(url);
  try {
    const seen = await rejectionsDuring(async () => {
      await server.stop();
      try {
        await assert.rejects(engine.listen("feed", () => {}), StoreUnavailable);
      } finally {
        await server.start();
      }
      const heard: string[] = [];
      await eventually(() => engine.listen("feed", (p) => heard.push(p)));
      await engine.notify("feed", "hello");
      await eventually(() => assert.deepEqual(heard, ["hello"]));
    });
    assert.deepEqual(seen, []);
  } finally {
    await engine.close();
  }
});

Deno.test("postgres engine: SQLite's 0 and 1 serve where PostgreSQL wants a boolean, and truth comes back as 1 or 0", async () => {
  const engine = new PostgresEngine(await freshDatabase());
  try {
    const pick = "SELECT CASE WHEN ? THEN 'yes' ELSE 'no' END AS picked, 1 = 1 AS t, 1 = 2 AS f";
    assert.deepEqual(await engine.get(pick, 1), { picked: "yes", t: 1, f: 0 });
    assert.deepEqual(await engine.get(pick, 0), { picked: "no", t: 1, f: 0 });
  } finally {
    await engine.close();
  }
});

Deno.test("postgres engine: a NUL in a text value is UnstorableText (bad input), and the API answers it 400", async () => {
  const engine = await migrated();
  try {
    await assert.rejects(
      engine.get("SELECT * FROM gateways WHERE id = ?", "gw\u0000"),
      UnstorableText,
    );
    await assert.rejects(engine.run(ORG, "o1", "a\u0000b", "a", AT), UnstorableText);
    assert.equal((await engine.get("SELECT COUNT(*) AS n FROM orgs"))?.n, 0);
  } finally {
    await engine.close();
  }
  const app = new Hono();
  app.onError(handleError);
  app.get("/", () => {
    throw new UnstorableText(new Error("22021"));
  });
  const res = await app.request("/");
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_request");
});
