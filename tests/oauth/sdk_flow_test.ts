/**
 * The MCP SDK's own OAuth client connects to a gateway from its URL alone:
 * 401 -> protected-resource metadata -> authorization-server metadata ->
 * dynamic registration -> authorize (a person signs in through the real
 * HTML pages) -> token -> tools/list and tools/call -> refresh on expiry ->
 * revoke -> 401. The gateway's tools reach a real upstream, which must never
 * see the client's token.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { apiIn, ok, req, rpc } from "../helpers/mcp.ts";
import { startTestServer } from "../helpers/server.ts";
import { startUpstream } from "../tools/upstream.ts";
import { addUser, oauthGateway, REDIRECT_URI, signIn } from "./helpers.ts";
import { TestProvider } from "./sdk_provider.ts";

Deno.test("the MCP SDK connects with OAuth from the gateway URL alone: register, sign in, use, refresh, revoke", async () => {
  const upstream = startUpstream({
    "/echo": (r, rec) =>
      Response.json({ ok: true, sawAuthorization: rec.headers.authorization ?? null, at: r.url }),
  });
  // Real tool execution (the HTTP executor), so the upstream sees exactly what Gatehouse sends.
  const s = await startTestServer();
  try {
    const gw = await oauthGateway(s, {
      tools: [],
    });
    const api = apiIn(s, "default");
    const tool = ok(
      await api("POST", "/tools", {
        name: "echo_upstream",
        description: "Calls the upstream",
        inputSchema: { type: "object", properties: {} },
        type: "http",
        executionConfig: { method: "GET", url: `${upstream.url}/echo` },
      }),
      201,
    );
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }), 201);
    await addUser(s, "ada@example.com", "member");

    const provider = new TestProvider();
    const seen: string[] = [];
    const watch: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      seen.push(`${init?.method ?? "GET"} ${new URL(url).pathname}`);
      return fetch(input, init);
    };
    // 1. Unauthenticated: the SDK discovers, registers and asks the user to sign in.
    const first = new StreamableHTTPClientTransport(new URL(gw.url), {
      authProvider: provider,
      fetch: watch,
    });
    const probe = new Client({ name: "sdk-oauth-test", version: "1.0.0" });
    await assert.rejects(probe.connect(first), UnauthorizedError);
    assert.ok(provider.authorizationUrl, "the SDK asked for a browser sign-in");
    assert.ok(provider.client?.client_id, "the SDK registered a client");
    const path = new URL(gw.url).pathname;
    assert.deepEqual(seen.slice(0, 4), [
      `POST ${path}`,
      `GET /.well-known/oauth-protected-resource${path}`,
      `GET /.well-known/oauth-authorization-server${path}`,
      `POST ${path}/oauth/register`,
    ]);
    const authUrl = provider.authorizationUrl;
    assert.equal(authUrl.origin + authUrl.pathname, gw.authorize);
    assert.equal(authUrl.searchParams.get("code_challenge_method"), "S256");
    assert.equal(authUrl.searchParams.get("resource"), gw.url);
    assert.equal(authUrl.searchParams.get("scope"), "tools:read tools:execute");

    // 2. A person signs in and approves; the browser lands on the client's redirect URI.
    const landed = await signIn(authUrl.href, { email: "ada@example.com" });
    assert.equal(landed.origin + landed.pathname, REDIRECT_URI);
    assert.equal(landed.searchParams.get("state"), provider.stateValue);
    assert.equal(landed.searchParams.get("iss"), gw.issuer);
    const code = landed.searchParams.get("code")!;
    await first.finishAuth(code);
    assert.equal(provider.saved?.token_type, "Bearer");
    assert.equal(provider.saved?.scope, "tools:read tools:execute");
    assert.ok(provider.saved?.refresh_token);

    // 3. Connected: tools are listed and called; the upstream never sees the client's token.
    const transport = new StreamableHTTPClientTransport(new URL(gw.url), {
      authProvider: provider,
    });
    const client = new Client({ name: "sdk-oauth-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t: { name: string }) => t.name), ["echo_upstream"]);
      const called = await client.callTool({ name: "echo_upstream", arguments: {} });
      assert.equal(called.isError, undefined, JSON.stringify(called));
      const upstreamSaw = upstream.to("/echo")[0];
      assert.equal(upstreamSaw.headers.authorization, undefined);
      const access = provider.saved!.access_token;
      for (const [name, value] of Object.entries(upstreamSaw.headers)) {
        assert.ok(!value.includes(access), `the upstream got the client's token in ${name}`);
      }
      assert.ok(!upstreamSaw.query.includes(access) && !upstreamSaw.body.includes(access));

      // 4. The access token expires: the SDK refreshes on the 401 (rotating the refresh token).
      const before = provider.saved!;
      await s.store.db.run(
        "UPDATE oauth_tokens SET expires_at = ? WHERE kind = 'access'",
        new Date(Date.now() - 1000).toISOString(),
      );
      const expired = await rpc(gw.url, req(1, "tools/list"), { key: before.access_token });
      assert.equal(expired.status, 401);
      assert.equal((await client.listTools()).tools.length, 1);
      const after = provider.saved!;
      assert.notEqual(after.access_token, before.access_token);
      assert.notEqual(after.refresh_token, before.refresh_token);
      assert.equal(provider.savedTokens.length, 2);

      // 5. Revoking the refresh token ends the whole authorization on the next request.
      const revoked = await fetch(gw.revoke, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: after.refresh_token!,
          token_type_hint: "refresh_token",
          client_id: provider.client!.client_id,
        }),
      });
      assert.equal(revoked.status, 200);
      await revoked.body?.cancel();
      const gone = await rpc(gw.url, req(2, "tools/list"), { key: after.access_token });
      assert.equal(gone.status, 401);
      assert.match(gone.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
      // The SDK's refresh is refused too, so it falls back to asking the user again.
      provider.authorizationUrl = undefined;
      await assert.rejects(client.listTools(), UnauthorizedError);
      assert.ok(provider.authorizationUrl, "the SDK asked for a new sign-in");
    } finally {
      await client.close();
    }
  } finally {
    await s.close();
    await upstream.close();
  }
});
