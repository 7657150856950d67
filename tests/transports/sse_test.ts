/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05) at `.../sse` and
 * `.../messages`, against a real server with plain fetch.
 */
import assert from "node:assert/strict";
import {
  initialize,
  newKey,
  openRawSse,
  rpcReq,
  SseReader,
  startFixture,
  TOOL_NAMES,
  waitFor,
} from "./fixtures.ts";

Deno.test("SSE: GET answers text/event-stream and first announces the POST URL of its session", async () => {
  const f = await startFixture();
  try {
    const res = await fetch(f.gw.sseUrl, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${f.gw.key}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.match(res.headers.get("cache-control") ?? "", /no-cache/);
    const sse = new SseReader(res);
    try {
      const first = await sse.next();
      assert.ok(first);
      assert.equal(first.event, "endpoint", "the first event names the POST URL");
      const m = /^\/mcp\/default\/x\/messages\?sessionId=([0-9a-f]{32})$/.exec(first.data ?? "");
      assert.ok(m, `endpoint data: ${first.data}`);
      // The announced URL takes messages for this stream's session.
      const post = await fetch(new URL(first.data!, f.gw.sseUrl), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${f.gw.key}` },
        body: JSON.stringify(rpcReq(1, "ping")),
      });
      assert.equal(post.status, 202);
      await post.body?.cancel();
      assert.deepEqual(await sse.nextMessage(), { jsonrpc: "2.0", id: 1, result: {} });
    } finally {
      await sse.close();
    }
    // Two streams are two sessions.
    const a = await openRawSse(f.gw);
    const b = await openRawSse(f.gw);
    assert.notEqual(a.sessionId, b.sessionId);
    await a.close();
    await b.close();
  } finally {
    await f.close();
  }
});

Deno.test("SSE: POSTs get 202 and every response and notification arrives as event: message", async () => {
  const f = await startFixture();
  try {
    const raw = await openRawSse(f.gw);
    try {
      let r = await raw.post(initialize(0));
      assert.equal(r.status, 202);
      const init = await raw.sse.nextMessage();
      assert.equal(init.id, 0);
      assert.equal(init.result.protocolVersion, "2025-03-26");
      assert.equal(init.result.serverInfo.name, "gatehouse");
      r = await raw.post({ jsonrpc: "2.0", method: "notifications/initialized" });
      assert.equal(r.status, 202, "a notification is accepted too");

      assert.equal((await raw.post(rpcReq(1, "tools/list"))).status, 202);
      const list = await raw.sse.nextMessage();
      assert.equal(list.id, 1);
      assert.deepEqual(list.result.tools.map((t: { name: string }) => t.name).sort(), TOOL_NAMES);

      assert.equal(
        (await raw.post(rpcReq(2, "tools/call", { name: "echo", arguments: { a: 1 } })))
          .status,
        202,
      );
      const echo = await raw.sse.nextMessage();
      assert.deepEqual(echo, {
        jsonrpc: "2.0",
        id: 2,
        result: { content: [{ type: "text", text: '{"a":1}' }] },
      });

      // Notifications of a call come down the same stream, before its response.
      const call = rpcReq(3, "tools/call", {
        name: "chatty",
        arguments: {},
        _meta: { progressToken: "tok" },
      });
      assert.equal((await raw.post(call)).status, 202);
      const seen = [];
      while (true) {
        const m = await raw.sse.nextMessage();
        seen.push(m);
        if (m.id === 3) break;
      }
      const logs = seen.filter((m) => m.method === "notifications/message");
      // The session's level starts at info: debug is filtered out.
      assert.deepEqual(logs.map((m) => m.params.level), ["info", "warning", "error"]);
      const progress = seen.filter((m) => m.method === "notifications/progress");
      assert.deepEqual(progress.map((m) => [m.params.progressToken, m.params.progress]), [
        ["tok", 1],
        ["tok", 2],
        ["tok", 3],
      ]);
      assert.deepEqual(seen[seen.length - 1].result.content, [{ type: "text", text: "done" }]);
    } finally {
      await raw.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("SSE: an idle stream gets keep-alive comments", async () => {
  const f = await startFixture({ keepAliveMs: 200 });
  try {
    const raw = await openRawSse(f.gw);
    try {
      const t0 = Date.now();
      const first = await raw.sse.next(2000);
      const second = await raw.sse.next(2000);
      const elapsed = Date.now() - t0;
      for (const b of [first, second]) {
        assert.ok(b);
        assert.deepEqual(
          b.comments,
          ["keepalive"],
          `expected a keepalive, got ${JSON.stringify(b)}`,
        );
        assert.equal(b.event, undefined);
        assert.equal(b.data, undefined);
      }
      assert.ok(elapsed >= 300, `two keep-alives 200 ms apart came after ${elapsed} ms`);
      assert.ok(elapsed < 1500, `two keep-alives took ${elapsed} ms`);
    } finally {
      await raw.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("SSE: closing the stream ends its session and cancels its running calls", async () => {
  const f = await startFixture();
  try {
    const raw = await openRawSse(f.gw);
    assert.equal(
      (await raw.post(rpcReq(1, "tools/call", { name: "wait", arguments: { tag: "sse-close" } })))
        .status,
      202,
    );
    const [call] = await waitFor("the call to start", () => {
      const c = f.executor.tagged("sse-close");
      return c.length === 1 && c;
    });
    assert.equal(call.aborted, false);
    await raw.close();
    await waitFor("the running call to be aborted", () => call.aborted);
    const gone = await waitFor("the session to be gone", async () => {
      const r = await raw.post(rpcReq(2, "ping"));
      return r.status === 404 && r;
    });
    const body = JSON.parse(gone.text);
    assert.equal(body.jsonrpc, "2.0");
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32001);
    assert.match(body.error.message, /Session not found/);
    assert.match(body.error.message, /GET \.\.\.\/sse/, "it says how to recover");
  } finally {
    await f.close();
  }
});

Deno.test("SSE: an unknown session is 404, a missing sessionId is 400, another key's session is 404", async () => {
  const f = await startFixture();
  try {
    const messages = `${f.gw.httpUrl}/messages`;
    const post = async (url: string, key = f.gw.key) => {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify(rpcReq(1, "ping")),
      });
      if (r.status === 202) return { status: r.status, body: await r.text() };
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      return { status: r.status, body: await r.json() };
    };
    const unknown = await post(`${messages}?sessionId=${"0".repeat(32)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, -32001);
    assert.match(unknown.body.error.message, /Session not found/);

    const missing = await post(messages);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, -32600);
    assert.match(missing.body.error.message, /sessionId/);

    // A session belongs to the key that opened it.
    const raw = await openRawSse(f.gw);
    try {
      const other = await newKey(f.s, f.gw);
      assert.equal((await post(raw.postUrl, other)).status, 404);
      assert.equal((await post(raw.postUrl)).status, 202);
      assert.equal((await raw.sse.nextMessage()).id, 1);
    } finally {
      await raw.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("SSE: a reader that keeps up receives a message larger than maxBufferedBytes", async () => {
  const f = await startFixture({ maxBufferedBytes: 64 * 1024 });
  try {
    const raw = await openRawSse(f.gw);
    try {
      const bytes = 256 * 1024;
      const r = await raw.post(rpcReq(1, "tools/call", { name: "big", arguments: { bytes } }));
      assert.equal(r.status, 202);
      const m = await raw.sse.nextMessage();
      assert.equal(m.id, 1);
      assert.equal(m.result.content[0].text.length, bytes);
      // The stream and its session are still there.
      assert.equal((await raw.post(rpcReq(2, "ping"))).status, 202);
      assert.equal((await raw.sse.nextMessage()).id, 2);
    } finally {
      await raw.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("SSE: a client that authenticates in the query gets a POST URL that carries the key; bad POSTs are refused", async () => {
  const f = await startFixture({ maxBodyBytes: 2048 });
  try {
    const res = await fetch(`${f.gw.sseUrl}?api_key=${f.gw.key}`, {
      headers: { accept: "text/event-stream" },
    });
    assert.equal(res.status, 200);
    const sse = new SseReader(res);
    try {
      const endpoint = await sse.nextEvent();
      const url = new URL(endpoint!.data!, f.gw.sseUrl);
      assert.equal(url.searchParams.get("api_key"), f.gw.key);
      const post = (body: string, contentType = "application/json") =>
        fetch(url, { method: "POST", headers: { "content-type": contentType }, body });
      let r = await post(JSON.stringify(rpcReq(1, "ping")));
      assert.equal(r.status, 202);
      await r.body?.cancel();
      assert.equal((await sse.nextMessage()).id, 1);

      r = await post(JSON.stringify(rpcReq(2, "ping")), "text/plain");
      assert.equal(r.status, 415);
      assert.equal((await r.json()).error.code, -32600);
      r = await post(JSON.stringify(rpcReq(3, "ping", { pad: "a".repeat(4096) })));
      assert.equal(r.status, 413);
      assert.match((await r.json()).error.message, /2048 bytes/);
      // Without the key the POST is refused.
      const bare = new URL(url);
      bare.searchParams.delete("api_key");
      r = await fetch(bare, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(rpcReq(4, "ping")),
      });
      assert.equal(r.status, 401);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer resource_metadata="/);
      await r.body?.cancel();
      // None of the refused messages reached the session; it still answers.
      r = await post(JSON.stringify(rpcReq(5, "ping")));
      await r.body?.cancel();
      assert.equal((await sse.nextMessage()).id, 5);
    } finally {
      await sse.close();
    }
  } finally {
    await f.close();
  }
});
