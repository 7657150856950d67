/**
 * Per-tool limits on a federated tool: an upstream MCP server's tool
 * (server-everything over stdio) assigned to a gateway by itself takes a
 * `rateLimit` like a local tool, and a call over it never reaches the server.
 */
import assert from "node:assert/strict";
import type { RequestRecord } from "../../src/telemetry/requests.ts";
import { startTestServer } from "../helpers/server.ts";
import { connectSdk, type Json, setupGateway } from "../transports/fixtures.ts";
import { addServer, api, everythingStdio } from "../upstream/gateway_fixtures.ts";

Deno.test("an upstream server's tool assigned by itself is limited per caller like a local one", async () => {
  const s = await startTestServer();
  const records: RequestRecord[] = [];
  s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    const gw = await setupGateway(s, "/fed");
    const everything = await addServer(s, everythingStdio());
    const tools = (await api(s, "GET", `/tools?serverId=${everything.id}`)).tools as Json[];
    const sum = tools.find((t) => t.name === "get-sum")!;
    const assigned = await api(
      s,
      "POST",
      `/gateways/${gw.id}/tools`,
      { toolId: sum.id, rateLimit: 1 },
      201,
    );
    assert.equal((assigned.tools as Json[]).find((t) => t.toolId === sum.id).rateLimit, 1);
    const { client, close } = await connectSdk("http", gw);
    try {
      const first = await client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } });
      assert.match(JSON.stringify(first.content), /3/);
      const second = await client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } });
      assert.equal(second.isError, true);
      assert.match(
        JSON.stringify(second.content),
        /tool get-sum takes 1 call a minute from each caller; retry in \d+ s/,
      );
    } finally {
      await close();
    }
    const calls = records.filter((r) => r.method === "tools/call");
    assert.deepEqual(calls.map((r) => r.status), ["ok", "rate_limited"]);
    assert.equal(calls[1].limit, "tool");
    assert.equal(calls[1].upstream, null, "the refused call never reached the server");
  } finally {
    await s.close();
  }
});

Deno.test("a server attached whole limits each of its tools per caller with toolRateLimit", async () => {
  const s = await startTestServer();
  const records: RequestRecord[] = [];
  s.telemetry.addSink({ add: (r) => records.push(r) });
  try {
    const gw = await setupGateway(s, "/fed");
    const everything = await addServer(s, everythingStdio());
    const bad = await s.api("POST", `/gateways/${gw.id}/servers`, {
      serverId: everything.id,
      prefix: "e",
      toolRateLimit: 0,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.field, "toolRateLimit");
    const attached = await api(s, "POST", `/gateways/${gw.id}/servers`, {
      serverId: everything.id,
      prefix: "e",
      toolRateLimit: 1,
    }, 201);
    assert.equal(attached.toolRateLimit, 1);
    const { client, close } = await connectSdk("ws", gw);
    try {
      const sum = () => client.callTool({ name: "e_get-sum", arguments: { a: 2, b: 2 } });
      assert.match(JSON.stringify((await sum()).content), /4/);
      const over = await sum();
      assert.equal(over.isError, true);
      assert.match(JSON.stringify(over.content), /tool e_get-sum takes 1 call a minute/);
      // Each tool of the server is counted apart.
      const echo = await client.callTool({ name: "e_echo", arguments: { message: "hi" } });
      assert.notEqual(echo.isError, true);
      // Attaching again without it lifts the limit.
      await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: everything.id, prefix: "e" });
      assert.match(JSON.stringify((await sum()).content), /4/);
    } finally {
      await close();
    }
    const limited = records.filter((r) => r.status === "rate_limited");
    assert.deepEqual(limited.map((r) => [r.name, r.limit]), [["e_get-sum", "tool"]]);
  } finally {
    await s.close();
  }
});
