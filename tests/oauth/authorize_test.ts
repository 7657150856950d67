/**
 * The authorization endpoint and its pages: each refusal on its own (PKCE
 * S256 only, exact redirect URIs, the resource, scopes), errors shown as
 * pages until the redirect URI is trusted, CSRF and clickjacking protection,
 * escaping, login failures and their rate limits, viewers held to
 * `tools:read`, and denial.
 */
import assert from "node:assert/strict";
import { req, rpc } from "../helpers/mcp.ts";
import {
  addUser,
  authorizeUrl,
  Browser,
  oauthGateway,
  obtainTokens,
  PASSWORD,
  pkce,
  readForm,
  REDIRECT_URI,
  registerPublicClient,
  signIn,
  withOAuthServer,
} from "./helpers.ts";

/** GETs `url` without following redirects. */
async function open(url: string): Promise<Response> {
  return await fetch(url, { redirect: "manual" });
}

/** The error a redirect to the client carries. */
async function redirectedError(url: string): Promise<URLSearchParams> {
  const res = await open(url);
  await res.body?.cancel();
  assert.equal(res.status, 302, `expected a redirect to the client, got ${res.status}`);
  const location = new URL(res.headers.get("location")!);
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  assert.ok(location.searchParams.get("error_description"));
  return location.searchParams;
}

/** An HTML error page (and no redirect). */
async function errorPageOf(url: string, status = 400): Promise<string> {
  const res = await open(url);
  const html = await res.text();
  assert.equal(res.status, status, html);
  assert.equal(res.headers.get("location"), null);
  assert.match(res.headers.get("content-type")!, /^text\/html/);
  return html;
}

Deno.test("PKCE: plain, a missing challenge and a missing method are refused back to the client with state", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw);
    const { challenge } = pkce();
    const plain = await redirectedError(
      authorizeUrl(gw, {
        client_id: clientId,
        code_challenge: challenge,
        code_challenge_method: "plain",
      }),
    );
    assert.equal(plain.get("error"), "invalid_request");
    assert.match(plain.get("error_description")!, /plain PKCE is refused/);
    assert.equal(plain.get("state"), "st-123");
    assert.equal(plain.get("iss"), gw.issuer);
    const missing = await redirectedError(authorizeUrl(gw, { client_id: clientId }));
    assert.equal(missing.get("error"), "invalid_request");
    assert.match(missing.get("error_description")!, /code_challenge is required/);
    const noMethod = await redirectedError(
      authorizeUrl(gw, {
        client_id: clientId,
        code_challenge: challenge,
        code_challenge_method: undefined,
      }),
    );
    assert.match(noMethod.get("error_description")!, /must be S256/);
    const short = await redirectedError(
      authorizeUrl(gw, { client_id: clientId, code_challenge: "abc" }),
    );
    assert.match(short.get("error_description")!, /43 characters/);
  });
});

Deno.test("an unknown client or a redirect_uri that is not registered exactly gets an error page, never a redirect", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw);
    const { challenge } = pkce();
    for (
      const redirect of [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "https://attacker.example/callback",
        "http://127.0.0.1:10/callback",
      ]
    ) {
      const html = await errorPageOf(
        authorizeUrl(gw, {
          client_id: clientId,
          code_challenge: challenge,
          redirect_uri: redirect,
        }),
      );
      assert.match(html, /does not exactly match/);
    }
    assert.match(
      await errorPageOf(authorizeUrl(gw, { client_id: "ghc_unknown", code_challenge: challenge })),
      /not registered here/,
    );
    assert.match(
      await errorPageOf(authorizeUrl(gw, { client_id: undefined, code_challenge: challenge })),
      /client_id/,
    );
    // A client of another gateway is unknown here.
    const other = await oauthGateway(s, { tools: [] });
    const theirs = await registerPublicClient(other);
    assert.match(
      await errorPageOf(authorizeUrl(gw, { client_id: theirs, code_challenge: challenge })),
      /not registered here/,
    );
    // With one registered URI, leaving redirect_uri out uses it.
    const res = await open(
      authorizeUrl(gw, { client_id: clientId, code_challenge: challenge, redirect_uri: undefined }),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test("resource must be the gateway's URL; response_type and scope are checked", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const other = await oauthGateway(s, { tools: [] });
    const clientId = await registerPublicClient(gw);
    const { challenge } = pkce();
    const base = { client_id: clientId, code_challenge: challenge };
    const wrong = await redirectedError(authorizeUrl(gw, { ...base, resource: other.url }));
    assert.equal(wrong.get("error"), "invalid_target");
    assert.match(wrong.get("error_description")!, /resource must be this gateway's URL/);
    const token = await redirectedError(authorizeUrl(gw, { ...base, response_type: "token" }));
    assert.equal(token.get("error"), "unsupported_response_type");
    const scope = await redirectedError(authorizeUrl(gw, { ...base, scope: "admin" }));
    assert.equal(scope.get("error"), "invalid_scope");
    assert.match(scope.get("error_description")!, /unknown scope 'admin'/);
    // A trailing slash on the resource is the same resource; offline_access is ignored.
    for (const extra of [{ resource: `${gw.url}/` }, { scope: "tools:read offline_access" }]) {
      const ok = await open(authorizeUrl(gw, { ...base, ...extra }));
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }
  });
});

Deno.test("pages cannot be framed or cached, set a scoped HttpOnly SameSite cookie, and escape what they show", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw, {
      client_name: `<script>alert("x")</script>`,
    });
    await addUser(s, "ada@example.com");
    const browser = new Browser();
    const { challenge } = pkce();
    const url = authorizeUrl(gw, {
      client_id: clientId,
      code_challenge: challenge,
      state: `"><img src=x>`,
    });
    const res = await browser.request(url);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^gatehouse_oauth=[A-Za-z0-9_-]{40,};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, new RegExp(`; Path=${new URL(gw.url).pathname}/oauth;`));
    assert.doesNotMatch(cookie, /Secure/); // plain http here
    assert.ok(!html.includes("<script>"), "the client name is escaped");
    assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert.ok(!html.includes("<img"), "nothing from the request is echoed raw");
    assert.match(html, new RegExp(`Sign in to Gateway ${gw.endpoint}`));
    assert.ok(html.includes(gw.url));
    assert.match(html, /127\.0\.0\.1:9/); // where the client will be sent

    // The consent page names client, gateway, scopes; its CSP lets the form reach the client.
    const form = readForm(html, url);
    const consent = await browser.post(form.action, {
      ...form.fields,
      email: "ada@example.com",
      password: PASSWORD,
    });
    const consentHtml = await consent.text();
    assert.equal(consent.status, 200);
    assert.match(consentHtml, /tools:read/);
    assert.match(consentHtml, /tools:execute/);
    assert.match(consentHtml, /ada@example\.com/);
    assert.match(
      consent.headers.get("content-security-policy")!,
      /form-action 'self' http:\/\/127\.0\.0\.1:9;/,
    );
    // Signing in starts a new session (a planted session id is worthless afterwards).
    const after = consent.headers.get("set-cookie")!;
    assert.notEqual(after.split(";")[0], cookie.split(";")[0]);
    // The answer ends the session and clears its cookie.
    const consentForm = readForm(consentHtml, url);
    const done = await browser.post(consentForm.action, {
      ...consentForm.fields,
      action: "approve",
    });
    await done.body?.cancel();
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("referrer-policy"), "no-referrer");
    assert.match(done.headers.get("set-cookie")!, /^gatehouse_oauth=; Path=[^;]+; Max-Age=0;/);
  });
});

Deno.test("CSRF: a form without its token, with a wrong or spent token, or without the session cookie is refused", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw);
    await addUser(s, "ada@example.com");
    const browser = new Browser();
    const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
    const page = await browser.get(url);
    const form = readForm(page.html, url);
    const creds = { email: "ada@example.com", password: PASSWORD, action: "login" };

    const attempts: [string, Browser, Record<string, string>][] = [
      ["no token", browser, creds],
      ["wrong token", browser, { ...creds, form_token: "forged-token" }],
      ["no cookie", new Browser(), { ...form.fields, ...creds }],
    ];
    for (const [what, b, fields] of attempts) {
      const res = await b.postPage(form.action, fields);
      assert.equal(res.status, 403, what);
      assert.match(res.html, /missing or invalid CSRF token/, what);
      assert.equal(res.headers.get("location"), null);
    }
    // The real form still works once, then its token is spent.
    const ok = await browser.postPage(form.action, { ...form.fields, ...creds });
    assert.equal(ok.status, 200);
    assert.match(ok.html, /Allow access\?/);
    const again = await browser.postPage(form.action, { ...form.fields, ...creds });
    assert.equal(again.status, 403);
    // A consent form cannot be approved with a login form's token, nor without the cookie.
    const consent = readForm(ok.html, url);
    const stranger = await new Browser().postPage(consent.action, {
      ...consent.fields,
      action: "approve",
    });
    assert.equal(stranger.status, 403);
  });
});

Deno.test("failed sign-ins say nothing about which part was wrong, and are rate-limited per account and per address", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw);
    await addUser(s, "ada@example.com");
    ok(await s.api("POST", "/orgs", { name: "Other", slug: "other" }), 201);
    await addUser(s, "stranger@example.com", "owner", "other"); // not in the gateway's org
    const browser = new Browser();
    const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
    let page = await browser.get(url);
    const attempt = async (email: string, password: string) => {
      const form = readForm(page.html, url);
      page = await browser.postPage(form.action, { ...form.fields, email, password });
      return page;
    };
    const messages = new Set<string>();
    for (
      const [email, password] of [
        ["ada@example.com", "wrong password"],
        ["nobody@example.com", PASSWORD],
        ["stranger@example.com", PASSWORD],
      ]
    ) {
      const res = await attempt(email, password);
      assert.equal(res.status, 400);
      messages.add(/<p class="error" role="alert">([^<]+)<\/p>/.exec(res.html)![1]);
      assert.ok(!res.html.includes(password), "the password is never echoed");
    }
    assert.equal(messages.size, 1, "one message for every kind of failure");
    assert.match([...messages][0], /email or password is incorrect/);

    // Four more failures for ada (five in all): then even the right password waits.
    for (let i = 0; i < 4; i++) {
      assert.equal((await attempt("ada@example.com", "nope")).status, 400);
    }
    const limited = await attempt("ada@example.com", PASSWORD);
    assert.equal(limited.status, 429);
    assert.match(limited.html, /Too many failed sign-in attempts/);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);

    // Per address: 20 failures from one address, whatever the accounts, stop everyone there.
    page = await browser.get(url);
    for (let i = 0; i < 13; i++) {
      assert.equal((await attempt(`guess${i}@example.com`, "nope")).status, 400);
    }
    await addUser(s, "bob@example.com");
    assert.equal((await attempt("bob@example.com", PASSWORD)).status, 429);
  });
});

Deno.test("a viewer can only grant tools:read: tools/list works, tools/call is 403 insufficient_scope", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, "vera@example.com", "viewer");
    const clientId = await registerPublicClient(gw);
    const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
    const browser = new Browser();
    const page = await browser.get(url);
    const form = readForm(page.html, url);
    const consent = await browser.postPage(form.action, {
      ...form.fields,
      email: "vera@example.com",
      password: PASSWORD,
    });
    assert.match(consent.html, /Not granted, because your role is viewer: tools:execute/);

    const tokens = await obtainTokens(gw, "vera@example.com");
    assert.equal(tokens.scope, "tools:read");
    const list = await rpc(gw.url, req(1, "tools/list"), { key: tokens.access });
    assert.equal(list.status, 200, list.text);
    assert.ok(list.body.result.tools.length > 0);
    const call = await rpc(
      gw.url,
      req(2, "tools/call", { name: "echo", arguments: { text: "x" } }),
      {
        key: tokens.access,
      },
    );
    assert.equal(call.status, 403, call.text);
    assert.match(call.headers.get("www-authenticate")!, /error="insufficient_scope"/);
    assert.equal(s.executor.calls.length, 0);

    // Asking for tools:execute alone leaves a viewer nothing to grant.
    const only = await signIn(
      authorizeUrl(gw, {
        client_id: clientId,
        code_challenge: pkce().challenge,
        scope: "tools:execute",
      }),
      { email: "vera@example.com", decision: "deny" },
    );
    assert.equal(only.searchParams.get("error"), "access_denied");

    // A member demoted to viewer loses tools:execute on the next request.
    await addUser(s, "max@example.com", "member");
    const member = await obtainTokens(gw, "max@example.com");
    assert.equal(member.scope, "tools:read tools:execute");
    const users = (await s.api("GET", "/orgs/default/members")).body.members as {
      userId: string;
      email: string;
    }[];
    const max = users.find((u) => u.email === "max@example.com")!;
    ok(await s.api("PATCH", `/orgs/default/members/${max.userId}`, { role: "viewer" }));
    const demoted = await rpc(
      gw.url,
      req(3, "tools/call", { name: "echo", arguments: { text: "x" } }),
      {
        key: member.access,
      },
    );
    assert.equal(demoted.status, 403);
    // And removal from the org ends the token.
    ok(await s.api("DELETE", `/orgs/default/members/${max.userId}`), 204);
    assert.equal((await rpc(gw.url, req(4, "tools/list"), { key: member.access })).status, 401);
  });
});

Deno.test("denying consent sends access_denied with the state back to the client", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, "ada@example.com");
    const clientId = await registerPublicClient(gw);
    const landed = await signIn(
      authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge, state: "keep me" }),
      { email: "ada@example.com", decision: "deny" },
    );
    assert.equal(landed.searchParams.get("error"), "access_denied");
    assert.equal(landed.searchParams.get("state"), "keep me");
    assert.equal(landed.searchParams.get("code"), null);
  });
});

function ok<T extends { status: number; body: unknown }>(res: T, status = 200): T {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res;
}
