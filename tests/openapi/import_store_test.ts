/**
 * Where an import is written: by its worker, on a connection of its own to
 * the database file, while other writes wait their turn and succeed; or, for
 * a store in memory that no worker can reach, on the main thread. Either
 * way the import lands whole with its audit event, and sessions see a
 * re-import's tools.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  doc31,
  expectFail,
  expectOk,
  gatewayWith,
  importApi,
  type Json,
  OK,
  rpc,
} from "./helpers.ts";
import { largeDocument } from "./large_document.ts";

const things = (summary: string) =>
  doc31({
    "/things": { get: { operationId: "listThings", summary, responses: OK } },
    "/things/{id}": {
      get: {
        operationId: "getThing",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: OK,
      },
    },
  });

/** Imports, re-imports and reads back what sessions and the audit trail see. */
async function importAndReimport(s: TestServer, endpoint: string) {
  const api = await importApi(s, { name: "things", spec: things("List things") });
  const url = await gatewayWith(s, endpoint, api.tools.map((t: Json) => t.id));
  const before = await rpc(url, "tools/list");
  expectOk(await s.api("PUT", `/apis/${api.id}`, { name: "things", spec: things("All things") }));
  const after = await rpc(url, "tools/list");
  const described = (reply: Json) =>
    reply.result.tools.find((t: Json) => t.name === "listThings").description;
  const events = expectOk(await s.api("GET", "/audit?targetType=api")).events as Json[];
  return {
    descriptions: [described(before), described(after)],
    actions: events.map((e) => [e.action, e.target.id === api.id, e.changes["tools.updated"]?.to]),
  };
}

for (const where of ["a database file (the worker writes)", "memory (the main thread writes)"]) {
  Deno.test(`imports into ${where} land with their event, and sessions see a re-import`, async () => {
    const s = await startTestServer(where.startsWith("memory") ? { dbPath: ":memory:" } : {});
    try {
      const seen = await importAndReimport(s, "/things");
      assert.deepEqual(seen.descriptions, ["List things", "All things"]);
      // Newest first: the re-import updated both tools.
      assert.deepEqual(seen.actions, [["api.reimport", true, 2], ["api.import", true, undefined]]);
      // A second API of the same name is refused, from either writer, and leaves nothing.
      expectFail(await s.api("POST", "/apis", { name: "things", spec: things("x") }), 409, "name");
      assert.equal(expectOk(await s.api("GET", "/tools")).tools.length, 2);
    } finally {
      await s.close();
    }
  });
}

Deno.test("writes made while a large import is being written wait for it and succeed", async () => {
  const s = await startTestServer();
  try {
    const doc = largeDocument(4e6, 200);
    const job = expectOk(
      await s.api("POST", "/apis?async=true", { name: "large", spec: doc.text }),
      202,
    );
    // Until the import ends, tools are created one after the other: some while it writes.
    const created: number[] = [];
    let state: Json;
    let n = 0;
    let sawStoring = false;
    do {
      const res = await s.api("POST", "/tools", {
        name: `hand_${n++}`,
        type: "http",
        executionConfig: { method: "GET", url: "https://api.example.com/x" },
      });
      created.push(res.status);
      state = expectOk(await s.api("GET", `/apis/imports/${job.id}`));
      sawStoring ||= state.progress.phase === "storing";
    } while (state.state !== "succeeded" && state.state !== "failed");
    assert.equal(state.state, "succeeded", JSON.stringify(state.error));
    assert.ok(sawStoring, `no write overlapped the import's own (${n} writes)`);
    assert.deepEqual(new Set(created), new Set([201]));
    let hand = 0;
    let page: Json = { nextCursor: "" };
    do {
      const cursor = page.nextCursor ? `&cursor=${encodeURIComponent(page.nextCursor)}` : "";
      page = expectOk(await s.api("GET", `/tools?q=hand_&limit=1000${cursor}`));
      hand += page.tools.length;
    } while (page.nextCursor);
    assert.equal(hand, n);
    assert.equal(expectOk(await s.api("GET", "/apis")).apis[0].toolCount, doc.operations);
  } finally {
    await s.close();
  }
});

Deno.test("an import naming a secret deleted before its write is refused whole", async () => {
  const s = await startTestServer();
  try {
    const secret = expectOk(
      await s.api("POST", "/secrets", { name: "token", type: "bearer_token", value: "s3cr3t" }),
      201,
    );
    const body = { name: "large", spec: largeDocument(4e6, 100).text, secret: "token" };
    const job = expectOk(await s.api("POST", "/apis?async=true", body), 202);
    // Deleted as soon as the job is seen running: the worker checked it, then converts.
    let state: Json;
    do state = expectOk(await s.api("GET", `/apis/imports/${job.id}`)); while (
      state.state === "queued"
    );
    assert.equal((await s.api("DELETE", `/secrets/${secret.id}`)).status, 204);
    do {
      await new Promise((r) => setTimeout(r, 25));
      state = expectOk(await s.api("GET", `/apis/imports/${job.id}`));
    } while (state.state === "running");
    assert.equal(state.state, "failed", JSON.stringify(state.result?.name));
    assert.equal(state.status, 400);
    assert.equal(state.error.field, "secret");
    assert.equal(expectOk(await s.api("GET", "/apis")).apis.length, 0);
    assert.equal(expectOk(await s.api("GET", "/tools")).tools.length, 0);
  } finally {
    await s.close();
  }
});
