/**
 * Verification of the access tokens a gateway's own authorization server
 * issued: the one function the `oauth2` auth method calls on every MCP request.
 *
 * @module
 */
import { scopesForRole } from "../auth/scopes.ts";
import { hashToken } from "../auth/tokens.ts";
import type { Store } from "../store/store.ts";

/**
 * The principal for a valid, unrevoked, unexpired access token issued for
 * `gatewayId`, or undefined. `id` is the grant (token family) id, stable
 * across refreshes. Scopes are the granted ones, narrowed to `tools:read`
 * when the user has since become a viewer, so a demotion takes effect on the
 * next request rather than at the token's expiry; removal from the org ends
 * the token outright.
 */
export async function verifyOAuthToken(
  store: Store,
  gatewayId: string,
  token: string,
): Promise<{ id: string; clientId: string; scopes: ReadonlySet<string> } | undefined> {
  // Opaque tokens only: anything shaped otherwise cannot be ours, and skipping
  // the lookup keeps other methods' credentials (e.g. JWTs) cheap to refuse here.
  if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
  const access = await store.oauth.activeAccess(gatewayId, hashToken(token));
  if (!access) return undefined;
  return {
    id: access.grantId,
    clientId: access.clientId,
    scopes: new Set(scopesForRole(access.scopes, access.role)),
  };
}

/** Prefix of OAuth access tokens (recognisable in logs and secret scanners; never enough to use one). */
export const ACCESS_TOKEN_PREFIX = "gho_";
/** Prefix of OAuth refresh tokens. */
export const REFRESH_TOKEN_PREFIX = "ghr_";
