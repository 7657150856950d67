/**
 * Re-importing an OpenAPI document in a real browser: the API's page leads
 * to the form (filled with the API's settings), a bad document is refused
 * next to its field, a new version shows what it would change (new,
 * changed with the fields, unchanged, removed with the gateways that lose
 * them) while nothing is stored yet, and the re-import then does exactly
 * that, keeping the kept tools' ids and assignments.
 */
import assert from "node:assert/strict";
import petstoreJson from "@readme/oas-examples/3.0/json/petstore.json" with { type: "json" };
import { client, create, expectStatus, type Json } from "../api/fixtures.ts";
import { startTestServer } from "../helpers/server.ts";
import { expectAccessible, file, launch, shot, signInOn, watchedPage } from "./browser.ts";

const PASSWORD = "the owner's long password";

/** The next version of the petstore: deletePet gone, getPetById retitled, getPetOwner new. */
function nextVersion(): Json {
  const doc = structuredClone(petstoreJson) as Json;
  delete doc.paths["/pet/{petId}"].delete;
  doc.paths["/pet/{petId}"].get.summary = "Look a pet up";
  doc.paths["/pet/{petId}/owner"] = {
    get: {
      operationId: "getPetOwner",
      tags: ["pet"],
      summary: "The pet's owner",
      parameters: doc.paths["/pet/{petId}"].get.parameters,
      responses: { "200": { description: "ok" } },
    },
  };
  return doc;
}

Deno.test("a re-import shows what it would change, then does it, keeping ids and assignments", async () => {
  const s = await startTestServer();
  const browser = await launch();
  try {
    expectStatus(await s.api("PUT", "/me/password", { password: PASSWORD }), 204);
    const owner = client(s, s.adminKey);
    const api = await create(owner, "/apis", {
      name: "petstore",
      spec: petstoreJson,
      include: ["pet"],
    });
    const idOf = (name: string) => (api.tools as Json[]).find((t) => t.name === name)!.id;
    const gw = await create(owner, "/gateways", {
      name: "Pets",
      type: "mcp",
      endpoint: "/pets",
      configuration: { transport: "http" },
    });
    await create(owner, `/gateways/${gw.id}/tools`, {
      toolIds: [idOf("getPetById"), idOf("deletePet")],
    });

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, problems } = await watchedPage(context);
    await signInOn(page, s.url, "owner@localhost", PASSWORD, `/ui/apis/${api.id}`);
    await page.getByRole("link", { name: "Re-import a new version" }).click();
    await page.waitForURL(`**/ui/apis/${api.id}/reimport`);
    assert.equal(await page.getByLabel(/^Name/).inputValue(), "petstore");
    assert.equal(
      await page.getByLabel("Only these tags or operationIds (optional)").inputValue(),
      "pet",
    );
    await expectAccessible(page, "re-import form");
    await shot(page, "reimport-form");

    // Not a document: refused next to the field, nothing changed.
    await page.getByLabel("Or paste it").fill("openapi: 9.9.9");
    await page.getByRole("button", { name: "See what changes" }).click();
    await page.getByText("Please correct the field marked below.").waitFor();
    assert.equal(await page.getByLabel("Or paste it").getAttribute("aria-invalid"), "true");
    assert.match(await page.locator("#f-spec-error").textContent() ?? "", /spec/);

    await page.getByLabel("Or paste it").fill("");
    await page.getByLabel("Upload the new document").setInputFiles(
      file("petstore.json", JSON.stringify(nextVersion()), "application/json"),
    );
    await page.getByRole("button", { name: "See what changes" }).click();
    await page.getByText("Nothing is stored until you re-import.").waitFor();
    assert.match(
      await page.textContent("main") ?? "",
      /1 new, 1 changed, 6 unchanged and 1 removed tools/,
    );
    const removed = page.getByRole("region", { name: "Tools removed" });
    const gone = removed.getByRole("row", { name: /deletePet/ });
    assert.match(await gone.textContent() ?? "", /DELETE \/pet\/\{petId\}.*Pets/);
    const changes = page.getByRole("region", { name: "Tools after the re-import" });
    const changed = changes.getByRole("row", { name: /getPetById/ });
    assert.match(await changed.textContent() ?? "", /changed/);
    assert.match(await changed.textContent() ?? "", /title/);
    assert.match(await changed.textContent() ?? "", /Pets/);
    assert.match(
      await changes.getByRole("row", { name: /getPetOwner/ }).textContent() ?? "",
      /new.*GET \/pet\/\{petId\}\/owner/,
    );
    await expectAccessible(page, "re-import preview");
    await shot(page, "reimport-preview");
    // A preview stores nothing.
    const before = expectStatus(await owner("GET", `/apis/${api.id}`), 200).body;
    assert.deepEqual(before.tools, api.tools);

    await page.getByRole("button", { name: "Re-import", exact: true }).click();
    await page.getByText("imported", { exact: true }).waitFor({ timeout: 30_000 });
    assert.match(await page.textContent("main") ?? "", /1 created, 7 updated, 1 removed/);
    await shot(page, "reimport-done");

    const after = expectStatus(await owner("GET", `/apis/${api.id}`), 200).body;
    const names = (after.tools as Json[]).map((t) => t.name);
    assert.ok(names.includes("getPetOwner") && !names.includes("deletePet"), names.join(", "));
    assert.equal(
      (after.tools as Json[]).find((t) => t.name === "getPetById").id,
      idOf("getPetById"),
    );
    assert.deepEqual(after.include, ["pet"], "the filter was kept");
    const assigned = expectStatus(await owner("GET", `/gateways/${gw.id}/tools`), 200).body.tools;
    assert.deepEqual((assigned as Json[]).map((a) => a.name), ["getPetById"]);
    assert.equal(
      expectStatus(await owner("GET", `/tools/${idOf("getPetById")}`), 200).body.title,
      "Look a pet up",
    );
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    await s.close();
  }
});
