/**
 * Which database the tests' servers and stores use: SQLite files (the
 * default) or, with `GATEHOUSE_TEST_DATABASE=postgres`, a fresh PostgreSQL
 * database each from {@link freshDatabase}. The same SQLite path always
 * stands for the same PostgreSQL database within a test module, so a test
 * that restarts a server on its data folder, or opens the store a server
 * used, finds the same data.
 *
 * @module
 */
import { openConfiguredStore, openStore, type Store } from "../../src/store/store.ts";
import { freshDatabase } from "./postgres.ts";

/** Whether this run puts the tests' stores in PostgreSQL. */
export const ON_POSTGRES = Deno.env.get("GATEHOUSE_TEST_DATABASE") === "postgres";

const databases = new Map<string, Promise<string>>();

/**
 * The `postgres://` URL standing for the SQLite file `dbPath` (a fresh one
 * for each `:memory:`), or undefined when the tests run on SQLite.
 */
export function databaseFor(dbPath: string): Promise<string | undefined> {
  if (!ON_POSTGRES) return Promise.resolve(undefined);
  if (dbPath === ":memory:") return freshDatabase();
  let url = databases.get(dbPath);
  if (!url) databases.set(dbPath, url = freshDatabase());
  return url;
}

/** The store for a test: the SQLite file `path`, or its PostgreSQL stand-in (migrated). */
export async function openTestStore(path: string): Promise<Store> {
  const databaseUrl = await databaseFor(path);
  return databaseUrl ? await openConfiguredStore({ databaseUrl, dbPath: path }) : openStore(path);
}
