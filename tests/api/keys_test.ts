import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { hashToken } from "../../src/auth/tokens.ts";
import { apiCall } from "../helpers/server.ts";
import {
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  type Json,
  memberWithKey,
  withServer,
} from "./fixtures.ts";

const KEY_FIELDS = ["createdAt", "expiresAt", "id", "name", "prefix", "revokedAt", "userId"];

Deno.test("an access key is shown once, works at once, is listed without its value and can be revoked", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const issued = await create(admin, "/keys", { name: "ci", expiresAt });
    assert.match(issued.key, /^gha_[A-Za-z0-9_-]{43}$/);
    assert.equal(issued.expiresAt, expiresAt);
    assert.equal(issued.revokedAt, null);
    assert.ok(issued.key.startsWith(issued.prefix));
    const ci = client(s, issued.key);
    await create(ci, "/gateways", gatewayBody("/from-ci"));

    const listed = (await admin("GET", "/keys")).body.keys.find((k: Json) => k.id === issued.id);
    assert.deepEqual(Object.keys(listed).sort(), KEY_FIELDS);
    const one = (await admin("GET", `/keys/${issued.id}`)).body;
    assert.deepEqual(one, listed);
    assert.ok(!JSON.stringify((await admin("GET", "/keys")).body).includes(issued.key));

    const revoked = expectStatus(await admin("DELETE", `/keys/${issued.id}`), 200).body;
    assert.equal(typeof revoked.revokedAt, "string");
    expectError(await ci("GET", "/gateways"), 401);
    // Revoking again changes nothing, and the revoked key stays listed as revoked.
    const again = expectStatus(await admin("DELETE", `/keys/${issued.id}`), 200).body;
    assert.equal(again.revokedAt, revoked.revokedAt);
    assert.equal((await admin("GET", `/keys/${issued.id}`)).body.revokedAt, revoked.revokedAt);
  });
});

Deno.test("a key may revoke itself, and every key is independent", async () => {
  await withServer(async (s) => {
    const member = await memberWithKey(s, "member");
    const second = await create(member.call, "/keys", { name: "second" });
    const firstId = (await member.call("GET", "/keys")).body.keys[0].id;
    expectStatus(await member.call("DELETE", `/keys/${firstId}`), 200);
    expectError(await member.call("GET", "/keys"), 401);
    const keys = (await client(s, second.key)("GET", "/keys")).body.keys;
    assert.deepEqual(keys.map((k: Json) => k.revokedAt === null), [false, true]);
  });
});

Deno.test("a key acts only in the org it was issued in, though its user is in others", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const acme = await create(admin, "/orgs", { name: "Acme", slug: "acme" });
    // Creating an org answers a key for it, shown once: the caller's key stays in its own org.
    assert.match(acme.accessKey.key, /^gha_/);
    const inAcme = client(s, acme.accessKey.key);
    const acmeKey = await create(inAcme, "/keys", { name: "acme automation" });
    assert.equal(
      (await create(client(s, acmeKey.key), "/gateways", gatewayBody("/a"))).org,
      "acme",
    );
    assert.ok((await inAcme("GET", "/keys")).body.keys.some((k: Json) => k.id === acmeKey.id));
    assert.ok(!(await admin("GET", "/keys")).body.keys.some((k: Json) => k.id === acmeKey.id));
    // Both ways across: the same user, an owner in both orgs, and still refused.
    for (
      const [key, slug, home] of [[acmeKey.key, "default", "acme"], [s.adminKey, "acme", "default"]]
    ) {
      const res = await apiCall(s.url, key, "GET", "/gateways", undefined, {
        "x-organization": slug,
      });
      expectError(res, 403);
      assert.match(res.body.error!.message, new RegExp(`acts only in organization '${home}'`));
    }
    const across = { "x-organization": "default" };
    expectError(
      await apiCall(s.url, acmeKey.key, "POST", "/gateways", gatewayBody("/b"), across),
      403,
    );
    assert.deepEqual((await admin("GET", "/gateways")).body.gateways, []);
    // Naming its own org is fine.
    const own = { "x-organization": "acme" };
    expectStatus(await apiCall(s.url, acmeKey.key, "GET", "/gateways", undefined, own), 200);
  });
});

Deno.test("a gateway key is shown once, listed without its value, scoped, and revocable", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/keyed"));
    const url = `/gateways/${gw.id}/keys`;
    const full = await create(admin, url, { name: "claude desktop" });
    assert.match(full.key, /^ghk_[A-Za-z0-9_-]{43}$/);
    assert.equal(full.name, "claude desktop");
    assert.deepEqual(full.scopes, ["tools:read", "tools:execute"]);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const readOnly = await create(admin, url, { name: "ro", scopes: ["tools:read"], expiresAt });
    assert.deepEqual(readOnly.scopes, ["tools:read"]);
    assert.equal(readOnly.expiresAt, expiresAt);
    assert.notEqual(readOnly.key, full.key);

    const listed = (await admin("GET", url)).body.keys;
    assert.deepEqual(listed.map((k: Json) => k.id), [full.id, readOnly.id]);
    assert.ok(listed.every((k: Json) => !("key" in k)));
    assert.ok(!JSON.stringify(listed).includes(full.key));

    const revoked = expectStatus(await admin("DELETE", `${url}/${full.id}`), 200).body;
    assert.equal(typeof revoked.revokedAt, "string");
    assert.equal((await admin("GET", url)).body.keys[0].revokedAt, revoked.revokedAt);
    // The stored key is what the MCP side checks: revoked, by hash.
    assert.notEqual((await s.store.gatewayKeys.byHash(hashToken(full.key)))?.revokedAt, null);
    assert.equal((await s.store.gatewayKeys.byHash(hashToken(readOnly.key)))?.revokedAt, null);
  });
});

Deno.test("raw keys are nowhere in the database files, only their SHA-256 hashes", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/secret"));
    const raws: string[] = [s.adminKey];
    for (let i = 0; i < 3; i++) {
      raws.push((await create(admin, "/keys", { name: `k${i}` })).key);
      raws.push((await create(admin, `/gateways/${gw.id}/keys`, { name: `g${i}` })).key);
    }
    raws.push((await memberWithKey(s, "member")).key);

    // Every file of the data folder (database, WAL, shared memory), as bytes.
    let bytes = "";
    for await (const entry of Deno.readDir(s.dataDir)) {
      const data = await Deno.readFile(`${s.dataDir}/${entry.name}`);
      bytes += new TextDecoder("latin1").decode(data);
    }
    for (const raw of raws) {
      assert.ok(!bytes.includes(raw), "a raw key is stored");
      // The scan does see what is stored: the hash of each key is there.
      assert.ok(bytes.includes(hashToken(raw)), "a key's hash is missing");
    }

    // And column by column, through SQLite itself.
    const db = new DatabaseSync(`${s.dataDir}/gatehouse.db`, { readOnly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      for (const { name } of tables) {
        for (const row of db.prepare(`SELECT * FROM "${name}"`).all()) {
          const text = JSON.stringify(row);
          for (const raw of raws) assert.ok(!text.includes(raw), `raw key in ${name}`);
        }
      }
      const hashes = [
        ...db.prepare("SELECT key_hash FROM access_keys").all(),
        ...db.prepare("SELECT key_hash FROM gateway_keys").all(),
      ].map((r) => r.key_hash);
      assert.deepEqual(raws.map(hashToken).filter((h) => !hashes.includes(h)), []);
    } finally {
      db.close();
    }
    // SQLite whatever the run's database: the test reads the database's files.
  }, { databaseUrl: "" });
});
