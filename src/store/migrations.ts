/**
 * Versioned schema migrations, applied in order at start-up. A migration is
 * never edited once released: add a new one instead.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

const MIGRATIONS: readonly string[] = [
  // 1: organizations, users, access keys, gateways, tools, gateway keys and auth methods.
  `
  CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE org_members (
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
  );
  CREATE INDEX org_members_user ON org_members(user_id);
  CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  );
  CREATE INDEX access_keys_org ON access_keys(org_id);
  CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    configuration TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, endpoint)
  );
  CREATE TABLE tools (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT NOT NULL DEFAULT '',
    input_schema TEXT NOT NULL,
    output_schema TEXT,
    annotations TEXT,
    type TEXT NOT NULL,
    execution_config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  );
  CREATE TABLE gateway_tools (
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    tool_id TEXT NOT NULL REFERENCES tools(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    PRIMARY KEY (gateway_id, tool_id)
  );
  CREATE INDEX gateway_tools_tool ON gateway_tools(tool_id);
  CREATE TABLE gateway_keys (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  );
  CREATE INDEX gateway_keys_gateway ON gateway_keys(gateway_id);
  CREATE TABLE gateway_auth_methods (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    configuration TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (gateway_id, type)
  );
  `,
  // 2: the secrets vault (values only as AES-256-GCM ciphertext, bound to id and org), the
  // vault's key check, and per-org settings (outbound network policy) as a JSON object.
  `
  CREATE TABLE secrets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    iv BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  );
  CREATE TABLE vault_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    iv BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL
  );
  ALTER TABLE orgs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
  `,
  // 3: imported APIs (OpenAPI documents). Their tools stay rows of tools, linked by api_id
  // (deleting the API deletes them, and so their assignments), with the operation each
  // stands for, which re-imports match on to keep tool ids and assignments.
  `
  CREATE TABLE apis (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    spec_version TEXT NOT NULL,
    base_url TEXT,
    secret_name TEXT,
    include_filter TEXT,
    exclude_filter TEXT,
    spec_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  );
  ALTER TABLE tools ADD COLUMN api_id TEXT REFERENCES apis(id) ON DELETE CASCADE;
  ALTER TABLE tools ADD COLUMN api_operation_id TEXT;
  ALTER TABLE tools ADD COLUMN api_route TEXT;
  CREATE INDEX tools_api ON tools(api_id);
  `,
  // 4: each gateway its own OAuth 2.1 authorization server. Users get an optional password
  // (a scrypt hash) for the login page. Registered clients, authorization codes, grants (one
  // per consent: the "family" a refresh chain belongs to, revoked as a whole on refresh-token
  // reuse) and tokens hold only SHA-256 hashes of the secrets handed out. Client ids of Client
  // ID Metadata Documents are URLs with no client row, so client_id carries no foreign key.
  `
  ALTER TABLE users ADD COLUMN password_hash TEXT;
  CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    client_name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_hash TEXT,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX oauth_clients_gateway ON oauth_clients(gateway_id);
  CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE INDEX oauth_grants_gateway ON oauth_grants(gateway_id);
  CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
  );
  CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    scopes TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT
  );
  CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
  `,
  // 5: invitations. Adding a person to an org no longer makes them a member at once: they
  // accept an invitation (a one-time token the inviter hands over) while proving the account.
  `
  CREATE TABLE org_invitations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    UNIQUE (org_id, email)
  );
  `,
  // 6: auth methods get an explicit order, a required flag and validation rules, and lose the
  // one-per-type rule (two jwt methods serve two identity providers; the store still allows
  // one of each other type). SQLite cannot drop a constraint, so the table is rebuilt; the
  // existing order (creation time) becomes positions 1, 2, ...
  `
  CREATE TABLE gateway_auth_methods_new (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    configuration TEXT NOT NULL,
    position INTEGER NOT NULL,
    required INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    validation_rules TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  INSERT INTO gateway_auth_methods_new
    (id, gateway_id, type, configuration, position, required, validation_rules, created_at,
     updated_at)
  SELECT id, gateway_id, type, configuration,
         ROW_NUMBER() OVER (PARTITION BY gateway_id ORDER BY created_at, rowid), 0, NULL,
         created_at, created_at
    FROM gateway_auth_methods;
  DROP TABLE gateway_auth_methods;
  ALTER TABLE gateway_auth_methods_new RENAME TO gateway_auth_methods;
  CREATE INDEX gateway_auth_methods_gateway ON gateway_auth_methods(gateway_id, position);
  `,
  // 7: upstream MCP servers (their connection settings; status lives in memory).
  `
  CREATE TABLE upstream_servers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    transport TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  );
  `,
  // 8: federation. A tool may belong to an upstream server (server_id), named as that server
  // names it: local tools stay unique by name in their org, a server's tools by name in the
  // server. SQLite cannot drop the old UNIQUE, so tools is rebuilt (foreign keys are off
  // while migrations run, so gateway_tools keeps its rows). Gateways attach whole servers;
  // servers' prompts, resources and resource templates are kept as listed; a changed tool or
  // prompt of a server that holds changes waits in server_changes for approval.
  `
  CREATE TABLE tools_new (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    server_id TEXT REFERENCES upstream_servers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT NOT NULL DEFAULT '',
    input_schema TEXT NOT NULL,
    output_schema TEXT,
    annotations TEXT,
    type TEXT NOT NULL,
    execution_config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    api_id TEXT REFERENCES apis(id) ON DELETE CASCADE,
    api_operation_id TEXT,
    api_route TEXT
  );
  INSERT INTO tools_new (id, org_id, server_id, name, title, description, input_schema,
    output_schema, annotations, type, execution_config, created_at, updated_at, api_id,
    api_operation_id, api_route)
  SELECT id, org_id, NULL, name, title, description, input_schema, output_schema, annotations,
         type, execution_config, created_at, updated_at, api_id, api_operation_id, api_route
    FROM tools;
  DROP TABLE tools;
  ALTER TABLE tools_new RENAME TO tools;
  CREATE INDEX tools_api ON tools(api_id);
  CREATE INDEX tools_server ON tools(server_id);
  CREATE UNIQUE INDEX tools_local_name ON tools(org_id, name) WHERE server_id IS NULL;
  CREATE UNIQUE INDEX tools_server_name ON tools(server_id, name) WHERE server_id IS NOT NULL;
  CREATE TABLE gateway_servers (
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    server_id TEXT NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    prefix TEXT,
    include TEXT,
    exclude TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (gateway_id, server_id)
  );
  CREATE INDEX gateway_servers_server ON gateway_servers(server_id);
  CREATE TABLE server_items (
    server_id TEXT NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('prompt', 'resource', 'template')),
    key TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (server_id, kind, key)
  );
  CREATE TABLE server_changes (
    id TEXT PRIMARY KEY,
    server_id TEXT NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('tool', 'prompt')),
    name TEXT NOT NULL,
    proposed TEXT NOT NULL,
    breaking INTEGER NOT NULL CHECK (breaking IN (0, 1)),
    detected_at TEXT NOT NULL,
    UNIQUE (server_id, kind, name)
  );
  `,
  // 9: lists that page. The management API reads its lists a page at a time in a fixed order
  // (tools, APIs and servers by name then id, gateways by creation time then id), starting
  // after the last row of the previous page; these indexes hold tools and gateways in that
  // order within the org (and tools within an API, a server or a type, the filters of GET
  // /tools). APIs and servers already have one: their names are unique in the org. The indexes
  // on tools(api_id) and tools(server_id) are prefixes of the new ones, so they go.
  `
  CREATE INDEX tools_org_name ON tools(org_id, name, id);
  CREATE INDEX tools_org_type_name ON tools(org_id, type, name, id);
  CREATE INDEX tools_api_name ON tools(api_id, name, id);
  CREATE INDEX tools_server_name_id ON tools(server_id, name, id);
  DROP INDEX tools_api;
  DROP INDEX tools_server;
  CREATE INDEX gateways_org_created ON gateways(org_id, created_at, id);
  `,
  // 10: the audit trail. One row per management change, written in the change's own
  // transaction. seq numbers an org's events in the order they were written (the newest-first
  // order GET /audit pages in: per org, so it says nothing of other orgs' activity; times can
  // tie or step back with the clock). No foreign keys on actor or target: the trail outlives
  // what it names. Rows are never changed or deleted: the triggers refuse it at the source.
  `
  CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'access_key', 'system')),
    actor_id TEXT,
    actor_user_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    target_name TEXT NOT NULL,
    changes TEXT NOT NULL,
    UNIQUE (org_id, seq)
  );
  CREATE INDEX audit_events_org_at ON audit_events(org_id, at, seq);
  CREATE INDEX audit_events_org_action ON audit_events(org_id, action, seq);
  CREATE INDEX audit_events_org_target_type ON audit_events(org_id, target_type, seq);
  CREATE INDEX audit_events_org_target ON audit_events(org_id, target_id, seq);
  CREATE INDEX audit_events_org_actor ON audit_events(org_id, actor_id, seq);
  CREATE INDEX audit_events_org_actor_user ON audit_events(org_id, actor_user_id, seq);
  CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END;
  CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END;
  `,
  // 11: rate limits. A gateway key may have its own limit (both columns set, or neither: at most
  // rate_limit_requests requests per rate_limit_window_seconds), a tool assignment a limit of
  // calls per minute per caller, and a whole server's attachment one for each of its tools. A
  // gateway's own limits live in its configuration JSON.
  `
  ALTER TABLE gateway_keys ADD COLUMN rate_limit_requests INTEGER
    CHECK (rate_limit_requests IS NULL OR rate_limit_requests >= 1);
  ALTER TABLE gateway_keys ADD COLUMN rate_limit_window_seconds INTEGER
    CHECK ((rate_limit_window_seconds IS NULL) = (rate_limit_requests IS NULL)
      AND (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds >= 1));
  ALTER TABLE gateway_tools ADD COLUMN rate_limit INTEGER
    CHECK (rate_limit IS NULL OR rate_limit >= 1);
  ALTER TABLE gateway_servers ADD COLUMN tool_rate_limit INTEGER
    CHECK (tool_rate_limit IS NULL OR tool_rate_limit >= 1);
  `,
  // 12: the request log. One row per MCP request, written in batches by the request log's
  // writer (src/telemetry/request_log.ts); times are ms since the epoch (compact, and compared
  // as numbers). No foreign keys: rows outlive the gateways and keys they name, and a batch
  // must never fail for a gateway deleted meanwhile. Each index costs every flush, so there
  // are three: the org's rows newest first (the other filters are checked along it), a
  // gateway's, and a tool's. request_stats is the rollup GET /gateways/{id}/stats
  // reads instead of the log: per gateway, tool (name; '' for requests that are not tool
  // calls) and minute, hour or day (span, in ms), the calls, the failures, the last call and a
  // histogram of durations (h0..h39: bucket i holds durations up to 0.25 ms * 2^(i/2), h39 the
  // rest). It is written in the flush's own transaction, so it always agrees with the log.
  `
  CREATE TABLE request_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    transport TEXT NOT NULL,
    protocol_version TEXT,
    method TEXT NOT NULL,
    name TEXT,
    caller_id TEXT NOT NULL,
    caller_method TEXT NOT NULL,
    caller_key_name TEXT,
    caller_client_id TEXT,
    caller_subject TEXT,
    caller_address TEXT,
    session_id TEXT,
    status TEXT NOT NULL,
    error_code INTEGER,
    rate_limit TEXT,
    duration_ms REAL NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    upstream_status INTEGER,
    upstream_ms REAL,
    upstream_target TEXT,
    payload TEXT
  );
  CREATE INDEX request_log_org_at ON request_log(org_id, at);
  CREATE INDEX request_log_gateway_at ON request_log(gateway_id, at);
  CREATE INDEX request_log_org_name_at ON request_log(org_id, name, at);
  CREATE TABLE request_stats (
    gateway_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    start INTEGER NOT NULL,
    name TEXT NOT NULL,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    h0 INTEGER NOT NULL DEFAULT 0,
    h1 INTEGER NOT NULL DEFAULT 0,
    h2 INTEGER NOT NULL DEFAULT 0,
    h3 INTEGER NOT NULL DEFAULT 0,
    h4 INTEGER NOT NULL DEFAULT 0,
    h5 INTEGER NOT NULL DEFAULT 0,
    h6 INTEGER NOT NULL DEFAULT 0,
    h7 INTEGER NOT NULL DEFAULT 0,
    h8 INTEGER NOT NULL DEFAULT 0,
    h9 INTEGER NOT NULL DEFAULT 0,
    h10 INTEGER NOT NULL DEFAULT 0,
    h11 INTEGER NOT NULL DEFAULT 0,
    h12 INTEGER NOT NULL DEFAULT 0,
    h13 INTEGER NOT NULL DEFAULT 0,
    h14 INTEGER NOT NULL DEFAULT 0,
    h15 INTEGER NOT NULL DEFAULT 0,
    h16 INTEGER NOT NULL DEFAULT 0,
    h17 INTEGER NOT NULL DEFAULT 0,
    h18 INTEGER NOT NULL DEFAULT 0,
    h19 INTEGER NOT NULL DEFAULT 0,
    h20 INTEGER NOT NULL DEFAULT 0,
    h21 INTEGER NOT NULL DEFAULT 0,
    h22 INTEGER NOT NULL DEFAULT 0,
    h23 INTEGER NOT NULL DEFAULT 0,
    h24 INTEGER NOT NULL DEFAULT 0,
    h25 INTEGER NOT NULL DEFAULT 0,
    h26 INTEGER NOT NULL DEFAULT 0,
    h27 INTEGER NOT NULL DEFAULT 0,
    h28 INTEGER NOT NULL DEFAULT 0,
    h29 INTEGER NOT NULL DEFAULT 0,
    h30 INTEGER NOT NULL DEFAULT 0,
    h31 INTEGER NOT NULL DEFAULT 0,
    h32 INTEGER NOT NULL DEFAULT 0,
    h33 INTEGER NOT NULL DEFAULT 0,
    h34 INTEGER NOT NULL DEFAULT 0,
    h35 INTEGER NOT NULL DEFAULT 0,
    h36 INTEGER NOT NULL DEFAULT 0,
    h37 INTEGER NOT NULL DEFAULT 0,
    h38 INTEGER NOT NULL DEFAULT 0,
    h39 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway_id, span, start, name)
  ) WITHOUT ROWID;
  CREATE INDEX request_stats_span_start ON request_stats(span, start);
  `,
  // 13: the request log in segments: the records of one org from one batch as one JSON value,
  // found through the terms (gateway, name, caller, key name, status) it holds. A row with three
  // indexes per request cost the log's thread 14 µs a request; a segment costs under 1. Existing
  // rows move over, a segment per org and thousand rows, in their order.
  `
  CREATE TABLE request_log_segments (
    id INTEGER PRIMARY KEY,
    org_id TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    records TEXT NOT NULL
  );
  CREATE INDEX request_log_segments_org_last ON request_log_segments(org_id, last_at);
  CREATE TABLE request_log_terms (
    term TEXT NOT NULL,
    segment_id INTEGER NOT NULL REFERENCES request_log_segments(id) ON DELETE CASCADE,
    PRIMARY KEY (term, segment_id)
  ) WITHOUT ROWID;
  CREATE INDEX request_log_terms_segment ON request_log_terms(segment_id);
  CREATE TABLE request_log_moving AS
    SELECT id AS row_id, DENSE_RANK() OVER (ORDER BY id / 1000, org_id) AS segment_id
    FROM request_log;
  INSERT INTO request_log_segments (id, org_id, first_at, last_at, rows, records)
    SELECT m.segment_id, l.org_id, MIN(l.at), MAX(l.at), COUNT(*), json_group_array(json_patch(
      json_object(
        'at', l.at, 'orgId', l.org_id, 'gatewayId', l.gateway_id, 'transport', l.transport,
        'protocolVersion', l.protocol_version, 'method', l.method, 'name', l.name,
        'caller', json_patch(
          json_object('id', l.caller_id, 'method', l.caller_method),
          json_object('keyName', l.caller_key_name, 'clientId', l.caller_client_id,
            'subject', l.caller_subject, 'address', l.caller_address)),
        'sessionId', l.session_id, 'status', l.status, 'errorCode', l.error_code,
        'limit', l.rate_limit, 'durationMs', l.duration_ms, 'bytesIn', l.bytes_in,
        'bytesOut', l.bytes_out,
        'upstream', json(CASE WHEN l.upstream_ms IS NULL THEN NULL ELSE json_patch(
          json_object('status', l.upstream_status, 'durationMs', l.upstream_ms),
          json_object('target', l.upstream_target)) END)),
      json_object('payload', json(l.payload))) ORDER BY l.id)
    FROM request_log l JOIN request_log_moving m ON m.row_id = l.id
    GROUP BY m.segment_id, l.org_id;
  INSERT INTO request_log_terms (term, segment_id)
    SELECT DISTINCT t.term, m.segment_id FROM request_log_moving m JOIN request_log l ON l.id = m.row_id
    JOIN (SELECT id, 'g:' || gateway_id AS term FROM request_log
      UNION ALL SELECT id, 'n:' || name FROM request_log WHERE name IS NOT NULL
      UNION ALL SELECT id, 'c:' || caller_id FROM request_log
      UNION ALL SELECT id, 'k:' || caller_key_name FROM request_log WHERE caller_key_name IS NOT NULL
      UNION ALL SELECT id, 's:' || status FROM request_log) t ON t.id = l.id;
  DROP TABLE request_log_moving;
  DROP TABLE request_log;
  `,
  // 14: MCP sessions of Streamable HTTP, kept in the store when replicas share a database (so
  // any replica serves the next request of a session another started); unused on SQLite.
  `
  CREATE TABLE mcp_sessions (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    transport TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    client_capabilities TEXT NOT NULL,
    client_info TEXT,
    log_level TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX mcp_sessions_last_seen ON mcp_sessions(last_seen_at);
  CREATE INDEX mcp_sessions_gateway ON mcp_sessions(gateway_id);
  `,
  // 15: which replica holds a stored session's stream, and messages for sessions too large for
  // a notice between replicas (see session_messages.ts); unused on SQLite.
  `
  ALTER TABLE mcp_sessions ADD COLUMN stream_replica TEXT;
  CREATE TABLE mcp_session_messages (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
];

/** The schema version this build expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Applies every migration newer than the database's `user_version`, each in
 * its own transaction, on the connection `db` before anything else uses it.
 */
export function migrate(db: DatabaseSync): void {
  const current = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this build (${MIGRATIONS.length}); upgrade Gatehouse`,
    );
  }
  if (current === MIGRATIONS.length) return;
  // A migration that rebuilds a table others refer to must not cascade its DROP onto them;
  // SQLite ignores this pragma inside a transaction, so it is set around them, and every
  // reference is checked before the migration commits.
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(MIGRATIONS[v]);
        const broken = db.prepare("PRAGMA foreign_key_check").all();
        if (broken.length > 0) {
          throw new Error(`migration ${v + 1} left ${broken.length} broken references`);
        }
        db.exec(`PRAGMA user_version = ${v + 1}`);
        db.exec("COMMIT");
      } catch (err) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw err;
      }
    }
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}
