/**
 * `POST /gateways/{id}/call`: a member runs a tool through a gateway's MCP
 * path as themselves, without a gateway key. The answer is what MCP gives;
 * the gateway's tools, turned-off switches and rate limits apply; the
 * request log names the member. Viewers, other organizations, revoked and
 * expired keys are refused, and a refused call runs nothing.
 */
import assert from "node:assert/strict";
import {
  ACCESS_KEY_PREFIX,
  displayPrefix,
  generateToken,
  hashToken,
} from "../../src/auth/tokens.ts";
import { echoTool, startEchoApi } from "../helpers/echo_api.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  type Json,
  memberWithKey,
  separateOrg,
} from "./fixtures.ts";

/** A gateway serving one `echo` tool (2 calls a minute per caller) and no auth method. */
async function setUp(s: TestServer, echoUrl: string) {
  const owner = client(s, s.adminKey);
  const tool = await create(owner, "/tools", echoTool(echoUrl));
  const gw = await create(owner, "/gateways", gatewayBody("/echo"));
  await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id, rateLimit: 2 });
  return { owner, tool, gw };
}

Deno.test("a member calls a tool through a gateway as themselves: MCP's answer, its limits, a log row naming them", async () => {
  const echo = startEchoApi();
  const s = await startTestServer();
  try {
    const { owner, tool, gw } = await setUp(s, echo.url);
    // The gateway has no auth method: MCP clients are refused, a member's own call is not.
    const mcp = await fetch(`${s.url}/mcp/default/echo`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(mcp.status, 401);
    await mcp.body?.cancel();

    const member = await memberWithKey(s, "member");
    const res = expectStatus(
      await member.call("POST", `/gateways/${gw.id}/call`, {
        name: "echo",
        arguments: { q: "hello" },
      }),
      200,
    );
    assert.deepEqual([res.body.jsonrpc, res.body.id], ["2.0", 1]);
    assert.equal(res.body.result.isError, undefined);
    assert.deepEqual(JSON.parse(res.body.result.content[0].text), { echoed: "hello" });
    assert.deepEqual(echo.seen, ["hello"]);

    // Arguments the tool's schema refuses: MCP's own answer, and no call made.
    const bad = expectStatus(
      await member.call("POST", `/gateways/${gw.id}/call`, { name: "echo", arguments: {} }),
      200,
    );
    assert.equal(bad.body.result.isError, true);
    assert.match(bad.body.result.content[0].text, /Invalid arguments for tool echo/);
    assert.deepEqual(echo.seen, ["hello"]);

    // The tool's limit counts the member (the refused arguments too): the third call in the
    // minute is refused as MCP refuses it, the tool's error result with when to retry.
    const limited = expectStatus(
      await member.call("POST", `/gateways/${gw.id}/call`, { name: "echo", arguments: { q: "3" } }),
      200,
    ).body.result;
    assert.equal(limited.isError, true);
    assert.match(limited.content[0].text, /Rate limit exceeded/);
    assert.ok(limited._meta["gatehouse/retryAfterSeconds"] >= 1);
    assert.deepEqual(echo.seen, ["hello"]);
    // Another member has a count of their own.
    expectStatus(
      await owner("POST", `/gateways/${gw.id}/call`, { name: "echo", arguments: { q: "o" } }),
      200,
    );

    // Turned off on the gateway: not served, so MCP says there is no such tool.
    expectStatus(
      await owner("PATCH", `/gateways/${gw.id}/tools/${tool.id}`, { enabled: false }),
      200,
    );
    const off = expectStatus(
      await owner("POST", `/gateways/${gw.id}/call`, { name: "echo", arguments: { q: "x" } }),
      200,
    );
    assert.match(off.body.error.message, /echo/);
    assert.deepEqual(echo.seen, ["hello", "o"]);

    // The request log names the member.
    const logs = expectStatus(
      await owner("GET", `/logs?caller=user:${member.userId}&tool=echo`),
      200,
    ).body.logs as Json[];
    assert.deepEqual(logs.map((l) => l.status), ["rate_limited", "tool_error", "ok"]);
    const row = logs[2];
    assert.deepEqual(
      [row.method, row.name, row.gatewayId, row.caller.method, row.caller.subject],
      ["tools/call", "echo", gw.id, "access_key", member.email],
    );
  } finally {
    await s.close();
    await echo.close();
  }
});

Deno.test("a member's call is refused for a viewer, another org, a revoked or expired key, a bad body", async () => {
  const echo = startEchoApi();
  const s = await startTestServer();
  try {
    const { owner, gw } = await setUp(s, echo.url);
    const path = `/gateways/${gw.id}/call`;
    const body = { name: "echo", arguments: { q: "no" } };

    const viewer = await memberWithKey(s, "viewer");
    const refused = await viewer.call("POST", path, body);
    expectError(refused, 403);
    assert.match(refused.body.error!.message, /member role/);

    const other = await separateOrg(s, "other");
    expectError(await other.call("POST", path, body), 404);

    const key = await create(owner, "/keys", { name: "temporary" });
    expectStatus(await owner("DELETE", `/keys/${key.id}`), 200);
    expectError(await client(s, key.key)("POST", path, body), 401);

    const me = expectStatus(await owner("GET", "/me"), 200).body;
    const expired = generateToken(ACCESS_KEY_PREFIX);
    await s.store.accessKeys.create(me.organization.id, me.user.id, {
      name: "expired",
      hash: hashToken(expired),
      prefix: displayPrefix(expired),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expectError(await client(s, expired)("POST", path, body), 401);
    expectError(await client(s, "gha_nope")("POST", path, body), 401);

    expectError(await owner("POST", path, { arguments: {} }), 400, "name");
    expectError(await owner("POST", path, { name: "echo", arguments: [1] }), 400, "arguments");
    expectError(await owner("POST", path, { name: "echo", extra: 1 }), 400, "extra");
    expectError(await owner("POST", `/gateways/${crypto.randomUUID()}/call`, body), 404);

    assert.deepEqual(echo.seen, [], "no refused call reached the tool");
    const logs = expectStatus(await owner("GET", "/logs"), 200).body.logs as Json[];
    assert.deepEqual(logs, [], "no refused call was logged as a request");
  } finally {
    await s.close();
    await echo.close();
  }
});
