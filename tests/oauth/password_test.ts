/**
 * Passwords for the login pages: scrypt hashes (memory-hard, salted,
 * self-describing), set by the user themself with `PUT /me/password` or for
 * a brand-new member by an admin, and never for an existing account.
 */
import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../src/oauth/password.ts";
import { apiCall } from "../helpers/server.ts";
import { ok } from "../helpers/mcp.ts";
import {
  authorizeUrl,
  Browser,
  oauthGateway,
  obtainTokens,
  pkce,
  readForm,
  registerPublicClient,
  withOAuthServer,
} from "./helpers.ts";

Deno.test("passwords are scrypt hashes with N=2^15, r=8, p=1 and a fresh salt", async () => {
  const a = await hashPassword("hunter2 hunter2");
  const b = await hashPassword("hunter2 hunter2");
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b, "salted");
  assert.equal(await verifyPassword("hunter2 hunter2", a), true);
  assert.equal(await verifyPassword("hunter2 hunter3", a), false);
  assert.equal(await verifyPassword("hunter2 hunter2", undefined), false);
  assert.equal(await verifyPassword("x", "not a hash"), false);
  // Unicode is normalised: the same password typed two ways matches.
  assert.equal(
    await verifyPassword("cafe\u0301 au lait", await hashPassword("café au lait")),
    true,
  );
});

Deno.test("a user sets their own password with PUT /me/password, then signs in with it", async () => {
  await withOAuthServer(async (s) => {
    const gw = await oauthGateway(s);
    const key = s.adminKey;
    // The first owner has no password yet: sign-in fails like any wrong password.
    const clientId = await registerPublicClient(gw);
    const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
    const browser = new Browser();
    const page = await browser.get(url);
    const form = readForm(page.html, url);
    const refused = await browser.postPage(form.action, {
      ...form.fields,
      email: "owner@localhost",
      password: "anything at all",
    });
    assert.equal(refused.status, 400);
    assert.match(refused.html, /email or password is incorrect/);

    const short = await apiCall(s.url, key, "PUT", "/me/password", { password: "short" });
    assert.equal(short.status, 400);
    assert.equal(short.body.error?.field, "password");
    const extra = await apiCall(s.url, key, "PUT", "/me/password", {
      password: "x".repeat(12),
      y: 1,
    });
    assert.equal(extra.status, 400);
    const set = await apiCall(s.url, key, "PUT", "/me/password", {
      password: "correct horse battery staple",
    });
    assert.equal(set.status, 204);
    const tokens = await obtainTokens(gw, "owner@localhost", {
      password: "correct horse battery staple",
    });
    assert.equal(tokens.scope, "tools:read tools:execute");

    // From now on a change needs the current password: a key alone (one org's) cannot
    // take over the account, whose password works in all its orgs.
    const change = (body: Record<string, string>) =>
      apiCall(s.url, key, "PUT", "/me/password", body);
    const without = await change({ password: "a brand new password" });
    assert.deepEqual([without.status, without.body.error?.field], [400, "currentPassword"]);
    const wrong = await change({ password: "a brand new password", currentPassword: "nope nope" });
    assert.deepEqual([wrong.status, wrong.body.error?.field], [400, "currentPassword"]);
    const changed = await change({
      password: "a brand new password",
      currentPassword: "correct horse battery staple",
    });
    assert.equal(changed.status, 204);
    await obtainTokens(gw, "owner@localhost", { password: "a brand new password" });
  });
});

Deno.test("nobody sets another person's password: the invited choose their own", async () => {
  await withOAuthServer(async (s) => {
    const res = await s.api("POST", "/orgs/default/members", {
      email: "lee@example.com",
      role: "member",
      password: "taken over at last",
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.field, "password");
    assert.match(res.body.error!.message, /POST \/invitations\/accept/);
    // Nothing happened: no invitation, no account.
    assert.deepEqual(ok(await s.api("GET", "/orgs/default/invitations")).invitations, []);
    assert.equal(await s.store.users.byEmail("lee@example.com"), undefined);
    // The password chosen on accepting is stored hashed, never returned.
    const invited = ok(
      await s.api("POST", "/orgs/default/members", { email: "new@example.com", role: "viewer" }),
      201,
    );
    const accepted = await apiCall(s.url, undefined, "POST", "/invitations/accept", {
      token: invited.token,
      password: "a fine long password",
    });
    assert.equal(accepted.status, 201);
    assert.equal(JSON.stringify(accepted.body).includes("a fine long password"), false);
    const userId = (accepted.body.member as { userId: string }).userId;
    assert.match((await s.store.users.passwordHash(userId))!, /^scrypt\$/);
  });
});
