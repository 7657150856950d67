/**
 * Cross-site request forgery protection of the admin UI's forms. Every
 * state-changing request is a POST of a form that carries a token, and is
 * refused (403) before anything is read or done when:
 * - the browser says it came from another site (`Origin` not this server's,
 *   or `Sec-Fetch-Site` other than `same-origin`), or
 * - its `_csrf` field is not the token of the caller's session.
 *
 * The token is an HMAC of the session's secret (the session cookie's access
 * key, or before sign-in the pre-session cookie's random value), so it needs
 * no state on the server and holds across replicas; both cookies are
 * `HttpOnly` and `SameSite=Strict`, so another site can neither read nor
 * send them, and knowing a token tells nothing of the key it came from.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The form field that carries the token. */
export const CSRF_FIELD = "_csrf";

/** The token for a session whose secret is `secret`. */
export function csrfToken(secret: string): string {
  return createHmac("sha256", secret).update("gatehouse admin UI form").digest("base64url");
}

/** Whether `given` is the token of `secret`, compared in constant time. */
export function validCsrf(given: unknown, secret: string | undefined): boolean {
  if (typeof given !== "string" || !secret) return false;
  const want = new TextEncoder().encode(csrfToken(secret));
  const got = new TextEncoder().encode(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Whether what the browser says of `req`'s origin allows a form post:
 * `Origin`, when sent, is one of `origins`; `Sec-Fetch-Site`, when sent, is
 * `same-origin`. Clients that send neither (scripts, old browsers) still
 * need the token.
 */
export function sameOrigin(req: Request, origins: readonly string[]): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") return false;
  const origin = req.headers.get("origin");
  return origin === null || origins.includes(origin);
}
