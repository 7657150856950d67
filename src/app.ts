/**
 * The whole HTTP surface of Gatehouse as one Hono app: health, metrics, the
 * OpenAPI description, the management API and the MCP endpoints.
 *
 * @module
 */
import { Hono } from "hono";
import { mountApi } from "./api/app.ts";
import { ImportJobs } from "./api/import_jobs.ts";
import { baseUrl } from "./api/base_url.ts";
import { errorBody, handleError } from "./api/errors.ts";
import { metricsRoutes } from "./api/metrics.ts";
import { openApiDocument } from "./api/openapi.ts";
import { GatewayAuthenticator } from "./auth/gateway_auth.ts";
import { PasswordSignIn } from "./auth/sign_in.ts";
import type { Config } from "./config.ts";
import { SecretCipher } from "./secrets/cipher.ts";
import { type Vault, vaultFor } from "./secrets/vault.ts";
import { McpService } from "./mcp/service.ts";
import { Metrics } from "./telemetry/metrics.ts";
import { processMetrics } from "./telemetry/process_metrics.ts";
import { ImportPool } from "./openapi/import_pool.ts";
import { mountOAuth } from "./oauth/routes.ts";
import { type Store, threadDatabase } from "./store/store.ts";
import { RequestLogWriter } from "./telemetry/request_log.ts";
import { RequestLogThread } from "./telemetry/request_log_thread.ts";
import type { ExecutorRegistry } from "./tools/executor.ts";
import { OrgOutboundPolicies, OutboundGuard } from "./tools/outbound_policy.ts";
import { AssignedToolSource } from "./mcp/assigned_tools.ts";
import { Forwarder } from "./upstream/forwarder.ts";
import { storeListings } from "./upstream/listings.ts";
import { followServers } from "./upstream/replica_servers.ts";
import { ServerSource } from "./upstream/source.ts";
import { Supervisor } from "./upstream/supervisor.ts";
import { UpstreamCalls } from "./upstream/tool_executor.ts";
import { originPolicy } from "./transports/guards.ts";
import { mountMcp } from "./transports/mcp_routes.ts";
import { withRequestId } from "./telemetry/logger.ts";
import { redactRequestSpan, TRACING } from "./telemetry/tracing.ts";
import { mountUi } from "./ui/mount.tsx";

/** What the app is built from. */
export interface AppDeps {
  store: Store;
  config: Config;
  /** How tools run, by type. */
  executors: ExecutorRegistry;
  /** The secrets vault; without one, secrets live under a throwaway key (route listings, tests). */
  vault?: Vault;
  /**
   * The upstream servers' supervisor; without one, a supervisor over the
   * vault and a fresh outbound guard (the caller then closes it through
   * {@link Gatehouse.upstreams}).
   */
  upstreams?: Supervisor;
}

/** The app and the MCP service behind it (which owns sessions and open streams). */
export interface Gatehouse {
  app: Hono;
  /**
   * The server's handler: the app, but MCP requests go straight to their
   * transports, and the settings' per-request logging wraps both.
   */
  fetch: ServeHandler;
  mcp: McpService;
  /** The upstream servers' connections and processes (ended at shutdown). */
  upstreams: Supervisor;
  /** The downstream callers' upstream sessions (ended at shutdown, before `upstreams`). */
  forwarder: Forwarder;
  /** The OpenAPI import workers (ended at shutdown, before the store closes). */
  importPool: ImportPool;
  /**
   * The request log's writer, a sink of `mcp.telemetry`; absent when request
   * logging is off. Started by the server, closed at shutdown before the store.
   */
  requestLog?: RequestLogWriter;
}

/** Builds the app. */
export function createApp(deps: AppDeps): Gatehouse {
  const { store, config } = deps;
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) =>
    c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404)
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get(
    "/readyz",
    async (c) =>
      await store.db.healthy()
        ? c.json({ status: "ready", database: "ok" })
        : c.json({ status: "unavailable", database: "unreachable" }, 503),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  const vault = deps.vault ?? vaultFor(store, SecretCipher.ephemeral());
  const signIn = new PasswordSignIn(store);
  const upstreams = deps.upstreams ?? defaultSupervisor(store, config, vault);
  const forwarder = new Forwarder(upstreams, {
    maxSessionsPerServer: config.upstreamSessionsPerServer,
  });
  followServers(store, upstreams, forwarder);
  const calls = new UpstreamCalls(forwarder);
  const servers = new ServerSource(store, calls, upstreams);
  // Tools assigned one by one (local ones, and upstream ones through `calls`) claim names first.
  const executors = new Map([...deps.executors, ["mcp", calls]]);
  const mcp = new McpService(store, [new AssignedToolSource(store, executors), servers], {
    idleTimeoutMs: config.mcp.sessionIdleMs,
    maxPerGateway: config.mcp.maxSessionsPerGateway,
    maxPerPrincipal: config.mcp.maxSessionsPerKey,
    pageSize: config.mcp.pageSize,
    pageBytes: config.mcp.pageBytes,
    listTtlMs: 30_000,
  });
  if (config.metrics.enabled) {
    const metrics = new Metrics({
      sessions: () => mcp.sessions.byTransport,
      process: processMetrics(),
    });
    mcp.telemetry.addSink(metrics);
    // Instance-wide, like health: not under an org's management API.
    app.route("/", metricsRoutes({ store, metrics, token: config.metrics.token }));
  }
  const settings = config.requestLog;
  const database = threadDatabase(store);
  const requestLog = settings.enabled
    ? new RequestLogWriter(
      store.requestLog,
      { retentionMs: settings.retentionDays * 86_400_000, maxRows: settings.maxRows },
      // A store in memory cannot be shared with a thread, and PostgreSQL's writes wait on the
      // network, not on this thread: their batches are written here.
      database && "path" in database
        ? new RequestLogThread(database.path, Infinity)
        : store.requestLog,
    )
    : undefined;
  if (requestLog) mcp.telemetry.addSink(requestLog);
  // No worker starts until the first import.
  const importPool = new ImportPool({
    ...config.imports,
    ...(database ? { database } : {}),
  });
  mountApi(app, {
    store,
    config,
    vault,
    signIn,
    upstreams,
    forwarder,
    servers,
    catalog: mcp.catalog,
    mcp,
    imports: new ImportJobs(importPool, store),
    requestLog,
  });
  // Each gateway's OAuth authorization server: before the MCP routes, which would take its paths.
  mountOAuth(app, {
    store,
    service: mcp,
    config,
    baseUrl: (req) => baseUrl(config, req),
    signIn,
  });
  const mcpHandler = mountMcp(app, {
    service: mcp,
    auth: new GatewayAuthenticator(store, { jwt: config.jwt, secrets: vault, passwords: signIn }),
    trustedProxies: new Set(config.trustedProxies),
    policy: originPolicy(config.host, config.allowedOrigins, config.publicUrl),
    baseUrl: (req) => baseUrl(config, req),
    limits: {
      maxBodyBytes: config.mcp.maxBodyBytes,
      bodyTimeoutMs: config.bodyTimeoutMs,
      keepAliveMs: config.mcp.keepAliveMs,
      maxBufferedBytes: config.mcp.maxBufferedBytes,
      maxBatch: 100,
      replayEvents: 256,
      streamAfterMs: config.mcp.streamAfterMs,
      streamHoldMs: config.mcp.streamHoldMs,
      streamRetryMs: config.mcp.streamRetryMs,
      streamResumeMs: config.mcp.streamResumeMs,
      maxResumableStreams: 32,
      wsPingSeconds: config.mcp.wsPingSeconds,
      maxConnectionsPerGateway: config.mcp.maxConnectionsPerGateway,
      maxConnectionsPerKey: config.mcp.maxConnectionsPerKey,
    },
  });
  // The admin UI: a client of the routes above, through this app.
  mountUi(app, config);
  const fetch = observed(
    config,
    (req, info) =>
      isMcpRequest(req) ? mcpHandler(req, info?.remoteAddr.hostname) : app.fetch(req, info),
  );
  return { app, fetch, mcp, upstreams, forwarder, importPool, requestLog };
}

/** A handler of the server's requests; `info` is what `Deno.serve` passes. */
export type ServeHandler = (
  req: Request,
  info?: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

const OAUTH_ENDPOINT = /\/oauth\/(authorize|token|register|revoke)$/;

/**
 * True when `req` is for an MCP endpoint, which the server answers without
 * the app's router and middleware chain (about a fifth of a tools/list's CPU
 * time on Streamable HTTP, `bench/README.md`): a path under `/mcp/` that is
 * not a gateway's OAuth endpoint or metadata, which the app's OAuth routes
 * claim.
 */
function isMcpRequest(req: Request): boolean {
  const url = req.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (!url.startsWith("/mcp/", start)) return false;
  const end = url.indexOf("?", start);
  const pathname = end < 0 ? url.slice(start) : url.slice(start, end);
  // An escaped path is left to the router, which decodes it before matching the OAuth routes.
  return !pathname.includes("%") && !pathname.includes("/.well-known/") &&
    !OAUTH_ENDPOINT.test(pathname);
}

/**
 * `handle`, with what the settings add to every request: its span's query
 * redacted (tracing), an id for its log lines and its `X-Request-Id` (JSON
 * logs or request logging), and its request line (request logging).
 */
function observed(config: Config, handle: ServeHandler): ServeHandler {
  let h = handle;
  if (config.logRequests) {
    const inner = h;
    // Path only: query strings may carry an `api_key`, which must never reach a log.
    h = async (req, info) => {
      const start = performance.now();
      const res = await inner(req, info);
      const ms = (performance.now() - start).toFixed(1);
      console.log(`${req.method} ${new URL(req.url).pathname} ${res.status} ${ms}ms`);
      return res;
    };
  }
  if (config.logFormat === "json" || config.logRequests) {
    const inner = h;
    // Outermost, so that every line logged for a request, its request line too, carries its id.
    h = async (req, info) => {
      const id = crypto.randomUUID();
      const res = await withRequestId(id, () => inner(req, info));
      try {
        res.headers.set("x-request-id", id);
      } catch {
        // A response with immutable headers (a WebSocket upgrade) goes out without it.
      }
      return res;
    };
  }
  if (TRACING) {
    const inner = h;
    h = (req, info) => {
      redactRequestSpan(req.url);
      return inner(req, info);
    };
  }
  return h;
}

/** A supervisor whose HTTP upstreams obey each org's outbound policy. */
export function defaultSupervisor(
  store: Store,
  config: Config,
  vault: Vault,
  guard: OutboundGuard = new OutboundGuard(),
  policies: OrgOutboundPolicies = new OrgOutboundPolicies(store),
): Supervisor {
  return new Supervisor({
    secrets: vault,
    allowStdio: config.allowStdio,
    onListed: storeListings(store),
    refreshIntervalMs: config.upstreamRefreshMs,
    check: async (orgId, url, signal) => {
      const { policy, slug } = await policies.get(orgId);
      return await guard.decide(url, policy, signal, slug);
    },
  });
}
