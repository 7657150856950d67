/**
 * The `jwt` auth method end to end: a real server, a real JWKS server on
 * loopback, tokens minted with `jose`. Covers each key source (JWKS with RS256
 * and ES256, rotation and the refetch cooldown, PEM, an HMAC secret from the
 * vault), every refusal the issue lists (alg none, algorithm confusion,
 * expired, not yet valid, wrong issuer and audience, tokens outside the
 * Authorization header), the skew, and scope mapping down to the 403.
 */
import assert from "node:assert/strict";
import { UnsecuredJWT } from "jose";
import { GatewayAuthenticator } from "../../src/auth/gateway_auth.ts";
import {
  apiIn,
  expectRpcError,
  type Json,
  ok,
  req,
  rpc,
  type RpcAnswer,
  sleep,
} from "../helpers/mcp.ts";
import {
  AUDIENCE,
  expect401,
  ISSUER,
  JwksServer,
  jwtGateway,
  jwtSettings,
  makeKey,
  mint,
  withAuthServer,
} from "./helpers.ts";

const list = (url: string, token: string, id = 1) =>
  rpc(url, req(id, "tools/list"), { key: token });
const call = (url: string, token: string, id = 2) =>
  rpc(url, req(id, "tools/call", { name: "echo", arguments: { text: "hi" } }), { key: token });

function expectTools(a: RpcAnswer): void {
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.result.tools.length, 4, a.text);
}

Deno.test("jwt via JWKS: RS256 and ES256 tokens are accepted; the JWKS is fetched once and cached", async () => {
  const rsa = await makeKey("RS256");
  const ec = await makeKey("ES256");
  const jwks = new JwksServer([rsa, ec]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      expectTools(await list(gw.url, await mint(rsa)));
      expectTools(await list(gw.url, await mint(ec)));
      // The default claim grants Gatehouse scope names it carries.
      const r = await call(gw.url, await mint(rsa, { claims: { scope: "tools:execute" } }));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.result.structuredContent, { echoed: { text: "hi" } });
      for (let i = 0; i < 5; i++) expectTools(await list(gw.url, await mint(ec), i));
      assert.equal(jwks.hits, 1, "keys are cached, not fetched per request");
      // Audience as a list: a token naming any one of them is accepted.
      const multi = await jwtGateway(s, { jwksUrl: jwks.url, audience: ["other", AUDIENCE] });
      expectTools(await list(multi.url, await mint(rsa, { claims: { aud: [AUDIENCE, "x"] } })));
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt via JWKS: key rotation (unknown kid -> JWKS refetched -> accepted); old key then refused", async () => {
  const oldKey = await makeKey("RS256");
  const newKey = await makeKey("RS256");
  const jwks = new JwksServer([oldKey]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      // The same token string before and after: the verified-token cache must not outlive the
      // key set it was verified with.
      const oldToken = await mint(oldKey);
      expectTools(await list(gw.url, oldToken));
      expectTools(await list(gw.url, oldToken));
      assert.equal(jwks.hits, 1);
      jwks.serve([newKey]);
      expectTools(await list(gw.url, await mint(newKey)));
      assert.equal(jwks.hits, 2, "the unknown kid triggered exactly one refetch");
      expectTools(await list(gw.url, await mint(newKey)));
      assert.equal(jwks.hits, 2);
      expect401(await list(gw.url, oldToken), /no key .* matches/);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt via JWKS: within the cooldown, unknown kids do not trigger refetches", async () => {
  const key = await makeKey("ES256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      expectTools(await list(gw.url, await mint(key)));
      for (let i = 0; i < 5; i++) {
        const forged = await mint(await makeKey("ES256"), { header: { kid: `made-up-${i}` } });
        expect401(await list(gw.url, forged), /no key .* matches/);
      }
      assert.equal(jwks.hits, 1, "forged kids cannot make the gateway hammer the provider");
    }, jwtSettings(60_000));
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt via JWKS: an unreachable JWKS refuses with 401 and says why", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  const url = jwks.url;
  await jwks.close();
  await withAuthServer(async (s) => {
    const gw = await jwtGateway(s, { jwksUrl: url });
    expect401(await list(gw.url, await mint(key)), /JWKS could not be fetched/);
  });
});

Deno.test("jwt via PEM: the public key verifies; another key's signature is refused", async () => {
  const key = await makeKey("RS256");
  const other = await makeKey("RS256", key.kid);
  await withAuthServer(async (s) => {
    const gw = await jwtGateway(s, { publicKeyPem: key.pem });
    expectTools(await list(gw.url, await mint(key)));
    expect401(await list(gw.url, await mint(other)), /signature is invalid/);
    // PS256 with the same RSA key is accepted by default too.
    const ps = await makeKey("PS256");
    const gwPs = await jwtGateway(s, { publicKeyPem: ps.pem, algorithms: ["PS256"] });
    expectTools(await list(gwPs.url, await mint(ps)));
    // An EC key defaults to its curve's algorithm.
    const ec = await makeKey("ES384");
    const gwEc = await jwtGateway(s, { publicKeyPem: ec.pem });
    const shown = ok(await s.api("GET", `/gateways/${gwEc.id}/auth`)).methods[0];
    assert.deepEqual(shown.configuration.algorithms, ["ES384"]);
    expectTools(await list(gwEc.url, await mint(ec)));
  });
});

Deno.test("jwt via an HMAC secret from the vault; rotating the secret takes effect on the next request", async () => {
  await withAuthServer(async (s) => {
    const api = apiIn(s, "default");
    const value = "an-hmac-secret-of-at-least-32-bytes-0123456789";
    const secret = ok(
      await api("POST", "/secrets", { name: "IDP_HMAC", type: "bearer_token", value }),
      201,
    );
    const gw = await jwtGateway(s, { hs256Secret: "IDP_HMAC" });
    const method = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods[0];
    // Only the name is stored, never the value.
    assert.equal(method.configuration.hs256Secret, "IDP_HMAC");
    assert.ok(!JSON.stringify(method).includes(value));
    assert.deepEqual(method.configuration.algorithms, ["HS256"]);
    const hs = { secret: new TextEncoder().encode(value), alg: "HS256" };
    expectTools(await list(gw.url, await mint(hs)));
    expect401(
      await list(
        gw.url,
        await mint({ secret: new TextEncoder().encode(value + "x"), alg: "HS256" }),
      ),
      /signature is invalid/,
    );
    // HS512 is not in the configured list.
    expect401(
      await list(gw.url, await mint({ ...hs, alg: "HS512" })),
      /algorithm \(alg\) is not allowed/,
    );
    // Rotate: the old secret's tokens stop, the new one's start, with no restart.
    const rotated = "a-rotated-hmac-secret-also-32-bytes-long-abcdef";
    ok(await api("PATCH", `/secrets/${secret.id}`, { type: "bearer_token", value: rotated }));
    expect401(await list(gw.url, await mint(hs)), /signature is invalid/);
    expectTools(
      await list(gw.url, await mint({ secret: new TextEncoder().encode(rotated), alg: "HS256" })),
    );
    // Deleting the secret disables the method (and says so).
    assert.equal((await api("DELETE", `/secrets/${secret.id}`)).status, 204);
    expect401(
      await list(gw.url, await mint({ secret: new TextEncoder().encode(rotated), alg: "HS256" })),
      /HMAC secret no longer exists/,
    );
  });
});

Deno.test("alg none is refused, with a JWKS, a PEM key and an HMAC secret", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const value = "an-hmac-secret-of-at-least-32-bytes-0123456789";
      ok(
        await apiIn(s, "default")("POST", "/secrets", {
          name: "H",
          type: "bearer_token",
          value,
        }),
        201,
      );
      const none = new UnsecuredJWT({ sub: "admin", scope: "tools:read tools:execute" })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("1h").encode();
      assert.match(none, /\.$/, "an unsecured JWT has an empty signature");
      for (
        const source of [{ jwksUrl: jwks.url }, { publicKeyPem: key.pem }, { hs256Secret: "H" }]
      ) {
        const gw = await jwtGateway(s, source);
        expect401(await list(gw.url, none), /algorithm \(alg\) is not allowed/);
        // The same with a signature part glued on.
        expect401(await list(gw.url, `${none}c2lnbmF0dXJl`), /not allowed|malformed/);
      }
      assert.equal(s.executor.calls.length, 0);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("algorithm confusion: an HS256 token signed with the RSA public key's bytes is refused", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const forgeries = [
        await mint({ secret: new TextEncoder().encode(key.pem), alg: "HS256" }),
        await mint({ secret: new TextEncoder().encode(key.pem.trim()), alg: "HS256" }, {
          header: { kid: key.kid },
        }),
        await mint({ secret: new TextEncoder().encode(JSON.stringify(key.jwk)), alg: "HS256" }, {
          header: { kid: key.kid },
        }),
      ];
      for (const source of [{ publicKeyPem: key.pem }, { jwksUrl: jwks.url }]) {
        const gw = await jwtGateway(s, source);
        expectTools(await list(gw.url, await mint(key)));
        for (const forged of forgeries) {
          expect401(await list(gw.url, forged), /algorithm \(alg\) is not allowed/);
        }
      }
      // And the configuration cannot be talked into it either.
      const gw = await jwtGateway(s, { publicKeyPem: key.pem });
      const refused = await apiIn(s, "default")("POST", `/gateways/${gw.id}/auth`, {
        type: "jwt",
        configuration: {
          issuer: ISSUER,
          audience: AUDIENCE,
          publicKeyPem: key.pem,
          algorithms: ["HS256"],
        },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error?.field, "configuration.algorithms");
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("expired, not-yet-valid, wrong-issuer and wrong-audience tokens are refused; the skew applies", async () => {
  const key = await makeKey("ES256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      const now = Math.floor(Date.now() / 1000);
      const token = (claims: Record<string, unknown>) => mint(key, { claims });
      expect401(await list(gw.url, await token({ exp: now - 120 })), /expired/);
      expect401(await list(gw.url, await token({ nbf: now + 120 })), /not valid yet/);
      expect401(await list(gw.url, await token({ iss: "https://evil.test" })), /issuer/);
      expect401(await list(gw.url, await token({ iss: undefined })), /'iss' claim/);
      expect401(await list(gw.url, await token({ aud: "someone-else" })), /audience/);
      expect401(await list(gw.url, await token({ aud: undefined })), /'aud' claim/);
      expect401(await list(gw.url, await token({ exp: undefined })), /'exp' claim/);
      expect401(await list(gw.url, await token({ sub: undefined })), /'sub' claim/);
      // Within the default 60 s of skew, both ends are tolerated.
      expectTools(await list(gw.url, await token({ exp: now - 20 })));
      expectTools(await list(gw.url, await token({ nbf: now + 20 })));
      // A verified token is remembered, but never past its exp (plus the skew).
      const strictKey = await jwtGateway(s, { jwksUrl: jwks.url, clockSkewSeconds: 0 });
      const shortExp = Math.floor(Date.now() / 1000) + 2;
      const short = await token({ exp: shortExp });
      expectTools(await list(strictKey.url, short));
      expectTools(await list(strictKey.url, short));
      await sleep(Math.max(0, shortExp * 1000 - Date.now()) + 300);
      expect401(await list(strictKey.url, short), /expired/);
      // A tighter skew is honoured.
      const strict = await jwtGateway(s, { jwksUrl: jwks.url, clockSkewSeconds: 0 });
      expect401(await list(strict.url, await token({ exp: now - 20 })), /expired/);
      expect401(await list(strict.url, await token({ nbf: now + 20 })), /not valid yet/);
      // A tampered payload breaks the signature.
      const [h, , sig] = (await token({})).split(".");
      const payload = btoa(
        JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: "root", exp: now + 99 }),
      )
        .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      expect401(await list(gw.url, `${h}.${payload}.${sig}`), /signature is invalid/);
      assert.equal(s.executor.calls.length, 0);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("scope mapping: a read-only token lists (200) but its tools/call is 403 insufficient_scope", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, {
        jwksUrl: jwks.url,
        scopesClaim: "realm_access.roles",
        scopeMap: {
          "mcp-reader": ["tools:read"],
          "mcp-admin": ["tools:read", "tools:execute"],
        },
      });
      const reader = await mint(key, { claims: { realm_access: { roles: ["mcp-reader", "x"] } } });
      expectTools(await list(gw.url, reader));
      const refused = await call(gw.url, reader, 7);
      const err = expectRpcError(refused, 403, -32600, 7);
      assert.match(err.message, /tools:execute/);
      assert.equal(
        refused.headers.get("www-authenticate"),
        'Bearer error="insufficient_scope", scope="tools:execute"',
      );
      assert.equal(s.executor.calls.length, 0);

      const admin = await mint(key, { claims: { realm_access: { roles: ["mcp-admin"] } } });
      assert.equal((await call(gw.url, admin)).status, 200);
      assert.equal(s.executor.calls.length, 1);

      // A valid token with no mapped scope is authenticated (not 401) but may do nothing.
      const nobody = await mint(key, { claims: { realm_access: { roles: ["admin", "root"] } } });
      const none = await list(gw.url, nobody, 8);
      expectRpcError(none, 403, -32600, 8);
      assert.match(none.headers.get("www-authenticate") ?? "", /scope="tools:read"/);

      // The default claim: a space-separated `scope`; only Gatehouse scopes survive.
      const plain = await jwtGateway(s, { jwksUrl: jwks.url, defaultScopes: ["tools:read"] });
      const openid = await mint(key, { claims: { scope: "openid profile admin" } });
      expectTools(await list(plain.url, openid));
      expectRpcError(await call(plain.url, openid, 9), 403, -32600, 9);
      const exec = await mint(key, { claims: { scope: "openid tools:execute" } });
      assert.equal((await call(plain.url, exec)).status, 200);
    });
  } finally {
    await jwks.close();
  }
});

Deno.test("JWTs only in the Authorization header: query and X-API-Key refused; the /ws exceptions work", async () => {
  const key = await makeKey("RS256");
  await withAuthServer(async (s) => {
    const gw = await jwtGateway(s, { publicKeyPem: key.pem });
    const token = await mint(key, { claims: { scope: "tools:read tools:execute" } });
    expectTools(await list(gw.url, token));
    const inQuery = await rpc(`${gw.url}?api_key=${token}`, req(1, "tools/list"));
    expect401(inQuery, /does not accept credentials in the api_key query parameter; send a JWT/);
    const inHeader = await rpc(gw.url, req(1, "tools/list"), { headers: { "x-api-key": token } });
    expect401(inHeader, /does not accept credentials in the X-API-Key header; send a JWT/);
    // SSE GET and its messages endpoint follow the same rule.
    const sse = await fetch(`${gw.url}/sse?api_key=${token}`, {
      headers: { accept: "text/event-stream" },
    });
    await sse.body?.cancel();
    assert.equal(sse.status, 401);

    // On the WebSocket path, browsers cannot set headers: the subprotocol and the query work.
    const wsUrl = gw.url.replace(/^http/, "ws") + "/ws";
    for (
      const [url, protocols] of [
        [wsUrl, ["mcp", `bearer.${token}`]],
        [`${wsUrl}?api_key=${token}`, ["mcp"]],
      ] as const
    ) {
      const socket = new WebSocket(url, [...protocols]);
      const answer = await new Promise<Json>((resolve, reject) => {
        socket.onopen = () => socket.send(JSON.stringify(req(1, "tools/list")));
        socket.onmessage = (e) => resolve(JSON.parse(e.data));
        socket.onerror = () => reject(new Error(`WebSocket to ${url.split("?")[0]} failed`));
      });
      socket.close();
      assert.equal(answer.result.tools.length, 4, JSON.stringify(answer));
    }
    // Without any token the upgrade is refused.
    const refused = await fetch(gw.url + "/ws", {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13" },
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
  });
});

Deno.test("a stored jwt method this server may not use (http JWKS without the flag) refuses, never guesses", async () => {
  const key = await makeKey("RS256");
  const jwks = new JwksServer([key]);
  try {
    // Stored by a server with the flag; checked by an authenticator without it.
    await withAuthServer(async (s) => {
      const gw = await jwtGateway(s, { jwksUrl: jwks.url });
      const gateway = (await s.store.gateways.byPath(gw.orgSlug, gw.endpoint))!;
      const strict = new GatewayAuthenticator(s.store, {
        jwt: { ...jwtSettings(), allowInsecureJwks: false },
      });
      try {
        const token = await mint(key);
        const r = await strict.authenticate(gateway, {
          presented: { authorization: { scheme: "bearer", token }, transport: "http" },
          headers: new Headers(),
          clientAddress: () => "127.0.0.1",
        });
        assert.ok("reason" in r);
        assert.match(r.reason, /not usable on this server: configuration\.jwksUrl must be https/);
      } finally {
        strict.dispose();
      }
      assert.equal(jwks.hits, 0);
    });
  } finally {
    await jwks.close();
  }
});
