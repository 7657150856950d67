/**
 * OAuth-capable MCP clients that connect without a key to a gateway that
 * does not use OAuth end on a message telling the user to send the gateway
 * key: the MCP SDK's OAuth client and the real `mcp-remote` (run with npx as
 * a child process), each following the 401 through the protected-resource
 * metadata to the origin's fallback endpoints.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { MCP_REMOTE_VERSION } from "../../src/api/client_configs.ts";
import { createGateway, type Json, req, rpc, withMcpServer } from "../helpers/mcp.ts";
import { TestProvider } from "../oauth/sdk_provider.ts";
import { addMethod } from "./helpers.ts";

const FIX = /send a valid gateway key as the header 'Authorization: Bearer ghk_\.\.\.'/;

Deno.test("the SDK's OAuth client at a gateway without oauth2 ends on 'send the gateway key', on HTTP and SSE", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: [{ name: "echo" }] });
    // What the client reads first: metadata naming no authorization server.
    const prm: Json = await (await fetch(
      `${s.url}/.well-known/oauth-protected-resource/mcp/default${gw.endpoint}`,
    )).json();
    assert.deepEqual(prm.authorization_servers, []);

    for (
      const make of [
        (p: TestProvider) =>
          new StreamableHTTPClientTransport(new URL(gw.url), { authProvider: p }),
        (p: TestProvider) => new SSEClientTransport(new URL(`${gw.url}/sse`), { authProvider: p }),
      ]
    ) {
      const provider = new TestProvider();
      const client = new Client({ name: "oauth-client", version: "1.0.0" });
      const err = await client.connect(make(provider)).then(() => undefined, (e: Error) => e);
      await client.close();
      assert.ok(err, "the connection must fail");
      assert.match(err.message, FIX);
      assert.doesNotMatch(err.message, /no route for/);
      // Nothing was registered and no browser was sent anywhere.
      assert.equal(provider.client, undefined);
      assert.equal(provider.authorizationUrl, undefined);
    }

    // With the key, the same SDK client connects.
    const ok = new Client({ name: "keyed", version: "1.0.0" });
    await ok.connect(
      new StreamableHTTPClientTransport(new URL(gw.url), {
        requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
      }),
    );
    assert.deepEqual((await ok.listTools()).tools.map((t: { name: string }) => t.name), ["echo"]);
    await ok.close();
  });
});

Deno.test("the origin's guessed OAuth endpoints answer OAuth errors (JSON) and a page (authorize) that name the fix", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: [{ name: "echo" }] });
    for (const path of ["/register", "/token"]) {
      const res = await fetch(`${s.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://app.example" },
        body: "{}",
      });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      const body: Json = await res.json();
      assert.equal(body.error, "invalid_request");
      assert.match(body.error_description, FIX);
      const pre = await fetch(`${s.url}${path}`, { method: "OPTIONS" });
      await pre.body?.cancel();
      assert.equal(pre.status, 204);
    }
    const page = await fetch(
      `${s.url}/authorize?response_type=code&resource=${encodeURIComponent(gw.url)}`,
    );
    assert.equal(page.status, 404);
    const html = await page.text();
    assert.match(html, new RegExp(`&#39;Gateway ${gw.endpoint}&#39; does not use OAuth sign-in`));
    assert.match(html, /Authorization: Bearer ghk_/);
    // A gateway that does use OAuth keeps its own endpoints under its URL.
    const oauthGw = await createGateway(s, { auth: null });
    await addMethod(s, oauthGw, "oauth2");
    const meta: Json = await (await fetch(
      `${s.url}/.well-known/oauth-protected-resource/mcp/default${oauthGw.endpoint}`,
    )).json();
    assert.deepEqual(meta.authorization_servers, [oauthGw.url]);
    // And the MCP 401 itself says what this gateway takes.
    const refused = await rpc(gw.url, req(1, "tools/list"));
    assert.equal(refused.status, 401);
    assert.match(
      refused.body.error.message,
      /missing credentials; send a gateway key as 'Authorization: Bearer ghk_\.\.\.'/,
    );
  });
});

Deno.test({
  name:
    `mcp-remote ${MCP_REMOTE_VERSION} without a key ends on 'send the gateway key', not on a 404`,
  // npx may fetch mcp-remote from the npm registry on a first run.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withMcpServer(async (s) => {
      const gw = await createGateway(s, { tools: [{ name: "echo" }] });
      const home = await Deno.makeTempDir({ prefix: "gatehouse-mcp-remote-" });
      try {
        const run = (extra: string[]) =>
          new Deno.Command("npx", {
            args: ["-y", "-p", `mcp-remote@${MCP_REMOTE_VERSION}`, "mcp-remote-client", ...extra],
            env: { PATH: Deno.env.get("PATH") ?? "", HOME: home },
            clearEnv: true,
            stdin: "null",
            signal: AbortSignal.timeout(120_000),
          }).output();
        const { code, stdout, stderr } = await run([gw.url]);
        const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
        assert.notEqual(code, 0, out);
        assert.match(out, FIX);
        assert.doesNotMatch(out, /no route for POST \/register/);

        // The fix it names works: with the header, mcp-remote connects.
        const keyed = await run([gw.url, "--header", `Authorization:Bearer ${gw.key}`]);
        const keyedOut = new TextDecoder().decode(keyed.stdout) +
          new TextDecoder().decode(keyed.stderr);
        assert.match(keyedOut, /Connected successfully/);
        assert.doesNotMatch(keyedOut, /Authorization: Bearer ghk_/);
      } finally {
        await Deno.remove(home, { recursive: true }).catch(() => {});
      }
    });
  },
});
