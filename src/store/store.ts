/**
 * The store: one SQLite database and the repositories over it. Only code
 * under `src/store/` writes SQL.
 *
 * @module
 */
import { AuthMethods } from "./auth_methods.ts";
import { ChangeFeed } from "./changes.ts";
import { Db } from "./db.ts";
import { Gateways } from "./gateways.ts";
import { AccessKeys, GatewayKeys } from "./keys.ts";
import { Orgs } from "./orgs.ts";
import { Tools } from "./tools.ts";
import { Users } from "./users.ts";

/** Everything Gatehouse persists, behind one object. */
export class Store {
  /** The database handle (transactions, health). */
  readonly db: Db;
  /** Change notices for caches and open MCP sessions. */
  readonly changes = new ChangeFeed();
  readonly users: Users;
  readonly orgs: Orgs;
  readonly accessKeys: AccessKeys;
  readonly gateways: Gateways;
  readonly tools: Tools;
  readonly gatewayKeys: GatewayKeys;
  readonly authMethods: AuthMethods;

  /** Opens the database file at `path` (`:memory:` for a throwaway one). */
  constructor(path: string) {
    this.db = new Db(path);
    this.users = new Users(this.db);
    this.orgs = new Orgs(this.db);
    this.accessKeys = new AccessKeys(this.db);
    this.gateways = new Gateways(this.db, this.changes);
    this.tools = new Tools(this.db, this.changes);
    this.gatewayKeys = new GatewayKeys(this.db);
    this.authMethods = new AuthMethods(this.db, this.changes);
  }

  /** Runs `fn` in one transaction: all of its writes land, or none do. */
  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
