/**
 * Every SQL statement the store's repositories (and the workers that write
 * through them) hold must run on PostgreSQL as written: each is read from
 * its source file and prepared, placeholders numbered as the engine numbers
 * them, on a migrated database. The statements that do not yet are listed
 * in NOT_YET_PORTABLE with their portable form; the list only shrinks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { numberPlaceholders, PostgresEngine } from "../../src/store/postgres_engine.ts";
import { migratePostgres } from "../../src/store/postgres_migrations.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { type SourceStatement, statementsOf } from "./source_sql.ts";

const ROOT = new URL("../../", import.meta.url);

/** Each engine's own files: their SQL is for that engine alone. */
const ENGINE_FILES = new Set([
  "db.ts",
  "migrations.ts",
  "sql.ts",
  "sqlite_engine.ts",
  "postgres_engine.ts",
  "postgres_migrations.ts",
]);
/** Files outside the store that write the database (through it, or on a connection of their own). */
const WORKER_FILES = [
  "src/openapi/import_worker.ts",
  "src/openapi/import_store.ts",
  "src/telemetry/request_log_worker.ts",
];
/** Names a file's SQL uses that neither it nor its imports define (locals, loop variables). */
const EXTRAS: Record<string, Record<string, unknown>> = {
  "src/store/request_log.ts": { alternatives: ["c:caller", "k:caller"] },
};

/** A statement that does not run on PostgreSQL yet, found by a piece of its text (spaces collapsed). */
interface NotYetPortable {
  file: string;
  contains: string;
  why: string;
  portable: string;
}

const NOT_YET_PORTABLE: NotYetPortable[] = [
  {
    file: "src/store/auth_methods.ts",
    contains: "created_at, rowid",
    why: "PostgreSQL has no rowid",
    portable: "ORDER BY position, created_at, id",
  },
  {
    file: "src/store/request_log.ts",
    contains: "calls = calls + excluded.calls",
    why: "in ON CONFLICT DO UPDATE a bare column is ambiguous on PostgreSQL (the row or " +
      "excluded), and max(a, b) of two values is SQLite's alone",
    portable: "calls = request_stats.calls + excluded.calls (so for errors and h0..h39), " +
      "last_at = CASE WHEN excluded.last_at > request_stats.last_at THEN excluded.last_at " +
      "ELSE request_stats.last_at END",
  },
  {
    file: "src/store/request_log.ts",
    contains: "start < ?) GROUP BY name",
    why: "PostgreSQL before 16 wants a name for a subquery in FROM",
    portable: "FROM (... UNION ALL ...) AS s GROUP BY name",
  },
  {
    file: "src/store/tools.ts",
    contains: "+type = ?",
    why: "PostgreSQL has no unary + on text (SQLite's hint that keeps an index out)",
    portable: "(type || '') = ?",
  },
  {
    file: "src/store/tools.ts",
    contains: "instr(",
    why: "PostgreSQL has no instr()",
    portable: "gatehouse_fold(name) LIKE ? ESCAPE '\\' OR gatehouse_fold(description) LIKE ? " +
      "ESCAPE '\\', the needle bound as '%' + needle (its \\, % and _ escaped) + '%'",
  },
  {
    file: "src/store/tools.ts",
    contains: "rate_limit = rate_limit",
    why: "in ON CONFLICT DO UPDATE a bare column is ambiguous on PostgreSQL",
    portable: "rate_limit = gateway_tools.rate_limit",
  },
  {
    file: "src/store/tools.ts",
    contains: "+t.org_id = ?",
    why: "PostgreSQL has no unary + on text",
    portable: "(t.org_id || '') = ?",
  },
  {
    file: "src/telemetry/request_log_worker.ts",
    contains: "PRAGMA synchronous",
    why: "a setting of SQLite's connection, not a statement",
    portable: "an option of the SQLite engine (PostgreSQL's counterpart, synchronous_commit, " +
      "is the server's to set)",
  },
];

function sourceFiles(): string[] {
  const store = [...Deno.readDirSync(new URL("src/store/", ROOT))]
    .map((e) => e.name).filter((n) => n.endsWith(".ts") && !ENGINE_FILES.has(n))
    .map((n) => `src/store/${n}`).sort();
  return [...store, ...WORKER_FILES];
}

function statements(): SourceStatement[] {
  return sourceFiles().flatMap((file) =>
    statementsOf(new URL(file, ROOT).pathname, file, EXTRAS[file] ?? {})
  );
}

/** The entries of NOT_YET_PORTABLE that describe `s`. */
function knownProblems(s: SourceStatement): NotYetPortable[] {
  const sql = s.sql.replace(/\s+/g, " ");
  return NOT_YET_PORTABLE.filter((n) => n.file === s.file && sql.includes(n.contains));
}

Deno.test("every quoted statement of the files is found, with its parts filled in", () => {
  const found = statements();
  for (const file of sourceFiles()) {
    const lines = new Set(found.filter((s) => s.file === file).map((s) => s.line));
    const source = Deno.readTextFileSync(new URL(file, ROOT));
    source.split("\n").forEach((text, i) => {
      if (/^\s*(\*|\/\/)/.test(text)) return;
      if (/[`"']\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE|PRAGMA)\s/.test(text)) {
        assert.ok(lines.has(i + 1), `${file}:${i + 1} holds a statement the reader missed`);
      }
    });
  }
  // Parts are filled: a column list from an array, the conditions pushed onto a WHERE.
  const upsert = found.find((s) => s.sql.startsWith("INSERT INTO request_stats"));
  assert.match(upsert?.sql ?? "", /h39 = h39 \+ excluded\.h39$/);
  const page = found.find((s) => s.file === "src/store/audit.ts" && s.sql.includes("LIMIT"));
  assert.match(page?.sql ?? "", /WHERE org_id = \? AND \(actor_id = \? OR actor_user_id = \?\)/);
  assert.ok(found.length > 140, `only ${found.length} statements found`);
});

Deno.test("every statement of the store prepares on PostgreSQL, but those listed as not yet portable", async () => {
  const engine = new PostgresEngine(await freshDatabase());
  try {
    await migratePostgres(engine);
    const unexpected: string[] = [];
    const failing = new Set<NotYetPortable>();
    for (const s of statements()) {
      const known = knownProblems(s);
      let error: string | undefined;
      try {
        // One round trip, so both run on the same connection of the pool.
        await engine.exec(
          `PREPARE gatehouse_check AS ${numberPlaceholders(s.sql)}; DEALLOCATE gatehouse_check`,
        );
      } catch (err) {
        error = (err as Error).message;
      }
      if (error !== undefined) known.forEach((n) => failing.add(n));
      if (error !== undefined && known.length === 0) {
        unexpected.push(`${s.file}:${s.line}: ${error}\n  ${s.sql.replace(/\s+/g, " ")}`);
      }
    }
    assert.deepEqual(unexpected, [], "statements that do not run on PostgreSQL");
    for (const n of NOT_YET_PORTABLE) {
      assert.ok(failing.has(n), `${n.file} '${n.contains}' runs on PostgreSQL now: remove it`);
    }
  } finally {
    await engine.close();
  }
});
