/**
 * Revoking a gateway key ends what was opened with it at once: its SSE
 * stream and its WebSocket close, and their sessions are gone, while a
 * connection opened with another key carries on.
 */
import assert from "node:assert/strict";
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
