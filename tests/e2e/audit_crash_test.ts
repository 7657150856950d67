/**
 * The audit trail of a real server process killed with SIGKILL right after
 * it acknowledged a change: on a restart on the same data folder, every
 * acknowledged change has its event, and no change is there without its
 * event or event without its change (they share one transaction).
 */
import assert from "node:assert/strict";
import type { Json } from "../api/fixtures.ts";
import { openTestStore } from "../helpers/database.ts";
import { apiCall, type ChildServer, startChildServer } from "../helpers/server.ts";

const gatewayBody = (endpoint: string) => ({
  name: endpoint,
  type: "mcp",
  endpoint,
  configuration: { transport: "http" },
});
const toolBody = (name: string) => ({
  name,
  inputSchema: { type: "object", properties: {} },
  type: "http",
  executionConfig: { method: "GET", url: "https://api.example.com/items" },
});

/** Every event of the org the key acts in, read page by page. */
async function events(child: ChildServer, key: string): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${cursor}` : "";
    const res = await apiCall(child.url, key, "GET", `/audit?limit=1000${q}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(...(res.body.events as Json[]));
    cursor = res.body.nextCursor as string | null;
  } while (cursor);
  return out;
}

/** Runs `fn` against a child server on a fresh data folder, and always cleans up. */
async function withDataDir(fn: (dataDir: string, key: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-audit-crash-" });
  try {
    await fn(dataDir, `gha_crash_${crypto.randomUUID()}`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("an acknowledged change's event survives a SIGKILL sent the moment it is answered", async () => {
  await withDataDir(async (dataDir, key) => {
    const env = { GATEHOUSE_ADMIN_KEY: key };
    let child = await startChildServer(dataDir, env);
    try {
      const secret = { name: "TOKEN", type: "bearer_token", value: "kill-9-secret-value" };
      const changes: [string, string, unknown, string][] = [
        ["POST", "/gateways", gatewayBody("/a"), "gateway.create"],
        ["POST", "/tools", toolBody("a"), "tool.create"],
        ["POST", "/secrets", secret, "secret.create"],
        ["POST", "/keys", { name: "k" }, "access_key.create"],
      ];
      for (const [method, path, body, action] of changes) {
        const res = await apiCall(child.url, key, method, path, body);
        // Killed before anything else can happen: no graceful close, no checkpoint.
        child.process.kill("SIGKILL");
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal((await child.stop("SIGKILL")).signal, "SIGKILL");
        child = await startChildServer(dataDir, env);
        const [newest] = await events(child, key);
        assert.equal(newest.action, action);
        assert.equal(newest.target.id, res.body.id);
        assert.equal(newest.actor.type, "access_key");
      }
      assert.ok(!JSON.stringify(await events(child, key)).includes(secret.value));
    } finally {
      await child.stop("SIGKILL");
    }
  });
});

Deno.test("SIGKILL during concurrent writes: every acknowledged change has its event, none is half there", async () => {
  await withDataDir(async (dataDir, key) => {
    const env = { GATEHOUSE_ADMIN_KEY: key };
    let child = await startChildServer(dataDir, env);
    try {
      /** Acknowledged changes, as `action targetId`. */
      const acked = new Set<string>();
      let dead = false;
      let cut = 0;
      const KILL_AFTER = 120;
      const write = async (path: string, body: unknown, action: string, method = "POST") => {
        try {
          const res = await apiCall(child.url, key, method, path, body);
          assert.ok(res.status < 300, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
          acked.add(`${action} ${res.body.id}`);
          // Right after this acknowledgement, with the other workers' writes in flight.
          if (acked.size === KILL_AFTER && !dead) {
            dead = true;
            child.process.kill("SIGKILL");
          }
          return res.body;
        } catch (err) {
          if (!dead) throw err;
          cut++;
          return undefined;
        }
      };
      const worker = async (w: number) => {
        for (let i = 0; !dead; i++) {
          const gw = await write("/gateways", gatewayBody(`/w${w}/g${i}`), "gateway.create");
          if (!gw) return;
          await Promise.all([
            write(`/gateways/${gw.id}`, { name: `renamed ${i}` }, "gateway.update", "PATCH"),
            write("/tools", toolBody(`w${w}_t${i}`), "tool.create"),
            write("/secrets", {
              name: `S_${w}_${i}`,
              type: "bearer_token",
              value: `v-${w}-${i}`,
            }, "secret.create"),
          ]);
        }
      };
      await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
      assert.equal((await child.stop("SIGKILL")).signal, "SIGKILL");
      assert.ok(acked.size >= KILL_AFTER);
      console.log(`killed after ${acked.size} acknowledged changes, ${cut} in flight`);

      // The database as the dead process left it: each change and its event together or neither.
      const store = await openTestStore(`${dataDir}/gatehouse.db`);
      const db = store.db;
      try {
        if (db.kind === "sqlite") {
          const integrity = (await db.all("PRAGMA integrity_check")).map((r) => r.integrity_check);
          assert.deepEqual(integrity, ["ok"]);
        }
        const created = async (action: string) =>
          new Set(
            (await db.all("SELECT target_id FROM audit_events WHERE action = ?", action))
              .map((r) => r.target_id as string),
          );
        const rows = async (table: string, where = "") =>
          new Set((await db.all(`SELECT id FROM ${table} ${where}`)).map((r) => r.id as string));
        for (
          const [table, action] of [
            ["gateways", "gateway.create"],
            ["tools", "tool.create"],
            ["secrets", "secret.create"],
          ]
        ) {
          assert.deepEqual(
            await created(action),
            await rows(table),
            `${table} and their ${action} events`,
          );
        }
        // Every renamed gateway has its update event, and every update event its rename.
        assert.deepEqual(
          await created("gateway.update"),
          await rows("gateways", "WHERE name LIKE 'renamed %'"),
        );
      } finally {
        await store.close();
      }

      // And the restarted server lists the event of every acknowledged change.
      child = await startChildServer(dataDir, env);
      const listed = new Set(
        (await events(child, key)).map((e) => `${e.action} ${e.target.id}`),
      );
      for (const change of acked) {
        assert.ok(listed.has(change), `${change}: acknowledged, not recorded`);
      }
    } finally {
      await child.stop("SIGKILL");
    }
  });
});
