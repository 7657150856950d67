/**
 * The schema on PostgreSQL: the same migrations as `migrations.ts` builds on
 * SQLite, step for step and with the same numbers (a new migration adds an
 * entry to both lists), written the way PostgreSQL does them. A migration is
 * never edited once released.
 *
 * Columns keep their meaning: text is text, compared byte by byte as SQLite
 * does (`COLLATE "C"`, whatever the database's own collation), timestamps
 * stay ISO-8601 text, the 0/1 flags are `INTEGER` and every other integer
 * `BIGINT` (SQLite's are 64-bit), blobs `BYTEA`, SQLite's rowid keys identity
 * columns.
 * Where SQLite rebuilds a table to drop a constraint, PostgreSQL alters it,
 * so every other table's references to it stay.
 *
 * The version applied is kept in `gatehouse_schema`. Each migration runs in
 * its own transaction under an advisory lock, so replicas starting together
 * migrate once: the others wait, then find the work done.
 *
 * @module
 */
import type { PostgresEngine } from "./postgres_engine.ts";

/** Text compared as SQLite compares it (by bytes of UTF-8, so by code point). */
const T = 'TEXT COLLATE "C"';

const MIGRATIONS: readonly string[] = [
  // 1: organizations, users, access keys, gateways, tools, gateway keys and auth methods; and
  // gatehouse_fold(text), the lower case of all of Unicode that SQLite registers per connection
  // (ICU's root locale, as JavaScript's toLowerCase, whatever the database's locale).
  `
  CREATE FUNCTION gatehouse_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower($1 COLLATE "und-x-icu");
  CREATE TABLE orgs (
    id ${T} PRIMARY KEY,
    name ${T} NOT NULL,
    slug ${T} NOT NULL UNIQUE,
    created_at ${T} NOT NULL
  );
  CREATE TABLE users (
    id ${T} PRIMARY KEY,
    email ${T} NOT NULL UNIQUE,
    name ${T} NOT NULL,
    created_at ${T} NOT NULL
  );
  CREATE TABLE org_members (
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id ${T} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role ${T} NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at ${T} NOT NULL,
    PRIMARY KEY (org_id, user_id)
  );
  CREATE INDEX org_members_user ON org_members(user_id);
  CREATE TABLE access_keys (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id ${T} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    key_hash ${T} NOT NULL UNIQUE,
    prefix ${T} NOT NULL,
    created_at ${T} NOT NULL,
    expires_at ${T},
    revoked_at ${T}
  );
  CREATE INDEX access_keys_org ON access_keys(org_id);
  CREATE TABLE gateways (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    description ${T} NOT NULL DEFAULT '',
    type ${T} NOT NULL,
    endpoint ${T} NOT NULL,
    configuration ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    UNIQUE (org_id, endpoint)
  );
  CREATE TABLE tools (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    title ${T},
    description ${T} NOT NULL DEFAULT '',
    input_schema ${T} NOT NULL,
    output_schema ${T},
    annotations ${T},
    type ${T} NOT NULL,
    execution_config ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    CONSTRAINT tools_org_name_unique UNIQUE (org_id, name)
  );
  CREATE TABLE gateway_tools (
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    tool_id ${T} NOT NULL REFERENCES tools(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at ${T} NOT NULL,
    PRIMARY KEY (gateway_id, tool_id)
  );
  CREATE INDEX gateway_tools_tool ON gateway_tools(tool_id);
  CREATE TABLE gateway_keys (
    id ${T} PRIMARY KEY,
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    key_hash ${T} NOT NULL UNIQUE,
    prefix ${T} NOT NULL,
    scopes ${T} NOT NULL,
    created_at ${T} NOT NULL,
    expires_at ${T},
    revoked_at ${T}
  );
  CREATE INDEX gateway_keys_gateway ON gateway_keys(gateway_id);
  CREATE TABLE gateway_auth_methods (
    id ${T} PRIMARY KEY,
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    type ${T} NOT NULL,
    configuration ${T} NOT NULL,
    created_at ${T} NOT NULL,
    CONSTRAINT gateway_auth_methods_one_per_type UNIQUE (gateway_id, type)
  );
  `,
  // 2: the secrets vault (values only as AES-256-GCM ciphertext, bound to id and org), the
  // vault's key check, and per-org settings (outbound network policy) as a JSON object.
  `
  CREATE TABLE secrets (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    type ${T} NOT NULL,
    description ${T} NOT NULL DEFAULT '',
    iv BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    UNIQUE (org_id, name)
  );
  CREATE TABLE vault_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    iv BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at ${T} NOT NULL
  );
  ALTER TABLE orgs ADD COLUMN settings ${T} NOT NULL DEFAULT '{}';
  `,
  // 3: imported APIs (OpenAPI documents); their tools stay rows of tools, linked by api_id.
  `
  CREATE TABLE apis (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    title ${T} NOT NULL DEFAULT '',
    version ${T} NOT NULL DEFAULT '',
    spec_version ${T} NOT NULL,
    base_url ${T},
    secret_name ${T},
    include_filter ${T},
    exclude_filter ${T},
    spec_hash ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    UNIQUE (org_id, name)
  );
  ALTER TABLE tools ADD COLUMN api_id ${T} REFERENCES apis(id) ON DELETE CASCADE;
  ALTER TABLE tools ADD COLUMN api_operation_id ${T};
  ALTER TABLE tools ADD COLUMN api_route ${T};
  CREATE INDEX tools_api ON tools(api_id);
  `,
  // 4: each gateway its own OAuth 2.1 authorization server (only hashes of what it hands out).
  `
  ALTER TABLE users ADD COLUMN password_hash ${T};
  CREATE TABLE oauth_clients (
    id ${T} PRIMARY KEY,
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    client_name ${T} NOT NULL,
    redirect_uris ${T} NOT NULL,
    token_endpoint_auth_method ${T} NOT NULL,
    secret_hash ${T},
    metadata ${T} NOT NULL,
    created_at ${T} NOT NULL
  );
  CREATE INDEX oauth_clients_gateway ON oauth_clients(gateway_id);
  CREATE TABLE oauth_grants (
    id ${T} PRIMARY KEY,
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    client_id ${T} NOT NULL,
    user_id ${T} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes ${T} NOT NULL,
    resource ${T} NOT NULL,
    created_at ${T} NOT NULL,
    revoked_at ${T}
  );
  CREATE INDEX oauth_grants_gateway ON oauth_grants(gateway_id);
  CREATE TABLE oauth_codes (
    code_hash ${T} PRIMARY KEY,
    grant_id ${T} NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    redirect_uri ${T} NOT NULL,
    code_challenge ${T} NOT NULL,
    expires_at ${T} NOT NULL,
    used_at ${T}
  );
  CREATE TABLE oauth_tokens (
    token_hash ${T} PRIMARY KEY,
    grant_id ${T} NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    kind ${T} NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at ${T} NOT NULL,
    expires_at ${T} NOT NULL,
    scopes ${T} NOT NULL,
    used_at ${T},
    revoked_at ${T}
  );
  CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
  `,
  // 5: invitations, one-time tokens that make a person a member once accepted.
  `
  CREATE TABLE org_invitations (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email ${T} NOT NULL,
    role ${T} NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash ${T} NOT NULL UNIQUE,
    invited_by ${T} REFERENCES users(id) ON DELETE SET NULL,
    created_at ${T} NOT NULL,
    expires_at ${T} NOT NULL,
    UNIQUE (org_id, email)
  );
  `,
  // 6: auth methods get an explicit order (the creation order so far), a required flag and
  // validation rules, and lose the one-per-type rule.
  `
  ALTER TABLE gateway_auth_methods DROP CONSTRAINT gateway_auth_methods_one_per_type;
  ALTER TABLE gateway_auth_methods
    ADD COLUMN position BIGINT,
    ADD COLUMN required INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    ADD COLUMN validation_rules ${T},
    ADD COLUMN updated_at ${T};
  UPDATE gateway_auth_methods m SET position = o.position, updated_at = m.created_at
    FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY gateway_id ORDER BY created_at, id)
            AS position FROM gateway_auth_methods) o
   WHERE o.id = m.id;
  ALTER TABLE gateway_auth_methods
    ALTER COLUMN position SET NOT NULL,
    ALTER COLUMN updated_at SET NOT NULL;
  CREATE INDEX gateway_auth_methods_gateway ON gateway_auth_methods(gateway_id, position);
  `,
  // 7: upstream MCP servers (their connection settings; status lives in memory).
  `
  CREATE TABLE upstream_servers (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name ${T} NOT NULL,
    transport ${T} NOT NULL,
    settings ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    UNIQUE (org_id, name)
  );
  `,
  // 8: federation. A tool may belong to an upstream server: local tools stay unique by name in
  // their org, a server's tools by name in the server. Gateways attach whole servers; servers'
  // prompts, resources and templates are kept as listed; held changes wait for approval.
  `
  ALTER TABLE tools DROP CONSTRAINT tools_org_name_unique;
  ALTER TABLE tools ADD COLUMN server_id ${T} REFERENCES upstream_servers(id) ON DELETE CASCADE;
  CREATE INDEX tools_server ON tools(server_id);
  CREATE UNIQUE INDEX tools_local_name ON tools(org_id, name) WHERE server_id IS NULL;
  CREATE UNIQUE INDEX tools_server_name ON tools(server_id, name) WHERE server_id IS NOT NULL;
  CREATE TABLE gateway_servers (
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    server_id ${T} NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    prefix ${T},
    include ${T},
    exclude ${T},
    created_at ${T} NOT NULL,
    PRIMARY KEY (gateway_id, server_id)
  );
  CREATE INDEX gateway_servers_server ON gateway_servers(server_id);
  CREATE TABLE server_items (
    server_id ${T} NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    kind ${T} NOT NULL CHECK (kind IN ('prompt', 'resource', 'template')),
    key ${T} NOT NULL,
    definition ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    PRIMARY KEY (server_id, kind, key)
  );
  CREATE TABLE server_changes (
    id ${T} PRIMARY KEY,
    server_id ${T} NOT NULL REFERENCES upstream_servers(id) ON DELETE CASCADE,
    kind ${T} NOT NULL CHECK (kind IN ('tool', 'prompt')),
    name ${T} NOT NULL,
    proposed ${T} NOT NULL,
    breaking INTEGER NOT NULL CHECK (breaking IN (0, 1)),
    detected_at ${T} NOT NULL,
    UNIQUE (server_id, kind, name)
  );
  `,
  // 9: lists that page, each in a fixed order; the indexes on tools(api_id) and
  // tools(server_id) are prefixes of the new ones, so they go.
  `
  CREATE INDEX tools_org_name ON tools(org_id, name, id);
  CREATE INDEX tools_org_type_name ON tools(org_id, type, name, id);
  CREATE INDEX tools_api_name ON tools(api_id, name, id);
  CREATE INDEX tools_server_name_id ON tools(server_id, name, id);
  DROP INDEX tools_api;
  DROP INDEX tools_server;
  CREATE INDEX gateways_org_created ON gateways(org_id, created_at, id);
  `,
  // 10: the audit trail, numbered per org. Rows are never changed or deleted: the triggers
  // refuse it at the source (TRUNCATE too, which skips row triggers on PostgreSQL).
  `
  CREATE TABLE audit_events (
    id ${T} PRIMARY KEY,
    org_id ${T} NOT NULL REFERENCES orgs(id),
    seq BIGINT NOT NULL,
    at ${T} NOT NULL,
    actor_type ${T} NOT NULL CHECK (actor_type IN ('user', 'access_key', 'system')),
    actor_id ${T},
    actor_user_id ${T},
    actor_name ${T} NOT NULL,
    action ${T} NOT NULL,
    target_type ${T} NOT NULL,
    target_id ${T},
    target_name ${T} NOT NULL,
    changes ${T} NOT NULL,
    UNIQUE (org_id, seq)
  );
  CREATE INDEX audit_events_org_at ON audit_events(org_id, at, seq);
  CREATE INDEX audit_events_org_action ON audit_events(org_id, action, seq);
  CREATE INDEX audit_events_org_target_type ON audit_events(org_id, target_type, seq);
  CREATE INDEX audit_events_org_target ON audit_events(org_id, target_id, seq);
  CREATE INDEX audit_events_org_actor ON audit_events(org_id, actor_id, seq);
  CREATE INDEX audit_events_org_actor_user ON audit_events(org_id, actor_user_id, seq);
  CREATE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      RAISE EXCEPTION 'audit events cannot be changed';
    END IF;
    RAISE EXCEPTION 'audit events cannot be deleted';
  END $$;
  CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
  CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
  CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse();
  `,
  // 11: rate limits of gateway keys (both columns or neither), of tool assignments and of
  // whole servers' attachments.
  `
  ALTER TABLE gateway_keys
    ADD COLUMN rate_limit_requests BIGINT
      CHECK (rate_limit_requests IS NULL OR rate_limit_requests >= 1),
    ADD COLUMN rate_limit_window_seconds BIGINT,
    ADD CONSTRAINT gateway_keys_rate_limit_window
      CHECK ((rate_limit_window_seconds IS NULL) = (rate_limit_requests IS NULL)
        AND (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds >= 1));
  ALTER TABLE gateway_tools ADD COLUMN rate_limit BIGINT
    CHECK (rate_limit IS NULL OR rate_limit >= 1);
  ALTER TABLE gateway_servers ADD COLUMN tool_rate_limit BIGINT
    CHECK (tool_rate_limit IS NULL OR tool_rate_limit >= 1);
  `,
  // 12: the request log (one row per MCP request, times in ms since the epoch, no foreign
  // keys) and its rollup per gateway, tool and minute, hour or day.
  `
  CREATE TABLE request_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    org_id ${T} NOT NULL,
    gateway_id ${T} NOT NULL,
    transport ${T} NOT NULL,
    protocol_version ${T},
    method ${T} NOT NULL,
    name ${T},
    caller_id ${T} NOT NULL,
    caller_method ${T} NOT NULL,
    caller_key_name ${T},
    caller_client_id ${T},
    caller_subject ${T},
    caller_address ${T},
    session_id ${T},
    status ${T} NOT NULL,
    error_code BIGINT,
    rate_limit ${T},
    duration_ms DOUBLE PRECISION NOT NULL,
    bytes_in BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    upstream_status BIGINT,
    upstream_ms DOUBLE PRECISION,
    upstream_target ${T},
    payload ${T}
  );
  CREATE INDEX request_log_org_at ON request_log(org_id, at);
  CREATE INDEX request_log_gateway_at ON request_log(gateway_id, at);
  CREATE INDEX request_log_org_name_at ON request_log(org_id, name, at);
  CREATE TABLE request_stats (
    gateway_id ${T} NOT NULL,
    span BIGINT NOT NULL,
    start BIGINT NOT NULL,
    name ${T} NOT NULL,
    calls BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    ${Array.from({ length: 40 }, (_, i) => `h${i} BIGINT NOT NULL DEFAULT 0,`).join("\n    ")}
    PRIMARY KEY (gateway_id, span, start, name)
  );
  CREATE INDEX request_stats_span_start ON request_stats(span, start);
  `,
  // 13: the request log in segments: the records of one org from one batch as one JSON value,
  // found through the terms (gateway, name, caller, key name, status) it holds. Existing rows
  // move over, a segment per org and thousand rows, in their order, as plain records (the
  // optional fields left out when null); the identity then continues after the last segment.
  `
  CREATE TABLE request_log_segments (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_id ${T} NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    skipped BIGINT NOT NULL DEFAULT 0,
    records ${T} NOT NULL
  );
  CREATE INDEX request_log_segments_org_last ON request_log_segments(org_id, last_at);
  CREATE TABLE request_log_terms (
    term ${T} NOT NULL,
    segment_id BIGINT NOT NULL REFERENCES request_log_segments(id) ON DELETE CASCADE,
    PRIMARY KEY (term, segment_id)
  );
  CREATE INDEX request_log_terms_segment ON request_log_terms(segment_id);
  CREATE TEMPORARY TABLE request_log_moving ON COMMIT DROP AS
    SELECT id AS row_id, DENSE_RANK() OVER (ORDER BY id / 1000, org_id) AS segment_id
    FROM request_log;
  INSERT INTO request_log_segments (id, org_id, first_at, last_at, rows, records)
    SELECT m.segment_id, l.org_id, MIN(l.at), MAX(l.at), COUNT(*), jsonb_agg(
      jsonb_build_object(
        'at', l.at, 'orgId', l.org_id, 'gatewayId', l.gateway_id, 'transport', l.transport,
        'protocolVersion', l.protocol_version, 'method', l.method, 'name', l.name,
        'caller', jsonb_build_object('id', l.caller_id, 'method', l.caller_method)
          || jsonb_strip_nulls(jsonb_build_object('keyName', l.caller_key_name,
            'clientId', l.caller_client_id, 'subject', l.caller_subject,
            'address', l.caller_address)),
        'sessionId', l.session_id, 'status', l.status, 'errorCode', l.error_code,
        'limit', l.rate_limit, 'durationMs', l.duration_ms, 'bytesIn', l.bytes_in,
        'bytesOut', l.bytes_out,
        'upstream', CASE WHEN l.upstream_ms IS NULL THEN 'null'::jsonb ELSE
          jsonb_build_object('status', l.upstream_status, 'durationMs', l.upstream_ms)
            || jsonb_strip_nulls(jsonb_build_object('target', l.upstream_target)) END)
      || CASE WHEN l.payload IS NULL THEN '{}'::jsonb
         ELSE jsonb_build_object('payload', l.payload::jsonb) END
      ORDER BY l.id)::text
    FROM request_log l JOIN request_log_moving m ON m.row_id = l.id
    GROUP BY m.segment_id, l.org_id;
  SELECT setval(pg_get_serial_sequence('request_log_segments', 'id'), MAX(id))
    FROM request_log_segments HAVING COUNT(*) > 0;
  INSERT INTO request_log_terms (term, segment_id)
    SELECT DISTINCT t.term, m.segment_id FROM request_log_moving m JOIN request_log l ON l.id = m.row_id
    JOIN (SELECT id, 'g:' || gateway_id AS term FROM request_log
      UNION ALL SELECT id, 'n:' || name FROM request_log WHERE name IS NOT NULL
      UNION ALL SELECT id, 'c:' || caller_id FROM request_log
      UNION ALL SELECT id, 'k:' || caller_key_name FROM request_log WHERE caller_key_name IS NOT NULL
      UNION ALL SELECT id, 's:' || status FROM request_log) t ON t.id = l.id;
  DROP TABLE request_log;
  `,
  // 14: MCP sessions of Streamable HTTP, so any replica serves the next request of a session
  // another started.
  `
  CREATE TABLE mcp_sessions (
    id ${T} PRIMARY KEY,
    gateway_id ${T} NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    principal_id ${T} NOT NULL,
    transport ${T} NOT NULL,
    protocol_version ${T} NOT NULL,
    client_capabilities ${T} NOT NULL,
    client_info ${T},
    log_level ${T},
    created_at ${T} NOT NULL,
    last_seen_at ${T} NOT NULL
  );
  CREATE INDEX mcp_sessions_last_seen ON mcp_sessions(last_seen_at);
  CREATE INDEX mcp_sessions_gateway ON mcp_sessions(gateway_id);
  `,
  // 15: which replica holds a stored session's stream, and messages for sessions too large for
  // a notice between replicas (see session_messages.ts).
  `
  ALTER TABLE mcp_sessions ADD COLUMN stream_replica ${T};
  CREATE TABLE mcp_session_messages (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    body ${T} NOT NULL,
    created_at ${T} NOT NULL
  );
  `,
];

/** The schema version this build expects on PostgreSQL (always SQLite's too). */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Key of the advisory lock held while a migration runs. */
const MIGRATION_LOCK = 7_262_117_002;

/**
 * Applies every migration newer than the database's version (up to version
 * `upTo`: tests stop early to see a migration move data), each in its own
 * transaction, under an advisory lock so that concurrent starts migrate
 * once. Refuses a database migrated by a newer build.
 */
export async function migratePostgres(
  engine: PostgresEngine,
  upTo = MIGRATIONS.length,
): Promise<void> {
  for (;;) {
    const done = await engine.tx(async () => {
      await engine.exec(
        `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK});
         CREATE TABLE IF NOT EXISTS gatehouse_schema (
           version INTEGER PRIMARY KEY,
           applied_at TEXT NOT NULL
         )`,
      );
      const current = Number(
        (await engine.get("SELECT MAX(version) AS v FROM gatehouse_schema"))?.v ?? 0,
      );
      if (current > MIGRATIONS.length) {
        throw new Error(
          `database schema version ${current} is newer than this build (${MIGRATIONS.length}); upgrade Gatehouse`,
        );
      }
      if (current >= upTo) return true;
      await engine.exec(MIGRATIONS[current]);
      await engine.run(
        "INSERT INTO gatehouse_schema (version, applied_at) VALUES (?, ?)",
        current + 1,
        new Date().toISOString(),
      );
      return false;
    });
    if (done) return;
  }
}
