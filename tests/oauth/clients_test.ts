/**
 * OAuth clients: dynamic registration (RFC 7591: redirect URIs https or
 * loopback only, metadata checked, secrets once, rate-limited per address)
 * and Client ID Metadata Documents (fetched with limits, checked, cached,
 * never from private addresses, plain http only when explicitly allowed).
 */
import assert from "node:assert/strict";
import { cacheSeconds } from "../../src/oauth/clients.ts";
import { req, rpc } from "../helpers/mcp.ts";
import {
  addUser,
  authorizeUrl,
  Browser,
  type OAuthGateway,
  oauthGateway,
  pkce,
  postForm,
  readForm,
  REDIRECT_URI,
  register,
  signIn,
  withOAuthServer,
} from "./helpers.ts";

async function registration(gw: OAuthGateway, body: unknown) {
  const res = await register(gw, body);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

Deno.test("registration accepts https and loopback http redirect URIs and refuses everything else", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    for (
      const uri of [
        "https://app.example.com/callback",
        "http://127.0.0.1:3000/cb",
        "http://[::1]:3000/cb",
        "http://localhost/cb",
      ]
    ) {
      const res = await registration(gw, {
        redirect_uris: [uri],
        token_endpoint_auth_method: "none",
      });
      assert.equal(res.status, 201, `${uri}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.redirect_uris, [uri]);
      assert.equal(res.body.client_secret, undefined);
      assert.match(res.body.client_id, /^ghc_/);
      assert.equal(res.headers.get("cache-control"), "no-store");
    }
    for (
      const uri of [
        "http://app.example.com/callback",
        "http://10.0.0.1/cb",
        "javascript:alert(1)",
        "cursor://callback",
        "https://app.example.com/cb#frag",
        "https://user:pw@app.example.com/cb",
        "/relative",
      ]
    ) {
      const res = await registration(gw, { redirect_uris: [uri] });
      assert.equal(res.status, 400, uri);
      assert.equal(res.body.error, "invalid_redirect_uri", uri);
      assert.ok(res.body.error_description.length > 10);
    }
    const cases: [unknown, string][] = [
      [{}, "invalid_redirect_uri"],
      [{ redirect_uris: [] }, "invalid_redirect_uri"],
      [
        { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "private_key_jwt" },
        "invalid_client_metadata",
      ],
      [
        { redirect_uris: [REDIRECT_URI], grant_types: ["client_credentials"] },
        "invalid_client_metadata",
      ],
      [{ redirect_uris: [REDIRECT_URI], response_types: ["token"] }, "invalid_client_metadata"],
      [{ redirect_uris: [REDIRECT_URI], client_name: 42 }, "invalid_client_metadata"],
      [[REDIRECT_URI], "invalid_client_metadata"],
    ];
    for (const [body, error] of cases) {
      const res = await registration(gw, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, error, JSON.stringify(body));
    }
    const text = await fetch(gw.register, { method: "POST", body: "redirect_uris=x" });
    assert.equal(text.status, 400);
    assert.equal((await text.json()).error, "invalid_client_metadata");
    // RFC 7591's default method is client_secret_basic: a secret, shown once.
    const confidential = await registration(gw, {
      redirect_uris: [REDIRECT_URI],
      client_name: "Server app",
    });
    assert.equal(confidential.status, 201);
    assert.equal(confidential.body.token_endpoint_auth_method, "client_secret_basic");
    assert.match(confidential.body.client_secret, /^ghcs_/);
    const dump = JSON.stringify(await s.store.db.all("SELECT * FROM oauth_clients"));
    assert.ok(!dump.includes(confidential.body.client_secret), "the secret is stored hashed");
  });
});

Deno.test("registration is rate-limited per address: 20 a minute, then 429 with Retry-After", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const other = await oauthGateway(s, { tools: [] });
    const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" };
    for (let i = 0; i < 20; i++) {
      assert.equal((await registration(i % 2 ? gw : other, body)).status, 201, `#${i + 1}`);
    }
    const limited = await registration(gw, body);
    assert.equal(limited.status, 429);
    assert.match(limited.body.error_description, /too many client registrations/);
    const wait = Number(limited.headers.get("retry-after"));
    assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}`);
  });
});

/** A loopback server for client metadata documents; `docs` maps path to a handler. */
function documentServer(handlers: Record<string, (url: string) => Response>) {
  const hits: string[] = [];
  let base = "";
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (r) => {
    const path = new URL(r.url).pathname;
    hits.push(path);
    const h = handlers[path];
    return h ? h(`${base}${path}`) : new Response("no", { status: 404 });
  });
  base = `http://127.0.0.1:${server.addr.port}`;
  return { base, hits, close: () => server.shutdown() };
}

Deno.test("a Client ID Metadata Document identifies a client: fetched, checked, cached, used for the whole flow", async () => {
  const docs = documentServer({
    "/client.json": (url) =>
      Response.json(
        { client_id: url, client_name: "Doc Client", redirect_uris: [REDIRECT_URI] },
        { headers: { "cache-control": "max-age=600" } },
      ),
    "/mismatch.json": () =>
      Response.json({
        client_id: "https://elsewhere.example/c.json",
        redirect_uris: [REDIRECT_URI],
      }),
    "/huge.json": (url) =>
      Response.json({ client_id: url, redirect_uris: [REDIRECT_URI], pad: "x".repeat(70_000) }),
    "/moved.json": () => Response.redirect("https://example.com/client.json", 302),
    "/secret.json": (url) =>
      Response.json({
        client_id: url,
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: "client_secret_basic",
      }),
    "/bad-redirect.json": (url) =>
      Response.json({ client_id: url, redirect_uris: ["http://evil.example/cb"] }),
  });
  try {
    await withOAuthServer(async (s) => {
      const gw = await oauthGateway(s);
      await addUser(s, "ada@example.com");
      const clientId = `${docs.base}/client.json`;
      const { verifier, challenge } = pkce();
      const url = authorizeUrl(gw, { client_id: clientId, code_challenge: challenge });
      const browser = new Browser();
      const page = await browser.get(url);
      assert.equal(page.status, 200, page.html);
      assert.match(page.html, /Doc Client/);
      assert.ok(page.html.includes(`identified by <code>${clientId}</code>`));
      const landed = await signIn(url, { email: "ada@example.com" });
      const tokens = await postForm(gw.token, {
        grant_type: "authorization_code",
        code: landed.searchParams.get("code")!,
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI,
        client_id: clientId,
      });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(
        (await rpc(gw.url, req(1, "tools/list"), { key: tokens.body.access_token })).status,
        200,
      );
      // Fetched once for the page, the sign-in and the token request: cached (max-age=600).
      assert.equal(docs.hits.filter((p) => p === "/client.json").length, 1);
      // A redirect_uri the document does not list is refused on a page.
      const off = await browser.get(
        authorizeUrl(gw, {
          client_id: clientId,
          code_challenge: challenge,
          redirect_uri: "http://127.0.0.1:9/elsewhere",
        }),
      );
      assert.equal(off.status, 400);

      const refusals: [string, RegExp][] = [
        ["/mismatch.json", /client_id does not equal the URL/],
        ["/huge.json", /larger than 65536 bytes/],
        ["/moved.json", /HTTP 302 \(redirects are not followed\)/],
        ["/secret.json", /token_endpoint_auth_method must be &#39;none&#39;/],
        ["/bad-redirect.json", /must use https/],
        ["/missing.json", /HTTP 404/],
      ];
      for (const [path, message] of refusals) {
        const res = await browser.get(
          authorizeUrl(gw, { client_id: `${docs.base}${path}`, code_challenge: challenge }),
        );
        assert.equal(res.status, 400, path);
        assert.match(res.html, message, path);
        assert.equal(res.headers.get("location"), null);
      }
      const form = readForm(page.html, url);
      assert.ok(form.fields.form_token);
    });
  } finally {
    await docs.close();
  }
});

Deno.test("metadata document fetches are rate-limited per address (anyone can name any URL)", async () => {
  const docs = documentServer({});
  try {
    await withOAuthServer(async (s) => {
      const gw = await oauthGateway(s);
      const { challenge } = pkce();
      const page = async (path: string) => {
        const url = authorizeUrl(gw, {
          client_id: `${docs.base}${path}`,
          code_challenge: challenge,
        });
        const res = await fetch(url);
        return await res.text();
      };
      for (let i = 0; i < 30; i++) assert.match(await page(`/c${i}.json`), /HTTP 404/);
      assert.match(await page("/c30.json"), /too many client metadata documents/);
      assert.equal(docs.hits.length, 30);
    });
  } finally {
    await docs.close();
  }
});

Deno.test("without the insecure flag, metadata documents must be https on a public address", async () => {
  const docs = documentServer({
    "/client.json": (url) => Response.json({ client_id: url, redirect_uris: [REDIRECT_URI] }),
  });
  try {
    await withOAuthServer(async (s) => {
      const gw = await oauthGateway(s);
      const { challenge } = pkce();
      const page = async (clientId: string) => {
        const res = await fetch(
          authorizeUrl(gw, { client_id: clientId, code_challenge: challenge }),
        );
        return { status: res.status, html: await res.text() };
      };
      // Plain http is not a metadata document URL here, so it is an unknown client id.
      const http = await page(`${docs.base}/client.json`);
      assert.equal(http.status, 400);
      assert.match(http.html, /not registered here/);
      // https to a loopback or private address is never fetched (no probing the inside).
      for (const host of ["127.0.0.1", "10.1.2.3", "169.254.169.254", "localhost"]) {
        const res = await page(`https://${host}/client.json`);
        assert.equal(res.status, 400, host);
        assert.match(res.html, /is not a public address/, host);
      }
      const root = await page("https://example.com/");
      assert.match(root.html, /must have a path/);
      assert.equal(docs.hits.length, 0);
    }, { oauthAllowInsecureCimd: false });
  } finally {
    await docs.close();
  }
});

Deno.test("a metadata document is cached for its max-age, bounded to a minute .. a day, an hour by default, a minute for no-store", () => {
  assert.equal(cacheSeconds(null), 3600);
  assert.equal(cacheSeconds("public, max-age=600"), 600);
  assert.equal(cacheSeconds("max-age=0"), 60);
  assert.equal(cacheSeconds("max-age=99999999"), 86400);
  assert.equal(cacheSeconds("no-cache"), 60);
  assert.equal(cacheSeconds("private, no-store"), 60);
});

Deno.test("behind a trusted proxy, per-address limits count X-Forwarded-For clients apart", async () => {
  const body = JSON.stringify({
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: "none",
  });
  const from = (gw: OAuthGateway, forwardedFor: string) =>
    fetch(gw.register, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body,
    }).then(async (r) => (await r.body?.cancel(), r.status));

  // The test client connects from 127.0.0.1: trusted, so the forwarded client counts.
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    for (let i = 0; i < 20; i++) assert.equal(await from(gw, "203.0.113.7, 127.0.0.1"), 201);
    assert.equal(await from(gw, "203.0.113.7"), 429, "the same client is limited");
    assert.equal(await from(gw, "198.51.100.9"), 201, "another client behind the proxy is not");
  }, { trustedProxies: ["127.0.0.1"] });

  // Without the setting the header is ignored: everyone shares the socket's address.
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    for (let i = 0; i < 20; i++) assert.equal(await from(gw, `203.0.113.${i}`), 201);
    assert.equal(await from(gw, "198.51.100.9"), 429, "a spoofed header buys nothing");
  });
});
