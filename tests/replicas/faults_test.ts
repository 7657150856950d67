/**
 * Faults of a replicated deployment: a replica killed under load loses no
 * write it acknowledged while the other keeps serving; a PostgreSQL restart
 * makes what needs the database fail cleanly (503 with a JSON body and
 * Retry-After, a JSON-RPC error for MCP) while what is served from memory
 * carries on, and everything recovers, the change feed included, without
 * restarting Gatehouse.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initializeRequest, openSession, req, rpc } from "../helpers/mcp.ts";
import { testPostgres } from "../helpers/postgres.ts";
import {
  createEchoTool,
  createGateway,
  delayUntil,
  echoBackend,
  expect,
  startReplicas,
} from "../helpers/replicas.ts";

Deno.test("a replica killed under load loses no acknowledged write; the other keeps serving", async () => {
  const backend = echoBackend();
  const set = await startReplicas(2);
  const [a, b] = set.replicas;
  try {
    const gw = await createGateway(a, backend.url);
    const onB = await openSession(b.url + gw.path, gw.key);
    const acknowledged: string[] = [];
    let killed = false;
    // Writers on A until it dies: each tool whose 201 came back must be in the database.
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        try {
          acknowledged.push(await createEchoTool(a, backend.url, `load_${w}_${i}`));
        } catch {
          // The connection died with the replica: this write was never acknowledged.
        }
      }
    });
    // B serves MCP calls all along.
    let served = 0;
    const reader = (async () => {
      while (!killed || served < 20) {
        const res = await onB.rpc(req(1, "tools/call", { name: `echo_${gw.id.slice(0, 6)}` }));
        assert.equal(res.status, 200, res.text);
        assert.notEqual(res.body.result.isError, true, res.text);
        served++;
      }
    })();
    await delayUntil(() => Promise.resolve(acknowledged.length >= 20), "20 writes on A", 20_000);
    await a.stop("SIGKILL");
    killed = true;
    await Promise.all([...writers, reader]);
    const listed = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = expect(await b.api("GET", `/tools?limit=100${query}`));
      for (const t of page.tools) listed.add(t.id);
      cursor = page.nextCursor;
    } while (cursor);
    const lost = acknowledged.filter((id) => !listed.has(id));
    console.log(
      `${acknowledged.length} writes acknowledged by A before SIGKILL, ${lost.length} lost`,
    );
    assert.deepEqual(lost, []);
  } finally {
    await set.close();
    await backend.close();
  }
});

Deno.test("a PostgreSQL restart: clean 503s meanwhile, memory keeps serving, all recovers", async () => {
  const backend = echoBackend();
  const set = await startReplicas(2);
  const [a, b] = set.replicas;
  const pg = await testPostgres();
  try {
    const gw = await createGateway(a, backend.url);
    const tool = `echo_${gw.id.slice(0, 6)}`;
    const onB = await openSession(b.url + gw.path, gw.key);
    assert.equal((await onB.rpc(req(1, "tools/list"))).status, 200);
    await pg.stop();

    // The management API: 503, a JSON body naming the problem, Retry-After.
    const api = await a.api("GET", "/gateways");
    assert.equal(api.status, 503, JSON.stringify(api.body));
    assert.equal(api.body.error?.code, "store_unavailable");
    assert.ok(Number(api.headers.get("retry-after")) > 0);
    const write = await a.api("POST", "/tools", { name: "x" });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    // readiness says so.
    assert.equal(
      await fetch(`${b.url}/readyz`).then(async (r) => (await r.body?.cancel(), r.status)),
      503,
    );
    // A new MCP session needs the store: a JSON-RPC error with Retry-After.
    const init = await rpc(a.url + gw.path, initializeRequest(), { key: gw.key });
    assert.equal(init.status, 503, init.text);
    assert.equal(init.body.jsonrpc, "2.0");
    assert.equal(typeof init.body.error.message, "string");
    assert.ok(Number(init.headers.get("retry-after")) > 0);
    // The session B holds is served from memory: its list and calls still work.
    const list = await onB.rpc(req(2, "tools/list"));
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.result.tools.map((t: { name: string }) => t.name), [tool]);
    // A call reads its tool's definition: a JSON-RPC error saying why, and when to come back.
    const call = await onB.rpc(req(3, "tools/call", { name: tool, arguments: {} }));
    assert.equal(call.status, 503, call.text);
    assert.match(call.body.error.message, /database cannot be reached/);
    assert.ok(Number(call.headers.get("retry-after")) > 0);

    await pg.start();
    await delayUntil(
      async () => (await a.api("GET", "/gateways").catch(() => ({ status: 0 }))).status === 200,
      "the API back on A",
      20_000,
    );
    await delayUntil(
      async () => (await fetch(`${b.url}/readyz`).then(async (
        r,
      ) => (await r.body?.cancel(), r.ok))),
      "B ready",
      20_000,
    );
    // The change feed is back too: a tool added on A is listed on B.
    const id = await createEchoTool(a, backend.url, "after_restart");
    expect(await a.api("POST", `/gateways/${gw.id}/tools`, { toolIds: [id] }), 201);
    await delayUntil(
      async () => {
        const res = await onB.rpc(req(4, "tools/list"));
        return res.body.result?.tools.some((t: { name: string }) => t.name === "after_restart");
      },
      "the new tool on B",
      5000,
    );
    // Neither replica crashed or reported an unhandled rejection.
    for (const r of [a, b]) {
      assert.equal((await fetch(`${r.url}/healthz`)).status, 200);
      assert.doesNotMatch(r.stderr(), /Uncaught|unhandled/i);
    }
  } finally {
    await pg.start().catch(() => {});
    await set.close();
    await backend.close();
  }
});
