/**
 * Revoking a gateway key ends what was opened with it at once: its SSE
 * stream and its WebSocket close, and their sessions are gone, while a
 * connection opened with another key carries on. The same holds for a
 * password sign-in (`basic`) when the password or the member's role changes.
 */
import assert from "node:assert/strict";
import { client, join, MEMBER_PASSWORD } from "../api/fixtures.ts";
import { apiCall } from "../helpers/server.ts";
import {
  initialize,
  newKey,
  openRawSse,
  openWs,
  rpcReq,
  startFixture,
  within,
  WsInbox,
} from "./fixtures.ts";

Deno.test("Revoking a gateway key closes its SSE streams and WebSockets; other keys carry on", async () => {
  const f = await startFixture();
  try {
    const other = await newKey(f.s, f.gw);
    const sse = await openRawSse(f.gw);
    const ws = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${f.gw.key}`, "mcp"));
    const kept = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${other}`, "mcp"));
    ws.ws.send(JSON.stringify(initialize(1)));
    kept.ws.send(JSON.stringify(initialize(1)));
    assert.ok((await ws.reply(1)).result, "the socket works before the revocation");
    assert.ok((await kept.reply(1)).result);

    const keys = await f.s.api("GET", `/gateways/${f.gw.id}/keys`);
    const revoked = (keys.body.keys as { id: string; prefix: string }[])
      .find((k) => f.gw.key.startsWith(k.prefix))!;
    assert.equal((await f.s.api("DELETE", `/gateways/${f.gw.id}/keys/${revoked.id}`)).status, 200);

    // The server ends both connections of the revoked key without waiting for a request.
    await within(ws.closed, 3000, "the revoked key's WebSocket closes");
    const ended = await within(
      (async () => {
        while (await sse.sse.nextEvent()) { /* drain until the server ends the stream */ }
        return true;
      })(),
      3000,
      "the revoked key's SSE stream ends",
    );
    assert.ok(ended);
    const post = await sse.post(rpcReq(2, "ping"));
    assert.equal(post.status, 401, "the revoked key is refused outright");

    // The other key's socket is untouched.
    kept.ws.send(JSON.stringify(rpcReq(2, "ping")));
    assert.deepEqual((await kept.reply(2)).result, {});
    kept.ws.close();
    await kept.closed;
    await sse.close();
  } finally {
    await f.close();
  }
});

Deno.test("A password or role change ends the WebSockets signed in with that password (basic)", async () => {
  const f = await startFixture();
  try {
    await f.s.api("POST", `/gateways/${f.gw.id}/auth`, { type: "basic" });
    const owner = client(f.s, f.s.adminKey);
    const { userId, key } = await join(f.s, owner, "default", "ida@example.com", "member");
    const basic = (password: string) => ({
      headers: { authorization: `Basic ${btoa(`ida@example.com:${password}`)}` },
      protocols: ["mcp"],
    });
    const signedIn = async (password: string) => {
      const inbox = new WsInbox(await openWs(f.gw.wsUrl, basic(password)));
      inbox.ws.send(JSON.stringify(initialize(1)));
      assert.ok((await inbox.reply(1)).result, "the socket works before the change");
      return inbox;
    };
    const byKey = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${f.gw.key}`, "mcp"));

    const before = await signedIn(MEMBER_PASSWORD);
    const changed = await apiCall(f.s.url, key, "PUT", "/me/password", {
      password: "ida's next password",
      currentPassword: MEMBER_PASSWORD,
    });
    assert.equal(changed.status, 204);
    await within(before.closed, 3000, "the old password's WebSocket closes");

    const demoted = await signedIn("ida's next password");
    const patched = await owner("PATCH", `/orgs/default/members/${userId}`, { role: "viewer" });
    assert.equal(patched.status, 200);
    await within(demoted.closed, 3000, "the WebSocket opened as a member closes on demotion");

    // A gateway key's socket is not anybody's password: it carries on.
    byKey.ws.send(JSON.stringify(initialize(1)));
    assert.ok((await byKey.reply(1)).result);
    byKey.ws.close();
    await byKey.closed;
  } finally {
    await f.close();
  }
});
