/**
 * Several auth methods on one gateway, tried in creation order, and the
 * authenticator's caches: no SQL per request for the method list or a known
 * key, yet a removed method, a revoked key and an expired key stop working
 * on the very next request, and a new key works at once.
 */
import assert from "node:assert/strict";
import {
  apiIn,
  createGateway,
  expectRpcError,
  issueKey,
  ok,
  req,
  rpc,
  type RpcAnswer,
  sleep,
} from "../helpers/mcp.ts";
import {
  addMethod,
  bareGateway,
  expect401,
  JwksServer,
  jwtGateway,
  makeKey,
  mint,
  standardTools,
  withAuthServer,
} from "./helpers.ts";

const list = (url: string, token?: string, id = 1) =>
  rpc(url, req(id, "tools/list"), token === undefined ? {} : { key: token });
const call = (url: string, token: string, id = 2) =>
  rpc(url, req(id, "tools/call", { name: "echo", arguments: { text: "hi" } }), { key: token });

function expectOk(a: RpcAnswer): void {
  assert.equal(a.status, 200, a.text);
}

Deno.test("api_key and jwt at once: both work; removing jwt makes JWTs 401 on the next request", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      const jwtMethod = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods[0];
      const apiKeyMethod = await addMethod(s, gw, "api_key");
      const gatewayKey = (await issueKey(s, gw)).key;
      const listed = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
      assert.deepEqual(listed.map((m: { type: string }) => m.type), ["jwt", "api_key"]);
      assert.equal(listed[1].id, apiKeyMethod.id);

      const token = await mint(key);
      expectOk(await list(gw.url, token));
      expectOk(await list(gw.url, gatewayKey));
      expectOk(await call(gw.url, gatewayKey));
      // Each refusal speaks about the credential it got.
      expect401(await list(gw.url, "ghk_not_a_key"), /invalid, revoked or expired gateway key/);
      const expired = await mint(key, { claims: { exp: Math.floor(Date.now() / 1000) - 600 } });
      expect401(await list(gw.url, expired), /expired/);
      expect401(await list(gw.url), /missing credentials/);

      const removed = await s.api("DELETE", `/gateways/${gw.id}/auth/${jwtMethod.id}`);
      assert.equal(removed.status, 204);
      expect401(await list(gw.url, token));
      expectOk(await list(gw.url, gatewayKey));

      // Added back, it works again (now tried after api_key).
      await addMethod(s, gw, "jwt", jwtMethod.configuration);
      expectOk(await list(gw.url, token));
      // And with every method gone, default deny.
      for (const m of ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods) {
        assert.equal((await s.api("DELETE", `/gateways/${gw.id}/auth/${m.id}`)).status, 204);
      }
      expect401(await list(gw.url, gatewayKey), /no authentication method/);
      expect401(await list(gw.url, token), /no authentication method/);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("methods are tried in creation order and the first success wins", async () => {
  const key = await makeKey("ES256");
  await withAuthServer(async (s) => {
    // jwt, then none: a valid read-only JWT is the JWT's principal (no execute);
    // anything the JWT method refuses falls through to anonymous.
    const gw = await jwtGateway(s, { publicKeyPem: key.pem });
    await addMethod(s, gw, "none");
    const reader = await mint(key);
    expectOk(await list(gw.url, reader));
    expectRpcError(await call(gw.url, reader, 3), 403, -32600, 3);
    expectOk(await call(gw.url, "not-a-token"));
    expectOk(await call(gw.url, await mint(await makeKey("ES256"))));

    // none first: everyone is anonymous, whatever they send.
    const open = await bareGateway(s);
    await addMethod(s, open, "none");
    await addMethod(s, open, "jwt", {
      issuer: "https://idp.test/realms/gatehouse",
      audience: "gatehouse-gateway",
      publicKeyPem: key.pem,
    });
    expectOk(await call(open.url, reader));
  });
});

Deno.test("the hot path: no SQL per request for methods or a known key; revocation applies on the next request", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const counts = { methods: 0, keys: 0 };
    const methods = s.store.authMethods;
    const keys = s.store.gatewayKeys;
    const list0 = methods.list.bind(methods);
    const byHash0 = keys.byHash.bind(keys);
    methods.list = (id) => (counts.methods++, list0(id));
    keys.byHash = (hash) => (counts.keys++, byHash0(hash));

    expectOk(await list(gw.url, gw.key));
    const warm = { ...counts };
    for (let i = 0; i < 50; i++) expectOk(await list(gw.url, gw.key, i));
    assert.deepEqual(counts, warm, "50 requests after the first read nothing from the store");

    // Revoked: refused on the very next request, cache or not.
    ok(await s.api("DELETE", `/gateways/${gw.id}/keys/${gw.keyId}`));
    expect401(await list(gw.url, gw.key), /invalid, revoked or expired gateway key/);
    expect401(await list(gw.url, gw.key), /invalid, revoked or expired gateway key/);

    // Unknown keys are looked up each time (never cached), so a new key works at once.
    const before = counts.keys;
    expect401(await list(gw.url, "ghk_unknown"));
    expect401(await list(gw.url, "ghk_unknown"));
    assert.equal(counts.keys, before + 2);
    const fresh = await issueKey(s, gw);
    expectOk(await list(gw.url, fresh.key));

    // A key of another gateway stays refused here even once cached there.
    const other = await createGateway(s, { tools: await standardTools(s) });
    expectOk(await list(other.url, other.key));
    expect401(await list(gw.url, other.key));

    // A tool edit invalidates the method list (one reload), then it is cached again.
    const m0 = counts.methods;
    const tools = await standardTools(s);
    ok(await apiIn(s, "default")("PATCH", `/tools/${tools[0].id}`, { description: "edited" }));
    for (let i = 0; i < 5; i++) expectOk(await list(gw.url, fresh.key, i));
    assert.equal(counts.methods, m0 + 1);
  });
});

Deno.test("an expiring key stops at its expiry even while cached", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const k = ok(
      await apiIn(s, "default")("POST", `/gateways/${gw.id}/keys`, { name: "short", expiresAt }),
      201,
    );
    expectOk(await list(gw.url, k.key));
    expectOk(await list(gw.url, k.key));
    await sleep(Date.parse(expiresAt) - Date.now() + 50);
    expect401(await list(gw.url, k.key), /expired/);
  });
});

Deno.test("a tool change keeps the JWKS cached: the verifier outlives unrelated changes", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      const token = await mint(key);
      expectOk(await list(gw.url, token));
      const tools = await standardTools(s);
      ok(await apiIn(s, "default")("PATCH", `/tools/${tools[1].id}`, { description: "changed" }));
      await addMethod(s, gw, "api_key");
      expectOk(await list(gw.url, token));
      assert.equal(jwks.hits, 1);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("oauth2 is a method like the others: configured, listed, and its tokens header-only", async () => {
  const key = await makeKey("RS256");
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    const method = await addMethod(s, gw, "oauth2", {
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 86_400,
      scopes: ["tools:read"],
    });
    assert.deepEqual(method.configuration, {
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 86_400,
      scopes: ["tools:read"],
    });
    expect401(await list(gw.url), /missing credentials/);
    expect401(await list(gw.url, "gho_not_a_real_token"), /invalid, revoked or expired access/);
    // A JWT is not an access token of this gateway's authorization server.
    expect401(await list(gw.url, await mint(key)));
    // Access tokens are never taken from the query string or X-API-Key on HTTP.
    const q = await rpc(`${gw.url}?api_key=gho_x`, req(1, "tools/list"));
    expect401(
      q,
      /does not accept credentials in the api_key query parameter; send an access token/,
    );
    // Alongside api_key during a migration, gateway keys still work.
    await addMethod(s, gw, "api_key");
    const k = await issueKey(s, gw);
    expectOk(await list(gw.url, k.key));
    expectOk(await list(`${gw.url}?api_key=${k.key}`));
  });
});

Deno.test("a credential sent in a form the gateway does not take is told what was wrong, not 'missing credentials'", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const as = (authorization: string) =>
      rpc(gw.url, req(1, "tools/list"), { headers: { authorization } });
    const noScheme = expect401(await as(gw.key), /Authorization header has no scheme/);
    assert.match(noScheme, /send a gateway key as 'Authorization: Bearer ghk_\.\.\.'/);
    assert.doesNotMatch(noScheme, /missing credentials/);
    assert.doesNotMatch(noScheme, new RegExp(gw.key));
    expect401(await as(`Digest ${gw.key}`), /the 'Digest' Authorization scheme is not supported/);
    expect401(await as(`Bearer ${gw.key} extra`), /exactly one token/);
    expect401(await as("Bearer"), /'Authorization: Bearer' has no credentials after it/);
    expect401(await as("Basic dTpw"), /does not accept 'Authorization: Basic'/);
    // Absent really is missing, and says what to send.
    expect401(
      await list(gw.url),
      /^Unauthorized: missing credentials; send a gateway key as 'Authorization: Bearer ghk_\.\.\.', as 'X-API-Key: ghk_\.\.\.' or in the api_key query parameter$/,
    );
    // The well-formed key still works beside all that.
    expectOk(await list(gw.url, gw.key));
  });
});
