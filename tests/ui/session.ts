/**
 * Signing in to the admin UI without a browser, as the tests of its
 * security rules need: the session cookie and the form token of a page.
 *
 * @module
 */
import assert from "node:assert/strict";

/** A signed-in UI session: the cookie header to send and a form token of its pages. */
export interface UiSession {
  cookie: string;
  csrf: string;
  /** The session's access key (the cookie's value). */
  key: string;
}

/** The `name=value` pairs of a response's Set-Cookie headers. */
export function cookiesOf(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** The first form token in an HTML page. */
export function tokenIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(m, "the page has no form token");
  return m[1];
}

/** Signs in through the UI's own sign-in form, as a browser would post it. */
export async function signIn(
  base: string,
  email: string,
  password: string,
  organization = "default",
): Promise<UiSession> {
  const page = await fetch(`${base}/ui/sign-in`);
  const pre = cookiesOf(page).get("gatehouse_presession")!;
  const form = new URLSearchParams({
    _csrf: tokenIn(await page.text()),
    email,
    password,
    organization,
  });
  const res = await fetch(`${base}/ui/sign-in`, {
    method: "POST",
    headers: { cookie: `gatehouse_presession=${pre}` },
    body: form,
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303, "sign-in refused");
  const key = cookiesOf(res).get("gatehouse_session")!;
  const cookie = `gatehouse_session=${key}`;
  const home = await fetch(`${base}/ui/gateways`, { headers: { cookie } });
  return { cookie, key, csrf: tokenIn(await home.text()) };
}

/** POSTs `fields` (plus `_csrf` unless given) to a UI path with the session's cookie. */
export function post(
  base: string,
  session: UiSession,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { cookie: session.cookie, ...headers },
    body: new URLSearchParams({ _csrf: session.csrf, ...fields }),
    redirect: "manual",
  });
}
