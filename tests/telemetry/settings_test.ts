/**
 * The request log's settings: validated like the others, and
 * `GATEHOUSE_REQUEST_LOG=off` records nothing at all.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { createGateway, req, rpc } from "../helpers/mcp.ts";
import { startTestServer } from "../helpers/server.ts";

Deno.test("request log settings have defaults and refuse bad values, naming the variable", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.deepEqual(loadConfig([], env({})).requestLog, {
    enabled: true,
    retentionDays: 30,
    maxRows: 1_000_000,
  });
  assert.deepEqual(
    loadConfig(
      [],
      env({
        GATEHOUSE_REQUEST_LOG: "off",
        GATEHOUSE_LOG_RETENTION_DAYS: "7",
        GATEHOUSE_LOG_MAX_ROWS: "5000",
      }),
    ).requestLog,
    { enabled: false, retentionDays: 7, maxRows: 5000 },
  );
  for (
    const [name, value] of [
      ["GATEHOUSE_REQUEST_LOG", "no"],
      ["GATEHOUSE_LOG_RETENTION_DAYS", "0"],
      ["GATEHOUSE_LOG_RETENTION_DAYS", "1.5"],
      ["GATEHOUSE_LOG_MAX_ROWS", "10"],
    ]
  ) {
    assert.throws(() => loadConfig([], env({ [name]: value })), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.startsWith(name), err.message);
      return true;
    });
  }
});

Deno.test("with the request log and metrics off nothing is recorded and the routes read an empty log", async () => {
  const s = await startTestServer({
    requestLog: { enabled: false, retentionDays: 30, maxRows: 1_000_000 },
    metrics: { enabled: false },
  });
  try {
    assert.equal(s.requestLog, undefined);
    assert.equal(s.telemetry.active, false, "no sink: the core builds no records");
    const gw = await createGateway(s, { auth: "none" });
    assert.equal((await rpc(gw.url, req(1, "tools/list"))).status, 200);
    const logs = await s.api("GET", "/logs");
    assert.equal(logs.status, 200);
    assert.deepEqual(logs.body.logs, []);
    const stats = await s.api("GET", `/gateways/${gw.id}/stats`);
    assert.equal(stats.body.calls, 0);
    assert.equal(await s.store.requestLog.count(), 0);
  } finally {
    await s.close();
  }
});
