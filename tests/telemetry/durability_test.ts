/**
 * What the request log keeps when the server stops: a server process sent
 * SIGTERM writes every record of what it answered before it exits; one sent
 * SIGKILL loses at most what arrived in its last second or so (the writer
 * flushes every second), and nothing answered well before the kill.
 */
import assert from "node:assert/strict";
import { apiCall, type ChildServer, startChildServer } from "../helpers/server.ts";
import { openTestStore } from "../helpers/database.ts";

const ADMIN_KEY = `gha_durability_${crypto.randomUUID()}`;

/** A gateway without authentication on `child`, and its MCP URL. */
async function openGateway(
  child: ChildServer,
  endpoint: string,
): Promise<{ id: string; url: string }> {
  const gw = await apiCall(child.url, ADMIN_KEY, "POST", "/gateways", {
    name: endpoint,
    type: "mcp",
    endpoint,
    configuration: { transport: "http" },
  });
  assert.equal(gw.status, 201, JSON.stringify(gw.body));
  const id = gw.body.id as string;
  const auth = await apiCall(child.url, ADMIN_KEY, "POST", `/gateways/${id}/auth`, {
    type: "none",
  });
  assert.equal(auth.status, 201, JSON.stringify(auth.body));
  return { id, url: `${child.url}/mcp/default${endpoint}` };
}

/** One `initialize` (a request that needs no session); resolves once it is answered 200. */
async function initialize(url: string, id: number): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  });
  await res.text();
  assert.equal(res.status, 200);
}

/** Records of gateway `id` in the database of `dataDir`, read by a store of its own. */
async function rowsOf(dataDir: string, id: string): Promise<number> {
  const store = await openTestStore(`${dataDir}/gatehouse.db`);
  try {
    const orgId = (await store.gateways.find(id))!.orgId;
    let rows = 0;
    let after: readonly string[] | undefined;
    do {
      const page = await store.requestLog.page(orgId, { gatewayId: id }, { limit: 1000, after });
      rows += page.items.length;
      after = page.next;
    } while (after);
    return rows;
  } finally {
    await store.close();
  }
}

Deno.test("SIGTERM writes every acknowledged request's row before the process exits", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-log-term-" });
  const child = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  try {
    const gw = await openGateway(child, "/term");
    const N = 300;
    for (let i = 0; i < N; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => initialize(gw.url, i + j)));
    }
    // At once: most of these rows are still in memory.
    const status = await child.stop("SIGTERM");
    assert.equal(status.code, 0, child.output());
    assert.equal(await rowsOf(dataDir, gw.id), N);
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("after SIGKILL at most the last second or so of rows is missing", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-log-kill-" });
  const child = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  try {
    const gw = await openGateway(child, "/kill");
    const acked: number[] = [];
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop) {
        try {
          await initialize(gw.url, next++);
          if (!stop) acked.push(Date.now());
        } catch (err) {
          if (!stop) throw err;
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    const killedAt = Date.now();
    await child.stop("SIGKILL");
    await Promise.allSettled(workers);
    const rows = await rowsOf(dataDir, gw.id);
    const early = acked.filter((t) => t < killedAt - 1500).length;
    const late = acked.length - early;
    console.log(`acknowledged ${acked.length}, kept ${rows}, ${late} in the last 1.5 s`);
    assert.ok(early > 0, "requests were answered before the kill");
    assert.ok(
      rows >= early,
      `every row acknowledged over 1.5 s before the kill is kept (${rows} < ${early})`,
    );
    assert.ok(acked.length - rows <= late, `missing ${acked.length - rows} > ${late}`);
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});
