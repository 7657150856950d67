/**
 * The token endpoint (authorization_code and refresh_token grants), the
 * revocation endpoint (RFC 7009) and the registration endpoint (RFC 7591).
 * Errors are RFC 6749 JSON (`error` and `error_description`); nothing that
 * carries a token is ever cached.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { parseAuthorization } from "../auth/credentials.ts";
import { scopesForRole } from "../auth/scopes.ts";
import { generateToken, hashToken } from "../auth/tokens.ts";
import type { OAuthGrant } from "../store/oauth.ts";
import { CODE_PREFIX, s256 } from "./authorize.ts";
import {
  ClientLookupError,
  ClientMetadataError,
  registerClient,
  type ResolvedClient,
} from "./clients.ts";
import {
  clientAddress,
  clientOf,
  isMediaType,
  type OAuthRequest,
  readForm,
  readText,
  repeatedParam,
} from "./context.ts";
import { ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX } from "./verify.ts";

/** CORS headers of the endpoints browser-based clients call directly (no cookies involved). */
export const OPEN_CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "www-authenticate, retry-after",
};

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };
const MAX_FORM_BYTES = 64 * 1024;

/** A JSON response that is never cached. */
export function oauthJson(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...NO_STORE, ...OPEN_CORS, ...headers },
  });
}

/** An RFC 6749 error response. */
export function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Response {
  return oauthJson({ error, error_description: description }, status, headers);
}

/** Reads a form-encoded POST body, or answers why not. */
async function formOf(o: OAuthRequest): Promise<URLSearchParams | Response> {
  if (!isMediaType(o.req.headers.get("content-type"), "application/x-www-form-urlencoded")) {
    return oauthError(
      400,
      "invalid_request",
      "the request body must be application/x-www-form-urlencoded",
    );
  }
  const form = await readForm(o, MAX_FORM_BYTES);
  if (!form) {
    return oauthError(400, "invalid_request", `the request body is over ${MAX_FORM_BYTES} bytes`);
  }
  const repeated = repeatedParam(form, [...new Set(form.keys())]);
  if (repeated) {
    return oauthError(400, "invalid_request", `'${repeated}' was given more than once`);
  }
  return form;
}

function sameSecret(presented: string, storedHash: string): boolean {
  const a = new TextEncoder().encode(hashToken(presented));
  const b = new TextEncoder().encode(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Authenticates the client of a token or revocation request: HTTP Basic
 * (`client_secret_basic`), `client_id` and `client_secret` in the body
 * (`client_secret_post`), or `client_id` alone for public clients.
 */
async function authenticateClient(
  o: OAuthRequest,
  form: URLSearchParams,
): Promise<ResolvedClient | Response> {
  const header = o.req.headers.get("authorization");
  let basic: { id: string; secret: string } | undefined;
  if (header && /^basic\b/i.test(header)) {
    const auth = parseAuthorization(header);
    try {
      if (auth?.scheme !== "basic") throw new Error("not Basic credentials");
      // RFC 6749 section 2.3.1: both parts are form-urlencoded before being joined.
      const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
      basic = { id: dec(auth.user), secret: dec(auth.password) };
    } catch {
      return invalidClient("the Authorization header is not valid HTTP Basic credentials", true);
    }
  }
  const formId = form.get("client_id") ?? undefined;
  const formSecret = form.get("client_secret") ?? undefined;
  if (basic && formSecret !== undefined) {
    return oauthError(400, "invalid_request", "use one client authentication method, not two");
  }
  if (basic && formId !== undefined && formId !== basic.id) {
    return oauthError(400, "invalid_request", "client_id differs from the Basic credentials");
  }
  const clientId = basic?.id ?? formId;
  if (!clientId) {
    return invalidClient("client authentication failed: no client_id was sent", false);
  }
  let client: ResolvedClient;
  try {
    client = await clientOf(o, clientId);
  } catch (err) {
    if (!(err instanceof ClientLookupError)) throw err;
    return invalidClient(`client authentication failed: ${err.message}`, basic !== undefined);
  }
  const secret = basic?.secret ?? formSecret;
  if (client.secretHash === null) {
    if (secret !== undefined && secret !== "") {
      return invalidClient("this client is public and has no secret; send client_id only", !!basic);
    }
    return client;
  }
  if (secret === undefined || !sameSecret(secret, client.secretHash)) {
    return invalidClient(
      secret === undefined
        ? "client authentication failed: this client must authenticate with its client_secret"
        : "client authentication failed: wrong client_secret",
      basic !== undefined,
    );
  }
  return client;
}

function invalidClient(description: string, basic: boolean): Response {
  // RFC 6749 section 5.2: a failed Basic attempt gets the challenge back.
  return oauthError(
    401,
    "invalid_client",
    description,
    basic ? { "www-authenticate": 'Basic realm="gatehouse-oauth"' } : {},
  );
}

async function grantTypesOf(o: OAuthRequest, client: ResolvedClient): Promise<string[]> {
  if (client.source !== "registered") return ["authorization_code", "refresh_token"];
  const stored = await o.services.store.oauth.getClient(o.target.gateway.id, client.clientId);
  const types = stored?.metadata.grant_types;
  return Array.isArray(types) ? types as string[] : ["authorization_code", "refresh_token"];
}

function sameResource(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** `POST .../oauth/token`. */
export async function token(o: OAuthRequest): Promise<Response> {
  const form = await formOf(o);
  if (form instanceof Response) return form;
  const grantType = form.get("grant_type");
  if (!grantType) return oauthError(400, "invalid_request", "grant_type is required");
  if (grantType !== "authorization_code" && grantType !== "refresh_token") {
    return oauthError(
      400,
      "unsupported_grant_type",
      `grant_type '${grantType}' is not supported; use authorization_code or refresh_token`,
    );
  }
  const client = await authenticateClient(o, form);
  if (client instanceof Response) return client;
  if (!(await grantTypesOf(o, client)).includes(grantType)) {
    return oauthError(
      400,
      "unauthorized_client",
      `this client did not register the ${grantType} grant type`,
    );
  }
  const resource = form.get("resource");
  if (resource !== null && !sameResource(resource, o.urls.resource)) {
    return oauthError(
      400,
      "invalid_target",
      `resource must be this gateway's URL (${o.urls.resource})`,
    );
  }
  return grantType === "authorization_code"
    ? await codeGrant(o, client, form)
    : await refreshGrant(o, client, form);
}

async function codeGrant(
  o: OAuthRequest,
  client: ResolvedClient,
  form: URLSearchParams,
): Promise<Response> {
  const code = form.get("code");
  const verifier = form.get("code_verifier");
  if (!code) return oauthError(400, "invalid_request", "code is required");
  if (!verifier) {
    return oauthError(400, "invalid_request", "code_verifier is required (PKCE)");
  }
  const store = o.services.store.oauth;
  const found = code.startsWith(CODE_PREFIX) ? await store.redeemCode(hashToken(code)) : undefined;
  if (!found || found.grant.gatewayId !== o.target.gateway.id) {
    return oauthError(400, "invalid_grant", "the authorization code is unknown");
  }
  const { code: stored, grant } = found;
  if (stored.usedAt !== null) {
    // RFC 6749 section 4.1.2: a code used twice may have been stolen; what it issued is revoked.
    await store.revokeGrant(grant.id);
    return oauthError(
      400,
      "invalid_grant",
      "the authorization code was already used; the tokens issued for it have been revoked",
    );
  }
  if (stored.expiresAt <= new Date().toISOString()) {
    return oauthError(
      400,
      "invalid_grant",
      "the authorization code has expired (codes live 10 minutes)",
    );
  }
  if (grant.revokedAt !== null) {
    return oauthError(400, "invalid_grant", "the authorization has been revoked");
  }
  if (grant.clientId !== client.clientId) {
    return oauthError(400, "invalid_grant", "the authorization code was issued to another client");
  }
  const redirectUri = form.get("redirect_uri");
  if (redirectUri !== null && redirectUri !== stored.redirectUri) {
    return oauthError(
      400,
      "invalid_grant",
      "redirect_uri does not match the one of the authorization request",
    );
  }
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
    return oauthError(
      400,
      "invalid_grant",
      "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
    );
  }
  const challenge = new TextEncoder().encode(s256(verifier));
  const expected = new TextEncoder().encode(stored.codeChallenge);
  if (challenge.length !== expected.length || !timingSafeEqual(challenge, expected)) {
    return oauthError(
      400,
      "invalid_grant",
      "code_verifier does not match the code_challenge (PKCE check failed)",
    );
  }
  const role = await o.services.store.orgs.roleOf(o.target.gateway.orgId, grant.userId);
  if (!role) {
    return oauthError(400, "invalid_grant", "the user is no longer a member of this organization");
  }
  return await issueTokens(o, grant, scopesForRole(grant.scopes, role), client);
}

async function refreshGrant(
  o: OAuthRequest,
  client: ResolvedClient,
  form: URLSearchParams,
): Promise<Response> {
  const raw = form.get("refresh_token");
  if (!raw) return oauthError(400, "invalid_request", "refresh_token is required");
  const store = o.services.store.oauth;
  const hash = hashToken(raw);
  const found = raw.startsWith(REFRESH_TOKEN_PREFIX) ? await store.token(hash) : undefined;
  if (!found || found.kind !== "refresh" || found.grant.gatewayId !== o.target.gateway.id) {
    return oauthError(400, "invalid_grant", "the refresh token is unknown");
  }
  const { grant } = found;
  if (grant.clientId !== client.clientId) {
    return oauthError(400, "invalid_grant", "the refresh token was issued to another client");
  }
  if (grant.revokedAt !== null || found.revokedAt !== null) {
    return oauthError(400, "invalid_grant", "the refresh token has been revoked");
  }
  if (found.usedAt !== null || !await store.useRefreshToken(hash)) {
    // A rotated-out token came back: either the client or a thief holds a copy. Revoke the family.
    await store.revokeGrant(grant.id);
    return oauthError(
      400,
      "invalid_grant",
      "the refresh token was already used; every token of this authorization has been revoked",
    );
  }
  if (found.expiresAt <= new Date().toISOString()) {
    return oauthError(400, "invalid_grant", "the refresh token has expired");
  }
  const role = await o.services.store.orgs.roleOf(o.target.gateway.orgId, grant.userId);
  if (!role) {
    await store.revokeGrant(grant.id);
    return oauthError(400, "invalid_grant", "the user is no longer a member of this organization");
  }
  let scopes = scopesForRole(found.scopes, role);
  const asked = form.get("scope");
  if (asked !== null) {
    const wanted = asked.split(" ").filter(Boolean);
    const extra = wanted.find((s) => !scopes.includes(s));
    if (extra !== undefined) {
      return oauthError(
        400,
        "invalid_scope",
        `scope '${extra}' was not granted to this refresh token`,
      );
    }
    scopes = scopes.filter((s) => wanted.includes(s));
  }
  if (scopes.length === 0) {
    return oauthError(400, "invalid_scope", "no scope is left to grant");
  }
  return await issueTokens(o, grant, scopes, client);
}

async function issueTokens(
  o: OAuthRequest,
  grant: OAuthGrant,
  scopes: string[],
  client: ResolvedClient,
): Promise<Response> {
  const store = o.services.store;
  const access = generateToken(ACCESS_TOKEN_PREFIX);
  const withRefresh = (await grantTypesOf(o, client)).includes("refresh_token");
  const refresh = withRefresh ? generateToken(REFRESH_TOKEN_PREFIX) : undefined;
  const at = Date.now();
  const iso = (seconds: number) => new Date(at + seconds * 1000).toISOString();
  await store.tx(async () => {
    await store.oauth.addToken(
      grant.id,
      "access",
      hashToken(access),
      iso(o.settings.accessTtlSeconds),
      scopes,
    );
    if (refresh) {
      await store.oauth.addToken(
        grant.id,
        "refresh",
        hashToken(refresh),
        iso(o.settings.refreshTtlSeconds),
        scopes,
      );
    }
  });
  const body: Record<string, unknown> = {
    access_token: access,
    token_type: "Bearer",
    expires_in: o.settings.accessTtlSeconds,
    scope: scopes.join(" "),
  };
  if (refresh) body.refresh_token = refresh;
  return oauthJson(body);
}

/** `POST .../oauth/revoke` (RFC 7009): 200 whether or not the token was known. */
export async function revoke(o: OAuthRequest): Promise<Response> {
  const form = await formOf(o);
  if (form instanceof Response) return form;
  const raw = form.get("token");
  if (!raw) return oauthError(400, "invalid_request", "token is required");
  const client = await authenticateClient(o, form);
  if (client instanceof Response) return client;
  const store = o.services.store.oauth;
  const hash = hashToken(raw);
  const found = await store.token(hash);
  if (found && found.grant.gatewayId === o.target.gateway.id) {
    if (found.grant.clientId !== client.clientId) {
      // RFC 7009 section 2.1: a client may only revoke its own tokens.
      return oauthError(400, "invalid_request", "the token was not issued to this client");
    }
    // A refresh token stands for the whole authorization; an access token only for itself.
    if (found.kind === "refresh") await store.revokeGrant(found.grant.id);
    else await store.revokeToken(hash);
  }
  return oauthJson({}, 200);
}

/** `POST .../oauth/register` (RFC 7591), rate-limited per IP address. */
export async function register(o: OAuthRequest): Promise<Response> {
  const wait = o.services.registrations.take(clientAddress(o.c, o.services.trustedProxies));
  if (wait > 0) {
    return oauthError(
      429,
      "temporarily_unavailable",
      `too many client registrations from this address; try again in ${wait} seconds`,
      { "retry-after": String(wait) },
    );
  }
  if (!isMediaType(o.req.headers.get("content-type"), "application/json")) {
    return oauthError(
      400,
      "invalid_client_metadata",
      "the registration must be a JSON object sent as application/json",
    );
  }
  const text = await readText(o, MAX_FORM_BYTES);
  if (text === undefined) {
    return oauthError(
      400,
      "invalid_client_metadata",
      `the registration is over ${MAX_FORM_BYTES} bytes`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return oauthError(400, "invalid_client_metadata", "the registration is not valid JSON");
  }
  try {
    const { response } = await registerClient(o.services.store, o.target.gateway.id, body);
    return oauthJson(response, 201);
  } catch (err) {
    if (!(err instanceof ClientMetadataError)) throw err;
    return oauthError(400, err.error, err.message);
  }
}
