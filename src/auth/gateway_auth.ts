/**
 * Authentication of MCP requests against a gateway's configured methods.
 * Default deny: a gateway with no method refuses everyone; `none` must be
 * chosen explicitly. Methods are tried in the order they were added and the
 * first that accepts the request wins.
 *
 * @module
 */
import { isActive } from "../store/keys.ts";
import type { Store } from "../store/store.ts";
import { hashToken } from "./tokens.ts";

/** Who an accepted MCP request comes from. */
export interface GatewayPrincipal {
  /** Stable id of the credential (a gateway key id, or `anonymous`). */
  id: string;
  /** Which method accepted it. */
  method: string;
  scopes: ReadonlySet<string>;
}

/** Why a request was refused (said in the 401 body; never echoes the credential). */
export interface AuthRefusal {
  reason: string;
}

const ALL_SCOPES: ReadonlySet<string> = new Set(["tools:read", "tools:execute"]);

/** The credential a client presented: `Authorization: Bearer`, `X-API-Key`, or `api_key` query. */
export function presentedKey(req: Request, url: URL): string | undefined {
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  return req.headers.get("x-api-key")?.trim() || url.searchParams.get("api_key") || undefined;
}

/** Checks `key` (possibly absent) against the methods of `gatewayId`. */
export function authenticateGateway(
  store: Store,
  gatewayId: string,
  key: string | undefined,
): GatewayPrincipal | AuthRefusal {
  const methods = store.authMethods.list(gatewayId);
  if (methods.length === 0) {
    return {
      reason: "this gateway has no authentication method configured, so it refuses every request",
    };
  }
  for (const m of methods) {
    if (m.type === "none") return { id: "anonymous", method: "none", scopes: ALL_SCOPES };
    if (m.type === "api_key" && key !== undefined) {
      const stored = store.gatewayKeys.byHash(hashToken(key));
      if (stored && stored.gatewayId === gatewayId && isActive(stored)) {
        return { id: stored.id, method: "api_key", scopes: new Set(stored.scopes) };
      }
    }
  }
  return {
    reason: key === undefined
      ? "missing credentials: send the gateway key as 'Authorization: Bearer <key>'"
      : "invalid, revoked or expired gateway key",
  };
}
