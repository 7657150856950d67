/**
 * The store: one database (through its {@link SqlEngine}) and the
 * repositories over it. Only code under `src/store/` writes SQL.
 *
 * @module
 */
import { Apis } from "./apis.ts";
import { Attachments } from "./attachments.ts";
import { AuditLog } from "./audit.ts";
import { AuthMethods } from "./auth_methods.ts";
import { ChangeFeed } from "./changes.ts";
import { Invitations } from "./invitations.ts";
import { Gateways } from "./gateways.ts";
import { AccessKeys, GatewayKeys } from "./keys.ts";
import { OAuthStore } from "./oauth.ts";
import { McpSessions } from "./mcp_sessions.ts";
import { Orgs } from "./orgs.ts";
import { RequestLog } from "./request_log.ts";
import { Secrets } from "./secrets.ts";
import { ServerItems } from "./server_items.ts";
import { UpstreamServers } from "./servers.ts";
import type { SqlEngine } from "./sql.ts";
import { PostgresEngine } from "./postgres_engine.ts";
import { migratePostgres } from "./postgres_migrations.ts";
import { linkReplicas } from "./replicas.ts";
import { SessionMessages } from "./session_messages.ts";
import { SqliteEngine } from "./sqlite_engine.ts";
import { Tools } from "./tools.ts";
import { Users } from "./users.ts";

/** Everything Gatehouse persists, behind one object. */
export class Store {
  /** The database (transactions, health). */
  readonly db: SqlEngine;
  /** Change notices for caches and open MCP sessions, given once the change is committed. */
  readonly changes: ChangeFeed;
  readonly users: Users;
  readonly orgs: Orgs;
  /** Pending invitations to orgs (members join only by accepting one). */
  readonly invitations: Invitations;
  readonly accessKeys: AccessKeys;
  readonly gateways: Gateways;
  readonly tools: Tools;
  readonly gatewayKeys: GatewayKeys;
  readonly authMethods: AuthMethods;
  /** Secrets: metadata and ciphertext only (encryption lives in `src/secrets/`). */
  readonly secrets: Secrets;
  /** Imported APIs (OpenAPI documents) and the tools generated from them. */
  readonly apis: Apis;
  /** The per-gateway OAuth authorization servers' clients, grants, codes and tokens. */
  readonly oauth: OAuthStore;
  /** Upstream MCP servers (connection settings; their status lives in the supervisor). */
  readonly servers: UpstreamServers;
  /** What upstream servers offer (tools, prompts, resources, templates) and held changes. */
  readonly serverItems: ServerItems;
  /** Whole servers attached to gateways. */
  readonly attachments: Attachments;
  /** The audit trail: one event per management change, written in the change's transaction. */
  readonly audit: AuditLog;
  /** The request log and its per-gateway, per-tool rollup (written in batches, off the hot path). */
  readonly requestLog: RequestLog;
  /** MCP sessions shared by replicas (used with PostgreSQL only). */
  readonly mcpSessions: McpSessions;
  /** This process's name among the replicas sharing the database (random, per start). */
  readonly replicaId = replicaName();
  /** Messages for MCP sessions between replicas: with PostgreSQL only. */
  readonly sessionMessages: SessionMessages | undefined;

  /** The repositories over `db`, whose schema is already current. */
  constructor(db: SqlEngine) {
    this.db = db;
    this.changes = new ChangeFeed((notice) => this.db.afterCommit(notice));
    this.users = new Users(this.db, this.changes);
    this.orgs = new Orgs(this.db, this.changes);
    this.invitations = new Invitations(this.db, this.orgs);
    this.accessKeys = new AccessKeys(this.db);
    this.gateways = new Gateways(this.db, this.changes);
    this.tools = new Tools(this.db, this.changes);
    this.gatewayKeys = new GatewayKeys(this.db, this.changes);
    this.authMethods = new AuthMethods(this.db, this.changes);
    this.secrets = new Secrets(this.db, this.changes);
    this.apis = new Apis(this.db, this.changes);
    this.oauth = new OAuthStore(this.db, this.changes);
    this.servers = new UpstreamServers(this.db, this.changes);
    this.serverItems = new ServerItems(this.db, this.changes);
    this.attachments = new Attachments(this.db, this.changes);
    this.audit = new AuditLog(this.db);
    this.requestLog = new RequestLog(this.db);
    this.mcpSessions = new McpSessions(this.db, this.changes);
    this.sessionMessages = db instanceof PostgresEngine
      ? new SessionMessages(db, this.replicaId)
      : undefined;
  }

  /**
   * Runs `fn` in one transaction: all of its writes land, or none do. Keep
   * slow work that is not the store's (network, crypto) out of `fn`: the
   * transaction holds the database while it runs.
   */
  tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.tx(fn);
  }

  /** Closes the database once the statements under way are done. */
  close(): Promise<void> {
    return this.db.close();
  }
}

/** 16 random hex digits: a replica's name, short enough to go into ids it hands out. */
function replicaName(): string {
  return crypto.getRandomValues(new Uint8Array(8)).toHex();
}

/** The store in the SQLite file at `path` (`:memory:` for a throwaway one), migrated. */
export function openStore(path: string): Store {
  return new Store(new SqliteEngine(path));
}

/**
 * The store where the settings put it: the PostgreSQL database at
 * `databaseUrl` when given (migrated before it is used, its change feed
 * linked to the other replicas'), else the SQLite file at `dbPath`.
 */
export async function openConfiguredStore(
  where: { databaseUrl?: string; dbPath: string },
): Promise<Store> {
  if (!where.databaseUrl) return openStore(where.dbPath);
  const engine = new PostgresEngine(where.databaseUrl);
  try {
    await migratePostgres(engine);
    const store = new Store(engine);
    await linkReplicas(store.changes, engine, store.replicaId);
    await store.sessionMessages?.listen();
    return store;
  } catch (err) {
    await engine.close();
    throw err;
  }
}

/** A database a thread of this process can open by itself: a SQLite file or a PostgreSQL URL. */
export type ThreadDatabase = { path: string } | { url: string };

/**
 * The database a thread of its own may open to write `store` (the request
 * log's, an import's): none for a store in memory. Asked of the store
 * itself, not the settings, so a thread never opens another database.
 */
export function threadDatabase(store: Store): ThreadDatabase | undefined {
  const db = store.db;
  if (db instanceof PostgresEngine) return { url: db.url };
  return db instanceof SqliteEngine && db.path !== ":memory:" ? { path: db.path } : undefined;
}

/**
 * The store of `database` for a thread of this process, with a connection of
 * its own. Its schema is current (the process migrated it), and it tells no
 * other replica of its writes: the thread's owner announces them.
 */
export function openThreadStore(database: ThreadDatabase): Store {
  return "path" in database
    ? openStore(database.path)
    : new Store(new PostgresEngine(database.url, { maxConnections: 1 }));
}
