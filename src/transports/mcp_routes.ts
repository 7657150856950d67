/**
 * The `/mcp/{org}{endpoint}` URL space: finds the gateway, applies the
 * Host/Origin guard and the gateway's authentication, and hands the request
 * to the transport its path names. Also serves each gateway's OAuth
 * protected-resource metadata (RFC 9728), which is public.
 *
 * @module
 */
import type { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { presentedCredentials, type TransportKind } from "../auth/credentials.ts";
import type { GatewayAuthenticator } from "../auth/gateway_auth.ts";
import { ErrorCode, messageBytes } from "../mcp/jsonrpc.ts";
import { peerAddress } from "../oauth/context.ts";
import { StoreUnavailable } from "../store/sql.ts";
import { OAUTH_SCOPES, oauthSettings } from "../oauth/settings.ts";
import type { McpService, ResolvedGateway } from "../mcp/service.ts";
import type { RequestRecord, TransportName } from "../telemetry/requests.ts";
import { type McpCall, observationOf, type TransportLimits } from "./call.ts";
import { ConnectionLimiter } from "./connection_limits.ts";
import { checkOrigin, type OriginPolicy } from "./guards.ts";
import { jsonResponse, rpcErrorResponse, storeUnavailableResponse } from "./responses.ts";
import { SseTransport } from "./sse_transport.ts";
import { StreamableHttpTransport } from "./streamable_http.ts";
import { WebSocketTransport } from "./websocket.ts";

/** What the MCP routes are built from. */
export interface McpRouteDeps {
  service: McpService;
  limits: TransportLimits;
  policy: OriginPolicy;
  /** The base URL for absolute links (public URL, else the request's origin). */
  baseUrl(req: Request): string;
  /** Checks each request's credential against its gateway's auth methods. */
  auth: GatewayAuthenticator;
  /** Reverse proxies whose `X-Forwarded-For` names the client (for `allowedIpRanges`). */
  trustedProxies: ReadonlySet<string>;
}

const PRM_SUFFIX = "/.well-known/oauth-protected-resource";
const CORS_ALLOW_HEADERS =
  "authorization, content-type, accept, x-api-key, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id";
// A browser client reads a rate limit's answer too: when to retry, and the limit's policy.
const CORS_EXPOSE_HEADERS =
  "mcp-session-id, www-authenticate, retry-after, ratelimit, ratelimit-policy";

/** Splits `/mcp/{org}/{rest}` into the org slug and the rest (with its leading slash). */
function splitPath(pathname: string): { org: string; rest: string } | undefined {
  const m = /^\/mcp\/([^/]+)(\/.+)$/.exec(pathname);
  return m ? { org: decodeURIComponent(m[1]), rest: m[2] } : undefined;
}

/** An MCP path taken apart: its org, the rest, and the endpoint and transport the rest names. */
interface Route {
  org: string;
  rest: string;
  endpoint: string;
  kind: TransportKind;
}

/** Paths seen, taken apart once: a server sees few distinct ones (null: no MCP path). */
const routes = new Map<string, Route | null>();

function routeOf(path: string): Route | undefined {
  let route = routes.get(path);
  if (route === undefined) {
    const parts = splitPath(path);
    // The last path segment may name a transport; endpoints never end with one.
    const m = parts && /^(.*)\/(sse|messages|ws)$/.exec(parts.rest);
    route = parts
      ? { ...parts, kind: (m ? m[2] : "http") as TransportKind, endpoint: m ? m[1] : parts.rest }
      : null;
    // Bounded: arbitrary paths must not grow memory without end.
    if (routes.size >= 1024) routes.clear();
    routes.set(path, route);
  }
  return route ?? undefined;
}

function metadataUrl(base: string, target: ResolvedGateway): string {
  return `${base}${PRM_SUFFIX}/mcp/${target.orgSlug}${target.gateway.endpoint}`;
}

/**
 * Answers one request under `/mcp/`; `peer` is the connection's remote
 * address. Every MCP request comes here, so it is a plain function the server
 * may call without the app's router (see `createApp`).
 */
export type McpHandler = (req: Request, peer: string | undefined) => Promise<Response>;

/**
 * Mounts the MCP endpoints and the protected-resource metadata on `app`, and
 * returns the handler of the MCP endpoints.
 */
export function mountMcp(app: Hono, deps: McpRouteDeps): McpHandler {
  const http = new StreamableHttpTransport();
  const limiter = new ConnectionLimiter(
    deps.limits.maxConnectionsPerGateway,
    deps.limits.maxConnectionsPerKey,
  );
  const sse = new SseTransport(limiter);
  const ws = new WebSocketTransport(limiter);

  const metadata = async (req: Request, target: ResolvedGateway) => {
    const base = deps.baseUrl(req);
    const resource = `${base}/mcp/${target.orgSlug}${target.gateway.endpoint}`;
    // With an oauth2 method the gateway is its own authorization server, whose issuer
    // identifier is the gateway URL (so RFC 8414's path-inserted metadata URL resolves).
    const oauth = await oauthSettings(deps.service.store, target.gateway.id);
    return jsonResponse(
      {
        resource,
        authorization_servers: oauth ? [resource] : [],
        scopes_supported: oauth?.scopes ?? [...OAUTH_SCOPES],
        bearer_methods_supported: ["header"],
        resource_name: target.gateway.name,
      },
      200,
      { "access-control-allow-origin": "*", "cache-control": "max-age=300" },
    );
  };

  app.get(`${PRM_SUFFIX}/mcp/*`, async (c) => {
    const parts = splitPath(c.req.path.slice(PRM_SUFFIX.length));
    const target = parts && await deps.service.resolve(parts.org, parts.rest);
    return target ? await metadata(c.req.raw, target) : notFoundResponse();
  });

  // One async function from here to the transport: each layer of promises costs on every request.
  const handle: McpHandler = async (req, peer) => {
    try {
      const parts = routeOf(getPath(req));
      if (!parts) return notFoundResponse();
      if (parts.rest.endsWith(PRM_SUFFIX)) {
        const target = await deps.service.resolve(
          parts.org,
          parts.rest.slice(0, -PRM_SUFFIX.length),
        );
        return target && req.method === "GET" ? await metadata(req, target) : notFoundResponse();
      }
      const origin = req.headers.get("origin");
      const refusal = checkOrigin(req.headers.get("host"), origin, deps.policy);
      if (refusal) return rpcErrorResponse(403, ErrorCode.InvalidRequest, refusal);
      if (req.method === "OPTIONS") {
        return new Response(null, {
          status: 204,
          headers: {
            ...corsHeaders(origin),
            "access-control-allow-methods": "GET, POST, DELETE",
            "access-control-allow-headers": CORS_ALLOW_HEADERS,
            "access-control-max-age": "600",
          },
        });
      }
      const { kind, endpoint } = parts;
      // From memory once looked up: no await then (every MCP request comes here).
      const resolving = deps.service.resolve(parts.org, endpoint);
      const target = resolving instanceof Promise ? await resolving : resolving;
      if (!target) return notFoundResponse();
      const started = performance.now();
      let address: string | undefined;
      const clientAddress = () => address ??= peerAddress(peer, req.headers, deps.trustedProxies);
      const authenticating = deps.auth.authenticate(target.gateway, {
        presented: presentedCredentials(req, kind),
        headers: req.headers,
        clientAddress,
      });
      const auth = authenticating instanceof Promise ? await authenticating : authenticating;
      if ("reason" in auth) {
        const message = `Unauthorized: ${auth.reason}`;
        if (deps.service.telemetry.active) {
          deps.service.telemetry.record(
            deniedRecord(req, target, transportOf(kind), started, message),
          );
        }
        return rpcErrorResponse(401, ErrorCode.InvalidRequest, message, {
          ...corsHeaders(origin),
          "www-authenticate": wwwAuthenticate(
            metadataUrl(deps.baseUrl(req), target),
            req,
            await deps.auth.acceptsBasic(target.gateway) ? target.gateway.name : undefined,
          ),
        });
      }
      const transport = transportOf(kind);
      // Without a credential, the client's address is who a request is (for limits and records).
      const anonymous = auth.method === "none" ? clientAddress() : undefined;
      const call: McpCall = {
        req,
        service: deps.service,
        target,
        principal: auth,
        limits: deps.limits,
        observe: observationOf(req, target, auth, transport, anonymous),
        limitKey: anonymous === undefined ? auth.id : `address:${anonymous}`,
      };
      if (kind === "ws") return ws.upgrade(call);
      let answering: Response | Promise<Response>;
      if (kind === "sse") answering = sse.open(call, `/mcp/${parts.org}${endpoint}/messages`);
      else if (kind === "messages") answering = sse.post(call);
      else answering = http.handle(call);
      const res = answering instanceof Promise ? await answering : answering;
      if (origin !== null) {
        for (const [k, v] of Object.entries(corsHeaders(origin))) res.headers.set(k, v);
      }
      return res;
    } catch (err) {
      // Requests that need the database while it is unreachable get a JSON-RPC error, not a crash.
      if (err instanceof StoreUnavailable) return storeUnavailableResponse();
      throw err;
    }
  };
  app.all(
    "/mcp/*",
    (c) => handle(c.req.raw, (c.env as ServeInfo | undefined)?.remoteAddr?.hostname),
  );
  return handle;
}

/** What `Deno.serve` passes the app as its env (Hono's `c.env`): the peer's address. */
type ServeInfo = { remoteAddr?: { hostname?: string } };

/** The CORS headers of an answer to a browser's request from `origin`. */
function corsHeaders(origin: string | null): Record<string, string> {
  return origin === null ? {} : {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": CORS_EXPOSE_HEADERS,
    vary: "origin",
  };
}

/**
 * The 401 challenge (RFC 6750, RFC 9728 section 5.1): where the
 * protected-resource metadata is and which scopes to ask for, so an OAuth
 * client can start from nothing but the URL; `invalid_token` when a token was
 * sent and refused.
 */
function wwwAuthenticate(metadata: string, req: Request, basicRealm?: string): string {
  let challenge = `Bearer resource_metadata="${metadata}", scope="${OAUTH_SCOPES.join(" ")}"`;
  if (req.headers.has("authorization")) challenge += `, error="invalid_token"`;
  // A gateway with a basic method also asks for Basic (RFC 7617), so curl and browsers can; the
  // realm is the gateway's name, kept to printable ASCII without quotes (a header value).
  if (basicRealm === undefined) return challenge;
  return `${challenge}, Basic realm="${basicRealm.replace(/[^ -~]|["\\]/g, "")}", charset="UTF-8"`;
}

/** The transport of the request log a path's transport kind belongs to. */
function transportOf(kind: TransportKind): TransportName {
  return kind === "ws" || kind === "http" ? kind : "sse";
}

/**
 * The record of a request refused for its credential, before its body was
 * read: its method is unknown (empty), its size is what it declared.
 */
function deniedRecord(
  req: Request,
  target: ResolvedGateway,
  transport: TransportName,
  started: number,
  message: string,
): RequestRecord {
  const declared = Number(req.headers.get("content-length"));
  const error = { code: ErrorCode.InvalidRequest, message };
  return {
    at: Date.now(),
    orgId: target.gateway.orgId,
    gatewayId: target.gateway.id,
    transport,
    protocolVersion: req.headers.get("mcp-protocol-version"),
    method: "",
    name: null,
    caller: { id: "", method: "" },
    sessionId: req.headers.get("mcp-session-id"),
    status: "denied",
    errorCode: error.code,
    limit: null,
    durationMs: performance.now() - started,
    bytesIn: Number.isSafeInteger(declared) && declared > 0 ? declared : 0,
    bytesOut: messageBytes({ jsonrpc: "2.0", id: null, error }),
    upstream: null,
  };
}

function notFoundResponse(): Response {
  return rpcErrorResponse(404, ErrorCode.InvalidRequest, "Not Found: no MCP gateway at this URL");
}
