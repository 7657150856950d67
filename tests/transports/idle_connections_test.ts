/**
 * Many idle long-lived connections on one gateway: they stay open and the
 * server stays responsive on every transport.
 */
import assert from "node:assert/strict";
import { openWs, rpcReq, startFixture, waitFor, within, WsInbox } from "./fixtures.ts";

/** Idle connections per transport (1,000 SSE + 1,000 WebSocket: 4,000 sockets in this process). */
const N = 1000;
const BATCH = 100;

/** An SSE stream read in the background into `text`. */
interface IdleSse {
  postUrl: string;
  text: string;
  ended: boolean;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  done: Promise<void>;
}

function rssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

function openFileLimit(): number {
  const out = new Deno.Command("sh", { args: ["-c", "ulimit -n"] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

async function inBatches<T>(count: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < count; i += BATCH) {
    all.push(
      ...await Promise.all(
        Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => open(i + j)),
      ),
    );
  }
  return all;
}

Deno.test(`Idle: ${N} SSE and ${N} WebSocket connections stay open and the server stays responsive`, async () => {
  // Server and clients share this process: two sockets per connection.
  assert.ok(openFileLimit() >= 4 * N + 200, `ulimit -n ${openFileLimit()} is too low for ${N}`);
  const f = await startFixture({
    maxConnectionsPerKey: 2 * N,
    maxConnectionsPerGateway: 2 * N + 10,
  });
  const { gw } = f;
  const sses: IdleSse[] = [];
  const sockets: WsInbox[] = [];
  const decoder = new TextDecoder();
  try {
    const rssBefore = rssMiB();
    const t0 = performance.now();
    sses.push(
      ...await inBatches(N, async () => {
        const res = await fetch(gw.sseUrl, {
          headers: { accept: "text/event-stream", authorization: `Bearer ${gw.key}` },
        });
        assert.equal(res.status, 200);
        const reader = res.body!.getReader();
        const s = { text: "", ended: false, reader } as IdleSse;
        const { promise: endpoint, resolve } = Promise.withResolvers<void>();
        s.done = (async () => {
          try {
            while (true) {
              const r = await reader.read();
              if (r.done) break;
              s.text += decoder.decode(r.value, { stream: true });
              if (s.text.includes("\n\n")) resolve();
            }
          } catch {
            // Counted as ended below.
          }
          s.ended = true;
          resolve();
        })();
        await within(endpoint, 10_000, "endpoint event");
        const m = /^event: endpoint\ndata: (\S+)\n\n/.exec(s.text);
        assert.ok(m, s.text);
        s.postUrl = new URL(m[1], gw.sseUrl).href;
        return s;
      }),
    );
    const tSse = performance.now() - t0;
    const t1 = performance.now();
    sockets.push(
      ...await inBatches(
        N,
        async () => new WsInbox(await openWs(`${gw.wsUrl}?api_key=${gw.key}`, "mcp")),
      ),
    );
    const tWs = performance.now() - t1;
    const rssAfter = rssMiB();

    // The server holds every one of them: the key's allowance of 2N is used up.
    const extra = await fetch(gw.sseUrl, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${gw.key}` },
    });
    assert.equal(extra.status, 429);
    await extra.body?.cancel();

    // Streamable HTTP still answers quickly.
    let t = performance.now();
    const list = await fetch(gw.httpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        authorization: `Bearer ${gw.key}`,
      },
      body: JSON.stringify(rpcReq(1, "tools/list")),
    });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).result.tools.length, 5);
    const tList = performance.now() - t;

    // A random SSE connection answers a ping on its stream.
    const sse = sses[Math.floor(Math.random() * N)];
    t = performance.now();
    const post = await fetch(sse.postUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gw.key}` },
      body: JSON.stringify(rpcReq(777, "ping")),
    });
    assert.equal(post.status, 202);
    await post.body?.cancel();
    await waitFor(
      "the SSE ping answer",
      () => sse.text.includes('{"jsonrpc":"2.0","id":777'),
      2000,
      2,
    );
    const tSsePing = performance.now() - t;

    // And so does a random WebSocket.
    const ws = sockets[Math.floor(Math.random() * N)];
    t = performance.now();
    assert.deepEqual(await ws.request(rpcReq(778, "ping"), 778), {
      jsonrpc: "2.0",
      id: 778,
      result: {},
    });
    const tWsPing = performance.now() - t;

    // None of them was dropped.
    assert.equal(sses.filter((s) => s.ended).length, 0, "SSE streams ended");
    assert.equal(sockets.filter((s) => s.ws.readyState !== WebSocket.OPEN).length, 0);

    for (
      const [what, ms] of [["tools/list", tList], ["SSE ping", tSsePing], ["WS ping", tWsPing]]
    ) {
      assert.ok((ms as number) < 2000, `${what} took ${ms} ms`);
    }
    const t2 = performance.now();
    await Promise.all(sses.map((s) => s.reader.cancel().catch(() => {})));
    await Promise.all(sses.map((s) => s.done));
    await Promise.all(sockets.map((s) => s.close()));
    const tClose = performance.now() - t2;
    console.log(
      `${N} SSE opened in ${tSse.toFixed(0)} ms, ${N} WS in ${tWs.toFixed(0)} ms; ` +
        `RSS ${rssBefore} -> ${rssAfter} MiB (server and clients, one process); ` +
        `tools/list ${tList.toFixed(1)} ms, SSE ping ${tSsePing.toFixed(1)} ms, ` +
        `WS ping ${tWsPing.toFixed(1)} ms; closed all in ${tClose.toFixed(0)} ms`,
    );

    // Once they are gone, the key may connect again.
    const again = await waitFor("a slot after closing", async () => {
      const r = await fetch(gw.sseUrl, {
        headers: { accept: "text/event-stream", authorization: `Bearer ${gw.key}` },
      });
      if (r.status === 200) return r;
      await r.body?.cancel();
      return undefined;
    });
    await again.body?.cancel();
  } finally {
    await Promise.all(sses.map((s) => s.reader.cancel().catch(() => {})));
    await Promise.all(sockets.map((s) => s.close().catch(() => {})));
    await f.close();
  }
});
