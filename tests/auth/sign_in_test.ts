/**
 * The shared password check: brute force stops, yet an attacker's wrong
 * passwords cannot lock the real user out from elsewhere.
 */
import assert from "node:assert/strict";
import { PasswordSignIn, type SignInLimits } from "../../src/auth/sign_in.ts";
import { hashPassword } from "../../src/oauth/password.ts";
import {
  client,
  expectError,
  expectStatus,
  join,
  MEMBER_PASSWORD,
  withServer,
} from "../api/fixtures.ts";
import { apiCall } from "../helpers/server.ts";
import { openTestStore } from "../helpers/database.ts";

const LIMITS: SignInLimits = {
  perAccountAndAddress: { limit: 3, windowMs: 60_000 },
  perAddress: { limit: 6, windowMs: 60_000 },
  perAccount: { limit: 8, windowMs: 60_000 },
  knownAddressMs: 3_600_000,
};

async function withAccounts(
  fn: (signIn: PasswordSignIn, orgId: string, clock: { t: number }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-signin-" });
  const store = await openTestStore(`${dir}/gatehouse.db`);
  try {
    const hash = await hashPassword("the right password");
    const owner = await store.users.create("ann@example.com", "Ann");
    const org = await store.orgs.create("Org", "org", owner.id);
    await store.users.setPasswordHash(owner.id, hash);
    for (const email of ["bob@example.com", "cy@example.com", "di@example.com"]) {
      const u = await store.users.create(email, email);
      await store.orgs.addMember(org.id, u.id, "member");
      await store.users.setPasswordHash(u.id, hash);
    }
    const clock = { t: Date.now() };
    await fn(new PasswordSignIn(store, LIMITS, () => clock.t), org.id, clock);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an attacker's wrong passwords lock out the attacker's address, not the user elsewhere", async () => {
  await withAccounts(async (signIn, orgId, clock) => {
    const attempt = (email: string, password: string, clientAddress: string) =>
      signIn.check({ email, password, orgId, clientAddress });
    for (let i = 0; i < 3; i++) {
      assert.equal((await attempt("ann@example.com", "guess", "203.0.113.66")).ok, false);
    }
    // The attacker's address is stopped, even with the right password now.
    const stopped = await attempt("ann@example.com", "the right password", "203.0.113.66");
    assert.equal(stopped.ok, false);
    assert.ok(!stopped.ok && stopped.retryAfterSeconds! > 0);
    // Ann, from her own address, signs in.
    assert.equal((await attempt("ann@example.com", "the right password", "198.51.100.1")).ok, true);
    // After the window the attacker may try again.
    clock.t += 61_000;
    assert.equal((await attempt("ann@example.com", "the right password", "203.0.113.66")).ok, true);
  });
});

Deno.test("spraying many accounts from one address is stopped", async () => {
  await withAccounts(async (signIn, orgId) => {
    const emails = ["ann@example.com", "bob@example.com", "cy@example.com"];
    for (let i = 0; i < 6; i++) {
      const r = await signIn.check({
        email: emails[i % 3],
        password: "guess",
        orgId,
        clientAddress: "203.0.113.9",
      });
      assert.equal(r.ok, false);
    }
    const r = await signIn.check({
      email: "di@example.com",
      password: "the right password",
      orgId,
      clientAddress: "203.0.113.9",
    });
    assert.ok(!r.ok && r.retryAfterSeconds! > 0, "a fresh account from the spraying address waits");
  });
});

Deno.test("a guess spread over many addresses is stopped, but not where the user signed in before", async () => {
  await withAccounts(async (signIn, orgId) => {
    const home = "198.51.100.20";
    assert.equal(
      (await signIn.check({
        email: "bob@example.com",
        password: "the right password",
        orgId,
        clientAddress: home,
      })).ok,
      true,
    );
    for (let i = 0; i < 8; i++) {
      await signIn.check({
        email: "bob@example.com",
        password: `guess ${i}`,
        orgId,
        clientAddress: `203.0.113.${i}`,
      });
    }
    const fresh = await signIn.check({
      email: "bob@example.com",
      password: "the right password",
      orgId,
      clientAddress: "192.0.2.200",
    });
    assert.ok(
      !fresh.ok && fresh.retryAfterSeconds! > 0,
      "a new address waits once the account is under attack",
    );
    const atHome = await signIn.check({
      email: "bob@example.com",
      password: "the right password",
      orgId,
      clientAddress: home,
    });
    assert.equal(atHome.ok, true, "the address Bob signed in from before still works");
  });
});

Deno.test("POST /login: another address's failures do not lock the user out (behind a trusted proxy)", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    await join(s, owner, "default", "ada@example.com", "member");
    const from = (address: string, password: string) =>
      apiCall(s.url, undefined, "POST", "/login", {
        email: "ada@example.com",
        password,
        organization: "default",
      }, { "x-forwarded-for": address });
    for (let i = 0; i < 5; i++) expectError(await from("203.0.113.7", "wrong password"), 401);
    const locked = await from("203.0.113.7", MEMBER_PASSWORD);
    expectError(locked, 429);
    assert.ok(Number(locked.headers.get("retry-after")) > 0);
    expectStatus(await from("198.51.100.4", MEMBER_PASSWORD), 201);
  }, { trustedProxies: ["127.0.0.1"] });
});
