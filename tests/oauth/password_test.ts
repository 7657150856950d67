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
    const member = ok(
      await s.api("POST", "/orgs/default/members", { email: "kim@example.com", role: "member" }),
      201,
    );
    const key = ok(await s.api("POST", "/keys", { name: "kim", userId: member.userId }), 201).key;
    // No password yet: sign-in fails like any wrong password.
    const clientId = await registerPublicClient(gw);
    const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
    const browser = new Browser();
    const page = await browser.get(url);
    const form = readForm(page.html, url);
    const refused = await browser.postPage(form.action, {
      ...form.fields,
      email: "kim@example.com",
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
    const tokens = await obtainTokens(gw, "kim@example.com");
    assert.equal(tokens.scope, "tools:read tools:execute");
  });
});

Deno.test("an admin may give a new member a password, but never set an existing user's", async () => {
  await withOAuthServer(async (s) => {
    ok(await s.api("POST", "/orgs", { name: "Other", slug: "other" }), 201);
    ok(
      await s.api("POST", "/orgs/other/members", { email: "lee@example.com", role: "member" }),
      201,
    );
    const res = await s.api("POST", "/orgs/default/members", {
      email: "lee@example.com",
      role: "member",
      password: "taken over at last",
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.field, "password");
    assert.match(res.body.error!.message, /PUT \/me\/password/);
    // Nothing happened: lee did not join, and has no password.
    const members = ok(await s.api("GET", "/orgs/default/members")).members as { email: string }[];
    assert.ok(!members.some((m) => m.email === "lee@example.com"));
    const user = s.store.users.byEmail("lee@example.com")!;
    assert.equal(s.store.users.passwordHash(user.id), undefined);
    // A new member's password is stored hashed, never returned.
    const created = await s.api("POST", "/orgs/default/members", {
      email: "new@example.com",
      role: "viewer",
      password: "a fine long password",
    });
    assert.equal(created.status, 201);
    assert.equal(JSON.stringify(created.body).includes("a fine long password"), false);
    assert.match(s.store.users.passwordHash(created.body.userId as string)!, /^scrypt\$/);
  });
});
