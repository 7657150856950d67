/**
 * The change feed across replicas: what is changed through replica A (a new
 * tool, a revoked key, a rotated secret, an auth method, an attached upstream
 * server, org settings) takes effect on replica B within a second, with no request to
 * B's management API. The delays are measured and printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openSession, req, rpc } from "../helpers/mcp.ts";
import {
  createEchoTool,
  createGateway,
  delayUntil,
  echoBackend,
  expect,
  spread,
  startReplicas,
} from "../helpers/replicas.ts";
import { sessionServer } from "../upstream/session_server.ts";

const PROPAGATION_MS = 1000;

/** The names of the tools `session` lists. */
async function toolNames(
  session: { rpc(body: unknown): Promise<{ body: { result?: { tools: { name: string }[] } } }> },
) {
  const res = await session.rpc(req(1, "tools/list"));
  return (res.body.result?.tools ?? []).map((t) => t.name);
}

Deno.test("changes made through one replica take effect on the other within a second", async (t) => {
  const backend = echoBackend();
  const set = await startReplicas(2);
  const [a, b] = set.replicas;
  try {
    const gw = await createGateway(a, backend.url);

    await t.step("20 new tools appear in tools/list on the other replica", async () => {
      const onB = await openSession(b.url + gw.path, gw.key);
      const delays: number[] = [];
      for (let i = 0; i < 20; i++) {
        const name = `tool_${i}`;
        const id = await createEchoTool(a, backend.url, name);
        // Listed on B once before the change, so B serves the list from its cache.
        assert.ok(!(await toolNames(onB)).includes(name));
        expect(await a.api("POST", `/gateways/${gw.id}/tools`, { toolIds: [id] }), 201);
        delays.push(await delayUntil(async () => (await toolNames(onB)).includes(name), name));
      }
      const { p50, max } = spread(delays);
      console.log(`tool propagation A -> B over 20 changes: p50 ${p50} ms, max ${max} ms`);
      assert.ok(max < PROPAGATION_MS, `slowest propagation took ${max} ms`);
    });

    await t.step("a key revoked on A is refused on B, and its session there ends", async () => {
      const extra = expect(await a.api("POST", `/gateways/${gw.id}/keys`, { name: "extra" }), 201);
      const onB = await openSession(b.url + gw.path, extra.key);
      assert.equal((await onB.rpc(req(1, "tools/list"))).status, 200);
      const stream = await fetch(b.url + gw.path, {
        headers: {
          authorization: `Bearer ${extra.key}`,
          accept: "text/event-stream",
          "mcp-session-id": onB.id,
        },
      });
      assert.equal(stream.status, 200);
      const ended = stream.body!.pipeTo(new WritableStream());
      expect(await a.api("DELETE", `/gateways/${gw.id}/keys/${extra.id}`));
      const ms = await delayUntil(
        async () =>
          (await rpc(b.url + gw.path, req(2, "tools/list"), { key: extra.key })).status === 401,
        "the revoked key refused on B",
      );
      console.log(`key revocation A -> B: ${ms.toFixed(1)} ms`);
      assert.ok(ms < PROPAGATION_MS);
      // The stream on B closes without a request to B.
      await ended;
    });

    await t.step("a secret rotated on A is what B's next calls send", async () => {
      const tokens: string[] = [];
      const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
        tokens.push(r.headers.get("x-token") ?? "");
        return Response.json({ ok: true });
      });
      try {
        const secret = expect(
          await a.api("POST", "/secrets", { name: "ROTATED", type: "api_key", value: "first-1" }),
          201,
        );
        const tool = expect(
          await a.api("POST", "/tools", {
            name: "with_secret",
            description: "Sends the secret",
            inputSchema: { type: "object", properties: {} },
            type: "http",
            executionConfig: {
              method: "GET",
              url: `http://127.0.0.1:${upstream.addr.port}/t`,
              headers: { "X-Token": "{{secrets.ROTATED}}" },
            },
          }),
          201,
        ).id;
        expect(await a.api("POST", `/gateways/${gw.id}/tools`, { toolIds: [tool] }), 201);
        const onB = await openSession(b.url + gw.path, gw.key);
        let id = 100;
        const sent = async () => {
          const res = await onB.rpc(req(id++, "tools/call", { name: "with_secret" }));
          assert.equal(res.body.result?.isError, undefined, JSON.stringify(res.body));
          return tokens.at(-1);
        };
        await delayUntil(async () => (await sent()) === "first-1", "the secret used on B");
        // B now holds the decrypted value; the rotation must reach it without a request to B.
        expect(await a.api("PATCH", `/secrets/${secret.id}`, { value: "second-2" }));
        const ms = await delayUntil(
          async () => (await sent()) === "second-2",
          "the rotated secret used on B",
        );
        console.log(`secret rotation A -> B: ${ms.toFixed(1)} ms`);
        assert.ok(ms < PROPAGATION_MS);
      } finally {
        await upstream.shutdown();
      }
    });

    await t.step("an auth method added on A admits anonymous callers on B", async () => {
      const anonymous = () => rpc(b.url + gw.path, req(1, "tools/list"));
      assert.equal((await anonymous()).status, 401);
      const method = expect(await a.api("POST", `/gateways/${gw.id}/auth`, { type: "none" }), 201);
      const ms = await delayUntil(async () => (await anonymous()).status === 200, "auth none on B");
      console.log(`auth method A -> B: ${ms.toFixed(1)} ms`);
      assert.ok(ms < PROPAGATION_MS);
      expect(await a.api("DELETE", `/gateways/${gw.id}/auth/${method.id}`), 204);
      await delayUntil(async () => (await anonymous()).status === 401, "auth none gone on B");
    });

    await t.step("an upstream server added and attached on A serves its tools on B", async () => {
      const upstream = sessionServer();
      try {
        const server = expect(
          await a.api("POST", "/servers", {
            name: "sessions",
            transport: "streamable-http",
            url: upstream.url,
          }),
          201,
        );
        await delayUntil(
          async () => {
            const st = expect(await a.api("GET", `/servers/${server.id}`));
            return st.status.state === "ready";
          },
          "the upstream ready on A",
          20_000,
        );
        const onB = await openSession(b.url + gw.path, gw.key);
        assert.ok(!(await toolNames(onB)).includes("whoami"));
        expect(
          await a.api("POST", `/gateways/${gw.id}/servers`, { serverId: server.id }),
          201,
        );
        const ms = await delayUntil(
          async () => (await toolNames(onB)).includes("whoami"),
          "whoami on B",
        );
        console.log(`server attachment A -> B: ${ms.toFixed(1)} ms`);
        assert.ok(ms < PROPAGATION_MS);
        // B runs the call over its own connection to the upstream, which the feed made it open.
        const call = await onB.rpc(req(3, "tools/call", { name: "whoami", arguments: {} }));
        assert.equal(call.body.result?.isError, undefined, JSON.stringify(call.body));
        expect(await a.api("DELETE", `/servers/${server.id}`), 204);
        await delayUntil(
          async () => !(await toolNames(onB)).includes("whoami"),
          "whoami gone on B",
        );
      } finally {
        await upstream.stop();
      }
    });

    await t.step("org settings changed on A apply to tool calls on B", async () => {
      const onB = await openSession(b.url + gw.path, gw.key);
      const call = async () => {
        const res = await onB.rpc(
          req(1, "tools/call", { name: "tool_0", arguments: { text: "hi" } }),
        );
        return res.body.result?.isError !== true;
      };
      assert.ok(await call());
      expect(
        await a.api("PATCH", "/orgs/default", { settings: { outbound: { allowLoopback: false } } }),
      );
      const ms = await delayUntil(async () => !await call(), "loopback refused on B");
      console.log(`org settings A -> B: ${ms.toFixed(1)} ms`);
      assert.ok(ms < PROPAGATION_MS);
    });
  } finally {
    await set.close();
    await backend.close();
  }
});
