/**
 * Discovery: RFC 8414 authorization-server metadata and RFC 9728
 * protected-resource metadata, each at the seed's path under the gateway and
 * at the RFC path-inserted form, public, with absolute URLs that honour a
 * configured public base URL; and the 401 challenge that points to them.
 */
import assert from "node:assert/strict";
import { createGateway, type Json, req, rpc } from "../helpers/mcp.ts";
import { oauthGateway, withOAuthServer } from "./helpers.ts";

async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** The metadata fields a gateway's authorization server must announce, for `issuer`. */
function expectedMetadata(issuer: string): Json {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    registration_endpoint: `${issuer}/oauth/register`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_post", "client_secret_basic"],
    revocation_endpoint_auth_methods_supported: [
      "none",
      "client_secret_post",
      "client_secret_basic",
    ],
    scopes_supported: ["tools:read", "tools:execute"],
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}

Deno.test("authorization-server metadata answers at the seed's path and the RFC 8414 path, publicly", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const path = new URL(gw.url).pathname;
    const seed = await getJson(`${gw.url}/.well-known/oauth-authorization-server`);
    const rfc = await getJson(`${s.url}/.well-known/oauth-authorization-server${path}`);
    for (const res of [seed, rfc]) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, expectedMetadata(gw.url));
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.match(res.headers.get("content-type")!, /^application\/json/);
    }
    // Preflight for browser-based clients, which send MCP-Protocol-Version.
    const pre = await fetch(`${s.url}/.well-known/oauth-authorization-server${path}`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "mcp-protocol-version",
      },
    });
    await pre.body?.cancel();
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get("access-control-allow-headers")!, /mcp-protocol-version/);
  });
});

Deno.test("protected-resource metadata names the gateway as its authorization server once oauth2 is on", async () => {
  await withOAuthServer(async (s) => {
    const plain = await createGateway(s, { auth: "api_key" });
    const gw = await oauthGateway(s, { configuration: { scopes: ["tools:read"] } });
    const path = new URL(gw.url).pathname;
    for (
      const url of [
        `${gw.url}/.well-known/oauth-protected-resource`,
        `${s.url}/.well-known/oauth-protected-resource${path}`,
      ]
    ) {
      const res = await getJson(url);
      assert.equal(res.status, 200);
      assert.equal(res.body.resource, gw.url);
      assert.deepEqual(res.body.authorization_servers, [gw.url]);
      assert.deepEqual(res.body.scopes_supported, ["tools:read"]);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    }
    const meta = await getJson(`${gw.url}/.well-known/oauth-authorization-server`);
    assert.deepEqual(meta.body.scopes_supported, ["tools:read"]);
    // Without oauth2 there is no authorization server to name, and none answers.
    const none = await getJson(`${plain.url}/.well-known/oauth-protected-resource`);
    assert.deepEqual(none.body.authorization_servers, []);
    const noAs = await getJson(`${plain.url}/.well-known/oauth-authorization-server`);
    assert.equal(noAs.status, 404);
    assert.match(noAs.body.error_description, /no oauth2 auth method/);
    const noAsRfc = await getJson(
      `${s.url}/.well-known/oauth-authorization-server${new URL(plain.url).pathname}`,
    );
    assert.equal(noAsRfc.status, 404);
    const unknown = await getJson(
      `${s.url}/.well-known/oauth-authorization-server/mcp/default/nope`,
    );
    assert.equal(unknown.status, 404);
    for (const endpoint of ["token", "register", "revoke"]) {
      const res = await fetch(`${plain.url}/oauth/${endpoint}`, { method: "POST" });
      assert.equal(res.status, 404, endpoint);
      await res.body?.cancel();
    }
    const page = await fetch(`${plain.url}/oauth/authorize?client_id=x`);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /does not offer OAuth/);
  });
});

Deno.test("discovery documents use the configured public URL for every absolute URL", async () => {
  const publicUrl = "https://gatehouse.example.com";
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const path = new URL(gw.url).pathname;
    const issuer = `${publicUrl}${path}`;
    const seed = await getJson(`${gw.url}/.well-known/oauth-authorization-server`);
    assert.deepEqual(seed.body, expectedMetadata(issuer));
    const rfc = await getJson(`${s.url}/.well-known/oauth-authorization-server${path}`);
    assert.deepEqual(rfc.body, expectedMetadata(issuer));
    const prm = await getJson(`${s.url}/.well-known/oauth-protected-resource${path}`);
    assert.equal(prm.body.resource, issuer);
    assert.deepEqual(prm.body.authorization_servers, [issuer]);
    const denied = await rpc(gw.url, req(1, "tools/list"));
    assert.equal(
      denied.headers.get("www-authenticate"),
      `Bearer resource_metadata="${publicUrl}/.well-known/oauth-protected-resource${path}", ` +
        `scope="tools:read tools:execute"`,
    );
  }, { publicUrl });
});

Deno.test("a 401 names the metadata and the scopes, and says invalid_token for a refused token", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const path = new URL(gw.url).pathname;
    const metadata = `${s.url}/.well-known/oauth-protected-resource${path}`;
    const missing = await rpc(gw.url, req(1, "tools/list"));
    assert.equal(missing.status, 401);
    assert.equal(
      missing.headers.get("www-authenticate"),
      `Bearer resource_metadata="${metadata}", scope="tools:read tools:execute"`,
    );
    const bad = await rpc(gw.url, req(1, "tools/list"), { key: "gho_not_a_real_token" });
    assert.equal(bad.status, 401);
    assert.equal(
      bad.headers.get("www-authenticate"),
      `Bearer resource_metadata="${metadata}", scope="tools:read tools:execute", error="invalid_token"`,
    );
    assert.match(bad.body.error.message, /access token/);
    // The URL in the challenge answers.
    const prm = await getJson(metadata);
    assert.equal(prm.status, 200);
    assert.deepEqual(prm.body.authorization_servers, [gw.url]);
  });
});
