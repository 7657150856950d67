import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteEngine } from "../../src/store/sqlite_engine.ts";
import { decodeSegment, ID_SPAN } from "../../src/store/log_segments.ts";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { PostgresEngine } from "../../src/store/postgres_engine.ts";
import { migratePostgres, POSTGRES_SCHEMA_VERSION } from "../../src/store/postgres_migrations.ts";
import { freshDatabase } from "../helpers/postgres.ts";

async function withEngine(fn: (engine: PostgresEngine, url: string) => Promise<void>) {
  const url = await freshDatabase();
  const engine = new PostgresEngine(url);
  try {
    await fn(engine, url);
  } finally {
    await engine.close();
  }
}

async function versions(engine: PostgresEngine): Promise<number[]> {
  return (await engine.all("SELECT version FROM gatehouse_schema ORDER BY version"))
    .map((r) => r.version as number);
}

const ALL_VERSIONS = Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1);

/** One table as both engines describe it, in the same terms. */
interface TableShape {
  columns: string[];
  primaryKey: string[];
  unique: string[];
  indexes: string[];
  foreignKeys: string[];
}

const TYPE_FAMILY: Record<string, string> = {
  TEXT: "text",
  text: "text",
  INTEGER: "integer",
  bigint: "integer",
  integer: "integer",
  BLOB: "bytes",
  bytea: "bytes",
  REAL: "real",
  "double precision": "real",
};

function sqliteShapes(raw: DatabaseSync): Map<string, TableShape> {
  const out = new Map<string, TableShape>();
  const tables = raw.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  ).all().map((r) => r.name as string);
  for (const table of tables) {
    const info = raw.prepare(`PRAGMA table_info(${table})`).all();
    // Key columns are never null on PostgreSQL; SQLite's allow null (a quirk it keeps for
    // old databases) unless they are rowid keys, and Gatehouse never writes one.
    const columns = info.map((c) =>
      `${c.name} ${TYPE_FAMILY[c.type as string]}${c.notnull || c.pk ? " not null" : ""}`
    ).sort();
    const primaryKey = info.filter((c) => Number(c.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk)).map((c) => c.name as string);
    const unique: string[] = [];
    const indexes: string[] = [];
    for (const ix of raw.prepare(`PRAGMA index_list(${table})`).all()) {
      const cols = raw.prepare(`PRAGMA index_info(${ix.name})`).all().map((c) => c.name).join(",");
      if (ix.origin === "u") unique.push(cols);
      if (ix.origin === "c") {
        indexes.push(
          `${ix.name} (${cols})${ix.unique ? " unique" : ""}${ix.partial ? " partial" : ""}`,
        );
      }
    }
    const foreignKeys = raw.prepare(`PRAGMA foreign_key_list(${table})`).all().map((f) =>
      `${f.from} -> ${f.table}(${f.to}) on delete ${String(f.on_delete).toLowerCase()}`
    );
    out.set(table, {
      columns,
      primaryKey,
      unique: unique.sort(),
      indexes: indexes.sort(),
      foreignKeys: foreignKeys.sort(),
    });
  }
  return out;
}

const ON_DELETE: Record<string, string> = { a: "no action", c: "cascade", n: "set null" };

async function postgresShapes(engine: PostgresEngine): Promise<Map<string, TableShape>> {
  const out = new Map<string, TableShape>();
  const tables = (await engine.all(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name <> 'gatehouse_schema'`,
  )).map((r) => r.name as string);
  const columnsOf = async (oid: string, attnums: string) =>
    (await engine.all(
      `SELECT a.attname AS name FROM unnest(${attnums}) WITH ORDINALITY AS k(n, i)
         JOIN pg_attribute a ON a.attrelid = ${oid} AND a.attnum = k.n ORDER BY k.i`,
    )).map((r) => r.name).join(",");
  for (const table of tables) {
    const oid = `'${table}'::regclass`;
    const columns = (await engine.all(
      `SELECT column_name AS name, data_type AS type, is_nullable AS nullable
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?`,
      table,
    )).map((c) =>
      `${c.name} ${TYPE_FAMILY[c.type as string]}${c.nullable === "NO" ? " not null" : ""}`
    ).sort();
    const constraints = await engine.all(
      `SELECT contype, conkey::text AS conkey, confkey::text AS confkey,
              confrelid::regclass::text AS target, confrelid, confdeltype
         FROM pg_constraint WHERE conrelid = ${oid}`,
    );
    const keyList = (text: unknown) => `'${text}'::int2[]`;
    const primaryKey = [];
    const unique = [];
    const foreignKeys = [];
    for (const c of constraints) {
      const cols = await columnsOf(oid, keyList(c.conkey));
      if (c.contype === "p") primaryKey.push(...cols.split(","));
      if (c.contype === "u") unique.push(cols);
      if (c.contype === "f") {
        const to = await columnsOf(`${c.confrelid}`, keyList(c.confkey));
        foreignKeys.push(
          `${cols} -> ${c.target}(${to}) on delete ${ON_DELETE[c.confdeltype as string]}`,
        );
      }
    }
    const indexes = [];
    for (
      const ix of await engine.all(
        `SELECT c.relname AS name, i.indisunique AS is_unique, i.indpred IS NOT NULL AS partial,
                i.indkey::text AS keys
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = ${oid}
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
      )
    ) {
      const cols = await columnsOf(oid, `'{${String(ix.keys).split(" ").join(",")}}'::int2[]`);
      indexes.push(
        `${ix.name} (${cols})${ix.is_unique ? " unique" : ""}${ix.partial ? " partial" : ""}`,
      );
    }
    out.set(table, {
      columns,
      primaryKey,
      unique: unique.sort(),
      indexes: indexes.sort(),
      foreignKeys: foreignKeys.sort(),
    });
  }
  return out;
}

Deno.test("PostgreSQL has as many migrations as SQLite, so the versions stay in step", () => {
  assert.equal(POSTGRES_SCHEMA_VERSION, SCHEMA_VERSION);
});

Deno.test("the migrated PostgreSQL schema has SQLite's tables, columns, keys, indexes and references", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-schema-" });
  // Migrated by the engine, then read on a connection of the test's own.
  await new SqliteEngine(`${dir}/gatehouse.db`).close();
  const db = new DatabaseSync(`${dir}/gatehouse.db`);
  try {
    await withEngine(async (engine) => {
      await migratePostgres(engine);
      const sqlite = sqliteShapes(db);
      const pg = await postgresShapes(engine);
      assert.deepEqual([...pg.keys()].sort(), [...sqlite.keys()].sort());
      for (const [table, shape] of sqlite) assert.deepEqual(pg.get(table), shape, table);
    });
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrating an up-to-date database again changes nothing", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    await engine.run(
      "INSERT INTO orgs (id, name, slug, created_at) VALUES ('o', 'O', 'o', '2026-12-01')",
    );
    await migratePostgres(engine);
    assert.deepEqual(await versions(engine), ALL_VERSIONS);
    assert.deepEqual(await engine.all("SELECT id FROM orgs"), [{ id: "o" }]);
  });
});

Deno.test("two replicas migrating one database at once both succeed, and each step runs once", async () => {
  await withEngine(async (first, url) => {
    const second = new PostgresEngine(url);
    try {
      await Promise.all([migratePostgres(first), migratePostgres(second)]);
      assert.deepEqual(await versions(first), ALL_VERSIONS);
      assert.deepEqual(await versions(second), ALL_VERSIONS);
    } finally {
      await second.close();
    }
  });
});

Deno.test("a database from a newer Gatehouse is refused and left as it is", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    await engine.run(
      "INSERT INTO gatehouse_schema (version, applied_at) VALUES (?, '2027-01-01')",
      POSTGRES_SCHEMA_VERSION + 1,
    );
    await assert.rejects(
      migratePostgres(engine),
      new RegExp(
        `database schema version ${POSTGRES_SCHEMA_VERSION + 1} is newer than this build ` +
          `\\(${POSTGRES_SCHEMA_VERSION}\\); upgrade Gatehouse`,
      ),
    );
    assert.deepEqual(await versions(engine), [...ALL_VERSIONS, POSTGRES_SCHEMA_VERSION + 1]);
  });
});

Deno.test("text sorts and compares by code point, as on SQLite, whatever the database's collation", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    const names = ["b", "B", "a", "_x", "é", "Z", "a b", "ab", "10", "9", "ä"];
    for (const [i, name] of names.entries()) {
      await engine.run(
        "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, '2026-12-01')",
        `o${i}`,
        name,
        `s${i}`,
      );
    }
    const sorted = (await engine.all("SELECT name FROM orgs ORDER BY name")).map((r) => r.name);
    assert.deepEqual(sorted, [...names].sort());
    const after = await engine.all("SELECT name FROM orgs WHERE name > ? ORDER BY name", "Z");
    assert.deepEqual(after.map((r) => r.name), [...names].sort().filter((n) => n > "Z"));
  });
});

Deno.test("gatehouse_fold lower-cases all of Unicode as JavaScript does", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    for (const text of ["ÄÖÜ ẞ", "İSTANBUL", "ΟΔΥΣΣΕΥΣ", "ǅemal", "ＦＵＬＬ", "Ꭰ", "plain"]) {
      const r = await engine.get("SELECT gatehouse_fold(?) AS folded", text);
      assert.equal(r?.folded, text.toLowerCase(), text);
    }
    assert.deepEqual(await engine.get("SELECT gatehouse_fold(NULL) AS folded"), { folded: null });
  });
});

Deno.test("audit events cannot be changed, deleted or truncated", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    await engine.run(
      "INSERT INTO orgs (id, name, slug, created_at) VALUES ('o', 'O', 'o', '2026-12-01')",
    );
    await engine.run(
      `INSERT INTO audit_events (id, org_id, seq, at, actor_type, actor_name, action,
         target_type, target_name, changes)
       VALUES ('e', 'o', 1, '2026-12-01', 'system', 'system', 'org.create', 'org', 'O', '{}')`,
    );
    await assert.rejects(engine.run("UPDATE audit_events SET action = 'x'"), /cannot be changed/);
    await assert.rejects(engine.run("DELETE FROM audit_events"), /cannot be deleted/);
    await assert.rejects(engine.exec("TRUNCATE audit_events"), /cannot be deleted/);
    assert.equal((await engine.get("SELECT COUNT(*) AS n FROM audit_events"))?.n, 1);
  });
});

Deno.test("deleting an org deletes what belongs to it, as on SQLite", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine);
    const at = "2026-12-01";
    await engine.run("INSERT INTO orgs (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", at);
    await engine.run(
      `INSERT INTO gateways (id, org_id, name, type, endpoint, configuration, created_at,
         updated_at) VALUES ('g', 'o', 'G', 'mcp', '/g', '{}', ?, ?)`,
      at,
      at,
    );
    await engine.run(
      `INSERT INTO tools (id, org_id, name, input_schema, type, execution_config, created_at,
         updated_at) VALUES ('t', 'o', 'T', '{}', 'http', '{}', ?, ?)`,
      at,
      at,
    );
    await engine.run(
      "INSERT INTO gateway_tools (gateway_id, tool_id, created_at) VALUES ('g', 't', ?)",
      at,
    );
    assert.equal((await engine.run("DELETE FROM orgs WHERE id = 'o'")).changes, 1);
    for (const table of ["gateways", "tools", "gateway_tools"]) {
      assert.equal((await engine.get(`SELECT COUNT(*) AS n FROM ${table}`))?.n, 0, table);
    }
  });
});

Deno.test("migration 13 moves the request log's rows into segments readers decode, and ids carry on after them", async () => {
  await withEngine(async (engine) => {
    await migratePostgres(engine, 12);
    const insert = `INSERT INTO request_log (at, org_id, gateway_id, transport, protocol_version,
        method, name, caller_id, caller_method, caller_key_name, caller_client_id, caller_subject,
        caller_address, session_id, status, error_code, rate_limit, duration_ms, bytes_in,
        bytes_out, upstream_status, upstream_ms, upstream_target, payload)
      VALUES (?, ?, 'g', 'http', ?, 'tools/call', ?, 'k1', 'api_key', ?, NULL, NULL, ?, ?, ?,
        ?, NULL, 1.5, 10, 20, ?, ?, ?, ?)`;
    await engine.run(
      insert,
      1000,
      "o1",
      "2025-11-25",
      "echo",
      "laptop",
      "127.0.0.1",
      "s1",
      "ok",
      null,
      200,
      3.25,
      "api.example.com",
      '{"arguments":{"x":null}}',
    );
    await engine.run(
      insert,
      2000,
      "o1",
      null,
      null,
      null,
      null,
      null,
      "error",
      -32601,
      null,
      null,
      null,
      null,
    );
    await engine.run(
      insert,
      1500,
      "o2",
      null,
      null,
      null,
      null,
      null,
      "ok",
      null,
      null,
      null,
      null,
      null,
    );
    await migratePostgres(engine);

    const segments = await engine.all(
      "SELECT id, org_id, first_at, last_at, rows, skipped, records FROM request_log_segments ORDER BY id",
    );
    assert.deepEqual(segments.map(({ records: _, ...s }) => s), [
      { id: 1, org_id: "o1", first_at: 1000, last_at: 2000, rows: 2, skipped: 0 },
      { id: 2, org_id: "o2", first_at: 1500, last_at: 1500, rows: 1, skipped: 0 },
    ]);
    const first = decodeSegment(1, "o1", segments[0].records as string, 0);
    const base = {
      orgId: "o1",
      gatewayId: "g",
      transport: "http",
      method: "tools/call",
      durationMs: 1.5,
      bytesIn: 10,
      bytesOut: 20,
    };
    assert.deepEqual(first, [
      {
        ...base,
        id: String(ID_SPAN),
        at: 1000,
        protocolVersion: "2025-11-25",
        name: "echo",
        caller: { id: "k1", method: "api_key", keyName: "laptop", address: "127.0.0.1" },
        sessionId: "s1",
        status: "ok",
        errorCode: null,
        limit: null,
        upstream: { status: 200, durationMs: 3.25, target: "api.example.com" },
        payload: { arguments: { x: null } },
      },
      {
        ...base,
        id: String(ID_SPAN + 1),
        at: 2000,
        protocolVersion: null,
        name: null,
        caller: { id: "k1", method: "api_key" },
        sessionId: null,
        status: "error",
        errorCode: -32601,
        limit: null,
        upstream: null,
      },
    ]);
    const terms = await engine.all(
      "SELECT term, segment_id FROM request_log_terms ORDER BY segment_id, term",
    );
    assert.deepEqual(terms.map((t) => `${t.segment_id} ${t.term}`), [
      "1 c:k1",
      "1 g:g",
      "1 k:laptop",
      "1 n:echo",
      "1 s:error",
      "1 s:ok",
      "2 c:k1",
      "2 g:g",
      "2 s:ok",
    ]);
    const next = await engine.get(
      `INSERT INTO request_log_segments (org_id, first_at, last_at, rows, records)
       VALUES ('o1', 3000, 3000, 0, '[]') RETURNING id`,
    );
    assert.deepEqual(next, { id: 3 });
  });
});
