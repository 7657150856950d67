/**
 * The admin UI's session: a cookie holding an access key from `POST /login`
 * (12 hours, named "admin UI sign-in"), `HttpOnly`, `SameSite=Strict`,
 * `Path=/ui`, and `Secure` whenever the server is reached over HTTPS. Every
 * page asks the API who the key's holder is (`GET /me`); a key that is
 * revoked, expired or of a removed member gets 401 there, and the browser
 * goes to the sign-in page. Nothing is kept on the server, so replicas
 * sharing a database share sessions too.
 *
 * Before sign-in, a random pre-session cookie is what the sign-in forms'
 * token is made from (see `csrf.ts`). A flash cookie carries a one-line
 * message across the redirect after a change.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { baseUrl } from "../api/base_url.ts";
import { ApiClient } from "./client.ts";
import type { Me, UiDeps, UiEnv } from "./context.ts";
import { csrfToken } from "./csrf.ts";

/** The cookie holding the session's access key. */
export const SESSION_COOKIE = "gatehouse_session";
/** The random value sign-in forms' tokens are made from. */
export const PRE_COOKIE = "gatehouse_presession";
const FLASH_COOKIE = "gatehouse_flash";

/** How long a sign-in lasts: the expiry asked for the key. */
export const SESSION_MS = 12 * 3_600_000;
/** What the session's keys are called in the access key list and the audit trail. */
export const SESSION_KEY_NAME = "admin UI sign-in";

/**
 * Whether the browser reached the server over HTTPS: the public URL says
 * so, or the request came over TLS, or a trusted proxy says it did.
 */
export function overHttps(c: Context, deps: UiDeps): boolean {
  if (baseUrl(deps.config, c.req.raw).startsWith("https:")) return true;
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  const peer = info?.remoteAddr?.hostname ?? "";
  return deps.config.trustedProxies.includes(peer) &&
    c.req.header("x-forwarded-proto")?.split(",")[0].trim() === "https";
}

function cookieOptions(c: Context, deps: UiDeps, maxAge: number) {
  return {
    path: "/ui",
    httpOnly: true,
    sameSite: "Strict" as const,
    secure: overHttps(c, deps),
    maxAge,
  };
}

/** Starts a session with `key`, which expires at `expiresAt` (ISO). */
export function startSession(c: Context, deps: UiDeps, key: string, expiresAt: string): void {
  const seconds = Math.max(1, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
  setCookie(c, SESSION_COOKIE, key, cookieOptions(c, deps, seconds));
}

/** Forgets the session in the browser. */
export function endSession(c: Context, deps: UiDeps): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c, deps, 0));
}

/** The session's access key, if the browser sent one. */
export function sessionKey(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE) || undefined;
}

/**
 * The pre-session value of this browser, made (and set as a cookie) when
 * it has none yet; sign-in forms carry a token made from it.
 */
export function preSession(c: Context, deps: UiDeps): string {
  const have = getCookie(c, PRE_COOKIE);
  if (have) return have;
  const value = crypto.randomUUID() + crypto.randomUUID();
  setCookie(c, PRE_COOKIE, value, cookieOptions(c, deps, 3600));
  return value;
}

/** The secret the form token of this request must be made from. */
export function formSecret(c: Context): string | undefined {
  return sessionKey(c) ?? (getCookie(c, PRE_COOKIE) || undefined);
}

/** Leaves `message` for the next page the browser loads. */
export function flash(c: Context, deps: UiDeps, message: string): void {
  setCookie(c, FLASH_COOKIE, encodeURIComponent(message), cookieOptions(c, deps, 60));
}

/** The sign-in page's address, coming back to `next` afterwards. */
export function signInUrl(next?: string, reason?: string): string {
  const q = new URLSearchParams();
  if (next && next !== "/ui" && next !== "/ui/") q.set("next", next);
  if (reason) q.set("reason", reason);
  const text = q.toString();
  return `/ui/sign-in${text ? `?${text}` : ""}`;
}

/** `next` when it is a page of the UI, else the UI's start page. */
export function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(next) && !next.includes("//")
    ? next
    : "/ui";
}

/**
 * Middleware of every signed-in page: reads the session, asks the API who
 * it is, and sets `ui`; without a live session, the browser goes to the
 * sign-in page (and comes back afterwards, for pages it was reading).
 */
export function requireSession(deps: UiDeps): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const key = sessionKey(c);
    const here = c.req.method === "GET" ? c.req.path + new URL(c.req.url).search : undefined;
    if (!key) return c.redirect(signInUrl(here), 303);
    const api = new ApiClient(deps.app, c, key);
    const [me, orgs] = await Promise.all([api.get("/me"), api.get("/orgs")]);
    if (me.status === 401) {
      endSession(c, deps);
      return c.redirect(signInUrl(here, "ended"), 303);
    }
    if (!me.ok) throw new Error(`GET /me answered ${me.status}`);
    const who = me.body as Me;
    const message = getCookie(c, FLASH_COOKIE);
    if (message !== undefined) deleteCookie(c, FLASH_COOKIE, cookieOptions(c, deps, 0));
    let shown: string | undefined;
    try {
      shown = message ? decodeURIComponent(message) : undefined;
    } catch {
      // A cookie this server did not write: nothing to show.
    }
    c.set("ui", {
      api,
      me: who,
      csrf: csrfToken(key),
      flash: shown,
      canWrite: who.role !== "viewer",
      isAdmin: who.role === "owner" || who.role === "admin",
      orgs: orgs.ok ? orgs.body.orgs : [],
    });
    await next();
  };
}
