/**
 * What a gateway's `oauth2` auth method says about its authorization server
 * (token lifetimes, the scopes it offers), and the URLs of that server.
 *
 * @module
 */
import { GATEHOUSE_SCOPES } from "../auth/scopes.ts";
import type { Store } from "../store/store.ts";

/** The scopes an authorization server may offer: all of Gatehouse's, in the order they are shown. */
export const OAUTH_SCOPES = GATEHOUSE_SCOPES;
/** What each scope lets a client do, for the consent page. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  "tools:read": "See the list of tools this gateway offers",
  "tools:execute": "Run those tools on your behalf",
};
/** Default access token lifetime: one hour. */
export const DEFAULT_ACCESS_TTL_SECONDS = 3600;
/** Default refresh token lifetime: 30 days. */
export const DEFAULT_REFRESH_TTL_SECONDS = 30 * 86400;
/** Authorization codes live ten minutes and work once. */
export const CODE_TTL_SECONDS = 600;

/** The effective settings of a gateway's `oauth2` method. */
export interface OAuthSettings {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** Scopes this gateway's authorization server may grant (a subset of {@link OAUTH_SCOPES}). */
  scopes: string[];
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/**
 * The settings of `gatewayId`'s `oauth2` method, or undefined when the
 * gateway has none (its authorization server then does not exist). The
 * configuration is validated when the method is added; this reads it
 * defensively anyway, so a hand-edited row cannot break token issuance.
 */
export async function oauthSettings(
  store: Store,
  gatewayId: string,
): Promise<OAuthSettings | undefined> {
  const method = (await store.authMethods.list(gatewayId)).find((m) => m.type === "oauth2");
  if (!method) return undefined;
  const c = method.configuration;
  const scopes = Array.isArray(c.scopes)
    ? OAUTH_SCOPES.filter((s) => (c.scopes as unknown[]).includes(s))
    : [...OAUTH_SCOPES];
  return {
    accessTtlSeconds: positiveInt(c.accessTokenTtlSeconds, DEFAULT_ACCESS_TTL_SECONDS),
    refreshTtlSeconds: positiveInt(c.refreshTokenTtlSeconds, DEFAULT_REFRESH_TTL_SECONDS),
    scopes: scopes.length > 0 ? scopes : [...OAUTH_SCOPES],
  };
}

/** The absolute URLs of one gateway's authorization server. */
export interface GatewayUrls {
  /** The gateway's MCP URL: the protected resource, and the issuer identifier. */
  resource: string;
  issuer: string;
  authorize: string;
  token: string;
  register: string;
  revoke: string;
  /** RFC 8414 metadata at the RFC's path-inserted location. */
  metadata: string;
  /** RFC 9728 protected-resource metadata at the path-inserted location. */
  protectedResourceMetadata: string;
}

/** Suffix of the OAuth endpoints under a gateway's MCP URL. */
export const OAUTH_PATH = "/oauth";

/** The URLs of the gateway at `/mcp/{orgSlug}{endpoint}` under `base` (no trailing slash). */
export function gatewayUrls(base: string, orgSlug: string, endpoint: string): GatewayUrls {
  const path = `/mcp/${orgSlug}${endpoint}`;
  const resource = `${base}${path}`;
  return {
    resource,
    issuer: resource,
    authorize: `${resource}${OAUTH_PATH}/authorize`,
    token: `${resource}${OAUTH_PATH}/token`,
    register: `${resource}${OAUTH_PATH}/register`,
    revoke: `${resource}${OAUTH_PATH}/revoke`,
    metadata: `${base}/.well-known/oauth-authorization-server${path}`,
    protectedResourceMetadata: `${base}/.well-known/oauth-protected-resource${path}`,
  };
}

/** RFC 8414 authorization server metadata of a gateway. */
export function authorizationServerMetadata(
  urls: GatewayUrls,
  settings: OAuthSettings,
): Record<string, unknown> {
  return {
    issuer: urls.issuer,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    registration_endpoint: urls.register,
    revocation_endpoint: urls.revoke,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_post", "client_secret_basic"],
    revocation_endpoint_auth_methods_supported: [
      "none",
      "client_secret_post",
      "client_secret_basic",
    ],
    scopes_supported: settings.scopes,
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}
