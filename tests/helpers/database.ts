/**
 * Which database the tests' servers and stores use: SQLite files (the
 * default) or, with `GATEHOUSE_TEST_DATABASE=postgres`, a fresh PostgreSQL
 * database each, already migrated. The same SQLite path always stands for
 * the same PostgreSQL database within a test module, so a test that restarts
 * a server on its data folder, or opens the store a server used, finds the
 * same data.
 *
 * The databases are copies of a migrated template (a copy takes a fraction
 * of a migration's time): the one in `GATEHOUSE_TEST_POSTGRES_TEMPLATE` (the
 * URL of a database nobody is connected to, on a server the whole run shares:
 * `deno task test:postgres` sets it), else one made on the module's own
 * server from `postgres.ts`.
 *
 * @module
 */
import { createDatabase } from "../../scripts/local_postgres.ts";
import { openConfiguredStore, openStore, type Store } from "../../src/store/store.ts";
import { testPostgres } from "./postgres.ts";

/** Whether this run puts the tests' stores in PostgreSQL. */
export const ON_POSTGRES = Deno.env.get("GATEHOUSE_TEST_DATABASE") === "postgres";

/** A migrated database to copy: its server's maintenance URL and its name. */
interface Template {
  adminUrl: string;
  name: string;
}

let template: Promise<Template> | undefined;

function migratedTemplate(): Promise<Template> {
  template ??= (async () => {
    const shared = Deno.env.get("GATEHOUSE_TEST_POSTGRES_TEMPLATE");
    const url = new URL(shared ?? await (await testPostgres()).createDatabase());
    if (!shared) await (await openConfiguredStore({ databaseUrl: url.href, dbPath: "" })).close();
    const name = decodeURIComponent(url.pathname.slice(1));
    url.pathname = "/postgres";
    return { adminUrl: url.href, name };
  })();
  return template;
}

const databases = new Map<string, Promise<string>>();

/**
 * The `postgres://` URL standing for the SQLite file `dbPath` (a fresh one
 * for each `:memory:`), or undefined when the tests run on SQLite.
 */
export function databaseFor(dbPath: string): Promise<string | undefined> {
  if (!ON_POSTGRES) return Promise.resolve(undefined);
  const fresh = async () => {
    const t = await migratedTemplate();
    return await createDatabase(t.adminUrl, t.name);
  };
  if (dbPath === ":memory:") return fresh();
  let url = databases.get(dbPath);
  if (!url) databases.set(dbPath, url = fresh());
  return url;
}

/** The store for a test: the SQLite file `path`, or its PostgreSQL stand-in. */
export async function openTestStore(path: string): Promise<Store> {
  const databaseUrl = await databaseFor(path);
  return databaseUrl ? await openConfiguredStore({ databaseUrl, dbPath: path }) : openStore(path);
}
