/**
 * Mounts every gateway's OAuth 2.1 authorization server. The issuer of a
 * gateway is its MCP URL, `/mcp/{org}{endpoint}`, and the endpoints sit
 * under it:
 *
 * - `GET {gateway}/.well-known/oauth-authorization-server` and
 *   `GET /.well-known/oauth-authorization-server/mcp/{org}{endpoint}` (RFC 8414);
 * - `GET|POST {gateway}/oauth/authorize` (login and consent pages);
 * - `POST {gateway}/oauth/token`, `POST {gateway}/oauth/register` (RFC 7591),
 *   `POST {gateway}/oauth/revoke` (RFC 7009).
 *
 * These run before the MCP routes, which would otherwise take the path for a
 * gateway endpoint, and without their Host/Origin checks: the pages are for
 * browsers, and the JSON endpoints are called cross-origin by design.
 * A gateway without an `oauth2` auth method has no authorization server: its
 * discovery document and endpoints answer 404.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { PasswordSignIn } from "../auth/sign_in.ts";
import type { Config } from "../config.ts";
import type { McpService, ResolvedGateway } from "../mcp/service.ts";
import type { Store } from "../store/store.ts";
import { OutboundGuard } from "../tools/outbound_policy.ts";
import { BodyTimeoutError } from "../util/body.ts";
import { authorizeGet, authorizePost } from "./authorize.ts";
import { ClientMetadataDocuments } from "./clients.ts";
import type { OAuthRequest, OAuthServices } from "./context.ts";
import { mountOAuthFallback } from "./fallback.ts";
import { errorPage } from "./html.ts";
import { RateLimiter } from "./rate_limit.ts";
import { LoginSessions } from "./sessions.ts";
import { authorizationServerMetadata, gatewayUrls, oauthSettings } from "./settings.ts";
import { oauthError, oauthJson, OPEN_CORS, register, revoke, token } from "./token.ts";

/** What the OAuth routes are built from. */
export interface OAuthRouteDeps {
  store: Store;
  /** Finds gateways by path (shared with the MCP routes, with its cache). */
  service: McpService;
  config: Config;
  /** The base URL for absolute links (public URL, else the request's origin). */
  baseUrl(req: Request): string;
  /** The shared password check (login pages). */
  signIn: PasswordSignIn;
}

/** Where an authorization server's metadata lives under a gateway. */
export const AS_METADATA_SUFFIX = "/.well-known/oauth-authorization-server";
const ENDPOINTS = ["authorize", "token", "register", "revoke"] as const;
type Endpoint = typeof ENDPOINTS[number] | "metadata";

function split(path: string): { org: string; rest: string } | undefined {
  const m = /^\/mcp\/([^/]+)(\/.+)$/.exec(path);
  if (!m) return undefined;
  try {
    return { org: decodeURIComponent(m[1]), rest: m[2] };
  } catch {
    return undefined;
  }
}

/** Mounts the authorization servers on `app`; call before the MCP routes. */
export function mountOAuth(app: Hono, deps: OAuthRouteDeps): void {
  // Only `check` is used (never a pinned client), so the guard holds nothing to close.
  const guard = new OutboundGuard();
  const services: OAuthServices = {
    store: deps.store,
    documents: new ClientMetadataDocuments({
      allowInsecure: deps.config.oauthAllowInsecureCimd === true,
      guard,
    }),
    sessions: new LoginSessions(),
    registrations: new RateLimiter(20, 60_000),
    signIn: deps.signIn,
    documentFetches: new RateLimiter(30, 60_000),
    trustedProxies: new Set(deps.config.trustedProxies),
    bodyTimeoutMs: deps.config.bodyTimeoutMs,
  };
  // Expired codes and tokens are useless; they are deleted now and then, on token requests,
  // a day after expiry (until then a late request is told "expired", not "unknown").
  let pruned = 0;
  const prune = async () => {
    if (Date.now() - pruned < 10 * 60_000) return;
    pruned = Date.now();
    await deps.store.oauth.prune(new Date(Date.now() - 86_400_000).toISOString());
  };

  const context = async (
    c: Context,
    target: ResolvedGateway,
  ): Promise<OAuthRequest | undefined> => {
    const settings = await oauthSettings(deps.store, target.gateway.id);
    if (!settings) return undefined;
    const urls = gatewayUrls(deps.baseUrl(c.req.raw), target.orgSlug, target.gateway.endpoint);
    return { c, req: c.req.raw, target, settings, urls, services };
  };

  const handle = async (c: Context, target: ResolvedGateway, endpoint: Endpoint) => {
    const method = c.req.method;
    if (method === "OPTIONS" && endpoint !== "authorize") {
      return new Response(null, {
        status: 204,
        headers: {
          ...OPEN_CORS,
          "access-control-allow-methods": endpoint === "metadata" ? "GET" : "POST",
          "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
          "access-control-max-age": "600",
        },
      });
    }
    const o = await context(c, target);
    if (!o) {
      const why = "this gateway does not offer OAuth: it has no oauth2 auth method";
      return endpoint === "authorize"
        ? errorPage(404, "Not available", `${why[0].toUpperCase()}${why.slice(1)}.`)
        : oauthError(404, "invalid_request", why);
    }
    const allowed = endpoint === "metadata"
      ? ["GET"]
      : endpoint === "authorize"
      ? ["GET", "POST"]
      : ["POST"];
    if (!allowed.includes(method)) {
      return oauthError(405, "invalid_request", `use ${allowed.join(" or ")} here`, {
        allow: allowed.join(", "),
      });
    }
    try {
      return await serve(o, endpoint, method);
    } catch (err) {
      if (!(err instanceof BodyTimeoutError)) throw err;
      return endpoint === "authorize"
        ? errorPage(
          408,
          "Request timeout",
          `${err.message[0].toUpperCase()}${err.message.slice(1)}.`,
        )
        : oauthError(408, "invalid_request", err.message);
    }
  };

  const serve = async (o: OAuthRequest, endpoint: Endpoint, method: string) => {
    switch (endpoint) {
      case "metadata":
        return oauthJson(authorizationServerMetadata(o.urls, o.settings), 200, {
          "cache-control": "max-age=60",
        });
      case "authorize":
        return method === "GET" ? await authorizeGet(o) : await authorizePost(o);
      case "token":
        await prune();
        return await token(o);
      case "register":
        return await register(o);
      case "revoke":
        return await revoke(o);
    }
  };

  mountOAuthFallback(app, deps.service);

  // RFC 8414 path-inserted form: the issuer's path after the well-known segment.
  app.on(["GET", "OPTIONS"], `${AS_METADATA_SUFFIX}/mcp/*`, async (c) => {
    const parts = split(c.req.path.slice(AS_METADATA_SUFFIX.length));
    const target = parts && await deps.service.resolve(parts.org, parts.rest);
    if (!target) return oauthError(404, "invalid_request", "no MCP gateway at this URL");
    return await handle(c, target, "metadata");
  });

  // Under the gateway: matched here before the MCP routes see the path. A path that names
  // no gateway falls through to them (and their 404).
  app.use("/mcp/*", async (c, next) => {
    const parts = split(c.req.path);
    if (parts) {
      let endpoint: Endpoint | undefined;
      let gatewayPath: string | undefined;
      if (parts.rest.endsWith(AS_METADATA_SUFFIX)) {
        endpoint = "metadata";
        gatewayPath = parts.rest.slice(0, -AS_METADATA_SUFFIX.length);
      } else {
        const m = /^(\/.+)\/oauth\/(authorize|token|register|revoke)$/.exec(parts.rest);
        if (m) {
          endpoint = m[2] as Endpoint;
          gatewayPath = m[1];
        }
      }
      const target = gatewayPath ? await deps.service.resolve(parts.org, gatewayPath) : undefined;
      if (target && endpoint) return await handle(c, target, endpoint);
    }
    await next();
  });
}
