/**
 * The token and revocation endpoints, one refusal per test: PKCE verifier,
 * single-use and expiring codes, redirect URI, client and resource binding,
 * refresh rotation with reuse detection, client authentication, RFC 7009
 * revocation, and what is (not) stored.
 */
import assert from "node:assert/strict";
import { req, rpc } from "../helpers/mcp.ts";
import {
  addUser,
  authorizeCode,
  expectOAuthError,
  oauthGateway,
  obtainTokens,
  pkce,
  postForm,
  redeem,
  REDIRECT_URI,
  register,
  registerPublicClient,
  withOAuthServer,
} from "./helpers.ts";
import { openTestStore } from "../helpers/database.ts";

const ADA = "ada@example.com";

Deno.test("a wrong code_verifier is refused (invalid_grant) and burns the code", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const a = await authorizeCode(gw, ADA);
    const wrong = await redeem(gw, a, { code_verifier: pkce().verifier });
    expectOAuthError(wrong, 400, "invalid_grant", /PKCE check failed/);
    expectOAuthError(await redeem(gw, a), 400, "invalid_grant", /already used/);
    expectOAuthError(
      await redeem(gw, a, { code_verifier: undefined }),
      400,
      "invalid_request",
      /code_verifier is required/,
    );
  });
});

Deno.test("a code works once: reusing it is refused and revokes the tokens it issued", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const a = await authorizeCode(gw, ADA);
    const first = await redeem(gw, a);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("cache-control"), "no-store");
    assert.equal(first.body.token_type, "Bearer");
    assert.equal(first.body.expires_in, 3600);
    const access = first.body.access_token;
    assert.equal((await rpc(gw.url, req(1, "tools/list"), { key: access })).status, 200);
    expectOAuthError(await redeem(gw, a), 400, "invalid_grant", /already used.*revoked/);
    assert.equal((await rpc(gw.url, req(2, "tools/list"), { key: access })).status, 401);
    expectOAuthError(
      await postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: first.body.refresh_token,
        client_id: a.clientId,
      }),
      400,
      "invalid_grant",
    );
  });
});

Deno.test("an expired code is refused", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const a = await authorizeCode(gw, ADA);
    // Codes live ten minutes; move this one's end into the past rather than wait.
    await s.store.db.run(
      "UPDATE oauth_codes SET expires_at = ?",
      new Date(Date.now() - 1000).toISOString(),
    );
    expectOAuthError(await redeem(gw, a), 400, "invalid_grant", /expired/);
  });
});

Deno.test("the code is bound to its redirect_uri, its client and the gateway's resource", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const other = await oauthGateway(s, { tools: [] });
    await addUser(s, ADA);
    const mismatch = await authorizeCode(gw, ADA);
    expectOAuthError(
      await redeem(gw, mismatch, { redirect_uri: "http://127.0.0.1:9/other" }),
      400,
      "invalid_grant",
      /redirect_uri does not match/,
    );
    const stolen = await authorizeCode(gw, ADA);
    const thief = await registerPublicClient(gw);
    expectOAuthError(
      await redeem(gw, stolen, { client_id: thief }),
      400,
      "invalid_grant",
      /another client/,
    );
    const resource = await authorizeCode(gw, ADA);
    expectOAuthError(
      await redeem(gw, resource, { resource: other.url }),
      400,
      "invalid_target",
      /resource must be this gateway's URL/,
    );
    // A code of one gateway means nothing at another's token endpoint.
    const elsewhere = await authorizeCode(gw, ADA);
    const res = await postForm(other.token, {
      grant_type: "authorization_code",
      code: elsewhere.code,
      code_verifier: elsewhere.verifier,
      client_id: elsewhere.clientId,
    });
    expectOAuthError(res, 401, "invalid_client");
    // Leaving redirect_uri and resource out is fine (OAuth 2.1 with PKCE needs neither).
    const bare = await authorizeCode(gw, ADA);
    const ok = await redeem(gw, bare, { redirect_uri: undefined, resource: undefined });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

Deno.test("refresh tokens rotate; reusing an old one revokes the whole family", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const t = await obtainTokens(gw, ADA);
    const refresh = (token: string, extra: Record<string, string> = {}) =>
      postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: token,
        client_id: t.clientId,
        ...extra,
      });
    const second = await refresh(t.refresh);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.notEqual(second.body.refresh_token, t.refresh);
    assert.notEqual(second.body.access_token, t.access);
    const third = await refresh(second.body.refresh_token, { scope: "tools:read" });
    assert.equal(third.status, 200);
    assert.equal(third.body.scope, "tools:read", "a refresh may narrow the scopes");
    const newest = third.body.access_token;
    assert.equal((await rpc(gw.url, req(1, "tools/list"), { key: newest })).status, 200);

    // The first refresh token comes back: someone holds a copy. Everything of the family dies.
    expectOAuthError(await refresh(t.refresh), 400, "invalid_grant", /already used/);
    for (const access of [t.access, second.body.access_token, newest]) {
      assert.equal((await rpc(gw.url, req(2, "tools/list"), { key: access })).status, 401);
    }
    expectOAuthError(await refresh(third.body.refresh_token), 400, "invalid_grant", /revoked/);

    // Other refusals.
    const u = await obtainTokens(gw, ADA);
    expectOAuthError(
      await postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: u.refresh,
        client_id: await registerPublicClient(gw),
      }),
      400,
      "invalid_grant",
      /another client/,
    );
    expectOAuthError(
      await postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: u.refresh,
        client_id: u.clientId,
        scope: "tools:read admin",
      }),
      400,
      "invalid_scope",
    );
    expectOAuthError(
      await postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: "ghr_made_up",
        client_id: u.clientId,
      }),
      400,
      "invalid_grant",
      /unknown/,
    );
  });
});

Deno.test("revocation (RFC 7009): access tokens one by one, refresh tokens with their family, unknown tokens quietly", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const t = await obtainTokens(gw, ADA);
    const revoke = (token: string, clientId = t.clientId) =>
      postForm(gw.revoke, { token, client_id: clientId });

    const r1 = await revoke(t.access);
    assert.equal(r1.status, 200);
    assert.equal((await rpc(gw.url, req(1, "tools/list"), { key: t.access })).status, 401);
    // The refresh token lives on and yields a working access token.
    const fresh = await postForm(gw.token, {
      grant_type: "refresh_token",
      refresh_token: t.refresh,
      client_id: t.clientId,
    });
    assert.equal(fresh.status, 200);
    assert.equal(
      (await rpc(gw.url, req(2, "tools/list"), { key: fresh.body.access_token })).status,
      200,
    );
    // Revoking the refresh token ends the family, on the very next request.
    assert.equal((await revoke(fresh.body.refresh_token)).status, 200);
    assert.equal(
      (await rpc(gw.url, req(3, "tools/list"), { key: fresh.body.access_token })).status,
      401,
    );
    // Unknown tokens: 200, nothing said.
    const unknown = await revoke("gho_never_issued");
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.body, {});
    // Another client's token is not this client's to revoke.
    const u = await obtainTokens(gw, ADA);
    const foreign = await revoke(u.access, await registerPublicClient(gw));
    expectOAuthError(foreign, 400, "invalid_request", /not issued to this client/);
    assert.equal((await rpc(gw.url, req(4, "tools/list"), { key: u.access })).status, 200);
    expectOAuthError(
      await postForm(gw.revoke, { client_id: u.clientId }),
      400,
      "invalid_request",
      /token is required/,
    );
    expectOAuthError(await postForm(gw.revoke, { token: u.access }), 401, "invalid_client");
  });
});

Deno.test("confidential clients authenticate with Basic or in the body; wrong or missing secrets are invalid_client", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    await addUser(s, ADA);
    const res = await register(gw, {
      client_name: "Server-side app",
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "client_secret_basic",
    });
    const reg = await res.json();
    assert.equal(res.status, 201);
    assert.match(reg.client_secret, /^ghcs_/);
    assert.equal(reg.client_secret_expires_at, 0);
    const basic = (id: string, secret: string) => ({
      authorization: `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`,
    });

    const a = await authorizeCode(gw, ADA, { clientId: reg.client_id });
    const noSecret = await redeem(gw, a);
    expectOAuthError(noSecret, 401, "invalid_client", /must authenticate with its client_secret/);
    const b = await authorizeCode(gw, ADA, { clientId: reg.client_id });
    const wrong = await postForm(
      gw.token,
      {
        grant_type: "authorization_code",
        code: b.code,
        code_verifier: b.verifier,
        redirect_uri: REDIRECT_URI,
      },
      basic(reg.client_id, "ghcs_wrong"),
    );
    expectOAuthError(wrong, 401, "invalid_client", /wrong client_secret/);
    assert.match(wrong.headers.get("www-authenticate")!, /^Basic /);
    const c = await authorizeCode(gw, ADA, { clientId: reg.client_id });
    const viaBasic = await postForm(
      gw.token,
      {
        grant_type: "authorization_code",
        code: c.code,
        code_verifier: c.verifier,
        redirect_uri: REDIRECT_URI,
      },
      basic(reg.client_id, reg.client_secret),
    );
    assert.equal(viaBasic.status, 200, JSON.stringify(viaBasic.body));
    const d = await authorizeCode(gw, ADA, { clientId: reg.client_id });
    const viaPost = await redeem(gw, d, { client_secret: reg.client_secret });
    assert.equal(viaPost.status, 200, JSON.stringify(viaPost.body));
    expectOAuthError(
      await postForm(gw.token, { grant_type: "authorization_code", code: "x", code_verifier: "y" }),
      401,
      "invalid_client",
      /no client_id/,
    );
    expectOAuthError(
      await postForm(gw.token, {
        grant_type: "authorization_code",
        code: "x",
        code_verifier: "y",
        client_id: "ghc_unknown",
      }),
      401,
      "invalid_client",
      /not registered/,
    );
  });
});

Deno.test("malformed token requests: grant type, media type, repeated parameters", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const clientId = await registerPublicClient(gw);
    expectOAuthError(
      await postForm(gw.token, { grant_type: "client_credentials", client_id: clientId }),
      400,
      "unsupported_grant_type",
    );
    expectOAuthError(
      await postForm(gw.token, { grant_type: "password", client_id: clientId }),
      400,
      "unsupported_grant_type",
    );
    expectOAuthError(await postForm(gw.token, { client_id: clientId }), 400, "invalid_request");
    const json = await fetch(gw.token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "authorization_code" }),
    });
    expectOAuthError(
      { status: json.status, headers: json.headers, body: await json.json() },
      400,
      "invalid_request",
      /x-www-form-urlencoded/,
    );
    const twice = await fetch(gw.token, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `grant_type=authorization_code&code=a&code=b&client_id=${clientId}`,
    });
    expectOAuthError(
      { status: twice.status, headers: twice.headers, body: await twice.json() },
      400,
      "invalid_request",
      /more than once/,
    );
    const get = await fetch(gw.token);
    assert.equal(get.status, 405);
    await get.body?.cancel();
  });
});

Deno.test("lifetimes come from the oauth2 method; only hashes of codes and tokens are stored", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s, {
      configuration: { accessTokenTtlSeconds: 120, refreshTokenTtlSeconds: 600 },
    });
    await addUser(s, ADA);
    const a = await authorizeCode(gw, ADA);
    const res = await redeem(gw, a);
    assert.equal(res.body.expires_in, 120);
    const rows = await s.store.db.all("SELECT kind, created_at, expires_at FROM oauth_tokens");
    const lifetimes = Object.fromEntries(
      rows.map((r) => [
        r.kind,
        Math.round(
          (Date.parse(r.expires_at as string) - Date.parse(r.created_at as string)) / 1000,
        ),
      ]),
    );
    assert.deepEqual(lifetimes, { access: 120, refresh: 600 });
    const tables = [];
    for (const t of ["oauth_codes", "oauth_tokens", "oauth_grants", "oauth_clients"]) {
      tables.push(await s.store.db.all(`SELECT * FROM ${t}`));
    }
    const dump = JSON.stringify(tables);
    for (const secret of [a.code, res.body.access_token, res.body.refresh_token, a.verifier]) {
      assert.ok(!dump.includes(secret), "a raw secret is in the database");
    }
  });
});

Deno.test("pruning deletes only codes and tokens that expired before the cutoff", async () => {
  const store = await openTestStore(":memory:");
  try {
    const user = await store.users.create("p@example.com", "P");
    const org = await store.orgs.create("P", "p", user.id);
    const gw = await store.gateways.create(
      org.id,
      {
        name: "g",
        description: "",
        type: "mcp",
        endpoint: "/g",
        configuration: { transport: "http" },
      } as Parameters<typeof store.gateways.create>[1],
    );
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const grant = await store.oauth.createGrantWithCode(
      { gatewayId: gw.id, clientId: "c", userId: user.id, scopes: ["tools:read"], resource: "r" },
      { hash: "old-code", redirectUri: REDIRECT_URI, codeChallenge: "x", expiresAt: at(-2000) },
    );
    await store.oauth.addToken(grant.id, "access", "old", at(-2000), ["tools:read"]);
    await store.oauth.addToken(grant.id, "access", "live", at(60_000), ["tools:read"]);
    await store.oauth.prune(at(-1000));
    assert.equal(await store.oauth.token("old"), undefined);
    assert.ok(await store.oauth.token("live"));
    assert.equal(await store.oauth.redeemCode("old-code"), undefined);
    assert.ok(await store.oauth.activeAccess(gw.id, "live"));
  } finally {
    await store.close();
  }
});
