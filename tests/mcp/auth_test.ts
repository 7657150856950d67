/**
 * Gateway authentication on the MCP endpoint: default deny, keys by header
 * or query, keys of other gateways and orgs, revoked keys, auth `none`, and
 * the protected-resource metadata the 401 points to.
 */
import assert from "node:assert/strict";
import {
  apiIn,
  connectClient,
  createGateway,
  initializeRequest,
  type Json,
  ok,
  req,
  rpc,
  type RpcAnswer,
  send,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

/** A 401 with the JSON-RPC error body and `WWW-Authenticate: Bearer resource_metadata="..."`. */
function expect401(a: RpcAnswer): string {
  assert.equal(a.status, 401, a.text);
  assert.equal(a.body.jsonrpc, "2.0");
  assert.equal(typeof a.body.error.code, "number");
  assert.equal(a.headers.get("mcp-session-id"), null);
  const www = a.headers.get("www-authenticate") ?? "";
  const m = /^Bearer resource_metadata="([^"]+)"/.exec(www);
  assert.ok(m, `WWW-Authenticate: ${www}`);
  return m[1];
}

Deno.test("401 for a gateway with no auth method (default deny), even with a key of its own", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS, auth: null });
    const key = ok(
      await apiIn(s, "default")("POST", `/gateways/${gw.id}/keys`, { name: "k" }),
      201,
    ).key;
    expect401(await rpc(gw.url, req(1, "tools/list")));
    expect401(await rpc(gw.url, req(1, "tools/list"), { key }));
    expect401(await rpc(gw.url, initializeRequest(), { key }));
    assert.equal(s.executor.calls.length, 0);
  });
});

Deno.test("401 for a missing, unknown, foreign or revoked key; the metadata URL answers for the gateway", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const other = await createGateway(s, { tools: [{ name: "other_tool" }] });
    ok(await s.api("POST", "/orgs", { name: "Elsewhere", slug: "elsewhere" }), 201);
    const foreignOrg = await createGateway(s, {
      orgSlug: "elsewhere",
      endpoint: gw.endpoint, // the same endpoint in another org
      tools: [{ name: "echo" }],
    });

    const missing = await rpc(gw.url, req(1, "tools/list"));
    const metadataUrl = expect401(missing);
    assert.match(missing.body.error.message, /missing/i);
    expect401(await rpc(gw.url, req(1, "tools/list"), { key: "ghk_not_a_real_key" }));
    expect401(await rpc(gw.url, req(1, "tools/list"), { key: other.key }));
    expect401(await rpc(gw.url, req(1, "tools/list"), { key: foreignOrg.key }));
    // And the other way round: each key still works on its own gateway.
    assert.equal((await rpc(other.url, req(1, "tools/list"), { key: other.key })).status, 200);
    const theirs = await rpc(foreignOrg.url, req(1, "tools/list"), { key: foreignOrg.key });
    assert.deepEqual(theirs.body.result.tools.map((t: Json) => t.name), ["echo"]);

    // A revoked key stops working at once, including for its open session.
    const { client } = await connectClient(gw.url, gw.key);
    try {
      assert.equal((await client.listTools()).tools.length, 4);
      ok(await s.api("DELETE", `/gateways/${gw.id}/keys/${gw.keyId}`));
      expect401(await rpc(gw.url, req(1, "tools/list"), { key: gw.key }));
      await assert.rejects(client.listTools());
    } finally {
      await client.close();
    }
    expect401(
      await send(gw.url, "GET", { authorization: `Bearer ${gw.key}`, accept: "text/event-stream" }),
    );
    expect401(await send(gw.url, "DELETE", { authorization: `Bearer ${gw.key}` }));

    // The metadata document names the gateway's MCP URL as the resource.
    assert.equal(
      metadataUrl,
      `${s.url}/.well-known/oauth-protected-resource/mcp/default${gw.endpoint}`,
    );
    const res = await fetch(metadataUrl);
    assert.equal(res.status, 200);
    const doc: Json = await res.json();
    assert.equal(doc.resource, gw.url);
    assert.ok(Array.isArray(doc.authorization_servers));
    assert.deepEqual(doc.scopes_supported, ["tools:read", "tools:execute"]);
    // The seed's form, under the endpoint, serves the same document.
    const seedForm = await fetch(`${gw.url}/.well-known/oauth-protected-resource`);
    assert.equal(seedForm.status, 200);
    assert.deepEqual(await seedForm.json(), doc);
    // Each gateway's 401 points at its own document.
    const otherMeta = expect401(await rpc(foreignOrg.url, req(1, "tools/list")));
    const otherDoc: Json = await (await fetch(otherMeta)).json();
    assert.equal(otherDoc.resource, foreignOrg.url);
    // No document for a path without a gateway.
    const none = await fetch(`${s.url}/.well-known/oauth-protected-resource/mcp/default/nope`);
    await none.body?.cancel();
    assert.equal(none.status, 404);
  });
});

Deno.test("auth none, chosen explicitly, serves clients without a key", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS, auth: "none" });
    const list = await rpc(gw.url, req(1, "tools/list"));
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.result.tools.length, 4);
    const { client } = await connectClient(gw.url, "", { headers: {} });
    try {
      const r: Json = await client.callTool({ name: "echo", arguments: { text: "anon" } });
      assert.deepEqual(r.structuredContent, { echoed: { text: "anon" } });
    } finally {
      await client.close();
    }
    // Removing the method goes back to default deny.
    const methods = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    assert.equal((await s.api("DELETE", `/gateways/${gw.id}/auth/${methods[0].id}`)).status, 204);
    expect401(await rpc(gw.url, req(2, "tools/list")));
  });
});

Deno.test("the key is accepted as Authorization: Bearer, X-API-Key and the api_key query parameter", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const viaHeader = await rpc(gw.url, req(1, "tools/list"), { headers: { "x-api-key": gw.key } });
    assert.equal(viaHeader.status, 200, viaHeader.text);
    const viaQuery = await rpc(
      `${gw.url}?api_key=${encodeURIComponent(gw.key)}`,
      req(2, "tools/list"),
    );
    assert.equal(viaQuery.status, 200, viaQuery.text);
    const lower = await rpc(gw.url, req(3, "tools/list"), {
      headers: { authorization: `bearer ${gw.key}` },
    });
    assert.equal(lower.status, 200, lower.text);
    // An SDK client with the key only in the query string, as the conformance suite runs.
    const { client } = await connectClient(`${gw.url}?api_key=${gw.key}`, "", { headers: {} });
    try {
      assert.equal((await client.listTools()).tools.length, 4);
    } finally {
      await client.close();
    }
    // A wrong key in X-API-Key is still refused.
    expect401(await rpc(gw.url, req(4, "tools/list"), { headers: { "x-api-key": "ghk_wrong" } }));
    expect401(await rpc(`${gw.url}?api_key=ghk_wrong`, req(5, "tools/list")));
  });
});
