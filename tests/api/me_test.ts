/**
 * `GET /me`: who the caller is, as a client such as the admin UI shows it:
 * the account, the organization the key acts in, the role there, the key
 * itself (never its value) and whether the account has a password.
 */
import assert from "node:assert/strict";
import {
  client,
  create,
  expectError,
  expectStatus,
  memberWithKey,
  separateOrg,
  withServer,
} from "./fixtures.ts";

Deno.test("GET /me names the caller, the key's org and role, and never a key's value", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const me = expectStatus(await admin("GET", "/me"), 200).body;
    assert.equal(me.user.email, "owner@localhost");
    assert.deepEqual([me.organization.slug, me.organization.role, me.role], [
      "default",
      "owner",
      "owner",
    ]);
    assert.equal(me.hasPassword, false);
    assert.equal(me.accessKey.name, "admin");
    assert.ok(!JSON.stringify(me).includes(s.adminKey));
    assert.ok(!("key" in me.accessKey));

    expectStatus(await admin("PUT", "/me/password", { password: "a fine password" }), 204);
    assert.equal((await admin("GET", "/me")).body.hasPassword, true);

    // A viewer reads their own; the key of another org answers for that org.
    const viewer = await memberWithKey(s, "viewer");
    const seen = expectStatus(await viewer.call("GET", "/me"), 200).body;
    assert.deepEqual([seen.user.email, seen.role, seen.user.id], [
      viewer.email,
      "viewer",
      viewer.userId,
    ]);
    const acme = await create(admin, "/orgs", { name: "Acme", slug: "acme" });
    const inAcme = expectStatus(await client(s, acme.accessKey.key)("GET", "/me"), 200).body;
    assert.deepEqual([inAcme.organization.slug, inAcme.user.id], ["acme", me.user.id]);
    assert.equal(inAcme.accessKey.id, acme.accessKey.id);
    const other = await separateOrg(s, "other");
    assert.equal((await other.call("GET", "/me")).body.organization.slug, "other");
  });
});

Deno.test("GET /me refuses a missing, revoked or expired key", async () => {
  await withServer(async (s) => {
    expectError(await client(s, "")("GET", "/me"), 401);
    const admin = client(s, s.adminKey);
    const key = await create(admin, "/keys", { name: "short" });
    expectStatus(await client(s, key.key)("GET", "/me"), 200);
    expectStatus(await admin("DELETE", `/keys/${key.id}`), 200);
    expectError(await client(s, key.key)("GET", "/me"), 401);
    const soon = await create(admin, "/keys", {
      name: "soon",
      expiresAt: new Date(Date.now() + 300).toISOString(),
    });
    await new Promise((r) => setTimeout(r, 400));
    expectError(await client(s, soon.key)("GET", "/me"), 401);
  });
});
