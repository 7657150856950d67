/**
 * Server settings, from command-line flags first, then `GATEHOUSE_*`
 * environment variables, then defaults.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseSecretKeyEnv, SECRET_KEY_ENV } from "./secrets/key.ts";
import { DEFAULT_BODY_TIMEOUT_MS } from "./util/body.ts";

/** Everything the server needs to know before it starts. */
export interface Config {
  /** Interface to listen on. */
  host: string;
  /** TCP port (0 picks a free one). */
  port: number;
  /** Folder that holds the database and other state. */
  dataDir: string;
  /** The SQLite file (`<dataDir>/gatehouse.db`), when the store is not PostgreSQL. */
  dbPath: string;
  /**
   * `GATEHOUSE_DATABASE_URL`: a `postgres://` URL puts the store in that
   * PostgreSQL database (several replicas can share it) instead of the file.
   */
  databaseUrl?: string;
  /** Public base URL (behind a reverse proxy); when unset, each request's own origin is used. */
  publicUrl?: string;
  /** A fixed admin key for automation; a random one is generated when unset. */
  adminKey?: string;
  /**
   * The secrets vault key (32 bytes) from `GATEHOUSE_SECRET_KEY`; when unset
   * the server uses `<dataDir>/secret.key`, creating it on first start.
   */
  secretKey?: Uint8Array;
  /** Largest management API request body, in bytes. */
  maxBodyBytes: number;
  /** How OpenAPI imports run (in worker threads, bounded). */
  imports: ImportSettings;
  /**
   * Largest `/apis` import request body, in bytes: OpenAPI documents run to
   * tens of megabytes (GitHub's and Stripe's are 7-12 MB as JSON).
   */
  maxImportBodyBytes: number;
  /**
   * How long a request body may take to arrive once its headers did, in ms
   * (`GATEHOUSE_BODY_TIMEOUT_SECONDS`); a slower one is answered 408 and its
   * connection closed. Headers have no such limit: `Deno.serve` offers none.
   */
  bodyTimeoutMs: number;
  /** Whether to write a line per request to the log. */
  logRequests: boolean;
  /**
   * How log lines look (`GATEHOUSE_LOG_FORMAT`): `text` (the default), or
   * `json`, one JSON object a line with the request id of each request's lines.
   */
  logFormat: LogFormat;
  /** Browser origins allowed to call MCP endpoints besides the server's own (`*` for any). */
  allowedOrigins: string[];
  /** Reverse proxies (IP addresses) whose `X-Forwarded-For` names the real client. */
  trustedProxies: string[];
  /** MCP transport and session settings. */
  mcp: McpSettings;
  /** How gateways' `jwt` auth methods fetch their identity providers' keys. */
  jwt: JwtSettings;
  /**
   * Lets OAuth Client ID Metadata Documents be fetched over plain http from
   * loopback addresses (`GATEHOUSE_OAUTH_ALLOW_INSECURE_CIMD=1`). For tests
   * and local development only: by default client ids must be https URLs on
   * public addresses.
   */
  oauthAllowInsecureCimd?: boolean;
  /**
   * Whether stdio upstream servers may be created and started
   * (`GATEHOUSE_ALLOW_STDIO`, default 1): each runs a command on this host
   * with Gatehouse's permissions.
   */
  allowStdio: boolean;
  /**
   * How often every connected upstream server is listed again, in ms
   * (`GATEHOUSE_UPSTREAM_REFRESH_SECONDS`, default 300): servers that change
   * without sending list_changed are caught up with at this pace.
   */
  upstreamRefreshMs: number;
  /**
   * Upstream sessions kept per stateful server for downstream sessions
   * (`GATEHOUSE_UPSTREAM_SESSIONS_PER_SERVER`, default 1000); past it, the
   * least recently used idle one is closed to make room.
   */
  upstreamSessionsPerServer: number;
  /** Prometheus metrics at `GET /metrics`. */
  metrics: MetricsSettings;
  /** The request log of MCP requests (`GET /logs`, `GET /gateways/{id}/stats`). */
  requestLog: RequestLogSettings;
}

/** Prometheus metrics at `GET /metrics`. */
export interface MetricsSettings {
  /**
   * Whether MCP requests are counted and `/metrics` answers
   * (`GATEHOUSE_METRICS`, `on` by default; `off` to measure what counting costs).
   */
  enabled: boolean;
  /**
   * A read-only token a scraper presents as `Authorization: Bearer <token>`
   * (`GATEHOUSE_METRICS_TOKEN`); without one, only instance admins' access keys read metrics.
   */
  token?: string;
}

/** The request log's settings. */
export interface RequestLogSettings {
  /** Whether MCP requests are logged (`GATEHOUSE_REQUEST_LOG`, `on` or `off`; default on). */
  enabled: boolean;
  /** Rows older than this many days are deleted (`GATEHOUSE_LOG_RETENTION_DAYS`, default 30). */
  retentionDays: number;
  /** Rows beyond this many are deleted, oldest first (`GATEHOUSE_LOG_MAX_ROWS`, default 1,000,000). */
  maxRows: number;
}

/** The log line formats. */
export const LOG_FORMATS = ["text", "json"] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How OpenAPI imports run: in worker threads, a few at once, each bounded. */
export interface ImportSettings {
  /** Imports that run at once, server-wide (`GATEHOUSE_IMPORT_CONCURRENCY`, default 2). */
  concurrency: number;
  /** Longest one import may take, in ms (`GATEHOUSE_IMPORT_TIMEOUT_SECONDS`, default 120). */
  timeoutMs: number;
  /** Heap limit of an import's worker, in MiB (`GATEHOUSE_IMPORT_MEMORY_MB`, default 2048). */
  memoryMb: number;
}

/** Settings of the `jwt` gateway auth method's key fetching. */
export interface JwtSettings {
  /**
   * Accept `http://` JWKS URLs on loopback hosts (`GATEHOUSE_JWT_ALLOW_INSECURE_JWKS=1`).
   * Off by default: keys fetched in the clear could be swapped in transit. For tests
   * and local identity providers only.
   */
  allowInsecureJwks: boolean;
  /** How long one JWKS fetch may take, in ms. */
  jwksTimeoutMs: number;
  /**
   * After a fetch, how long a token with an unknown `kid` must wait before it
   * may trigger another, in ms (so forged `kid`s cannot hammer the provider).
   */
  jwksCooldownMs: number;
  /** How long fetched keys are used before they are fetched again, in ms. */
  jwksMaxAgeMs: number;
}

/** MCP transport and session settings. */
export interface McpSettings {
  /** Largest MCP request body, in bytes. */
  maxBodyBytes: number;
  /** Idle sessions are closed after this long, in ms. */
  sessionIdleMs: number;
  /**
   * Open sessions per gateway. At the cap a caller's own oldest idle session
   * makes room for its new one; a caller with none is refused (429).
   */
  maxSessionsPerGateway: number;
  /** Open sessions per credential of a gateway; beyond it, as at the gateway cap. */
  maxSessionsPerKey: number;
  /** Tools per `tools/list` page. */
  pageSize: number;
  /**
   * Bytes of JSON per list page (`GATEHOUSE_LIST_PAGE_BYTES`, default 1 MiB):
   * a page ends before the item that would take it over, unless that item
   * is its first. Models pay for every byte a client lists.
   */
  pageBytes: number;
  /** Keep-alive comment interval on idle streams, in ms. */
  keepAliveMs: number;
  /** Bytes a slow stream reader may leave queued before it is dropped. */
  maxBufferedBytes: number;
  /**
   * A Streamable HTTP request of a 2025-11-25 session still unanswered after
   * this long (ms) is answered as a resumable SSE stream (SEP-1699).
   */
  streamAfterMs: number;
  /**
   * How long one connection carries a resumable stream (ms) before the server
   * closes it and the client polls with `Last-Event-ID`; 0 holds it until the
   * answer.
   */
  streamHoldMs: number;
  /** The `retry` (ms) a resumable stream tells its client to wait before reconnecting. */
  streamRetryMs: number;
  /**
   * How long (ms) a resumable stream whose client went away waits for it to
   * reconnect before its call is stopped and its events dropped.
   */
  streamResumeMs: number;
  /** Seconds a WebSocket peer has to answer a ping before it is deemed dead. */
  wsPingSeconds: number;
  /** Open SSE and WebSocket connections per gateway. */
  maxConnectionsPerGateway: number;
  /** Open SSE and WebSocket connections per credential. */
  maxConnectionsPerKey: number;
}

const FLAGS = {
  host: { type: "string" },
  port: { type: "string" },
  data: { type: "string" },
  "public-url": { type: "string" },
  "log-requests": { type: "boolean" },
  "allowed-origins": { type: "string" },
} as const;

/** A setting that cannot be used, named so the operator can fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the settings from `args` (flags) and `env`. */
export function loadConfig(
  args: string[] = Deno.args,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Config {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const host = str(values.host) ?? env("GATEHOUSE_HOST") ?? "127.0.0.1";
  const portText = str(values.port) ?? env("GATEHOUSE_PORT") ?? "8787";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new ConfigError(`port must be a number from 0 to 65535, got '${portText}'`);
  }
  const dataDir = str(values.data) ?? env("GATEHOUSE_DATA") ?? "./data";
  const databaseUrl = env("GATEHOUSE_DATABASE_URL") || undefined;
  // The URL is never repeated: it may hold a password.
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl)) {
    throw new ConfigError(
      "GATEHOUSE_DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:port/database)",
    );
  }
  const publicUrl = str(values["public-url"]) ?? env("GATEHOUSE_PUBLIC_URL");
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+(\/.*)?$/.test(publicUrl)) {
    throw new ConfigError(`public URL must be an http(s) URL, got '${publicUrl}'`);
  }
  const adminKey = env("GATEHOUSE_ADMIN_KEY") || undefined;
  if (adminKey !== undefined && !/^[\x21-\x7e]{16,256}$/.test(adminKey)) {
    throw new ConfigError(
      "GATEHOUSE_ADMIN_KEY must be 16 to 256 printable characters without spaces",
    );
  }
  const secretKeyText = env(SECRET_KEY_ENV);
  // Checked here so a bad key stops the server before it opens anything.
  const secretKey = secretKeyText === undefined ? undefined : parseSecretKeyEnv(secretKeyText);
  const logRequests = values["log-requests"] === true || env("GATEHOUSE_LOG_REQUESTS") === "1";
  const logFormat = env("GATEHOUSE_LOG_FORMAT") || "text";
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new ConfigError(
      `GATEHOUSE_LOG_FORMAT must be one of ${LOG_FORMATS.join(", ")}, got '${logFormat}'`,
    );
  }
  const origins = str(values["allowed-origins"]) ?? env("GATEHOUSE_ALLOWED_ORIGINS") ?? "";
  const trustedProxies = (env("GATEHOUSE_TRUSTED_PROXIES") ?? "").split(",").map((p) => p.trim())
    .filter(Boolean);
  const allowedOrigins = origins.split(",").map((o) => o.trim().replace(/\/+$/, "")).filter(
    Boolean,
  );
  const int = (name: string, fallback: number, min: number, max: number) => {
    const text = env(name);
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
    }
    return n;
  };
  const mcp: McpSettings = {
    maxBodyBytes: int("GATEHOUSE_MCP_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024, 1024 ** 3),
    sessionIdleMs: int("GATEHOUSE_SESSION_IDLE_SECONDS", 1800, 1, 7 * 86400) * 1000,
    maxSessionsPerGateway: int("GATEHOUSE_MAX_SESSIONS_PER_GATEWAY", 10_000, 1, 1_000_000),
    maxSessionsPerKey: int("GATEHOUSE_MAX_SESSIONS_PER_KEY", 5_000, 1, 1_000_000),
    pageSize: int("GATEHOUSE_TOOLS_PAGE_SIZE", 100, 1, 10_000),
    pageBytes: int("GATEHOUSE_LIST_PAGE_BYTES", 1024 * 1024, 1024, 1024 ** 3),
    keepAliveMs: int("GATEHOUSE_KEEPALIVE_SECONDS", 15, 1, 3600) * 1000,
    maxBufferedBytes: int("GATEHOUSE_STREAM_BUFFER_BYTES", 1024 * 1024, 1024, 1024 ** 3),
    streamAfterMs: int("GATEHOUSE_STREAM_AFTER_MS", 1000, 0, 600_000),
    streamHoldMs: int("GATEHOUSE_STREAM_HOLD_MS", 3000, 0, 3_600_000),
    streamRetryMs: int("GATEHOUSE_STREAM_RETRY_MS", 1000, 0, 600_000),
    streamResumeMs: int("GATEHOUSE_STREAM_RESUME_SECONDS", 60, 1, 86_400) * 1000,
    wsPingSeconds: int("GATEHOUSE_WS_PING_SECONDS", 30, 1, 3600),
    maxConnectionsPerGateway: int("GATEHOUSE_MAX_CONNECTIONS_PER_GATEWAY", 10_000, 1, 1_000_000),
    maxConnectionsPerKey: int("GATEHOUSE_MAX_CONNECTIONS_PER_KEY", 5_000, 1, 1_000_000),
  };
  const metricsToken = env("GATEHOUSE_METRICS_TOKEN") || undefined;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    // The value itself is never repeated: it is a secret.
    throw new ConfigError(
      "GATEHOUSE_METRICS_TOKEN must be 16 to 256 printable characters without spaces",
    );
  }
  return {
    host,
    port,
    dataDir,
    dbPath: dataDir === ":memory:" ? ":memory:" : `${dataDir.replace(/\/+$/, "")}/gatehouse.db`,
    ...(databaseUrl ? { databaseUrl } : {}),
    publicUrl: publicUrl?.replace(/\/+$/, ""),
    adminKey,
    ...(secretKey ? { secretKey } : {}),
    maxBodyBytes: 1024 * 1024,
    imports: {
      concurrency: int("GATEHOUSE_IMPORT_CONCURRENCY", 2, 1, 64),
      timeoutMs: int("GATEHOUSE_IMPORT_TIMEOUT_SECONDS", 120, 1, 3600) * 1000,
      memoryMb: int("GATEHOUSE_IMPORT_MEMORY_MB", 2048, 64, 65536),
    },
    maxImportBodyBytes: int("GATEHOUSE_IMPORT_MAX_BODY_BYTES", 64 * 1024 * 1024, 1024, 1024 ** 3),
    bodyTimeoutMs: int("GATEHOUSE_BODY_TIMEOUT_SECONDS", DEFAULT_BODY_TIMEOUT_MS / 1000, 1, 3600) *
      1000,
    logRequests,
    logFormat: logFormat as LogFormat,
    allowedOrigins,
    trustedProxies,
    mcp,
    jwt: {
      allowInsecureJwks: env("GATEHOUSE_JWT_ALLOW_INSECURE_JWKS") === "1",
      jwksTimeoutMs: int("GATEHOUSE_JWKS_TIMEOUT_SECONDS", 5, 1, 60) * 1000,
      jwksCooldownMs: int("GATEHOUSE_JWKS_COOLDOWN_SECONDS", 30, 0, 3600) * 1000,
      jwksMaxAgeMs: int("GATEHOUSE_JWKS_MAX_AGE_SECONDS", 600, 10, 86400) * 1000,
    },
    oauthAllowInsecureCimd: env("GATEHOUSE_OAUTH_ALLOW_INSECURE_CIMD") === "1",
    allowStdio: int("GATEHOUSE_ALLOW_STDIO", 1, 0, 1) === 1,
    upstreamRefreshMs: int("GATEHOUSE_UPSTREAM_REFRESH_SECONDS", 300, 5, 86400) * 1000,
    upstreamSessionsPerServer: int("GATEHOUSE_UPSTREAM_SESSIONS_PER_SERVER", 1000, 1, 100_000),
    metrics: {
      enabled: onOff("GATEHOUSE_METRICS", env("GATEHOUSE_METRICS")),
      ...(metricsToken ? { token: metricsToken } : {}),
    },
    requestLog: {
      enabled: onOff("GATEHOUSE_REQUEST_LOG", env("GATEHOUSE_REQUEST_LOG")),
      retentionDays: int("GATEHOUSE_LOG_RETENTION_DAYS", 30, 1, 3650),
      maxRows: int("GATEHOUSE_LOG_MAX_ROWS", 1_000_000, 1000, 1_000_000_000),
    },
  };
}

/** An `on`/`off` switch, on when unset. */
function onOff(name: string, text: string | undefined): boolean {
  if (text === undefined || text === "" || text === "on") return true;
  if (text === "off") return false;
  throw new ConfigError(`${name} must be on or off, got '${text}'`);
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}
