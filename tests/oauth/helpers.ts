/**
 * Shared set-up for the OAuth tests: gateways with an `oauth2` method and a
 * user who can sign in, a cookie-keeping "browser" that reads and submits
 * the real HTML forms, PKCE, and the whole code flow by hand for tests of
 * single refusals.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Config } from "../../src/config.ts";
import {
  apiIn,
  createGateway,
  type Json,
  type McpGateway,
  type McpTestServer,
  ok,
  STANDARD_TOOLS,
  startMcpServer,
  type ToolSpec,
} from "../helpers/mcp.ts";
import { apiCall, type TestServer } from "../helpers/server.ts";

/** The default test user's password. */
export const PASSWORD = "correct horse battery staple";
/** Where test clients say they want to be sent back (never contacted). */
export const REDIRECT_URI = "http://127.0.0.1:9/callback";

/** A gateway with an `oauth2` method, and where its authorization server lives. */
export interface OAuthGateway extends McpGateway {
  /** The issuer (the gateway URL). */
  issuer: string;
  authorize: string;
  token: string;
  register: string;
  revoke: string;
}

/** Options of {@link oauthGateway}. */
export interface OAuthGatewayOptions {
  tools?: (ToolSpec | { id: string; name: string })[];
  /** The `oauth2` method's configuration. */
  configuration?: Record<string, unknown>;
  /** Also accept gateway keys (added before `oauth2`). */
  withApiKey?: boolean;
}

/** Creates a gateway whose only auth method is `oauth2` (added through the management API). */
export async function oauthGateway(
  s: TestServer,
  opts: OAuthGatewayOptions = {},
): Promise<OAuthGateway> {
  const gw = await createGateway(s, {
    tools: opts.tools ?? STANDARD_TOOLS,
    auth: opts.withApiKey ? "api_key" : null,
  });
  ok(
    await apiIn(s, gw.orgSlug)("POST", `/gateways/${gw.id}/auth`, {
      type: "oauth2",
      ...(opts.configuration ? { configuration: opts.configuration } : {}),
    }),
    201,
  );
  return {
    ...gw,
    issuer: gw.url,
    authorize: `${gw.url}/oauth/authorize`,
    token: `${gw.url}/oauth/token`,
    register: `${gw.url}/oauth/register`,
    revoke: `${gw.url}/oauth/revoke`,
  };
}

/**
 * Invites `email` to org `slug` with `role` and accepts the invitation with
 * the password {@link PASSWORD} (choosing it for a new account, proving it
 * for an existing one).
 */
export async function addUser(
  s: TestServer,
  email: string,
  role = "member",
  slug = "default",
): Promise<string> {
  const { token } = ok(await apiIn(s, slug)("POST", `/orgs/${slug}/members`, { email, role }), 201);
  const accepted = ok(
    await apiCall(s.url, undefined, "POST", "/invitations/accept", { token, password: PASSWORD }),
    201,
  );
  return accepted.member.userId;
}

/** An MCP test server (tools run on the in-process test executor) with CIMD over loopback http allowed. */
export function startOAuthServer(overrides: Partial<Config> = {}): Promise<McpTestServer> {
  return startMcpServer({}, { oauthAllowInsecureCimd: true, ...overrides });
}

/** Runs `fn` against a fresh {@link startOAuthServer} server and always closes it. */
export async function withOAuthServer(
  fn: (s: McpTestServer) => Promise<void>,
  overrides: Partial<Config> = {},
): Promise<void> {
  const s = await startOAuthServer(overrides);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------
// PKCE

/** A fresh PKCE verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

// ---------------------------------------------------------------------------
// A browser

/** A form read from a page: where it posts and its hidden fields. */
export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The first form of `html`, with its action resolved against `pageUrl`. */
export function readForm(html: string, pageUrl: string): PageForm {
  const form = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form, `no form on the page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = unescapeHtml(m[2]);
  }
  return { action: new URL(unescapeHtml(form[1]), pageUrl).href, fields };
}

/** A page as a browser got it. */
export interface Page {
  status: number;
  headers: Headers;
  html: string;
  url: string;
}

/** A cookie-keeping client that does not follow redirects (so a test sees where it is sent). */
export class Browser {
  readonly cookies = new Map<string, string>();

  /** Requests `url`, sending and storing cookies. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return res;
  }

  /** GETs a page. */
  async get(url: string): Promise<Page> {
    const res = await this.request(url);
    return { status: res.status, headers: res.headers, html: await res.text(), url };
  }

  /** Posts `fields` as a form to `action`; returns the response unread. */
  post(action: string, fields: Record<string, string>): Promise<Response> {
    return this.request(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Posts and reads the answer as a page. */
  async postPage(action: string, fields: Record<string, string>): Promise<Page> {
    const res = await this.post(action, fields);
    return { status: res.status, headers: res.headers, html: await res.text(), url: action };
  }
}

/** Options of {@link signIn}. */
export interface SignInOptions {
  email: string;
  password?: string;
  /** What to press on the consent page (default approve). */
  decision?: "approve" | "deny";
  browser?: Browser;
}

/**
 * Follows `authorizationUrl` like a person would: the login page, the
 * consent page, then returns where the server sends the browser (the
 * client's redirect URI with `code` or `error`).
 */
export async function signIn(authorizationUrl: string, opts: SignInOptions): Promise<URL> {
  const browser = opts.browser ?? new Browser();
  const login = await browser.get(authorizationUrl);
  assert.equal(login.status, 200, login.html);
  assert.match(login.html, /Sign in to/);
  const loginForm = readForm(login.html, login.url);
  const consent = await browser.postPage(loginForm.action, {
    ...loginForm.fields,
    email: opts.email,
    password: opts.password ?? PASSWORD,
  });
  assert.equal(consent.status, 200, consent.html);
  assert.match(consent.html, /Allow access\?/);
  const consentForm = readForm(consent.html, consent.url);
  const res = await browser.post(consentForm.action, {
    ...consentForm.fields,
    action: opts.decision ?? "approve",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303, `consent answered ${res.status}`);
  return new URL(res.headers.get("location")!);
}

// ---------------------------------------------------------------------------
// The code flow by hand

/** POSTs a JSON registration to `gw`. */
export async function register(gw: OAuthGateway, body: unknown): Promise<Response> {
  return await fetch(gw.register, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Registers a public client with {@link REDIRECT_URI}; returns its client id. */
export async function registerPublicClient(
  gw: OAuthGateway,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await register(gw, {
    client_name: "Test client",
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: "none",
    ...extra,
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.client_id;
}

/** Authorization request parameters with sensible defaults (override or `undefined` to drop). */
export function authorizeUrl(
  gw: OAuthGateway,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(gw.authorize);
  const all: Record<string, string | undefined> = {
    response_type: "code",
    redirect_uri: REDIRECT_URI,
    code_challenge_method: "S256",
    state: "st-123",
    scope: "tools:read tools:execute",
    resource: gw.url,
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** POSTs a form to the token (or revocation) endpoint. */
export async function postForm(
  url: string,
  fields: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.set(k, v);
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: body.toString(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A completed authorization: the code (not yet redeemed) and what redeeming needs. */
export interface Authorized {
  clientId: string;
  code: string;
  verifier: string;
  redirect: URL;
}

/** Registers a client (unless given), signs `email` in and approves; returns the code. */
export async function authorizeCode(
  gw: OAuthGateway,
  email: string,
  opts: { clientId?: string; scope?: string; password?: string } = {},
): Promise<Authorized> {
  const clientId = opts.clientId ?? await registerPublicClient(gw);
  const { verifier, challenge } = pkce();
  const redirect = await signIn(
    authorizeUrl(gw, {
      client_id: clientId,
      code_challenge: challenge,
      ...(opts.scope ? { scope: opts.scope } : {}),
    }),
    { email, password: opts.password },
  );
  const code = redirect.searchParams.get("code");
  assert.ok(code, `no code in ${redirect.href}`);
  return { clientId, code, verifier, redirect };
}

/** Redeems an authorization at the token endpoint (`extra` overrides; `undefined` drops a field). */
export function redeem(
  gw: OAuthGateway,
  a: Authorized,
  extra: Record<string, string | undefined> = {},
) {
  return postForm(gw.token, {
    grant_type: "authorization_code",
    code: a.code,
    code_verifier: a.verifier,
    redirect_uri: REDIRECT_URI,
    client_id: a.clientId,
    resource: gw.url,
    ...extra,
  });
}

/** Tokens from the whole code flow for `email`. */
export async function obtainTokens(
  gw: OAuthGateway,
  email: string,
  opts: { scope?: string; password?: string } = {},
): Promise<{ access: string; refresh: string; clientId: string; scope: string }> {
  const a = await authorizeCode(gw, email, opts);
  const res = await redeem(gw, a);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return {
    access: res.body.access_token,
    refresh: res.body.refresh_token,
    clientId: a.clientId,
    scope: res.body.scope,
  };
}

/** Asserts an RFC 6749 error: status, `error`, a non-empty `error_description`, and no-store. */
export function expectOAuthError(
  res: { status: number; headers: Headers; body: Json },
  status: number,
  error: string,
  description?: RegExp,
): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error, error, JSON.stringify(res.body));
  assert.equal(typeof res.body.error_description, "string");
  assert.ok(res.body.error_description.length > 10);
  if (description) assert.match(res.body.error_description, description);
  assert.equal(res.headers.get("cache-control"), "no-store");
}
