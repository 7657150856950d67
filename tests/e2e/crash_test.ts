/**
 * A real server process killed with SIGKILL while many writes are in flight,
 * bulk tool assignments among them: every write it acknowledged is there
 * after a restart, and nothing half-written is.
 */
import assert from "node:assert/strict";
import { openTestStore } from "../helpers/database.ts";
import { apiCall, type ChildServer, startChildServer } from "../helpers/server.ts";

const TOOLS = 150;
const WORKERS = 24;
/** Kill once this many bulk assignments have been acknowledged. */
const BULK_BEFORE_KILL = 80;

function printedAdminKey(child: ChildServer): string {
  const m = /Admin access key \(shown once, store it now\): (gha_\S+)/.exec(child.output());
  assert.ok(m, `no admin key in the output:\n${child.output()}`);
  return m[1];
}

const toolBody = (name: string) => ({
  name,
  inputSchema: { type: "object", properties: { id: { type: "string" } } },
  type: "http",
  executionConfig: { method: "GET", url: "https://api.example.com/items/{{parameters.id}}" },
});

/** What the server acknowledged with a 2xx before it died. */
interface Acked {
  gateways: Map<string, string>;
  bulk: Set<string>;
  tools: Map<string, string>;
  gatewayKeys: Map<string, string>;
  accessKeys: Set<string>;
}

Deno.test("SIGKILL during concurrent writes loses no acknowledged write and leaves no partial rows", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-crash-" });
  let child = await startChildServer(dataDir);
  try {
    const key = printedAdminKey(child);
    const base = child.url;
    const toolIds: string[] = [];
    for (let i = 0; i < TOOLS; i += 25) {
      const batch = await Promise.all(
        Array.from(
          { length: 25 },
          (_, j) => apiCall(base, key, "POST", "/tools", toolBody(`t${i + j}`)),
        ),
      );
      for (const res of batch) {
        assert.equal(res.status, 201);
        toolIds.push(res.body.id as string);
      }
    }

    const acked: Acked = {
      gateways: new Map(),
      bulk: new Set(),
      tools: new Map(),
      gatewayKeys: new Map(),
      accessKeys: new Set(),
    };
    let cut = 0;
    let dead = false;
    const { promise: enoughBulk, resolve: killNow } = Promise.withResolvers<void>();
    const post = async (path: string, body: unknown) => {
      try {
        const res = await apiCall(base, key, "POST", path, body);
        assert.ok(res.status === 201, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
        return res.body as Record<string, string>;
      } catch (err) {
        if (!dead) throw err;
        cut++;
        return undefined;
      }
    };
    const worker = async (w: number) => {
      for (let i = 0; !dead; i++) {
        const endpoint = `/w${w}/g${i}`;
        const gw = await post("/gateways", {
          name: endpoint,
          type: "mcp",
          endpoint,
          configuration: { transport: "http" },
        });
        if (!gw) return;
        acked.gateways.set(gw.id, endpoint);
        const assigned = await post(`/gateways/${gw.id}/tools`, { toolIds });
        if (!assigned) return;
        acked.bulk.add(gw.id);
        if (acked.bulk.size >= BULK_BEFORE_KILL) killNow();
        const [gk, tool, ak] = await Promise.all([
          post(`/gateways/${gw.id}/keys`, { name: `k${w}-${i}` }),
          post("/tools", toolBody(`w${w}_${i}`)),
          post("/keys", { name: `a${w}-${i}` }),
        ]);
        if (gk) acked.gatewayKeys.set(gk.id, gw.id);
        if (tool) acked.tools.set(tool.id, tool.name);
        if (ak) acked.accessKeys.add(ak.id);
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    await Promise.race([enoughBulk, Promise.all(workers)]);
    dead = true;
    child.process.kill("SIGKILL");
    const status = await child.stop("SIGKILL");
    assert.equal(status.signal, "SIGKILL");
    await Promise.all(workers);
    assert.ok(cut > 0, "no write was in flight when the server was killed");
    console.log(
      `killed with ${cut} writes in flight after ${acked.gateways.size} gateways, ` +
        `${acked.bulk.size} bulk assignments, ${acked.tools.size} tools, ` +
        `${acked.gatewayKeys.size + acked.accessKeys.size} keys acknowledged`,
    );

    // The process is dead: read the database as it was left.
    const store = await openTestStore(`${dataDir}/gatehouse.db`);
    const db = store.db;
    try {
      // The file's own checks; PostgreSQL checks every reference as it is written.
      if (db.kind === "sqlite") {
        const integrity = (await db.all("PRAGMA integrity_check")).map((r) => r.integrity_check);
        assert.deepEqual(integrity, ["ok"]);
        assert.deepEqual(await db.all("PRAGMA foreign_key_check"), []);
      }
      const counts = new Map(
        (await db.all(
          `SELECT g.id, g.endpoint, COUNT(gt.tool_id) AS n FROM gateways g
           LEFT JOIN gateway_tools gt ON gt.gateway_id = g.id GROUP BY g.id`,
        )).map((r) => [r.id as string, { endpoint: r.endpoint as string, n: Number(r.n) }]),
      );
      for (const [id, { n }] of counts) {
        assert.ok(
          n === 0 || n === TOOLS,
          `gateway ${id} has ${n} of ${TOOLS} tools: a partial bulk assignment`,
        );
      }
      for (const [id, endpoint] of acked.gateways) {
        assert.equal(counts.get(id)?.endpoint, endpoint, `acknowledged gateway ${id} lost`);
      }
      for (const id of acked.bulk) {
        assert.equal(counts.get(id)?.n, TOOLS, `assignment to ${id} lost`);
      }
      const has = async (table: string, id: string) =>
        await db.get(`SELECT 1 AS ok FROM ${table} WHERE id = ?`, id) !== undefined;
      for (const id of acked.tools.keys()) assert.ok(await has("tools", id), `tool ${id} lost`);
      for (const id of acked.gatewayKeys.keys()) {
        assert.ok(await has("gateway_keys", id), `gateway key ${id} lost`);
      }
      for (const id of acked.accessKeys) {
        assert.ok(await has("access_keys", id), `access key ${id} lost`);
      }
    } finally {
      await store.close();
    }

    // And the restarted server serves all of it.
    child = await startChildServer(dataDir);
    // Lists answer 100 items unless asked for more (at most 1000 a page).
    const gateways = await apiCall(child.url, key, "GET", "/gateways?limit=1000");
    assert.equal(gateways.body.nextCursor, null);
    const listed = new Set((gateways.body.gateways as { id: string }[]).map((g) => g.id));
    for (const id of acked.gateways.keys()) assert.ok(listed.has(id));
    for (const id of [...acked.bulk].slice(0, 5)) {
      const res = await apiCall(child.url, key, "GET", `/gateways/${id}/tools?limit=1000`);
      assert.equal((res.body.tools as unknown[]).length, TOOLS);
    }
    const tools = await apiCall(child.url, key, "GET", "/tools?limit=1000");
    assert.equal(tools.body.nextCursor, null);
    assert.ok((tools.body.tools as unknown[]).length >= TOOLS + acked.tools.size);
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});
