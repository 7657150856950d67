/**
 * OAuth2 client credentials end to end: a real token endpoint and a real API
 * that only accepts the current token. Tokens are fetched once and cached,
 * refreshed after expiry, fetched anew after an upstream 401, and shared by
 * concurrent calls.
 */
import assert from "node:assert/strict";
import { expectStatus, withServer } from "../api/fixtures.ts";
import type { TestServer } from "../helpers/server.ts";
import { delay, startUpstream, type Upstream } from "../tools/upstream.ts";
import { addSecret, httpTool, resultText, toolGateway } from "./fixtures.ts";

const CLIENT_SECRET = "cs-9f8e7d6c5b4a";

/**
 * A token endpoint issuing `tok-1`, `tok-2`, ... (each valid for `expiresIn`
 * seconds) and an API at `/api` accepting only tokens in `valid` (none once
 * `state.rejectAll` is set).
 */
function provider(expiresIn: number | undefined, opts: { tokenDelayMs?: number } = {}) {
  const valid = new Set<string>();
  const state = { rejectAll: false };
  let issued = 0;
  const up: Upstream = startUpstream({
    "/token": async () => {
      if (opts.tokenDelayMs) await delay(opts.tokenDelayMs);
      const token = `tok-${++issued}`;
      valid.add(token);
      return Response.json({
        access_token: token,
        token_type: "Bearer",
        ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
      });
    },
    "/api": (req) => {
      const auth = req.headers.get("authorization") ?? "";
      return !state.rejectAll && valid.has(auth.replace(/^Bearer /, ""))
        ? Response.json({ data: "ok", auth })
        : Response.json({ error: "invalid_token" }, { status: 401 });
    },
  });
  return { up, valid, state };
}

async function oauthSecret(s: TestServer, up: Upstream, name = "OAUTH", secret = CLIENT_SECRET) {
  return await addSecret(s, {
    name,
    type: "oauth2_client_credentials",
    value: {
      tokenUrl: `${up.url}/token`,
      clientId: "client-1",
      clientSecret: secret,
      scopes: ["read", "write:all"],
      audience: "https://api.example.com",
    },
  });
}

Deno.test("a token is fetched once with the client's credentials and cached across calls", async () => {
  const { up } = provider(3600);
  try {
    await withServer(async (s) => {
      await oauthSecret(s, up);
      const gw = await toolGateway(s, [
        httpTool("api", `${up.url}/api`, { auth: { secret: "OAUTH" } }),
        httpTool("templated", `${up.url}/api`, {
          headers: { Authorization: "Bearer {{secrets.OAUTH}}" },
        }),
      ]);
      for (let i = 0; i < 3; i++) {
        const r = await gw.call("api");
        assert.equal(r.isError, undefined, JSON.stringify(r));
      }
      assert.equal((await gw.call("templated")).isError, undefined);
      const tokens = up.to("/token");
      assert.equal(tokens.length, 1, "one token request for four calls");
      const t = tokens[0];
      assert.equal(t.method, "POST");
      assert.equal(t.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(t.headers.authorization, `Basic ${btoa(`client-1:${CLIENT_SECRET}`)}`);
      assert.deepEqual(Object.fromEntries(new URLSearchParams(t.body)), {
        grant_type: "client_credentials",
        scope: "read write:all",
        audience: "https://api.example.com",
      });
      assert.deepEqual(up.to("/api").map((r) => r.headers.authorization), [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-1",
      ]);
    });
  } finally {
    await up.close();
  }
});

Deno.test("an expired token is replaced: short expires_in means a new fetch", async () => {
  const { up } = provider(1);
  try {
    await withServer(async (s) => {
      await oauthSecret(s, up);
      const gw = await toolGateway(s, [
        httpTool("api", `${up.url}/api`, { auth: { secret: "OAUTH" } }),
      ]);
      await gw.call("api");
      await gw.call("api");
      assert.equal(up.to("/token").length, 1);
      // expires_in 1 s: replaced 10% early, so after 1.1 s the cached token is stale.
      await delay(1100);
      await gw.call("api");
      assert.equal(up.to("/token").length, 2);
      assert.deepEqual(up.to("/api").map((r) => r.headers.authorization), [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
      ]);
    });
  } finally {
    await up.close();
  }
});

Deno.test("an upstream 401 is retried once with a fresh token", async () => {
  const { up, valid, state } = provider(3600);
  try {
    await withServer(async (s) => {
      await oauthSecret(s, up);
      const gw = await toolGateway(s, [
        httpTool("api", `${up.url}/api`, { method: "POST", auth: { secret: "OAUTH" } }),
      ]);
      assert.equal((await gw.call("api")).isError, undefined);
      // The provider revokes the token before it expires.
      valid.delete("tok-1");
      const r = await gw.call("api");
      assert.equal(r.isError, undefined, JSON.stringify(r));
      // The upstream echoed the fresh token: redacted like any secret.
      assert.equal(resultText(r), '{"data":"ok","auth":"Bearer [REDACTED]"}');
      assert.equal(up.to("/token").length, 2);
      assert.deepEqual(up.to("/api").map((x) => x.headers.authorization), [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
      ]);
      // Still refused with the fresh token: one retry only, then the 401 as an error result.
      state.rejectAll = true;
      const refused = await gw.call("api");
      assert.equal(refused.isError, true);
      assert.match(resultText(refused), /401/);
      assert.equal(up.to("/api").length, 5);
      assert.equal(up.to("/token").length, 3);
    });
  } finally {
    await up.close();
  }
});

Deno.test("concurrent calls share one token request; a changed secret gets a new token", async () => {
  const { up } = provider(3600, { tokenDelayMs: 150 });
  try {
    await withServer(async (s) => {
      const secret = await oauthSecret(s, up);
      const gw = await toolGateway(s, [
        httpTool("api", `${up.url}/api`, { auth: { secret: "OAUTH" } }),
      ]);
      const results = await Promise.all(Array.from({ length: 5 }, () => gw.call("api")));
      for (const r of results) assert.equal(r.isError, undefined, JSON.stringify(r));
      assert.equal(up.to("/token").length, 1);
      expectStatus(
        await s.api("PATCH", `/secrets/${secret.id}`, {
          value: { tokenUrl: `${up.url}/token`, clientId: "client-1", clientSecret: "rotated-2" },
        }),
        200,
      );
      await gw.call("api");
      const tokens = up.to("/token");
      assert.equal(tokens.length, 2, "the rotated client secret must not reuse the old token");
      assert.equal(tokens[1].headers.authorization, `Basic ${btoa("client-1:rotated-2")}`);
      assert.equal(tokens[1].body, "grant_type=client_credentials");
    });
  } finally {
    await up.close();
  }
});

Deno.test("a failing token endpoint is an error result naming the secret, not its values", async () => {
  const up = startUpstream({
    "/token": (req) =>
      Response.json({
        error: "invalid_client",
        error_description: `bad credentials: ${req.headers.get("authorization")}`,
      }, { status: 401 }),
    "/no-token": () => Response.json({ token_type: "Bearer" }),
    "/api": () => Response.json({ ok: true }),
  });
  try {
    await withServer(async (s) => {
      await oauthSecret(s, up);
      await addSecret(s, {
        name: "EMPTY",
        type: "oauth2_client_credentials",
        value: { tokenUrl: `${up.url}/no-token`, clientId: "c", clientSecret: CLIENT_SECRET },
      });
      const gw = await toolGateway(s, [
        httpTool("api", `${up.url}/api`, { auth: { secret: "OAUTH" } }),
        httpTool("empty", `${up.url}/api`, { auth: { secret: "EMPTY" } }),
      ]);
      const r = await gw.call("api");
      assert.equal(r.isError, true);
      const text = resultText(r);
      assert.match(text, /access token for secret 'OAUTH'.*HTTP 401 \(invalid_client\)/);
      assert.ok(!text.includes(CLIENT_SECRET) && !text.includes(btoa(`client-1:${CLIENT_SECRET}`)));
      assert.match(resultText(await gw.call("empty")), /'EMPTY'.*no access_token/);
      assert.equal(up.to("/api").length, 0);
    });
  } finally {
    await up.close();
  }
});
