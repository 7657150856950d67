/**
 * Sessions across replicas: a Streamable HTTP session started on one replica
 * is served by the other, as behind a round-robin load balancer, for a raw
 * client and for the official SDK's; ended on one, it is gone on both; and
 * 2026-07-28 stateless requests work on either. The cost of a session's
 * first request on a replica that did not hold it is measured and printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { initializeRequest, MCP_ACCEPT, req, rpc, type RpcOptions } from "../helpers/mcp.ts";
import {
  createGateway,
  echoBackend,
  roundRobin,
  spread,
  startReplicas,
} from "../helpers/replicas.ts";

Deno.test("replicas share Streamable HTTP sessions", async (t) => {
  const backend = echoBackend();
  const set = await startReplicas(2);
  const [a, b] = set.replicas;
  try {
    const gw = await createGateway(a, backend.url);
    const tool = `echo_${gw.id.slice(0, 6)}`;

    await t.step("a raw client sending each request to the other replica in turn", async () => {
      const urls = [a.url + gw.path, b.url + gw.path];
      let turn = 0;
      const send = (body: unknown, o: RpcOptions = {}) =>
        rpc(urls[turn++ % 2], body, { key: gw.key, ...o });
      const init = await send(initializeRequest("2025-11-25"));
      assert.equal(init.status, 200, init.text);
      const session = init.headers.get("mcp-session-id")!;
      const inSession = { session, version: "2025-11-25" };
      const done = await send({ jsonrpc: "2.0", method: "notifications/initialized" }, inSession);
      assert.equal(done.status, 202, done.text);
      const list = await send(req(1, "tools/list"), inSession);
      assert.deepEqual(list.body.result.tools.map((x: { name: string }) => x.name), [tool]);
      const call = await send(
        req(2, "tools/call", { name: tool, arguments: { text: "hi" } }),
        inSession,
      );
      assert.match(JSON.stringify(call.body.result.content), new RegExp(`answered.*${tool}`));
      // Another credential of the same gateway may not use it, on either replica.
      const other = (await a.api("POST", `/gateways/${gw.id}/keys`, { name: "other" })).body;
      for (const url of urls) {
        const stolen = await rpc(url, req(3, "tools/list"), {
          key: other.key as string,
          ...inSession,
        });
        assert.equal(stolen.status, 404, stolen.text);
      }
      // A stream held on B ends when A ends the session.
      const stream = await fetch(urls[1], {
        headers: {
          authorization: `Bearer ${gw.key}`,
          accept: "text/event-stream",
          "mcp-session-id": session,
        },
      });
      assert.equal(stream.status, 200);
      const ended = stream.body!.pipeTo(new WritableStream());
      const deleted = await fetch(urls[0], {
        method: "DELETE",
        headers: { authorization: `Bearer ${gw.key}`, "mcp-session-id": session },
      });
      assert.equal(deleted.status, 200);
      await ended;
      for (const url of urls) {
        const gone = await rpc(url, req(4, "tools/list"), { key: gw.key, ...inSession });
        assert.equal(gone.status, 404, gone.text);
      }
    });

    await t.step("the official SDK client through a round-robin proxy", async () => {
      const proxy = roundRobin([a, b]);
      try {
        const transport = new StreamableHTTPClientTransport(new URL(proxy.url + gw.path), {
          requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
        });
        const client = new Client({ name: "round-robin", version: "1.0.0" }, { capabilities: {} });
        await client.connect(transport);
        for (let i = 0; i < 4; i++) {
          const tools = await client.listTools();
          assert.deepEqual(tools.tools.map((x: { name: string }) => x.name), [tool]);
          const out = await client.callTool({ name: tool, arguments: { text: `call ${i}` } });
          assert.match(JSON.stringify(out.content), new RegExp(`answered.*${tool}`));
        }
        await transport.terminateSession();
        await client.close();
      } finally {
        await proxy.close();
      }
    });

    await t.step("2026-07-28 stateless requests work on either replica", async () => {
      for (const r of [a, b]) {
        const res = await fetch(r.url + gw.path, {
          method: "POST",
          headers: {
            authorization: `Bearer ${gw.key}`,
            "content-type": "application/json",
            accept: MCP_ACCEPT,
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/call",
            "mcp-name": tool,
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "tools/call",
            params: {
              name: tool,
              arguments: { text: "stateless" },
              _meta: {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
              },
            },
          }),
        });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.match(JSON.stringify(body.result.content), new RegExp(`answered.*${tool}`));
        assert.equal(res.headers.get("mcp-session-id"), null);
      }
    });

    await t.step("the first request of a session on a replica that did not hold it", async () => {
      const first: number[] = [];
      const next: number[] = [];
      for (let i = 0; i < 20; i++) {
        const init = await rpc(a.url + gw.path, initializeRequest("2025-11-25"), { key: gw.key });
        const o = {
          key: gw.key,
          session: init.headers.get("mcp-session-id")!,
          version: "2025-11-25",
        };
        for (const into of [first, next]) {
          const start = performance.now();
          const res = await rpc(b.url + gw.path, req(1, "tools/list"), o);
          into.push(performance.now() - start);
          assert.equal(res.status, 200, res.text);
        }
      }
      const cold = spread(first);
      const warm = spread(next);
      console.log(
        `tools/list on the replica that did not hold the session: first request p50 ${cold.p50} ms ` +
          `(max ${cold.max}), next ones p50 ${warm.p50} ms (max ${warm.max})`,
      );
    });
  } finally {
    await set.close();
    await backend.close();
  }
});
