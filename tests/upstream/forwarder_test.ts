import assert from "node:assert/strict";
import { Session } from "../../src/mcp/session.ts";
import type { UpstreamServer } from "../../src/store/servers.ts";
import { staticSecrets } from "../../src/tools/secrets.ts";
import {
  type ForwardCaller,
  Forwarder,
  type ForwarderOptions,
  UpstreamRpcError,
  UpstreamUnavailable,
} from "../../src/upstream/forwarder.ts";
import { type OrgDestinationCheck, Supervisor } from "../../src/upstream/supervisor.ts";
import { freePort } from "../helpers/server.ts";
import { denoServer, everythingOverHttp, livePids, MEMORY, SCRATCH, until } from "./fixtures.ts";
import { sessionServer } from "./session_server.ts";

const SECRET = "sk-forwarded-3b8e61d0a4";
const secrets = staticSecrets({ org: { TOKEN: SECRET } });
const allowAll: OrgDestinationCheck = () => Promise.resolve({ ok: true });

function server(fields: Partial<UpstreamServer>): UpstreamServer {
  return {
    id: crypto.randomUUID(),
    orgId: "org",
    name: "up",
    transport: "stdio",
    createdAt: "",
    updatedAt: "",
    ...fields,
  };
}

/** A downstream session as the MCP endpoint makes them (`""` for a sessionless request). */
function downstream(id: string = crypto.randomUUID()): Session {
  return new Session(id, { gatewayId: "g", principalId: "p" }, "2025-11-25");
}

function via(session: Session, signal = new AbortController().signal): ForwardCaller {
  return { session, signal };
}

interface Rig {
  sup: Supervisor;
  fwd: Forwarder;
  s: UpstreamServer;
  /** Calls tool `name` for `session` and returns the text it answered. */
  tool(name: string, session: Session): Promise<string>;
}

/** A supervisor with server `fields` ready, and a forwarder over it, for the length of `fn`. */
async function withForwarder(
  fields: Partial<UpstreamServer>,
  fn: (rig: Rig) => Promise<void>,
  options?: ForwarderOptions,
): Promise<void> {
  const sup = new Supervisor({ secrets, check: allowAll, backoffBaseMs: 100, backoffMaxMs: 400 });
  const fwd = new Forwarder(sup, options);
  const s = server(fields);
  try {
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "ready", st.lastError ?? "");
    const tool = async (name: string, session: Session) => {
      const result = await fwd.request(s.id, "tools/call", { name, arguments: {} }, via(session));
      return (result.content as { text: string }[])[0].text;
    };
    await fn({ sup, fwd, s, tool });
  } finally {
    await fwd.close();
    await sup.close();
  }
}

/** Whether server-everything over Streamable HTTP still knows `session` (it answers a ping). */
async function everythingKnows(url: string, session: string): Promise<boolean> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  await res.body?.cancel();
  return res.ok;
}

/** The upstream session server-everything's `toggle-subscriber-updates` says it acted for. */
function toggledSession(text: string): { started: boolean; session: string } {
  const m = /^(Started|Stopped) .* for session (\S+?)( at|$)/.exec(text);
  assert.ok(m, text);
  return { started: m[1] === "Started", session: m[2] };
}

for (const mode of ["streamableHttp", "sse"] as const) {
  Deno.test(`server-everything over ${mode}: each downstream session has its own upstream session, ended with it`, async () => {
    const upstream = await everythingOverHttp(mode);
    try {
      const transport = mode === "sse" ? "sse" : "streamable-http";
      await withForwarder({ transport, url: upstream.url }, async ({ tool }) => {
        const a = downstream();
        const b = downstream();
        // The toggle is per upstream session: a shared session would see B stop what A started.
        const a1 = toggledSession(await tool("toggle-subscriber-updates", a));
        const b1 = toggledSession(await tool("toggle-subscriber-updates", b));
        const a2 = toggledSession(await tool("toggle-subscriber-updates", a));
        assert.deepEqual([a1.started, b1.started, a2.started], [true, true, false]);
        assert.notEqual(a1.session, b1.session);
        assert.equal(a2.session, a1.session);

        if (mode === "streamableHttp") assert.ok(await everythingKnows(upstream.url, a1.session));
        a.close();
        if (mode === "streamableHttp") {
          await until(
            async () => !(await everythingKnows(upstream.url, a1.session)),
            5000,
            "the upstream session to end",
          );
          assert.ok(await everythingKnows(upstream.url, b1.session), "B's session ended too");
        } else {
          await until(
            () => upstream.log().includes(`Client Disconnected:  ${a1.session}`),
            5000,
            "the upstream session to end",
          );
          assert.ok(!upstream.log().includes(`Client Disconnected:  ${b1.session}`));
        }
      });
    } finally {
      await upstream.stop();
    }
  });
}

Deno.test("concurrent first requests of a session make one upstream session; others get their own", async () => {
  const upstream = sessionServer();
  try {
    await withForwarder({ transport: "streamable-http", url: upstream.url }, async ({ tool }) => {
      assert.equal(upstream.opened.length, 1, "the supervisor's own session");
      const a = downstream();
      const b = downstream();
      const firsts = await Promise.all([1, 2, 3].map(() => tool("whoami", a)));
      assert.equal(new Set(firsts).size, 1);
      const counts = await Promise.all([tool("count", a), tool("count", b), tool("count", a)]);
      assert.deepEqual(counts.toSorted(), ["1", "1", "2"]);
      const bId = await tool("whoami", b);
      assert.notEqual(bId, firsts[0]);
      assert.equal(upstream.opened.length, 3);
      assert.deepEqual(upstream.opened.slice(1).toSorted(), [firsts[0], bId].toSorted());
      assert.ok(!upstream.opened.slice(1).includes(upstream.opened[0]));

      a.close();
      await until(() => upstream.deleted.includes(firsts[0]), 5000, "the DELETE of A's session");
      assert.ok(!upstream.deleted.includes(bId));
    });
    // Closing the forwarder and the supervisor ends the rest.
    assert.equal(upstream.deleted.length, 3);
  } finally {
    await upstream.stop();
  }
});

Deno.test("a stateless Streamable HTTP upstream is called over the shared connection", async () => {
  const upstream = sessionServer({ stateless: true });
  try {
    await withForwarder({ transport: "streamable-http", url: upstream.url }, async ({ tool }) => {
      // A stateless server keeps one counter for everyone.
      assert.equal(await tool("count", downstream()), "1");
      assert.equal(await tool("count", downstream()), "2");
      assert.equal(await tool("count", downstream("")), "3");
      const inits = upstream.requests.filter((r) => r.method === "initialize");
      assert.equal(inits.length, 1, "only the supervisor initialized");
      assert.deepEqual(upstream.opened, []);
    });
  } finally {
    await upstream.stop();
  }
});

Deno.test("a sessionless request to a stateful upstream gets a session of its own, ended after it", async () => {
  const upstream = sessionServer();
  try {
    await withForwarder({ transport: "streamable-http", url: upstream.url }, async ({ tool }) => {
      const first = await tool("whoami", downstream(""));
      const second = await tool("whoami", downstream(""));
      assert.notEqual(first, second);
      assert.ok(first !== upstream.opened[0] && second !== upstream.opened[0]);
      await until(
        () => upstream.deleted.includes(first) && upstream.deleted.includes(second),
        5000,
        "both one-shot sessions to end",
      );
    });
  } finally {
    await upstream.stop();
  }
});

const RESTARTS = [
  {
    kind: "an SDK server answering 404",
    transport: "streamable-http",
    start: (port?: number) => Promise.resolve(sessionServer({ port })),
  },
  {
    kind: "server-everything answering 400",
    transport: "streamable-http",
    start: (port?: number) => everythingOverHttp("streamableHttp", port),
  },
  {
    kind: "server-everything over SSE",
    transport: "sse",
    start: (port?: number) => everythingOverHttp("sse", port),
  },
] as const;
for (const { kind, transport, start } of RESTARTS) {
  Deno.test(`an upstream restarted mid-session (${kind}) is re-initialized transparently`, async () => {
    let upstream = await start();
    const port = upstream.port;
    try {
      const url = upstream.url;
      await withForwarder({ transport, url }, async ({ sup, fwd, s, tool }) => {
        const a = downstream();
        const probe = "requests" in upstream ? "count" : "toggle-subscriber-updates";
        const before = await tool(probe, a);
        await upstream.stop();
        if (transport === "sse") {
          // The event stream ends with the server: both connections see it and close.
          await until(() => sup.status(s.id).state !== "ready", 5000, "the loss to be seen");
          await until(() => fwd.sessions(s.id) === 0, 5000, "A's connection to close");
        }
        upstream = await start(port);
        await until(() => sup.status(s.id).state === "ready", 5000, "the supervisor to reconnect");
        // The new upstream has never heard of A's session: it is made again, and the call succeeds.
        const after = await tool(probe, a);
        assert.equal(after.split(" ")[0], before.split(" ")[0], `${before}\n${after}`);
        assert.deepEqual(fwd.breaker(s.id), { state: "closed", openUntil: null, failures: 0 });
        if ("requests" in upstream) {
          const [refused, init] = upstream.requests.filter((r) => r.http === "POST");
          assert.equal(refused.method, "tools/call");
          assert.ok(refused.session);
          assert.deepEqual([init.method, init.session], ["initialize", null]);
        }
      });
    } finally {
      await upstream.stop();
    }
  });
}

Deno.test("per-session stdio isolation runs a process per session; each ends with its session", async () => {
  const marker = `gatehouse-isolation-${crypto.randomUUID()}`;
  const fields = {
    ...denoServer(MEMORY, marker),
    env: { MEMORY_FILE_PATH: `${SCRATCH}/memory-${crypto.randomUUID()}.jsonl` },
    isolation: "per-session" as const,
  };
  await withForwarder(fields, async ({ sup, fwd, s }) => {
    const read = (session: Session) =>
      fwd.request(s.id, "tools/call", { name: "read_graph", arguments: {} }, via(session));
    const supPid = sup.pid(s.id)!;
    assert.deepEqual(livePids(marker), [supPid], "the supervisor's process");
    const a = downstream();
    const b = downstream();
    await Promise.all([read(a), read(a), read(a)]);
    const [aPid] = livePids(marker).filter((p) => p !== supPid);
    assert.equal(livePids(marker).length, 2, "one process for A's three first calls");
    await read(b);
    assert.equal(livePids(marker).length, 3);
    assert.equal(fwd.sessions(s.id), 2);

    // A's process dies: A's next call gets a new one, and does not notice.
    Deno.kill(aPid, "SIGKILL");
    await until(() => fwd.sessions(s.id) === 1, 10_000, "A's connection to close");
    await read(a);
    const pids = livePids(marker);
    assert.equal(pids.length, 3);
    assert.ok(!pids.includes(aPid));

    a.close();
    await until(() => livePids(marker).length === 2, 10_000, "A's process to end");
    b.close();
    await until(() => livePids(marker).length === 1, 10_000, "B's process to end");
    assert.deepEqual(livePids(marker), [supPid]);
    assert.equal(fwd.sessions(s.id), 0);
  });
  assert.deepEqual(livePids(marker), []);
});

Deno.test("a hanging upstream fails within its timeout, and is told the call is cancelled", async () => {
  const upstream = sessionServer();
  try {
    await withForwarder(
      { transport: "streamable-http", url: upstream.url, timeout: 800 },
      async ({ tool }) => {
        const started = Date.now();
        await assert.rejects(tool("hang", downstream()), (err) => {
          assert.ok(err instanceof UpstreamUnavailable, String(err));
          assert.equal(err.message, "server 'up' did not answer within 800 ms");
          return true;
        });
        const took = Date.now() - started;
        assert.ok(took >= 750 && took < 2000, `took ${took} ms`);
        await until(() => upstream.cancelled === 1, 5000, "the cancellation to arrive");
      },
    );
  } finally {
    await upstream.stop();
  }
});

Deno.test("a server that is not connected fails at once, saying why", async () => {
  const port = freePort();
  const sup = new Supervisor({ secrets, check: allowAll, backoffBaseMs: 5000 });
  const fwd = new Forwarder(sup);
  try {
    const s = server({ transport: "streamable-http", url: `http://127.0.0.1:${port}/mcp` });
    await sup.upsert(s);
    assert.equal((await sup.refresh(s.id)).state, "failed");
    const started = Date.now();
    await assert.rejects(
      fwd.request(s.id, "tools/list", {}, via(downstream())),
      (err) => {
        assert.ok(err instanceof UpstreamUnavailable);
        assert.equal(
          err.message,
          `server 'up' is not connected (failed: connection refused by 127.0.0.1:${port}: ` +
            "nothing is accepting connections there)",
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 200);
  } finally {
    await fwd.close();
    await sup.close();
  }
});

Deno.test("the breaker opens after repeated failures, fails fast, and closes once the upstream is back", async () => {
  let upstream = sessionServer();
  const port = upstream.port;
  try {
    await withForwarder({ transport: "streamable-http", url: upstream.url }, async (rig) => {
      const { fwd, s, tool } = rig;
      const a = downstream();
      const count = () => tool("count", a);
      assert.equal(await count(), "1");
      // Error answers come from a server that is up: they never open the breaker.
      for (let i = 0; i < 6; i++) {
        await assert.rejects(
          fwd.request(s.id, "prompts/get", { name: "nope" }, via(a)),
          (err) => err instanceof UpstreamRpcError && err.code === -32602,
        );
      }
      assert.equal(fwd.breaker(s.id).state, "closed");

      await upstream.stop();
      for (let i = 0; i < 5; i++) {
        await assert.rejects(count(), /server 'up' failed: connection refused by 127\.0\.0\.1/);
      }
      const open = fwd.breaker(s.id);
      assert.equal(open.state, "open");
      assert.equal(open.failures, 5);
      const wait = Date.parse(open.openUntil!) - Date.now();
      assert.ok(wait > 500 && wait <= 1000, `open for ${wait} ms`);
      const started = Date.now();
      await assert.rejects(count(), (err) => {
        assert.ok(err instanceof UpstreamUnavailable);
        assert.match(
          err.message,
          /^server 'up' is unavailable: calls are paused after 5 failures in a row \(last: server 'up' failed: connection refused .*\); the next call is tried at \d{4}-.*Z \(in \d\.\d s\)$/,
        );
        return true;
      });
      assert.ok(Date.now() - started < 50, "an open breaker answers at once");

      // The cool-down passes while the upstream is still down: the trial call fails, and the
      // next cool-down is twice as long.
      await until(() => fwd.breaker(s.id).state === "half-open", 2000, "the first cool-down");
      await assert.rejects(count(), /connection refused/);
      const reopened = fwd.breaker(s.id);
      assert.equal(reopened.state, "open");
      assert.ok(Date.parse(reopened.openUntil!) - Date.now() > 1500);

      upstream = sessionServer({ port });
      await until(() => fwd.breaker(s.id).state === "half-open", 3000, "the second cool-down");
      // The trial call finds a new upstream that does not know A's session, which is made again.
      assert.equal(await count(), "1");
      assert.deepEqual(fwd.breaker(s.id), { state: "closed", openUntil: null, failures: 0 });
      assert.equal(await count(), "2");
    });
  } finally {
    await upstream.stop();
  }
});

Deno.test("over the session cap, the least recently used idle session is closed", async () => {
  const upstream = sessionServer();
  try {
    await withForwarder(
      { transport: "streamable-http", url: upstream.url },
      async ({ fwd, s, tool }) => {
        const [a, b, c] = [downstream(), downstream(), downstream()];
        const aId = await tool("whoami", a);
        const bId = await tool("whoami", b);
        assert.equal(await tool("whoami", a), aId, "A is now the most recently used");
        await tool("whoami", c);
        await until(() => upstream.deleted.includes(bId), 5000, "B's session to be closed");
        assert.ok(!upstream.deleted.includes(aId));
        // B goes on, in a new upstream session (its old one made room).
        const bAgain = await tool("whoami", b);
        assert.notEqual(bAgain, bId);

        await fwd.forget(s.id);
        assert.equal(upstream.deleted.length, 4, "forget closes every pooled session");
      },
      { maxSessionsPerServer: 2 },
    );
  } finally {
    await upstream.stop();
  }
});

Deno.test("secret values never reach an error passed on from the upstream", async () => {
  const upstream = sessionServer();
  try {
    await withForwarder(
      { transport: "streamable-http", url: upstream.url, auth: { secret: "TOKEN" } },
      async ({ fwd, s }) => {
        await assert.rejects(
          fwd.request(s.id, "prompts/get", { name: `x-${SECRET}` }, via(downstream())),
          (err) => {
            assert.ok(err instanceof UpstreamRpcError);
            // The SDK server puts "MCP error <code>: " in the message it sends.
            assert.equal(err.message, "MCP error -32602: Prompt x-[REDACTED] not found");
            assert.ok(!JSON.stringify(err.data ?? null).includes(SECRET));
            return true;
          },
        );
      },
    );
  } finally {
    await upstream.stop();
  }
});
