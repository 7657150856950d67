/**
 * The authorization endpoint: `GET` validates the request and shows the
 * login page (or, once signed in, the consent page); `POST` handles those
 * forms. Until the client and its redirect URI are known to be genuine,
 * errors are shown as pages and never redirected (RFC 6749 section 4.1.2.1);
 * after that they go back to the client with `error`, `error_description`
 * and `state`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { scopesForRole } from "../auth/scopes.ts";
import { generateToken, hashToken } from "../auth/tokens.ts";
import type { Role } from "../store/orgs.ts";
import { ClientLookupError } from "./clients.ts";
import {
  clientAddress,
  clientOf,
  isMediaType,
  type OAuthRequest,
  readForm,
  repeatedParam,
} from "./context.ts";
import { errorPage, html, pageResponse, type SafeHtml } from "./html.ts";
import {
  type LoginSession,
  type PendingAuthorization,
  readCookie,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  sessionCookie,
} from "./sessions.ts";
import { CODE_TTL_SECONDS, OAUTH_PATH, OAUTH_SCOPES, SCOPE_DESCRIPTIONS } from "./settings.ts";

/** Prefix of authorization codes. */
export const CODE_PREFIX = "ghac_";
/** Scope values accepted and ignored: refresh tokens are issued without being asked for. */
const IGNORED_SCOPES = new Set(["offline_access"]);
const AUTHORIZE_PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "state",
  "scope",
  "code_challenge",
  "code_challenge_method",
  "resource",
];

/** Thrown once the redirect URI is trusted: the error goes back to the client. */
class RedirectError extends Error {
  constructor(readonly error: string, description: string) {
    super(description);
  }
}

/** `uri` with `params` added to its query (existing query parameters are kept). */
function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

function redirect(location: string, status: number, headers: Record<string, string> = {}) {
  return new Response(null, {
    status,
    headers: {
      location,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      ...headers,
    },
  });
}

/** The redirect that reports `error` to the client. */
function errorRedirect(
  o: OAuthRequest,
  request: { redirectUri: string; state: string | undefined },
  error: string,
  description: string,
  status = 302,
): Response {
  return redirect(
    withParams(request.redirectUri, {
      error,
      error_description: description,
      state: request.state,
      iss: o.urls.issuer,
    }),
    status,
  );
}

function sameResource(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** Checks the parameters that need no trusted redirect URI; throws {@link RedirectError}. */
function checkRequest(o: OAuthRequest, p: URLSearchParams): {
  scopes: string[];
  resource: string;
  codeChallenge: string;
} {
  const repeated = repeatedParam(p, AUTHORIZE_PARAMS);
  if (repeated) {
    throw new RedirectError("invalid_request", `'${repeated}' was given more than once`);
  }
  const responseType = p.get("response_type");
  if (responseType !== "code") {
    throw new RedirectError(
      "unsupported_response_type",
      responseType
        ? `response_type '${responseType}' is not supported; use 'code'`
        : "response_type is required and must be 'code'",
    );
  }
  const challenge = p.get("code_challenge");
  if (!challenge) {
    throw new RedirectError(
      "invalid_request",
      "code_challenge is required: this server requires PKCE with code_challenge_method S256",
    );
  }
  const method = p.get("code_challenge_method");
  if (method !== "S256") {
    throw new RedirectError(
      "invalid_request",
      method
        ? `code_challenge_method '${method}' is not accepted; only S256 is (plain PKCE is refused)`
        : "code_challenge_method is required and must be S256 (plain PKCE is refused)",
    );
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    throw new RedirectError(
      "invalid_request",
      "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)",
    );
  }
  const resources = p.getAll("resource");
  const resource = resources[0] ?? o.urls.resource;
  if (!sameResource(resource, o.urls.resource)) {
    throw new RedirectError(
      "invalid_target",
      `resource must be this gateway's URL (${o.urls.resource})`,
    );
  }
  const asked = (p.get("scope") ?? "").split(" ").filter(Boolean);
  const unknown = asked.filter((s) =>
    !(OAUTH_SCOPES as readonly string[]).includes(s) && !IGNORED_SCOPES.has(s)
  );
  if (unknown.length > 0) {
    throw new RedirectError(
      "invalid_scope",
      `unknown scope '${unknown[0]}'; this gateway offers: ${o.settings.scopes.join(" ")}`,
    );
  }
  const known = asked.filter((s) => !IGNORED_SCOPES.has(s));
  const scopes = known.length === 0
    ? [...o.settings.scopes]
    : o.settings.scopes.filter((s) => known.includes(s));
  if (scopes.length === 0) {
    throw new RedirectError(
      "invalid_scope",
      `none of the requested scopes is offered; this gateway offers: ${
        o.settings.scopes.join(" ")
      }`,
    );
  }
  return { scopes, resource: o.urls.resource, codeChallenge: challenge };
}

/** `GET .../oauth/authorize`. */
export async function authorizeGet(o: OAuthRequest): Promise<Response> {
  const p = new URL(o.req.url).searchParams;
  const clientId = p.get("client_id");
  if (!clientId || p.getAll("client_id").length > 1) {
    return errorPage(400, "Invalid request", "The request names no application (client_id).");
  }
  let client;
  try {
    client = await clientOf(o, clientId);
  } catch (err) {
    if (!(err instanceof ClientLookupError)) throw err;
    return errorPage(
      400,
      "Unknown application",
      `The application could not be identified: ${err.message}.`,
    );
  }
  const redirectUris = p.getAll("redirect_uri");
  if (redirectUris.length > 1) {
    return errorPage(400, "Invalid request", "redirect_uri was given more than once.");
  }
  let redirectUri = redirectUris[0];
  if (redirectUri === undefined) {
    if (client.redirectUris.length !== 1) {
      return errorPage(
        400,
        "Invalid request",
        "The request has no redirect_uri and the application registered several.",
      );
    }
    redirectUri = client.redirectUris[0];
  } else if (!client.redirectUris.includes(redirectUri)) {
    // Exact string match (RFC 6749 section 3.1.2.3 as tightened by OAuth 2.1); never redirect here.
    return errorPage(
      400,
      "Invalid redirect URI",
      "The redirect_uri does not exactly match any redirect URI registered for this application.",
    );
  }
  const state = p.get("state") ?? undefined;
  let checked;
  try {
    checked = checkRequest(o, p);
  } catch (err) {
    if (!(err instanceof RedirectError)) throw err;
    return errorRedirect(
      o,
      { redirectUri, state: p.getAll("state").length > 1 ? undefined : state },
      err.error,
      err.message,
    );
  }
  const request: PendingAuthorization = {
    clientId: client.clientId,
    clientName: client.clientName,
    clientSource: client.source,
    redirectUri,
    state,
    codeChallenge: checked.codeChallenge,
    scopes: checked.scopes,
    resource: checked.resource,
  };
  const sessions = o.services.sessions;
  let session = sessions.get(
    readCookie(o.req.headers.get("cookie"), SESSION_COOKIE),
    o.target.gateway.id,
  );
  session ??= sessions.create(o.target.gateway.id);
  const role = await memberRole(o, session);
  if (session.userId && role) return await consentPage(o, session, request, role);
  return loginPage(o, session, request);
}

async function memberRole(o: OAuthRequest, session: LoginSession): Promise<Role | undefined> {
  return session.userId
    ? await o.services.store.orgs.roleOf(o.target.gateway.orgId, session.userId)
    : undefined;
}

function cookieHeaders(o: OAuthRequest, session: LoginSession): Record<string, string> {
  const path = new URL(o.urls.resource).pathname + OAUTH_PATH;
  const secure = o.urls.issuer.startsWith("https:") || new URL(o.req.url).protocol === "https:";
  return {
    "set-cookie": sessionCookie(session.id, path, secure, Math.floor(SESSION_TTL_MS / 1000)),
  };
}

function clientLabel(request: PendingAuthorization): string {
  return request.clientName?.trim() || "An unnamed application";
}

function whoIsAsking(o: OAuthRequest, request: PendingAuthorization): SafeHtml {
  const host = new URL(request.redirectUri).host;
  const source = request.clientSource === "metadata_document"
    ? html`identified by <code>${request.clientId}</code>`
    : html`a self-registered application (its name is not verified)`;
  return html`<p><strong>${clientLabel(request)}</strong> (${source}) wants access to the
gateway <strong>${o.target.gateway.name}</strong> at <code>${o.urls.resource}</code>.
It will be sent back to <code>${host}</code>.</p>`;
}

function loginPage(
  o: OAuthRequest,
  session: LoginSession,
  request: PendingAuthorization,
  opts: { error?: string; email?: string; status?: number } = {},
): Response {
  const token = o.services.sessions.issueForm(session, "login", request);
  const body = html`
    <h1>Sign in to ${o.target.gateway.name}</h1>
    ${whoIsAsking(o, request)}
    ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
    <form method="post" action="authorize">
      <input type="hidden" name="form_token" value="${token}">
      <input type="hidden" name="action" value="login">
      <label for="email">Email</label>
      <input type="email" id="email" name="email" autocomplete="username" required value="${opts
        .email ?? ""}">
      <label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    <p
      class="note">Use your Gatehouse account. An owner or admin of the organization sets up access.</p>
  `;
  return pageResponse(`Sign in · ${o.target.gateway.name}`, body, {
    status: opts.status,
    headers: cookieHeaders(o, session),
  });
}

async function consentPage(
  o: OAuthRequest,
  session: LoginSession,
  request: PendingAuthorization,
  role: Role,
): Promise<Response> {
  const token = o.services.sessions.issueForm(session, "consent", request);
  const user = await o.services.store.users.get(session.userId!);
  const granted = scopesForRole(request.scopes, role);
  const dropped = request.scopes.filter((s) => !granted.includes(s));
  const scopeItems = granted.map((s) =>
    html`<li><code>${s}</code>: ${SCOPE_DESCRIPTIONS[s] ?? s}</li>`
  );
  const body = html`<h1>Allow access?</h1>
${whoIsAsking(o, request)}
<p>Signed in as <strong>${user?.email ?? ""}</strong> (${role}).</p>
${
    granted.length > 0
      ? html`
        <p>It asks to:</p>
        <ul>${scopeItems}</ul>
      `
      : html`<p class="error">As a ${role} you cannot grant any of the requested permissions.</p>`
  }
${
    dropped.length > 0
      ? html`<p class="note">Not granted, because your role is ${role}: ${dropped.join(", ")}.</p>`
      : ""
  }
<form method="post" action="authorize">
<input type="hidden" name="form_token" value="${token}">
${
    granted.length > 0
      ? html`<button type="submit" name="action" value="approve">Allow</button>`
      : ""
  }
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</form>`;
  return pageResponse(`Allow access · ${o.target.gateway.name}`, body, {
    headers: cookieHeaders(o, session),
    // The answer to this form is a redirect to the client: browsers check it against form-action.
    formTargets: [new URL(request.redirectUri).origin],
  });
}

function csrfRefusal(): Response {
  return errorPage(
    403,
    "Form expired",
    "This form is no longer valid: it expired, was already sent, or did not come from this " +
      "sign-in page (missing or invalid CSRF token or session cookie).",
  );
}

/** `POST .../oauth/authorize`: the login and consent forms. */
export async function authorizePost(o: OAuthRequest): Promise<Response> {
  if (!isMediaType(o.req.headers.get("content-type"), "application/x-www-form-urlencoded")) {
    return errorPage(
      415,
      "Invalid request",
      "The form must be sent as application/x-www-form-urlencoded.",
    );
  }
  const form = await readForm(o, 16 * 1024);
  if (!form) return errorPage(413, "Invalid request", "The form is too large.");
  const sessions = o.services.sessions;
  const session = sessions.get(
    readCookie(o.req.headers.get("cookie"), SESSION_COOKIE),
    o.target.gateway.id,
  );
  const token = form.get("form_token");
  const entry = session && token ? sessions.takeForm(session, token) : undefined;
  if (!session || !entry) return csrfRefusal();
  const action = form.get("action");
  const { request } = entry;

  if (entry.stage === "login") {
    if (action !== "login") return csrfRefusal();
    return await login(o, session, request, form);
  }
  const role = await memberRole(o, session);
  if (!role) return loginPage(o, session, request, { error: "Please sign in again." });
  if (action !== "approve" && action !== "deny") return csrfRefusal();
  // One consent per sign-in: the session ends with the answer, and so does its cookie.
  sessions.end(session);
  const response = action === "deny"
    ? errorRedirect(o, request, "access_denied", "the user denied access", 303)
    : await approve(o, session.userId!, request, role);
  const cookie = cookieHeaders(o, session)["set-cookie"].replace(/=[^;]*;/, "=;")
    .replace(/Max-Age=\d+/, "Max-Age=0");
  response.headers.set("set-cookie", cookie);
  return response;
}

/** Records the grant and its code, and sends the browser back to the client with the code. */
async function approve(
  o: OAuthRequest,
  userId: string,
  request: PendingAuthorization,
  role: Role,
): Promise<Response> {
  const scopes = scopesForRole(request.scopes, role);
  if (scopes.length === 0) {
    return errorRedirect(
      o,
      request,
      "invalid_scope",
      `a ${role} may only be granted tools:read, which was not requested`,
      303,
    );
  }
  const code = generateToken(CODE_PREFIX);
  await o.services.store.oauth.createGrantWithCode(
    {
      gatewayId: o.target.gateway.id,
      clientId: request.clientId,
      userId,
      scopes,
      resource: request.resource,
    },
    {
      hash: hashToken(code),
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      expiresAt: new Date(Date.now() + CODE_TTL_SECONDS * 1000).toISOString(),
    },
  );
  return redirect(
    withParams(request.redirectUri, { code, state: request.state, iss: o.urls.issuer }),
    303,
  );
}

const FAILED_LOGIN = "The email or password is incorrect, or this account has no access to " +
  "this gateway's organization.";

async function login(
  o: OAuthRequest,
  session: LoginSession,
  request: PendingAuthorization,
  form: URLSearchParams,
): Promise<Response> {
  const email = (form.get("email") ?? "").trim().toLowerCase().slice(0, 320);
  const result = await o.services.signIn.check({
    email,
    password: form.get("password") ?? "",
    orgId: o.target.gateway.orgId,
    clientAddress: clientAddress(o.c, o.services.trustedProxies),
  });
  if (!result.ok && result.retryAfterSeconds !== undefined) {
    const wait = result.retryAfterSeconds;
    return errorPage(
      429,
      "Too many attempts",
      `Too many failed sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`,
      { "retry-after": String(wait) },
    );
  }
  if (!result.ok) {
    return loginPage(o, session, request, { error: FAILED_LOGIN, email, status: 400 });
  }
  const signedIn = o.services.sessions.signIn(session, result.user.id);
  return await consentPage(o, signedIn, request, result.role);
}

/** The S256 code challenge of `verifier` (RFC 7636 section 4.2). */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}
