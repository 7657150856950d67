/**
 * What the management API knows about a request once it is authenticated,
 * and the shared types of its Hono app.
 *
 * @module
 */
import type { PasswordSignIn } from "../auth/sign_in.ts";
import type { Config } from "../config.ts";
import type { Vault } from "../secrets/vault.ts";
import type { Org, Role } from "../store/orgs.ts";
import type { Store } from "../store/store.ts";
import type { User } from "../store/users.ts";
import type { Catalog } from "../mcp/catalog.ts";
import type { McpService } from "../mcp/service.ts";
import type { ImportJobs } from "./import_jobs.ts";
import type { RequestLogWriter } from "../telemetry/request_log.ts";
import type { Forwarder } from "../upstream/forwarder.ts";
import type { ServerSource } from "../upstream/source.ts";
import type { Supervisor } from "../upstream/supervisor.ts";

/** The authenticated caller: a user acting in one org with a role. */
export interface Principal {
  user: User;
  org: Org;
  role: Role;
  keyId: string;
}

/** Hono environment of the management API. */
export interface ApiEnv {
  Variables: {
    principal: Principal;
  };
}

/** What the route modules are built from. */
export interface ApiDeps {
  store: Store;
  config: Config;
  /** Encrypts secrets on their way into the store. */
  vault: Vault;
  /** The shared password check with its failed-attempt limits (`POST /login`, invitations). */
  signIn: PasswordSignIn;
  /** The upstream servers' connections and status. */
  upstreams: Supervisor;
  /** Downstream callers' upstream sessions (dropped when a server changes or goes). */
  forwarder: Forwarder;
  /** Attached servers' items (to check a new attachment for name collisions). */
  servers: ServerSource;
  /** What each gateway serves now. */
  catalog: Catalog;
  /** The protocol core, for members' own tool calls (`POST /gateways/{id}/call`). */
  mcp: McpService;
  /** OpenAPI imports in progress and import jobs. */
  imports: ImportJobs;
  /** The request log's writer (flushed before `GET /logs` reads); absent when logging is off. */
  requestLog?: RequestLogWriter;
}
