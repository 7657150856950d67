/**
 * Bounds of the long-lived transports: a reader that stops reading is
 * dropped instead of making the server buffer without end, and open SSE and
 * WebSocket connections are limited per gateway and per key.
 */
import assert from "node:assert/strict";
import {
  closeCode,
  type Fixture,
  type Gateway,
  initialize,
  newKey,
  openRawSse,
  openWs,
  rawUpgrade,
  readFrames,
  rpcReq,
  setupGateway,
  startFixture,
  textFrame,
  waitFor,
  writeAll,
  WsInbox,
} from "./fixtures.ts";

const KIB = 1024;

Deno.test("Backpressure: an SSE reader that stops reading is dropped, its session ended", async () => {
  const f = await startFixture({ maxBufferedBytes: 64 * KIB, keepAliveMs: 60_000 });
  try {
    const each = 16 * KIB;
    const bigCall = (id: number) =>
      rpcReq(id, "tools/call", { name: "big", arguments: { bytes: each } });

    // A reader that keeps up gets far more than the cap through the same stream.
    const fast = await openRawSse(f.gw);
    try {
      for (let i = 1; i <= 100; i++) {
        assert.equal((await fast.post(bigCall(i))).status, 202);
        const m = await fast.sse.nextMessage();
        assert.equal(m.id, i);
        assert.equal(m.result.content[0].text.length, each);
      }
    } finally {
      await fast.close();
    }

    // A reader that never reads past the endpoint event.
    const slow = await openRawSse(f.gw);
    let pushed = 0;
    let gone: { status: number; text: string } | undefined;
    const limit = 4000; // 64 MiB of results, far beyond any socket buffer
    for (let i = 1; i <= limit && !gone; i++) {
      const r = await slow.post(bigCall(i));
      if (r.status === 404) gone = r;
      else {
        assert.equal(r.status, 202, r.text);
        pushed += each;
      }
    }
    assert.ok(gone, `the server kept the stream after ${pushed} bytes`);
    assert.equal(JSON.parse(gone.text).error.code, -32001);

    // What is left to read is what sat in socket buffers, then the stream ends or errs.
    let read = 0;
    let ending = "end";
    try {
      while (true) {
        const b = await slow.sse.next(5000);
        if (!b) break;
        read += b.data?.length ?? 0;
      }
    } catch (err) {
      ending = (err as Error).name;
    } finally {
      await slow.close();
    }
    assert.ok(read < pushed, `read ${read} of ${pushed} bytes: the server dropped the rest`);
    assert.ok(["end", "TypeError"].includes(ending), `stream ended by ${ending}`);
  } finally {
    await f.close();
  }
});

Deno.test("Backpressure: a WebSocket peer that never reads is dropped, its slot freed", async () => {
  const f = await startFixture({
    maxBufferedBytes: 64 * KIB,
    wsPingSeconds: 3600, // only the buffer limit may end it
    maxConnectionsPerKey: 1,
  });
  try {
    const { gw } = f;
    const auth = { authorization: `Bearer ${gw.key}`, "sec-websocket-protocol": "mcp" };
    const each = 16 * KIB;

    // A peer that keeps up receives messages larger than the cap, and many of them.
    const fast = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp"));
    const huge = await fast.request(
      rpcReq(1, "tools/call", { name: "big", arguments: { bytes: 256 * KIB } }),
      1,
    );
    assert.equal(huge.result.content[0].text.length, 256 * KIB);
    for (let i = 2; i <= 60; i++) {
      const m = await fast.request(
        rpcReq(i, "tools/call", { name: "big", arguments: { bytes: each } }),
        i,
      );
      assert.equal(m.result.content[0].text.length, each);
    }
    await fast.close();

    const h = await rawUpgrade(gw.port, `${gw.path}/ws`, auth);
    assert.equal(h.status, 101);
    // It holds the key's only slot.
    const refused = await rawUpgrade(gw.port, `${gw.path}/ws`, auth);
    refused.conn.close();
    assert.equal(refused.status, 429);

    let pushed = 0;
    try {
      await writeAll(h.conn, textFrame(JSON.stringify(initialize(0))));
      for (let i = 1; i <= 4000; i++) {
        const call = rpcReq(i, "tools/call", { name: "big", arguments: { bytes: each } });
        await writeAll(h.conn, textFrame(JSON.stringify(call)));
        pushed += each;
      }
    } catch {
      // The server may already have dropped us.
    }
    // The slot comes free without the peer ever reading: the server ended the connection.
    await waitFor(
      "the never-reading peer's slot to be released",
      async () => {
        const next = await rawUpgrade(gw.port, `${gw.path}/ws`, auth);
        next.conn.close();
        return next.status === 101;
      },
      10_000,
      100,
    );

    let read = 0;
    const codes: (number | undefined)[] = [];
    const why = await readFrames(h.conn, (fr) => {
      read += fr.payload.length;
      if (fr.opcode === 8) codes.push(closeCode(fr));
    });
    h.conn.close();
    assert.ok(["eof", "ConnectionReset"].includes(why), `ended by ${why}`);
    assert.ok(read < pushed, `read ${read} of ${pushed} bytes: the server dropped the rest`);
    for (const c of codes) assert.equal(c, 1008);
  } finally {
    await f.close();
  }
});

Deno.test("Backpressure: an SSE reader that reads promptly survives replies far larger than the cap", async () => {
  const f = await startFixture({ maxBufferedBytes: 64 * KIB, keepAliveMs: 60_000 });
  try {
    const raw = await openRawSse(f.gw);
    try {
      for (let round = 0; round < 5; round++) {
        const base = round * 100;
        const posts = [
          raw.post(rpcReq(base, "tools/call", { name: "big", arguments: { bytes: 4096 * KIB } })),
        ];
        for (let i = 1; i <= 10; i++) {
          posts.push(raw.post(
            rpcReq(base + i, i % 2 ? "ping" : "tools/call", { name: "chatty", arguments: {} }),
          ));
        }
        for (const p of await Promise.all(posts)) assert.equal(p.status, 202, p.text);
        const ids = new Set<number>();
        while (ids.size < 11) {
          const m = await raw.sse.nextMessage();
          if (m.id !== undefined) ids.add(m.id);
          if (m.id === base) assert.equal(m.result.content[0].text.length, 4096 * KIB);
        }
      }
    } finally {
      await raw.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("Backpressure: a WebSocket peer that reads promptly survives replies far larger than the cap", async () => {
  const f = await startFixture({ maxBufferedBytes: 64 * KIB, wsPingSeconds: 3600 });
  try {
    const ws = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${f.gw.key}`, "mcp"));
    let closed: CloseEvent | undefined;
    ws.closed.then((e) => closed = e);
    // Each round: a reply 64 times the cap, and right behind it, before the peer can have
    // read it, notifications and more replies (which the old check answered with 1008).
    for (let round = 0; round < 5; round++) {
      const base = round * 100;
      ws.ws.send(JSON.stringify(
        rpcReq(base, "tools/call", { name: "big", arguments: { bytes: 4096 * KIB } }),
      ));
      for (let i = 1; i <= 10; i++) {
        ws.ws.send(JSON.stringify(
          rpcReq(base + i, i % 2 ? "ping" : "tools/call", { name: "chatty", arguments: {} }),
        ));
      }
      const big = await ws.reply(base, 10_000);
      assert.equal(big.result.content[0].text.length, 4096 * KIB);
      for (let i = 1; i <= 10; i++) assert.ok(await ws.reply(base + i, 10_000));
      assert.equal(closed, undefined, `closed: ${closed?.code} ${closed?.reason}`);
    }
    await ws.close();
  } finally {
    await f.close();
  }
});

/** Opens an SSE stream; returns its status (and the open stream when 200). */
async function trySse(gw: Gateway, key: string) {
  try {
    return { status: 200, raw: await openRawSse(gw, key) };
  } catch (err) {
    const m = /SSE open failed: (\d+) (.*)$/s.exec((err as Error).message);
    if (!m) throw err;
    return { status: Number(m[1]), body: JSON.parse(m[2]) };
  }
}

/** Opens a WebSocket with `key`; 101 with the open socket, or the refusal's status and body. */
async function tryWs(gw: Gateway, key: string) {
  const h = await rawUpgrade(gw.port, `${gw.path}/ws`, { authorization: `Bearer ${key}` });
  if (h.status !== 101) {
    h.conn.close();
    return { status: h.status, headers: h.headers, body: JSON.parse(h.body) };
  }
  h.conn.close();
  throw new Error("unexpected 101: use openWs for connections that should succeed");
}

function expect429(r: { status: number; body?: { error: { message: string } } }, re: RegExp) {
  assert.equal(r.status, 429);
  assert.match(r.body!.error.message, /^Too Many Requests: /);
  assert.match(r.body!.error.message, re);
}

Deno.test("Limits: at most maxConnectionsPerKey SSE and WebSocket connections per key", async () => {
  const f: Fixture = await startFixture({ maxConnectionsPerKey: 2 });
  try {
    const { gw } = f;
    const a = gw.key;
    const sse1 = await openRawSse(gw, a);
    const ws1 = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${a}`, "mcp"));

    const sse3 = await trySse(gw, a);
    expect429(sse3, /credential/);
    const ws3 = await tryWs(gw, a);
    expect429(ws3, /credential/);
    assert.ok(Number(ws3.headers.get("retry-after")) > 0);
    await assert.rejects(openWs(`${gw.wsUrl}?api_key=${a}`, "mcp"), /429/);

    // Streamable HTTP requests are not long-lived connections and are not counted.
    const list = await fetch(gw.httpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        authorization: `Bearer ${a}`,
      },
      body: JSON.stringify(rpcReq(1, "tools/list")),
    });
    assert.equal(list.status, 200);
    await list.body?.cancel();

    // Another key has its own allowance.
    const b = await newKey(f.s, gw);
    const other = await openRawSse(gw, b);

    // Releasing one of a's connections lets a open another.
    await sse1.close();
    const again = await waitFor("a's slot to be released", async () => {
      const r = await trySse(gw, a);
      return r.status === 200 && r.raw;
    });
    assert.equal((await again.post(rpcReq(2, "ping"))).status, 202);
    assert.equal((await again.sse.nextMessage()).id, 2);
    expect429(await trySse(gw, a), /credential/);

    await ws1.close();
    const ws2 = new WsInbox(
      await waitFor(
        "a's WebSocket slot",
        () => openWs(`${gw.wsUrl}?api_key=${a}`, "mcp").catch(() => undefined),
      ),
    );
    assert.equal((await ws2.request(rpcReq(3, "ping"), 3)).id, 3);
    await ws2.close();
    await again.close();
    await other.close();
  } finally {
    await f.close();
  }
});

Deno.test("Limits: at most maxConnectionsPerGateway across keys; other gateways unaffected", async () => {
  const f = await startFixture({ maxConnectionsPerGateway: 3, maxConnectionsPerKey: 10 });
  try {
    const { gw } = f;
    const keys = [gw.key, await newKey(f.s, gw), await newKey(f.s, gw), await newKey(f.s, gw)];
    const s0 = await openRawSse(gw, keys[0]);
    const w1 = new WsInbox(await openWs(`${gw.wsUrl}?api_key=${keys[1]}`, "mcp"));
    const s2 = await openRawSse(gw, keys[2]);

    expect429(await trySse(gw, keys[3]), /gateway/);
    expect429(await tryWs(gw, keys[3]), /gateway/);
    expect429(await trySse(gw, keys[0]), /gateway/);

    // The limit is per gateway.
    const y = await setupGateway(f.s, "/y");
    const ys = await openRawSse(y, y.key);
    const yw = new WsInbox(await openWs(`${y.wsUrl}?api_key=${y.key}`, "mcp"));

    // Releasing one lets the fourth key in.
    await w1.close();
    const w3 = new WsInbox(
      await waitFor(
        "a gateway slot",
        () => openWs(`${gw.wsUrl}?api_key=${keys[3]}`, "mcp").catch(() => undefined),
      ),
    );
    assert.equal((await w3.request(rpcReq(1, "ping"), 1)).id, 1);
    expect429(await trySse(gw, keys[1]), /gateway/);

    await Promise.all([s0.close(), s2.close(), ys.close(), w3.close(), yw.close()]);
  } finally {
    await f.close();
  }
});
