/**
 * The organisation takeover and its variants: nobody obtains a credential
 * that acts as another user, a key acts only in the org it was issued in,
 * and adding somebody's email to an org gives no power over them.
 *
 * The original attack: create an org, add the victim's email as a member,
 * mint an access key for them with `POST /keys {userId}`, then use it with
 * `X-Organization` of the victim's org, where it acts with the victim's role.
 */
import assert from "node:assert/strict";
import { apiCall, type TestServer } from "../helpers/server.ts";
import {
  type Call,
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  join,
  type Json,
  MEMBER_PASSWORD,
  memberWithKey,
  withServer,
} from "./fixtures.ts";

const VICTIM = "owner@localhost";

const accept = (s: TestServer, body: Json, key?: string) =>
  apiCall(s.url, key, "POST", "/invitations/accept", body);
const login = (s: TestServer, body: Json) => apiCall(s.url, undefined, "POST", "/login", body);
const as =
  (s: TestServer, key: string, org: string) => (method: string, path: string, body?: Json) =>
    apiCall(s.url, key, method, path, body, { "x-organization": org });

/** An attacker: a member of the default org who made an org of their own, "evil". */
async function attacker(
  s: TestServer,
): Promise<{ home: Call; evil: Call; evilKey: string; userId: string }> {
  const m = await memberWithKey(s, "member");
  const org = await create(m.call, "/orgs", { name: "Evil", slug: "evil" });
  return {
    home: m.call,
    evil: client(s, org.accessKey.key),
    evilKey: org.accessKey.key,
    userId: m.userId,
  };
}

Deno.test("the takeover: adding the victim's email and minting a key for them gets nothing", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const secretGateway = await create(owner, "/gateways", gatewayBody("/owners-only"));
    const a = await attacker(s);
    const victimId = (await s.store.users.byEmail(VICTIM))!.id;

    // Adding the victim is only an invitation: the victim is not a member of evil.
    const invited = await create(a.evil, "/orgs/evil/members", { email: VICTIM, role: "viewer" });
    assert.equal(invited.status, "invited");
    const members = (await a.evil("GET", "/orgs/evil/members")).body.members;
    assert.ok(!members.some((m: Json) => m.email === VICTIM));
    // No key for the victim, by id or any other way.
    expectError(await a.evil("POST", "/keys", { name: "x", userId: victimId }), 400, "userId");
    // The attacker holds the token but cannot accept it as the victim.
    expectError(await accept(s, { token: invited.token }), 401);
    expectError(await accept(s, { token: invited.token, password: "guess guess guess" }), 401);
    expectError(await accept(s, { token: invited.token }, a.evilKey), 403);
    expectError(await accept(s, { token: invited.token, password: MEMBER_PASSWORD }), 401);
    // Nor create an account for the victim's email: it exists, so the password is checked.
    expectError(await accept(s, { token: invited.token, password: "a new password 123" }), 401);

    // The attacker's keys never act in the victim's org, whatever header they send.
    for (const key of [a.evilKey]) {
      for (const path of ["/gateways", `/gateways/${secretGateway.id}`, "/keys", "/secrets"]) {
        expectError(await as(s, key, "default")("GET", path), 403);
      }
      expectError(await as(s, key, "default")("POST", "/gateways", gatewayBody("/mine")), 403);
    }
    // Nothing changed in the victim's org; the victim is still its only owner.
    const defaultMembers = (await owner("GET", "/orgs/default/members")).body.members;
    assert.deepEqual(
      defaultMembers.filter((m: Json) => m.role === "owner").map((m: Json) => m.email),
      [VICTIM],
    );
    const evil = (await s.store.orgs.bySlug("evil"))!;
    assert.equal((await s.store.accessKeys.list(evil.id, victimId)).length, 0);
  });
});

Deno.test("a key of one org reaches no other org of its user, by header or by path", async () => {
  await withServer(async (s) => {
    const a = await attacker(s);
    // The attacker's evil-org key cannot reach the default org, where the same user is a member.
    const evilInDefault = as(s, a.evilKey, "default");
    expectError(await evilInDefault("GET", "/gateways"), 403);
    for (
      const [method, path, body] of [
        ["GET", "/orgs/default", undefined],
        ["PATCH", "/orgs/default", { settings: { outbound: { allowLoopback: false } } }],
        ["GET", "/orgs/default/members", undefined],
        ["POST", "/orgs/default/members", { email: "x@example.com", role: "viewer" }],
        ["GET", "/orgs/default/invitations", undefined],
      ] as const
    ) {
      expectError(await a.evil(method, path, body), 403);
    }
    // An org the user is not in at all answers like one that does not exist.
    expectError(await a.evil("GET", "/orgs/nowhere"), 404);
    const outsider = await memberWithKey(s, "viewer");
    expectError(await outsider.call("GET", "/orgs/evil"), 404);
    expectError(await outsider.call("GET", "/orgs/evil/members"), 404);
  });
});

Deno.test("an admin of a shared org gains nothing over a member's other orgs", async () => {
  await withServer(async (s) => {
    // The first owner also joins "shared", run by somebody else who is its admin-owner.
    const runner = await memberWithKey(s, "viewer");
    const sharedOrg = await create(runner.call, "/orgs", { name: "Shared", slug: "shared" });
    const shared = client(s, sharedOrg.accessKey.key);
    const ownerInvite = await create(shared, "/orgs/shared/members", {
      email: VICTIM,
      role: "member",
    });
    // The victim proves the account with one of its own keys (it has no password).
    const joined =
      expectStatus(await accept(s, { token: ownerInvite.token }, s.adminKey), 201).body;
    assert.equal(joined.member.email, VICTIM);
    const victimKeyInShared = joined.accessKey.key;

    // The shared org's owner can revoke the victim's key there, but cannot mint one, set a
    // password, or reach the victim's own org with it.
    expectError(
      await shared("POST", "/keys", { name: "mine now", userId: joined.member.userId }),
      400,
      "userId",
    );
    expectError(
      await shared("POST", "/orgs/shared/members", {
        email: "someone@example.com",
        role: "viewer",
        password: "chosen by the admin",
      }),
      400,
      "password",
    );
    // Even the victim's own key of shared does not act in default.
    expectError(await as(s, victimKeyInShared, "default")("GET", "/gateways"), 403);
    // Removing the victim from shared drops the victim's keys there only.
    expectStatus(await shared("DELETE", `/orgs/shared/members/${joined.member.userId}`), 204);
    expectError(await client(s, victimKeyInShared)("GET", "/gateways"), 401);
    expectStatus(await client(s, s.adminKey)("GET", "/gateways"), 200);
  });
});

Deno.test("a leaked key cannot become the account's password, so cannot reach its other orgs", async () => {
  await withServer(async (s) => {
    const m = await memberWithKey(s, "member");
    const other = await create(client(s, s.adminKey), "/orgs", { name: "Other", slug: "other" });
    const inv = await create(client(s, other.accessKey.key), "/orgs/other/members", {
      email: m.email,
      role: "admin",
    });
    expectStatus(await accept(s, { token: inv.token, password: MEMBER_PASSWORD }), 201);
    // A thief with the member's default-org key tries to set a password of their own.
    const stolen = client(s, m.key);
    expectError(
      await stolen("PUT", "/me/password", { password: "the thief's password" }),
      400,
      "currentPassword",
    );
    expectError(
      await stolen("PUT", "/me/password", {
        password: "the thief's password",
        currentPassword: "a guess at it",
      }),
      400,
      "currentPassword",
    );
    expectError(
      await login(s, { email: m.email, password: "the thief's password", organization: "other" }),
      401,
    );
    // The member, with their password, signs in to the other org and gets a key there only.
    const signedIn = expectStatus(
      await login(s, { email: m.email, password: MEMBER_PASSWORD, organization: "other" }),
      201,
    ).body;
    assert.equal(signedIn.organization.role, "admin");
    const otherKey = signedIn.accessKey.key;
    expectStatus(await as(s, otherKey, "other")("GET", "/gateways"), 200);
    expectError(await as(s, otherKey, "default")("GET", "/gateways"), 403);
  });
});

Deno.test("sign-in gives keys only for orgs the person has joined, and says nothing about why not", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const invited = await create(owner, "/orgs/default/members", {
      email: "pending@example.com",
      role: "admin",
    });
    const m = await memberWithKey(s, "member");
    const refusals = [
      // Invited but not yet accepted: no account, no membership.
      { email: "pending@example.com", password: MEMBER_PASSWORD, organization: "default" },
      { email: m.email, password: "wrong password", organization: "default" },
      { email: m.email, password: MEMBER_PASSWORD, organization: "nowhere" },
      { email: "nobody@example.com", password: MEMBER_PASSWORD, organization: "default" },
    ];
    const messages = new Set<string>();
    for (const body of refusals) {
      const res = await login(s, body);
      expectError(res, 401);
      messages.add(res.body.error!.message);
    }
    assert.equal(messages.size, 1, [...messages].join(" | "));
    // The pending invitation still works; the invited get exactly the invited role.
    const joined = expectStatus(
      await accept(s, { token: invited.token, password: "pending's password" }),
      201,
    );
    assert.equal(joined.body.member.role, "admin");
  });
});

Deno.test("invitation tokens: used once, replaced by a newer one, withdrawable, expiring, bound to their org", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const first = await create(owner, "/orgs/default/members", {
      email: "kai@example.com",
      role: "viewer",
    });
    const second = await create(owner, "/orgs/default/members", {
      email: "kai@example.com",
      role: "member",
    });
    // Inviting again replaced the first token.
    expectError(await accept(s, { token: first.token, password: MEMBER_PASSWORD }), 400, "token");
    const withdrawn = await create(owner, "/orgs/default/members", {
      email: "wil@example.com",
      role: "viewer",
    });
    expectStatus(await owner("DELETE", `/orgs/default/invitations/${withdrawn.id}`), 204);
    expectError(
      await accept(s, { token: withdrawn.token, password: MEMBER_PASSWORD }),
      400,
      "token",
    );
    assert.equal(await s.store.users.byEmail("wil@example.com"), undefined);
    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = await create(owner, "/orgs/default/members", {
      email: "eve@example.com",
      role: "viewer",
      expiresAt: soon,
    });
    expectError(
      await owner("POST", "/orgs/default/members", {
        email: "far@example.com",
        role: "viewer",
        expiresAt: new Date(Date.now() + 31 * 86_400_000).toISOString(),
      }),
      400,
      "expiresAt",
    );
    await new Promise((r) => setTimeout(r, 1600));
    const late = await accept(s, { token: expiring.token, password: MEMBER_PASSWORD });
    expectError(late, 400, "token");
    assert.match(late.body.error!.message, /expired/);
    const joined =
      expectStatus(await accept(s, { token: second.token, password: MEMBER_PASSWORD }), 201).body;
    assert.deepEqual([joined.organization.slug, joined.member.role], ["default", "member"]);
    expectError(await accept(s, { token: second.token, password: MEMBER_PASSWORD }), 400, "token");
    // Already a member: inviting again is a conflict, not a second membership.
    expectError(
      await owner("POST", "/orgs/default/members", { email: "KAI@example.com", role: "admin" }),
      409,
      "email",
    );
  });
});

Deno.test("only admins invite, only owners invite or withdraw owners; revoked keys prove nothing", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const admin = await memberWithKey(s, "admin");
    const viewer = await memberWithKey(s, "viewer");
    const member = await memberWithKey(s, "member");
    for (const c of [viewer.call, member.call]) {
      expectError(
        await c("POST", "/orgs/default/members", { email: "n@example.com", role: "viewer" }),
        403,
      );
      expectError(await c("GET", "/orgs/default/invitations"), 403);
    }
    expectError(
      await admin.call("POST", "/orgs/default/members", { email: "o@example.com", role: "owner" }),
      403,
    );
    const ownerInvite = await create(owner, "/orgs/default/members", {
      email: "o@example.com",
      role: "owner",
    });
    expectError(await admin.call("DELETE", `/orgs/default/invitations/${ownerInvite.id}`), 403);
    // The invitee's own key must be live: a revoked one proves nothing.
    const other = await create(owner, "/orgs", { name: "Two", slug: "two" });
    const toTwo = await create(client(s, other.accessKey.key), "/orgs/two/members", {
      email: member.email,
      role: "viewer",
    });
    const keyId = (await member.call("GET", "/keys")).body.keys[0].id;
    expectStatus(await member.call("DELETE", `/keys/${keyId}`), 200);
    expectError(await accept(s, { token: toTwo.token }, member.key), 401);
    // With the password it works.
    expectStatus(await accept(s, { token: toTwo.token, password: MEMBER_PASSWORD }), 201);
    // Admins invite up to their own role, and those they invite join with that role.
    const joined = await join(s, admin.call, "default", "a2@example.com", "admin");
    const role = (await owner("GET", "/orgs/default/members")).body.members
      .find((m: Json) => m.userId === joined.userId).role;
    assert.equal(role, "admin");
  });
});
