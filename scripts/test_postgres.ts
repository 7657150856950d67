/**
 * `deno task test:postgres [deno test arguments]`: the test suite with every
 * test server and store in PostgreSQL (`GATEHOUSE_TEST_DATABASE=postgres`).
 * One local server is started for the whole run, with a migrated template
 * database the tests copy (`GATEHOUSE_TEST_POSTGRES_TEMPLATE`), so the test
 * modules neither start servers of their own nor migrate. Without arguments
 * it runs `--parallel tests/`. Exits with the tests' status.
 *
 * It skips nothing. The files that reach no store at all (nine, unit tests
 * such as the rate limiter's and the HTTP request builder's, and the SQLite
 * engine's own) take about 3 s of a run of over ten minutes, too little to
 * be worth a list kept in step with the suite; the admin UI's browser tests,
 * the slowest, do reach it: every page they load is read from the store.
 *
 * @module
 */
import { openConfiguredStore } from "../src/store/store.ts";
import { startLocalPostgres } from "./local_postgres.ts";

const server = await startLocalPostgres({ durable: false });
const template = await server.createDatabase();
await (await openConfiguredStore({ databaseUrl: template, dbPath: "" })).close();
const args = Deno.args.length > 0 ? Deno.args : ["--parallel", "tests/"];
const tests = new Deno.Command(Deno.execPath(), {
  args: ["test", "--allow-all", ...args],
  env: { GATEHOUSE_TEST_DATABASE: "postgres", GATEHOUSE_TEST_POSTGRES_TEMPLATE: template },
  stdin: "null",
}).spawn();
const { code } = await tests.status;
// Deno.exit runs the unload handlers: the server stops and its folder goes.
Deno.exit(code);
