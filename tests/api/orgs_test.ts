import assert from "node:assert/strict";
import {
  client,
  create,
  expectError,
  expectStatus,
  type Json,
  memberWithKey,
  withServer,
} from "./fixtures.ts";

Deno.test("creating an org makes the creator its owner; I list and get only my orgs", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const org = await create(admin, "/orgs", { name: "Acme Inc", slug: "acme" });
    assert.equal(org.name, "Acme Inc");
    assert.equal(org.slug, "acme");
    assert.equal(org.role, "owner");
    assert.deepEqual((await admin("GET", "/orgs/acme")).body, org);
    const mine = (await admin("GET", "/orgs")).body.orgs;
    assert.deepEqual(mine.map((o: Json) => o.slug), ["default", "acme"]);
    const members = (await admin("GET", "/orgs/acme/members")).body.members;
    assert.deepEqual(members.map((m: Json) => [m.email, m.role]), [["owner@localhost", "owner"]]);

    const outsider = await memberWithKey(s, "member");
    assert.deepEqual((await outsider.call("GET", "/orgs")).body.orgs.map((o: Json) => o.slug), [
      "default",
    ]);
    expectError(await outsider.call("GET", "/orgs/acme"), 404);
  });
});

Deno.test("org slugs are lower-case, URL-safe and unique", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    for (const slug of ["a", "acme-2", "x".repeat(63)]) {
      expectStatus(await admin("POST", "/orgs", { name: slug, slug }), 201);
    }
    for (const slug of ["", "Acme", "-acme", "acme-", "a_b", "a.b", "x".repeat(64), "ä"]) {
      expectError(await admin("POST", "/orgs", { name: "n", slug }), 400, "slug");
    }
    expectError(await admin("POST", "/orgs", { name: "Again", slug: "acme-2" }), 409, "slug");
    expectError(await admin("POST", "/orgs", { slug: "no-name" }), 400, "name");
  });
});

Deno.test("members are added by email with a role, changed and removed", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const added = await create(admin, "/orgs/default/members", {
      email: "Ada@Example.com",
      name: "Ada",
      role: "member",
    });
    assert.equal(added.email, "ada@example.com");
    assert.equal(added.name, "Ada");
    assert.equal(added.role, "member");
    const changed = expectStatus(
      await admin("PATCH", `/orgs/default/members/${added.userId}`, { role: "admin" }),
      200,
    ).body;
    assert.equal(changed.role, "admin");
    const listed = (await admin("GET", "/orgs/default/members")).body.members;
    assert.deepEqual(listed.map((m: Json) => [m.email, m.role]), [
      ["owner@localhost", "owner"],
      ["ada@example.com", "admin"],
    ]);

    // The same person joins a second org as the same user.
    await create(admin, "/orgs", { name: "Acme", slug: "acme" });
    const inAcme = client(s, s.adminKey, "acme");
    const again = await create(inAcme, "/orgs/acme/members", {
      email: "ada@example.com",
      role: "viewer",
    });
    assert.equal(again.userId, added.userId);

    expectStatus(await admin("DELETE", `/orgs/default/members/${added.userId}`), 204);
    expectError(await admin("DELETE", `/orgs/default/members/${added.userId}`), 404);
    assert.equal((await admin("GET", "/orgs/default/members")).body.members.length, 1);
    assert.equal((await admin("GET", "/orgs/acme/members")).body.members.length, 2);
  });
});
