/**
 * MCP over WebSocket at `.../ws`, against a real server with Deno's
 * WebSocket client and a hand-made client on plain TCP.
 */
import assert from "node:assert/strict";
import {
  closeCode,
  type Frame,
  initialize,
  openWs,
  rawUpgrade,
  readFrames,
  rpcReq,
  sleep,
  startFixture,
  textFrame,
  waitFor,
  within,
  writeAll,
  WsInbox,
} from "./fixtures.ts";

Deno.test("WebSocket: subprotocol mcp is chosen when offered; each message is one text frame", async () => {
  const f = await startFixture();
  try {
    const url = `${f.gw.wsUrl}?api_key=${f.gw.key}`;
    const offered = new WsInbox(await openWs(url, ["mcp"]));
    assert.equal(offered.ws.protocol, "mcp");
    assert.deepEqual(await offered.request(rpcReq(1, "ping"), 1), {
      jsonrpc: "2.0",
      id: 1,
      result: {},
    });
    await offered.close();
    // A client that offers no subprotocol is still served (without one).
    const plain = new WsInbox(await openWs(url));
    assert.equal(plain.ws.protocol, "");
    assert.equal((await plain.request(rpcReq(2, "ping"), 2)).id, 2);
    await plain.close();

    // On the wire: every answer and notification is exactly one final text frame
    // holding one JSON-RPC message.
    const h = await rawUpgrade(f.gw.port, `${f.gw.path}/ws`, {
      authorization: `Bearer ${f.gw.key}`,
      "sec-websocket-protocol": "mcp",
    });
    assert.equal(h.status, 101);
    assert.equal(h.headers.get("sec-websocket-protocol"), "mcp");
    const frames: Frame[] = [];
    const reading = readFrames(h.conn, (fr) => frames.push(fr));
    try {
      await writeAll(h.conn, textFrame(JSON.stringify(initialize(0))));
      await writeAll(h.conn, textFrame(JSON.stringify(rpcReq(1, "ping"))));
      await writeAll(
        h.conn,
        textFrame(JSON.stringify(rpcReq(2, "tools/call", {
          name: "chatty",
          arguments: {},
          _meta: { progressToken: 9 },
        }))),
      );
      await writeAll(
        h.conn,
        textFrame(JSON.stringify(rpcReq(3, "tools/call", { name: "echo", arguments: { x: 1 } }))),
      );
      await waitFor("four answers", () =>
        frames.filter((fr) => {
          const m = JSON.parse(new TextDecoder().decode(fr.payload));
          return "id" in m;
        }).length === 4);
      for (const fr of frames) {
        assert.equal(fr.opcode, 1, "a text frame");
        assert.equal(fr.fin, true, "not fragmented");
        const m = JSON.parse(new TextDecoder().decode(fr.payload));
        assert.ok(m !== null && typeof m === "object" && !Array.isArray(m), "one message");
        assert.equal(m.jsonrpc, "2.0");
      }
      const msgs = frames.map((fr) => JSON.parse(new TextDecoder().decode(fr.payload)));
      assert.deepEqual(msgs.filter((m) => "id" in m).map((m) => m.id).sort(), [0, 1, 2, 3]);
      // info, warning, error logs and three progress notifications, each in its own frame.
      assert.equal(msgs.filter((m) => m.method === "notifications/message").length, 3);
      assert.equal(msgs.filter((m) => m.method === "notifications/progress").length, 3);
    } finally {
      h.conn.close();
      await reading;
    }
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: a binary frame closes the socket with 1003", async () => {
  const f = await startFixture();
  try {
    const inbox = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${f.gw.key}`, "mcp"));
    assert.equal((await inbox.request(rpcReq(1, "ping"), 1)).id, 1);
    inbox.ws.send(new TextEncoder().encode(JSON.stringify(rpcReq(2, "ping"))));
    const ev = await within(inbox.closed, 5000, "close after a binary frame");
    assert.equal(ev.code, 1003);
    assert.match(ev.reason, /binary/);
    assert.equal(inbox.messages.length, 1, "the binary message got no answer");
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: a message larger than maxBodyBytes closes the socket with 1009", async () => {
  const max = 4096;
  const f = await startFixture({ maxBodyBytes: max });
  try {
    const url = `${f.gw.wsUrl}?api_key=${f.gw.key}`;
    const padded = (id: number, pad: string) => JSON.stringify(rpcReq(id, "ping", { pad }));
    // Just under the limit: answered.
    const ok = new WsInbox(await openWs(url, "mcp"));
    const under = padded(1, "a".repeat(max - padded(1, "").length));
    assert.equal(new TextEncoder().encode(under).length, max);
    assert.equal((await ok.request(under, 1)).id, 1);
    await ok.close();

    // ASCII over the limit.
    const big = new WsInbox(await openWs(url, "mcp"));
    big.ws.send(padded(2, "a".repeat(max)));
    let ev = await within(big.closed, 5000, "close after an oversized message");
    assert.equal(ev.code, 1009);
    assert.match(ev.reason, new RegExp(`${max} bytes`));

    // The limit is in bytes: 3,000 two-byte characters are 6,000 bytes.
    const wide = new WsInbox(await openWs(url, "mcp"));
    const text = padded(3, "é".repeat(3000));
    assert.ok(text.length < max && new TextEncoder().encode(text).length > max);
    wide.ws.send(text);
    ev = await within(wide.closed, 5000, "close after an oversized multibyte message");
    assert.equal(ev.code, 1009);
    assert.equal(wide.messages.length, 0);
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: invalid JSON gets -32700 and the socket stays open", async () => {
  const f = await startFixture();
  try {
    const inbox = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${f.gw.key}`, "mcp"));
    try {
      inbox.ws.send('{"jsonrpc":"2.0","id":1,"method":"ping"');
      const err = await inbox.reply(null);
      assert.equal(err.jsonrpc, "2.0");
      assert.equal(err.error.code, -32700);
      assert.equal(inbox.ws.readyState, WebSocket.OPEN);
      assert.deepEqual(await inbox.request(rpcReq(2, "ping"), 2), {
        jsonrpc: "2.0",
        id: 2,
        result: {},
      });
    } finally {
      await inbox.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: auth at the upgrade by header, query or subprotocol; failures never upgrade", async () => {
  const f = await startFixture();
  try {
    const { gw } = f;
    const ways: [string, () => Promise<WebSocket>][] = [
      [
        "Authorization header",
        () =>
          openWs(gw.wsUrl, { protocols: ["mcp"], headers: { authorization: `Bearer ${gw.key}` } }),
      ],
      ["api_key query", () => openWs(`${gw.wsUrl}?api_key=${gw.key}`, ["mcp"])],
      ["bearer.<key> subprotocol", () => openWs(gw.wsUrl, ["mcp", `bearer.${gw.key}`])],
    ];
    for (const [how, open] of ways) {
      const inbox = new WsInbox(await open());
      assert.equal(inbox.ws.protocol, "mcp", how);
      assert.equal((await inbox.request(rpcReq(1, "ping"), 1)).id, 1, how);
      await inbox.close();
    }

    const metadata =
      `Bearer resource_metadata="${f.s.url}/.well-known/oauth-protected-resource/mcp/default/x"`;
    const wsHeaders = {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "mcp",
    };
    const refusals: [string, string, Record<string, string>][] = [
      ["no key", gw.wsUrl, {}],
      ["wrong header key", gw.wsUrl, { authorization: "Bearer gk_wrong" }],
      ["wrong query key", `${gw.wsUrl}?api_key=gk_wrong`, {}],
      ["wrong subprotocol key", gw.wsUrl, { "sec-websocket-protocol": "mcp, bearer.gk_wrong" }],
    ];
    for (const [how, url, extra] of refusals) {
      // A plain fetch carrying upgrade headers.
      const res = await fetch(url.replace(/^ws:/, "http:"), {
        headers: { ...wsHeaders, ...extra },
      });
      assert.equal(res.status, 401, how);
      const challenge = res.headers.get("www-authenticate") ?? "";
      assert.ok(challenge.startsWith(metadata), `${how}: ${challenge}`);
      assert.match(challenge, /scope="tools:read tools:execute"/, how);
      const body = await res.json();
      assert.equal(body.error.code, -32600, how);
      assert.match(body.error.message, /^Unauthorized/, how);
      // On the wire: no 101, no upgrade.
      const path = new URL(url).pathname + new URL(url).search;
      const h = await rawUpgrade(gw.port, path, extra);
      h.conn.close();
      assert.equal(h.status, 401, how);
      assert.equal(h.headers.get("upgrade"), null, how);
      assert.equal(h.headers.get("sec-websocket-accept"), null, how);
      // And a real client fails to connect.
      await assert.rejects(
        openWs(url, { protocols: ["mcp"], headers: extra }),
        /401/,
        how,
      );
    }
    // The metadata the challenge points to is served.
    const prm = await fetch(`${f.s.url}/.well-known/oauth-protected-resource/mcp/default/x`);
    assert.equal(prm.status, 200);
    assert.equal((await prm.json()).resource, gw.httpUrl);
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: closing the socket cancels that connection's running calls only", async () => {
  const f = await startFixture();
  try {
    const url = `${f.gw.wsUrl}?api_key=${f.gw.key}`;
    const a = new WsInbox(await openWs(url, "mcp"));
    const b = new WsInbox(await openWs(url, "mcp"));
    await a.request(initialize(0), 0);
    await b.request(initialize(0), 0);
    for (const [inbox, tag] of [[a, "ws-a"], [a, "ws-a"], [b, "ws-b"]] as const) {
      inbox.ws.send(JSON.stringify(rpcReq(crypto.randomUUID(), "tools/call", {
        name: "wait",
        arguments: { tag },
      })));
    }
    await waitFor(
      "three calls running",
      () => f.executor.tagged("ws-a").length === 2 && f.executor.tagged("ws-b").length === 1,
    );
    await a.close();
    await waitFor("a's calls aborted", () => f.executor.tagged("ws-a").every((c) => c.aborted));
    await sleep(100);
    assert.equal(f.executor.tagged("ws-b")[0].aborted, false, "b's call still runs");
    assert.equal((await b.request(rpcReq(5, "ping"), 5)).id, 5);
    await b.close();
    await waitFor("b's call aborted", () => f.executor.tagged("ws-b")[0].aborted);
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: a peer that never answers pings is disconnected; a live one is kept", async () => {
  const f = await startFixture({ wsPingSeconds: 1, maxConnectionsPerKey: 2 });
  try {
    const { gw } = f;
    // A well-behaved client (Deno's answers pings) stays connected across several ping rounds.
    const live = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp"));

    const h = await rawUpgrade(gw.port, `${gw.path}/ws`, { authorization: `Bearer ${gw.key}` });
    assert.equal(h.status, 101);
    const t0 = Date.now();
    // Both slots of the key are taken while the dead peer is still connected.
    const third = await rawUpgrade(gw.port, `${gw.path}/ws`, { authorization: `Bearer ${gw.key}` });
    third.conn.close();
    assert.equal(third.status, 429);
    const frames: Frame[] = [];
    // Reads everything, answers nothing (no pong).
    const why = await within(readFrames(h.conn, (fr) => frames.push(fr)), 6000, "server drop");
    const took = Date.now() - t0;
    h.conn.close();
    assert.ok(["eof", "ConnectionReset"].includes(why), `connection ended by ${why}`);
    assert.ok(took < 5000, `dropped after ${took} ms`);
    assert.ok(frames.some((fr) => fr.opcode === 9), "the server pinged first");
    const close = frames.find((fr) => fr.opcode === 8);
    if (close) assert.equal(closeCode(close), 1001);
    // Its connection slot (and session) is free again: with the limit of two per key,
    // a second connection next to the live one is accepted.
    const again = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp"));
    assert.equal((await again.request(rpcReq(1, "ping"), 1)).id, 1);
    await again.close();

    // Several ping rounds later, the live client is still there.
    await sleep(Math.max(0, 3000 - (Date.now() - t0)));
    assert.equal(live.ws.readyState, WebSocket.OPEN, "the live client is still connected");
    assert.equal((await live.request(rpcReq(2, "ping"), 2)).id, 2);
    await live.close();
  } finally {
    await f.close();
  }
});

Deno.test("WebSocket: a malformed upgrade is a 400 and keeps no connection slot", async () => {
  const f = await startFixture({ maxConnectionsPerKey: 1 });
  try {
    const { gw } = f;
    for (let i = 0; i < 3; i++) {
      // Upgrade headers without Sec-WebSocket-Key / -Version.
      const res = await fetch(gw.wsUrl.replace(/^ws:/, "http:"), {
        headers: { upgrade: "websocket", connection: "Upgrade", authorization: `Bearer ${gw.key}` },
      });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.code, -32600);
      assert.match(body.error.message, /WebSocket upgrade/);
    }
    // Not an upgrade at all.
    const plain = await fetch(gw.wsUrl.replace(/^ws:/, "http:"), {
      headers: { authorization: `Bearer ${gw.key}` },
    });
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
    // The key's only slot is still free.
    const inbox = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp"));
    assert.equal((await inbox.request(rpcReq(1, "ping"), 1)).id, 1);
    await inbox.close();
  } finally {
    await f.close();
  }
});
