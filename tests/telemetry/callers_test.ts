/**
 * The request log names each caller as its credential tells: a JWT's
 * subject, an OAuth token's client, the address of a caller of a gateway
 * without authentication.
 */
import assert from "node:assert/strict";
import { createGateway, type Json, ok, req, rpc } from "../helpers/mcp.ts";
import type { TestServer } from "../helpers/server.ts";
import {
  JwksServer,
  jwtGateway,
  jwtSettings,
  makeKey,
  mint,
  standardTools,
} from "../auth/helpers.ts";
import { addUser, oauthGateway, obtainTokens, withOAuthServer } from "../oauth/helpers.ts";

async function logsOf(s: TestServer, gatewayId: string): Promise<Json[]> {
  return ok(await s.api("GET", `/logs?gatewayId=${gatewayId}`)).logs;
}

Deno.test("the log names a JWT's subject, an OAuth client and an anonymous caller's address", async () => {
  const rsa = await makeKey("RS256");
  const jwks = new JwksServer([rsa]);
  try {
    await withOAuthServer(async (s) => {
      const jwt = await jwtGateway(s, { jwksUrl: jwks.url });
      const listed = await rpc(jwt.url, req(1, "tools/list"), {
        key: await mint(rsa, { claims: { sub: "ada" } }),
      });
      assert.equal(listed.status, 200, listed.text);
      const [jwtRow] = await logsOf(s, jwt.id);
      assert.equal(jwtRow.caller.method, "jwt");
      assert.equal(jwtRow.caller.subject, "ada");
      assert.match(jwtRow.caller.id, /^jwt:.+:ada$/);

      const oauth = await oauthGateway(s, { tools: await standardTools(s) });
      await addUser(s, "grace@example.com");
      const tokens = await obtainTokens(oauth, "grace@example.com");
      const answered = await rpc(oauth.url, req(1, "tools/list"), { key: tokens.access });
      assert.equal(answered.status, 200, answered.text);
      const [oauthRow] = await logsOf(s, oauth.id);
      assert.equal(oauthRow.caller.method, "oauth2");
      assert.equal(oauthRow.caller.clientId, tokens.clientId);

      const open = await createGateway(s, { auth: "none" });
      assert.equal((await rpc(open.url, req(1, "tools/list"))).status, 200);
      const [openRow] = await logsOf(s, open.id);
      assert.deepEqual(
        [openRow.caller.id, openRow.caller.method, openRow.caller.address],
        ["anonymous", "none", "127.0.0.1"],
      );
    }, { jwt: jwtSettings() });
  } finally {
    await jwks.close();
  }
});
