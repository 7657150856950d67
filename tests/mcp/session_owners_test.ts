/**
 * Sessions belong to their caller: the session caps apply per credential as
 * well as per gateway, and a full cap only ever gives up the asking
 * credential's own oldest idle session or refuses it (429 with Retry-After),
 * never another credential's, over Streamable HTTP, SSE and WebSocket.
 */
import assert from "node:assert/strict";
import {
  expectRpcError,
  initializeRequest,
  openSession,
  type RawSession,
  req,
  rpc,
  send,
} from "../helpers/mcp.ts";
import {
  type Fixture,
  newKey,
  openRawSse,
  openWs,
  rpcReq,
  startFixture,
  waitFor,
  WsInbox,
} from "../transports/fixtures.ts";

async function alive(s: RawSession, id: number): Promise<boolean> {
  const a = await s.rpc(req(id, "ping"));
  if (a.status === 200) return true;
  expectRpcError(a, 404, -32001);
  return false;
}

async function withFixture(
  settings: Parameters<typeof startFixture>[0],
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  const f = await startFixture(settings);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/** Starts a `wait` call in `s`; resolves once the server runs it, with the call's answer to come. */
async function busy(f: Fixture, s: RawSession, id: number): Promise<{ answer: Promise<unknown> }> {
  const before = f.executor.calls.length;
  const running = s.rpc(req(id, "tools/call", { name: "wait", arguments: {} }), {
    accept: "application/json",
  });
  await waitFor("the wait call to start", () => f.executor.calls.length > before);
  return { answer: running };
}

Deno.test("Streamable HTTP: a credential at its cap replaces its own oldest idle session, never another's", async () => {
  await withFixture({ maxSessionsPerKey: 3, maxSessionsPerGateway: 100 }, async (f) => {
    const x = f.gw.key;
    const y = await newKey(f.s, f.gw);
    const ys = [await openSession(f.gw.httpUrl, y), await openSession(f.gw.httpUrl, y)];
    const xs: RawSession[] = [];
    for (let i = 0; i < 3; i++) xs.push(await openSession(f.gw.httpUrl, x));
    // Far past its cap: each new session of X replaces X's least recently used one.
    for (let i = 0; i < 20; i++) xs.push(await openSession(f.gw.httpUrl, x));
    const live = [];
    for (const [i, s] of xs.entries()) live.push(await alive(s, i));
    assert.deepEqual(live, [...Array(20).fill(false), true, true, true]);
    for (const [i, s] of ys.entries()) assert.ok(await alive(s, 100 + i), "Y's session survived");
    // Y still has room of its own.
    ys.push(await openSession(f.gw.httpUrl, y));
    for (const [i, s] of ys.entries()) assert.ok(await alive(s, 200 + i));
  });
});

Deno.test("Streamable HTTP: with every session of its own busy, a credential is refused 429 and others are untouched", async () => {
  await withFixture({ maxSessionsPerKey: 2, maxSessionsPerGateway: 100 }, async (f) => {
    const x = f.gw.key;
    const y = await newKey(f.s, f.gw);
    const yOld = await openSession(f.gw.httpUrl, y);
    const xs = [await openSession(f.gw.httpUrl, x), await openSession(f.gw.httpUrl, x)];
    const running = [await busy(f, xs[0], 1), await busy(f, xs[1], 2)];
    const refused = await rpc(f.gw.httpUrl, initializeRequest(), { key: x });
    const err = expectRpcError(refused, 429, -32600);
    assert.match(err.message, /this credential already has 2 open sessions/);
    assert.equal(refused.headers.get("mcp-session-id"), null);
    assert.match(refused.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    assert.ok(await alive(yOld, 3), "Y's idle session was not taken to make room");
    assert.ok(await alive(await openSession(f.gw.httpUrl, y), 4), "Y can still open sessions");
    // Ending X's own session makes room for X again.
    for (const s of xs) {
      const del = await send(f.gw.httpUrl, "DELETE", {
        authorization: `Bearer ${x}`,
        "mcp-session-id": s.id,
      });
      assert.equal(del.status, 200);
    }
    await Promise.all(running.map((r) => r.answer));
    assert.ok(await alive(await openSession(f.gw.httpUrl, x), 5));
  });
});

Deno.test("at the gateway cap a newcomer is refused 429 instead of evicting anyone; a member replaces its own", async () => {
  await withFixture({ maxSessionsPerKey: 100, maxSessionsPerGateway: 4 }, async (f) => {
    const x = f.gw.key;
    const y = await newKey(f.s, f.gw);
    const z = await newKey(f.s, f.gw);
    const ys = [await openSession(f.gw.httpUrl, y), await openSession(f.gw.httpUrl, y)];
    const xs = [await openSession(f.gw.httpUrl, x), await openSession(f.gw.httpUrl, x)];
    // Z holds no session here: nothing of its own to give up.
    const refused = await rpc(f.gw.httpUrl, initializeRequest(), { key: z });
    const err = expectRpcError(refused, 429, -32600);
    assert.match(err.message, /this gateway already has 4 open sessions/);
    const wait = Number(refused.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 1800, `Retry-After ${wait}`);
    // X replaces its own oldest.
    xs.push(await openSession(f.gw.httpUrl, x));
    assert.equal(await alive(xs[0], 1), false);
    assert.ok(await alive(xs[1], 2));
    assert.ok(await alive(xs[2], 3));
    for (const [i, s] of ys.entries()) assert.ok(await alive(s, 10 + i), "Y's session survived");
  });
});

Deno.test("SSE and WebSocket: a credential filling its session cap never ends another's streams", async () => {
  await withFixture({ maxSessionsPerKey: 2, maxSessionsPerGateway: 100 }, async (f) => {
    const x = f.gw.key;
    const y = await newKey(f.s, f.gw);
    const ySse = await openRawSse(f.gw, y);
    const yWs = new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${y}`, "mcp"));
    const xStreams = [];
    try {
      for (let i = 0; i < 6; i++) {
        xStreams.push(
          i % 2 === 0
            ? await openRawSse(f.gw, x)
            : new WsInbox(await openWs(`${f.gw.wsUrl}?api_key=${x}`, "mcp")),
        );
      }
      // X's four oldest sessions gave way to its newest two; Y's two never did.
      const sseEnded = async (s: Awaited<ReturnType<typeof openRawSse>>) =>
        (await s.post(rpcReq(1, "ping"))).status === 404;
      assert.ok(await sseEnded(xStreams[0] as Awaited<ReturnType<typeof openRawSse>>));
      const wsClosed = await (xStreams[1] as WsInbox).closed;
      assert.equal(wsClosed.code, 1001);
      assert.equal((await ySse.post(rpcReq(2, "ping"))).status, 202);
      assert.equal((await ySse.sse.nextMessage()).id, 2);
      const pong = await yWs.request(rpcReq(3, "ping"), 3);
      assert.deepEqual(pong.result, {});
      const newest = xStreams[5] as WsInbox;
      assert.deepEqual((await newest.request(rpcReq(4, "ping"), 4)).result, {});
    } finally {
      for (const s of xStreams) await s.close().catch(() => {});
      await ySse.close();
      await yWs.close();
    }
  });
});
