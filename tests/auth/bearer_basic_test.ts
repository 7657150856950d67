/**
 * The `bearer` and `basic` gateway auth methods over Streamable HTTP, SSE
 * and WebSocket: what each accepts, from where, and what it refuses (other
 * gateways' and orgs' keys, revoked and expired keys, wrong passwords,
 * non-members, viewers executing), with refusals that say what was wrong.
 * Basic sign-ins are cached: a session does not pay the password hash per
 * request, yet a changed password or membership applies to the next request.
 */
import assert from "node:assert/strict";
import { hashPassword } from "../../src/oauth/password.ts";
import {
  apiIn,
  expectRpcError,
  issueKey,
  type Json,
  type McpGateway,
  type McpTestServer,
  ok,
  req,
  rpc,
  type RpcAnswer,
  sleep,
} from "../helpers/mcp.ts";
import { addUser, PASSWORD } from "../oauth/helpers.ts";
import { addMethod, bareGateway, expect401, withAuthServer } from "./helpers.ts";

const LIST = req(1, "tools/list");
const CALL = req(2, "tools/call", { name: "echo", arguments: { text: "hi" } });
const basic = (email: string, password: string) =>
  `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${email}:${password}`)))}`;
const as = (authorization: string) => ({ headers: { authorization } });

function expectTools(a: RpcAnswer): void {
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.result.tools.length, 4);
}

/** Opens `/ws` with `protocols`, sends tools/list, resolves with the answer or the failure. */
function wsList(url: string, protocols: string[]): Promise<Json | "refused"> {
  const socket = new WebSocket(url.replace(/^http/, "ws") + "/ws", protocols);
  return new Promise((resolve) => {
    socket.onopen = () => socket.send(JSON.stringify(LIST));
    socket.onmessage = (e) => {
      resolve(JSON.parse(e.data));
      socket.close();
    };
    socket.onerror = () => resolve("refused");
  });
}

/** Opens the SSE stream with `headers`; its status (the body is cancelled). */
async function sseStatus(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream", ...headers } });
  await res.body?.cancel();
  return res.status;
}

async function bearerGateway(s: McpTestServer): Promise<McpGateway & { key: string }> {
  const gw = await bareGateway(s);
  await addMethod(s, gw, "bearer");
  return { ...gw, key: (await issueKey(s, gw)).key };
}

Deno.test("bearer: the gateway's keys as Authorization: Bearer only; /ws also takes the bearer.<key> subprotocol", async () => {
  await withAuthServer(async (s) => {
    const gw = await bearerGateway(s);
    expectTools(await rpc(gw.url, LIST, { key: gw.key }));
    assert.equal((await rpc(gw.url, CALL, { key: gw.key })).status, 200);

    // Not in X-API-Key, not in the query: and the refusal says so, not "missing credentials".
    const header = await rpc(gw.url, LIST, { headers: { "x-api-key": gw.key } });
    expect401(header, /does not accept credentials in the X-API-Key header; send a gateway key/);
    const query = await rpc(`${gw.url}?api_key=${gw.key}`, LIST);
    const msg = expect401(query, /does not accept credentials in the api_key query parameter/);
    assert.doesNotMatch(msg, /missing credentials/);
    assert.doesNotMatch(msg, new RegExp(gw.key));

    // SSE: the same rule at the stream.
    assert.equal(await sseStatus(gw.url, { authorization: `Bearer ${gw.key}` }), 200);
    assert.equal(await sseStatus(`${gw.url}`, { "x-api-key": gw.key }), 401);

    // WebSocket: the subprotocol entry is the browser's alternative; the query is not.
    const viaProtocol = await wsList(gw.url, ["mcp", `bearer.${gw.key}`]);
    assert.notEqual(viaProtocol, "refused");
    assert.equal((viaProtocol as Json).result.tools.length, 4);
    assert.equal(await wsList(`${gw.url}?api_key=${gw.key}`, ["mcp"]), "refused");
  });
});

Deno.test("bearer: another gateway's key, another org's key, a revoked key and an expired key are refused", async () => {
  await withAuthServer(async (s) => {
    const gw = await bearerGateway(s);
    const other = await bearerGateway(s);
    ok(await s.api("POST", "/orgs", { name: "Elsewhere", slug: "elsewhere" }), 201);
    const api = apiIn(s, "elsewhere");
    const foreign = ok(
      await api("POST", "/gateways", {
        name: "Foreign",
        type: "mcp",
        endpoint: gw.endpoint,
        configuration: { transport: "http" },
      }),
      201,
    );
    ok(await api("POST", `/gateways/${foreign.id}/auth`, { type: "bearer" }), 201);
    const foreignKey = ok(await api("POST", `/gateways/${foreign.id}/keys`, { name: "k" }), 201)
      .key;
    const foreignUrl = `${s.url}/mcp/elsewhere${gw.endpoint}`;
    assert.equal((await rpc(foreignUrl, LIST, { key: foreignKey })).status, 200);

    expect401(await rpc(gw.url, LIST, { key: other.key }), /invalid, revoked or expired/);
    expect401(await rpc(gw.url, LIST, { key: foreignKey }), /invalid, revoked or expired/);
    const revoked = await issueKey(s, gw);
    expectTools(await rpc(gw.url, LIST, { key: revoked.key }));
    ok(await s.api("DELETE", `/gateways/${gw.id}/keys/${revoked.id}`));
    expect401(await rpc(gw.url, LIST, { key: revoked.key }), /invalid, revoked or expired/);
    const expiresAt = new Date(Date.now() + 1000).toISOString();
    const short = ok(
      await s.api("POST", `/gateways/${gw.id}/keys`, { name: "short", expiresAt }),
      201,
    );
    expectTools(await rpc(gw.url, LIST, { key: short.key }));
    await sleep(Date.parse(expiresAt) - Date.now() + 50);
    expect401(await rpc(gw.url, LIST, { key: short.key }), /invalid, revoked or expired/);
    // A read-only key lists but does not call.
    const reader = await issueKey(s, gw, ["tools:read"]);
    expectTools(await rpc(gw.url, LIST, { key: reader.key }));
    expectRpcError(await rpc(gw.url, CALL, { key: reader.key }), 403, -32600, 2);
  });
});

Deno.test("basic: a member's email and password; viewers list only; others, wrong passwords and other orgs refused", async () => {
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    await addMethod(s, gw, "basic");
    await addUser(s, "member@example.com", "member");
    await addUser(s, "viewer@example.com", "viewer");
    ok(await s.api("POST", "/orgs", { name: "Elsewhere", slug: "elsewhere" }), 201);
    await addUser(s, "outsider@example.com", "owner", "elsewhere");

    const member = as(basic("member@example.com", PASSWORD));
    expectTools(await rpc(gw.url, LIST, member));
    assert.equal((await rpc(gw.url, CALL, member)).status, 200);
    // Emails are case-insensitive, as at the sign-in page.
    expectTools(await rpc(gw.url, LIST, as(basic("Member@Example.com", PASSWORD))));

    const viewer = as(basic("viewer@example.com", PASSWORD));
    expectTools(await rpc(gw.url, LIST, viewer));
    expectRpcError(await rpc(gw.url, CALL, viewer), 403, -32600, 2);

    // Wrong password, unknown account, a member of another org: one answer that tells nothing.
    const refusals = [
      basic("member@example.com", "not the password"),
      basic("nobody@example.com", PASSWORD),
      basic("outsider@example.com", PASSWORD),
    ].map(async (h) => expect401(await rpc(gw.url, LIST, as(h))));
    const messages = await Promise.all(refusals);
    assert.equal(new Set(messages).size, 1, messages.join("\n"));
    assert.match(messages[0], /email or password is incorrect/);
    // The challenge offers Basic too, so curl and browsers can ask for it; a key-only gateway's does not.
    const refused = await rpc(gw.url, LIST);
    assert.match(
      refused.headers.get("www-authenticate") ?? "",
      new RegExp(
        `^Bearer resource_metadata="[^"]+", scope="tools:read tools:execute", Basic realm="Gateway ${gw.endpoint}", charset="UTF-8"$`,
      ),
    );
    assert.doesNotMatch(messages[0], new RegExp(PASSWORD));

    // Malformed Basic, and Basic to a gateway without it: said, not "missing credentials".
    expect401(await rpc(gw.url, LIST, as("Basic not-base64!")), /must carry base64/);
    const keyGw = await bareGateway(s);
    await addMethod(s, keyGw, "api_key");
    const basicToKeyGw = await rpc(keyGw.url, LIST, member);
    expect401(basicToKeyGw, /does not accept 'Authorization: Basic'; send a gateway key/);
    assert.doesNotMatch(basicToKeyGw.headers.get("www-authenticate") ?? "", /Basic/);
    // A gateway key is no Basic credential.
    const key = (await issueKey(s, keyGw)).key;
    expect401(
      await rpc(gw.url, LIST, { key }),
      /does not accept 'Authorization: Bearer'; send a member's email and password/,
    );

    // SSE takes it at the stream.
    assert.equal(
      await sseStatus(gw.url, { authorization: basic("member@example.com", PASSWORD) }),
      200,
    );
    assert.equal(await sseStatus(gw.url, { authorization: basic("member@example.com", "x") }), 401);
  });
});

Deno.test("basic: sign-ins are cached (one password hash per session), and a new password, a demotion or a removal apply at once", async () => {
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    await addMethod(s, gw, "basic");
    const userId = await addUser(s, "member@example.com", "member");
    const member = as(basic("member@example.com", PASSWORD));

    let hashes = 0;
    const users = s.store.users;
    const passwordHash0 = users.passwordHash.bind(users);
    users.passwordHash = (id) => (hashes++, passwordHash0(id));

    const started = performance.now();
    expectTools(await rpc(gw.url, LIST, member));
    const first = performance.now() - started;
    const warmStart = performance.now();
    for (let i = 0; i < 20; i++) expectTools(await rpc(gw.url, LIST, member));
    const warm = (performance.now() - warmStart) / 20;
    assert.equal(hashes, 1, "20 requests after the first checked no password");
    assert.ok(warm < first, `cached ${warm.toFixed(1)} ms vs first ${first.toFixed(1)} ms`);
    // The cache is keyed by the whole credential: a wrong password is still checked and refused.
    expect401(await rpc(gw.url, LIST, as(basic("member@example.com", "wrong password"))));

    // A new password: the old one stops on the next request, the new one works.
    await users.setPasswordHash(userId, await hashPassword("a brand new passphrase"));
    expect401(await rpc(gw.url, LIST, member), /email or password is incorrect/);
    const renewed = as(basic("member@example.com", "a brand new passphrase"));
    assert.equal((await rpc(gw.url, CALL, renewed)).status, 200);

    // Demoted to viewer: execution stops on the next request.
    ok(await s.api("PATCH", `/orgs/default/members/${userId}`, { role: "viewer" }));
    expectRpcError(await rpc(gw.url, CALL, renewed), 403, -32600, 2);
    expectTools(await rpc(gw.url, LIST, renewed));
    // Removed from the org: refused.
    assert.equal((await s.api("DELETE", `/orgs/default/members/${userId}`)).status, 204);
    expect401(await rpc(gw.url, LIST, renewed), /email or password is incorrect/);
  });
});

Deno.test("basic: failed attempts are limited, and the 401 says how long to wait", async () => {
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    await addMethod(s, gw, "basic");
    await addUser(s, "member@example.com", "member");
    const wrong = as(basic("member@example.com", "wrong"));
    let last = "";
    for (let i = 0; i < 6; i++) last = expect401(await rpc(gw.url, LIST, wrong));
    assert.match(last, /too many failed sign-in attempts; try again in \d+ seconds/);
  });
});
