/**
 * A gateway's catalog view against a store whose reads take time (as a
 * database across a network does): a change drops the view at once, and a
 * build that the change overtook answers the request that waited for it but
 * is never kept, so nothing asked after the change is served what it undid.
 */
import assert from "node:assert/strict";
import { AssignedToolSource } from "../../src/mcp/assigned_tools.ts";
import { Catalog } from "../../src/mcp/catalog.ts";
import { Store } from "../../src/store/store.ts";
import { WatchedEngine } from "../helpers/watched_engine.ts";

const TOOL = {
  description: "",
  inputSchema: { type: "object", properties: {} },
  type: "http",
  executionConfig: { method: "GET", url: "https://x.io", timeout: 1000, retries: 0 },
};

Deno.test("a tool unassigned while its gateway's view was being built is not served after the change", async () => {
  const engine = new WatchedEngine();
  const store = new Store(engine);
  try {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    const gw = await store.gateways.create(org.id, {
      name: "g",
      description: "",
      type: "mcp",
      endpoint: "/g",
      configuration: { transport: "http" },
    });
    const kept = await store.tools.create(org.id, { ...TOOL, name: "kept" });
    const gone = await store.tools.create(org.id, { ...TOOL, name: "gone" });
    await store.tools.assign(org.id, gw.id, [kept.id, gone.id], true);
    const catalog = new Catalog([new AssignedToolSource(store, new Map())], store.changes);
    const names = (view: { entries: { item: { name: string } }[] }) =>
      view.entries.map((e) => e.item.name);

    const held = engine.hold(
      /JOIN tools t ON t\.id = gt\.tool_id WHERE gt\.gateway_id = \? AND gt\.enabled = 1/,
    );
    const early = catalog.forGateway(gw.id);
    await held.ran;
    // The build has read both tools; its answer is on its way when one is unassigned.
    assert.equal(await store.tools.unassign(gw.id, gone.id), true);
    assert.equal(catalog.built(gw.id), undefined, "the change left a view in place");
    assert.deepEqual(names(await catalog.forGateway(gw.id)), ["kept"]);
    held.release();
    assert.deepEqual(names(await early), ["gone", "kept"], "the early request, as it was read");
    assert.deepEqual(names(catalog.built(gw.id)!), ["kept"], "the overtaken build was kept");
    assert.deepEqual(names(await catalog.forGateway(gw.id)), ["kept"]);
  } finally {
    await store.close();
  }
});
