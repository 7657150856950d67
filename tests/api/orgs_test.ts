import assert from "node:assert/strict";
import { apiCall } from "../helpers/server.ts";
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
    const { accessKey, ...shown } = org;
    const inAcme = client(s, accessKey.key);
    assert.deepEqual((await inAcme("GET", "/orgs/acme")).body, shown);
    const mine = (await admin("GET", "/orgs")).body.orgs;
    assert.deepEqual(mine.map((o: Json) => o.slug), ["default", "acme"]);
    const members = (await inAcme("GET", "/orgs/acme/members")).body.members;
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

Deno.test("people join by accepting an invitation; members are changed and removed", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const invited = await create(admin, "/orgs/default/members", {
      email: "Ada@Example.com",
      role: "member",
    });
    assert.equal(invited.email, "ada@example.com");
    assert.equal(invited.role, "member");
    assert.equal(invited.status, "invited");
    assert.match(invited.token, /^ghi_/);
    // Invited is not a member yet; the list of invitations never shows the token.
    const before = (await admin("GET", "/orgs/default/members")).body.members;
    assert.deepEqual(before.map((m: Json) => m.email), ["owner@localhost"]);
    const pending = (await admin("GET", "/orgs/default/invitations")).body.invitations;
    assert.deepEqual(pending.map((i: Json) => [i.email, i.status]), [[
      "ada@example.com",
      "invited",
    ]]);
    assert.ok(!JSON.stringify(pending).includes(invited.token));

    const accept = (body: Json, key?: string) =>
      apiCall(s.url, key, "POST", "/invitations/accept", body);
    expectError(await accept({ token: invited.token }), 400, "password");
    expectError(await accept({ token: invited.token, password: "short" }), 400, "password");
    const joined = expectStatus(
      await accept({ token: invited.token, password: "ada's own password", name: "Ada" }),
      201,
    ).body;
    assert.equal(joined.organization.slug, "default");
    assert.deepEqual([joined.member.email, joined.member.name, joined.member.role], [
      "ada@example.com",
      "Ada",
      "member",
    ]);
    const ada = client(s, joined.accessKey.key);
    expectStatus(await ada("GET", "/gateways"), 200);
    // The token is used up.
    expectError(
      await accept({ token: invited.token, password: "ada's own password" }),
      400,
      "token",
    );
    assert.deepEqual((await admin("GET", "/orgs/default/invitations")).body.invitations, []);

    const added = joined.member;
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

    // The same person joins a second org as the same user, proving the account is theirs.
    const acme = await create(admin, "/orgs", { name: "Acme", slug: "acme" });
    const inAcme = client(s, acme.accessKey.key);
    const again = await create(inAcme, "/orgs/acme/members", {
      email: "ada@example.com",
      role: "viewer",
    });
    expectError(await accept({ token: again.token }), 401);
    expectError(await accept({ token: again.token, password: "not ada's password" }), 401);
    // Another account's key is not proof either.
    expectError(await accept({ token: again.token }, acme.accessKey.key), 403);
    const second = expectStatus(
      await accept({ token: again.token, password: "ada's own password" }),
      201,
    ).body;
    assert.equal(second.member.userId, added.userId);
    assert.equal(second.member.role, "viewer");

    expectStatus(await admin("DELETE", `/orgs/default/members/${added.userId}`), 204);
    expectError(await admin("DELETE", `/orgs/default/members/${added.userId}`), 404);
    assert.equal((await admin("GET", "/orgs/default/members")).body.members.length, 1);
    assert.equal((await inAcme("GET", "/orgs/acme/members")).body.members.length, 2);
    // Removal dropped the keys Ada had in default, not the one in acme.
    expectError(await ada("GET", "/gateways"), 401);
    expectStatus(await client(s, second.accessKey.key)("GET", "/gateways"), 200);
  });
});
