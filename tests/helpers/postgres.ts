/**
 * A real PostgreSQL server for the tests (see `scripts/local_postgres.ts`),
 * started on first use and stopped when the test module ends. Each test
 * module has a server of its own, so a test that stops it (see
 * {@link LocalPostgres.stop}) disturbs no other module's tests. Each test
 * takes a fresh database from {@link freshDatabase}. Nothing waits on the
 * disk (fsync off): the databases are thrown away with the server.
 *
 * @module
 */
import { type LocalPostgres, startLocalPostgres } from "../../scripts/local_postgres.ts";

/** A running test server. */
export type TestPostgres = LocalPostgres;

let server: Promise<TestPostgres> | undefined;

/** The test module's server, started on the first call. */
export function testPostgres(): Promise<TestPostgres> {
  server ??= startLocalPostgres({ durable: false });
  return server;
}

/** A fresh, empty database on the module's server: its `postgres://` URL. */
export async function freshDatabase(): Promise<string> {
  return await (await testPostgres()).createDatabase();
}
