/**
 * `POST /apis?dryRun=true`: what an import would make (the operations with
 * their tags, the context cost, the warnings), converted like an import and
 * stored nowhere; refused like an import for a bad body or an unknown
 * secret, and for viewers.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { memberWithKey } from "../api/fixtures.ts";
import { expectFail, expectOk, fixture, type Json } from "./helpers.ts";

Deno.test("a dry run lists the operations an import would make, with tags, and stores nothing", async () => {
  const s = await startTestServer();
  try {
    const spec = fixture("petstore-v3.yaml");
    const preview = expectOk(await s.api("POST", "/apis?dryRun=true", { name: "pets", spec }));
    assert.equal(preview.dryRun, true);
    assert.equal(preview.title, "Swagger Petstore");
    const ops = preview.operations as Json[];
    assert.equal(ops.length, 20);
    const find = ops.find((o) => o.operationId === "findPetsByStatus");
    assert.deepEqual(find, {
      name: "findPetsByStatus",
      operationId: "findPetsByStatus",
      method: "GET",
      path: "/pet/findByStatus",
      title: "Finds Pets by status",
      tags: ["pet"],
    });
    assert.deepEqual([...new Set(ops.flatMap((o) => o.tags))].sort(), ["pet", "store", "user"]);
    assert.equal(preview.contextCost.tools.length, 20);
    assert.ok(preview.contextCost.totalBytes > 1000);
    assert.deepEqual(expectOk(await s.api("GET", "/apis")).apis, []);
    assert.deepEqual(expectOk(await s.api("GET", "/tools")).tools, []);

    // The filters narrow it as they would the import, and warn the same way.
    const narrowed = expectOk(
      await s.api("POST", "/apis?dryRun=true", {
        name: "pets",
        spec,
        include: ["pet"],
        exclude: ["deletePet", "nothing-called-so"],
      }),
    );
    assert.equal(narrowed.operations.length, 7);
    assert.ok(narrowed.operations.every((o: Json) => o.tags.includes("pet")));
    assert.ok(narrowed.warnings.some((w: string) => w.includes("nothing-called-so")));
    // Then the import makes exactly those.
    const imported = expectOk(
      await s.api("POST", "/apis", {
        name: "pets",
        spec,
        include: ["pet"],
        exclude: ["deletePet"],
      }),
      201,
    );
    assert.deepEqual(
      imported.tools.map((t: Json) => t.name).sort(),
      narrowed.operations.map((o: Json) => o.name).sort(),
    );
  } finally {
    await s.close();
  }
});

Deno.test("a dry run is refused like an import: bad body, unknown secret, async, viewers", async () => {
  const s = await startTestServer();
  try {
    const spec = fixture("petstore-v3.yaml");
    expectFail(
      await s.api("POST", "/apis?dryRun=true", { name: "x", spec: "nope: [" }),
      400,
      "spec",
    );
    expectFail(await s.api("POST", "/apis?dryRun=true", { spec }), 400, "name");
    expectFail(
      await s.api("POST", "/apis?dryRun=true", { name: "x", spec, secret: "MISSING" }),
      400,
      "secret",
    );
    expectFail(await s.api("POST", "/apis?dryRun=maybe", { name: "x", spec }), 400, "dryRun");
    expectFail(
      await s.api("POST", "/apis?dryRun=true&async=true", { name: "x", spec }),
      400,
      "dryRun",
    );
    const viewer = await memberWithKey(s, "viewer");
    assert.equal((await viewer.call("POST", "/apis?dryRun=true", { name: "x", spec })).status, 403);
    expectFail(await s.api("POST", "/apis?dryRun=true", { name: "x", spec }, "gha_nope"), 401);
  } finally {
    await s.close();
  }
});
