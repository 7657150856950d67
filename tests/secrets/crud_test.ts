/**
 * The secrets API: create, list, get, update, replace and delete; the value
 * shape of each type with errors naming the field; values never returned,
 * never quoted in errors, and never stored in the clear.
 */
import assert from "node:assert/strict";
import { expectStatus, memberWithKey, separateOrg, withServer } from "../api/fixtures.ts";
import { startTestServer } from "../helpers/server.ts";
import { addSecret, expectFieldError } from "./fixtures.ts";

const METADATA = ["createdAt", "description", "id", "name", "type", "updatedAt"];

/** One valid body per type, each value holding a distinctive marker. */
function validSecrets(marker: string): Record<string, unknown>[] {
  return [
    { name: "KEY_PLAIN", type: "api_key", value: `${marker}-api-plain` },
    {
      name: "KEY_QUERY",
      type: "api_key",
      value: { key: `${marker}-api-query`, in: "query", name: "apikey" },
      description: "query key",
    },
    { name: "TOKEN", type: "bearer_token", value: `${marker}-bearer` },
    { name: "BASIC", type: "basic_auth", value: { username: "svc", password: `${marker}-pw` } },
    {
      name: "OAUTH",
      type: "oauth2_client_credentials",
      value: {
        tokenUrl: "https://auth.example.com/oauth/token",
        clientId: "client-1",
        clientSecret: `${marker}-client-secret`,
        scopes: ["read:users", "write"],
        audience: "https://api.example.com",
      },
    },
    {
      name: "_HEADERS",
      type: "custom_headers",
      value: { headers: { "X-Tenant": "acme", "X-Signature": `${marker}-header` } },
    },
  ];
}

Deno.test("every type is created, listed and read back as metadata only", async () => {
  await withServer(async (s) => {
    const marker = `mk${crypto.randomUUID().slice(0, 8)}`;
    const bodies = validSecrets(marker);
    const texts: string[] = [];
    for (const body of bodies) {
      const res = await s.api("POST", "/secrets", body);
      expectStatus(res, 201);
      texts.push(JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body).sort(), METADATA);
      assert.equal(res.body.name, body.name);
      assert.equal(res.body.type, body.type);
      assert.equal(res.body.description, body.description ?? "");
    }
    const list = expectStatus(await s.api("GET", "/secrets"), 200).body;
    texts.push(JSON.stringify(list));
    assert.deepEqual(
      list.secrets.map((x: { name: string }) => x.name),
      bodies.map((b) => b.name).sort(),
    );
    for (const item of list.secrets) {
      assert.deepEqual(Object.keys(item).sort(), METADATA);
      const one = expectStatus(await s.api("GET", `/secrets/${item.id}`), 200).body;
      texts.push(JSON.stringify(one));
      assert.deepEqual(one, item);
    }
    for (const text of texts) assert.ok(!text.includes(marker), `a value came back: ${text}`);
  });
});

Deno.test("values are validated per type, errors name the field and never quote the value", async () => {
  await withServer(async (s) => {
    const secret = "do-not-echo-4f1c";
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "bearer_token", value: "x" }, "name"],
      [{ name: "1starts_with_digit", type: "bearer_token", value: "x" }, "name"],
      [{ name: "has-dash", type: "bearer_token", value: "x" }, "name"],
      [{ name: "A".repeat(129), type: "bearer_token", value: "x" }, "name"],
      [{ name: "T", type: "password", value: secret }, "type"],
      [{ name: "T", type: "bearer_token" }, "value"],
      [{ name: "T", type: "bearer_token", value: "" }, "value"],
      [{ name: "T", type: "bearer_token", value: { token: secret } }, "value"],
      [{ name: "T", type: "bearer_token", value: `${secret}\r\nX-Evil: 1` }, "value"],
      [{ name: "T", type: "bearer_token", value: secret, extra: 1 }, "extra"],
      [{ name: "K", type: "api_key", value: 42 }, "value"],
      [{ name: "K", type: "api_key", value: { key: "" } }, "value.key"],
      [{ name: "K", type: "api_key", value: { key: secret, in: "cookie" } }, "value.in"],
      [{ name: "K", type: "api_key", value: { key: secret, name: "bad name" } }, "value.name"],
      [{ name: "K", type: "api_key", value: { key: secret, name: "Host" } }, "value.name"],
      [{ name: "K", type: "api_key", value: { key: secret, other: 1 } }, "value.other"],
      [{ name: "B", type: "basic_auth", value: `user:${secret}` }, "value"],
      [{ name: "B", type: "basic_auth", value: { username: "u" } }, "value.password"],
      [{ name: "B", type: "basic_auth", value: { password: secret } }, "value.username"],
      [
        { name: "B", type: "basic_auth", value: { username: "a:b", password: secret } },
        "value.username",
      ],
      [{
        name: "O",
        type: "oauth2_client_credentials",
        value: { clientId: "c", clientSecret: secret },
      }, "value.tokenUrl"],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: { tokenUrl: "http://auth.example.com/t", clientId: "c", clientSecret: secret },
        },
        "value.tokenUrl",
      ],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: { tokenUrl: "not a url", clientId: "c", clientSecret: secret },
        },
        "value.tokenUrl",
      ],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: {
            tokenUrl: `https://u:${secret}@auth.example.com/t`,
            clientId: "c",
            clientSecret: "s",
          },
        },
        "value.tokenUrl",
      ],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: { tokenUrl: "https://auth.example.com/t", clientSecret: secret },
        },
        "value.clientId",
      ],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: {
            tokenUrl: "https://a.example.com/t",
            clientId: "c",
            clientSecret: secret,
            scopes: "a b",
          },
        },
        "value.scopes",
      ],
      [
        {
          name: "O",
          type: "oauth2_client_credentials",
          value: {
            tokenUrl: "https://a.example.com/t",
            clientId: "c",
            clientSecret: secret,
            scopes: ["a b"],
          },
        },
        "value.scopes",
      ],
      [{ name: "H", type: "custom_headers", value: { headers: {} } }, "value.headers"],
      [{ name: "H", type: "custom_headers", value: { "X-A": secret } }, "value.X-A"],
      [
        { name: "H", type: "custom_headers", value: { headers: { "Bad Name": secret } } },
        "value.headers.Bad Name",
      ],
      [
        { name: "H", type: "custom_headers", value: { headers: { Host: secret } } },
        "value.headers.Host",
      ],
      [
        { name: "H", type: "custom_headers", value: { headers: { "X-A": 1 } } },
        "value.headers.X-A",
      ],
      [
        { name: "H", type: "custom_headers", value: { headers: { "X-A": `${secret}\n` } } },
        "value.headers.X-A",
      ],
    ];
    for (const [body, field] of cases) {
      const res = await s.api("POST", "/secrets", body);
      const message = expectFieldError(res, 400, field);
      assert.ok(!JSON.stringify(res.body).includes(secret), `value quoted: ${message}`);
    }
    // Malformed JSON: V8's parser message would quote the text around the error.
    const raw = await fetch(`${s.url}/secrets`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.adminKey}`, "content-type": "application/json" },
      body: `{"name": "T", "type": "bearer_token", "value": "${secret}" oops}`,
    });
    const text = await raw.text();
    assert.equal(raw.status, 400);
    assert.ok(!text.includes(secret), text);
    // Loopback token URLs are accepted over plain http (local test servers).
    await addSecret(s, {
      name: "LOCAL_OAUTH",
      type: "oauth2_client_credentials",
      value: { tokenUrl: "http://127.0.0.1:9/token", clientId: "c", clientSecret: "s" },
    });
    assert.equal(expectStatus(await s.api("GET", "/secrets"), 200).body.secrets.length, 1);
  });
});

Deno.test("names are unique per org; update, replace and delete; other orgs see 404", async () => {
  await withServer(async (s) => {
    const created = await addSecret(s, {
      name: "TOKEN",
      type: "bearer_token",
      value: "t-1",
      description: "first",
    });
    expectFieldError(
      await s.api("POST", "/secrets", { name: "TOKEN", type: "api_key", value: "k" }),
      409,
      "name",
    );
    const other = await separateOrg(s, "other");
    expectStatus(
      await other.call("POST", "/secrets", { name: "TOKEN", type: "bearer_token", value: "o" }),
      201,
    );
    const path = `/secrets/${created.id}`;
    expectStatus(await other.call("GET", path), 404);
    expectStatus(await other.call("PATCH", path, { description: "x" }), 404);
    expectStatus(await other.call("DELETE", path), 404);

    await new Promise((r) => setTimeout(r, 5));
    const renamed = expectStatus(await s.api("PATCH", path, { name: "RENAMED" }), 200).body;
    assert.equal(renamed.name, "RENAMED");
    assert.equal(renamed.description, "first");
    assert.ok(renamed.updatedAt > created.updatedAt);
    const cleared = expectStatus(await s.api("PATCH", path, { description: null }), 200).body;
    assert.equal(cleared.description, "");
    expectFieldError(await s.api("PATCH", path, { type: "api_key" }), 400, "value");
    expectFieldError(await s.api("PATCH", path, { value: { token: "x" } }), 400, "value");
    const retyped = expectStatus(
      await s.api("PATCH", path, { type: "basic_auth", value: { username: "u", password: "p" } }),
      200,
    ).body;
    assert.equal(retyped.type, "basic_auth");
    await addSecret(s, { name: "TAKEN", type: "bearer_token", value: "x" });
    expectFieldError(await s.api("PATCH", path, { name: "TAKEN" }), 409, "name");
    const replaced = expectStatus(
      await s.api("PUT", path, { name: "REPLACED", type: "api_key", value: "k-2" }),
      200,
    ).body;
    assert.deepEqual([replaced.name, replaced.type, replaced.description], [
      "REPLACED",
      "api_key",
      "",
    ]);
    expectFieldError(await s.api("PUT", path, { name: "REPLACED", type: "api_key" }), 400, "value");
    expectStatus(await s.api("DELETE", path), 204);
    expectStatus(await s.api("GET", path), 404);
    expectStatus(await s.api("DELETE", path), 404);
    expectStatus(await s.api("PUT", path, { name: "X", type: "api_key", value: "k" }), 404);
  });
});

Deno.test("viewers list metadata; writes need the member role", async () => {
  await withServer(async (s) => {
    const created = await addSecret(s, { name: "TOKEN", type: "bearer_token", value: "t-1" });
    const viewer = await memberWithKey(s, "viewer");
    assert.equal((await viewer.call("GET", "/secrets")).body.secrets.length, 1);
    expectStatus(await viewer.call("GET", `/secrets/${created.id}`), 200);
    const body = { name: "V", type: "bearer_token", value: "v" };
    expectStatus(await viewer.call("POST", "/secrets", body), 403);
    expectStatus(await viewer.call("PATCH", `/secrets/${created.id}`, { description: "x" }), 403);
    expectStatus(await viewer.call("DELETE", `/secrets/${created.id}`), 403);
    const member = await memberWithKey(s, "member");
    expectStatus(await member.call("POST", "/secrets", body), 201);
    expectStatus(await member.call("PATCH", `/secrets/${created.id}`, { value: "t-2" }), 200);
    expectStatus(await member.call("DELETE", `/secrets/${created.id}`), 204);
  });
});

/** Every file of `dir` as bytes, by name. */
async function filesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  return out;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("the SQLite files never hold a value in the clear", async () => {
  const s = await startTestServer({ databaseUrl: "" });
  try {
    const marker = `plain${crypto.randomUUID().replaceAll("-", "")}`;
    for (const body of validSecrets(marker)) await addSecret(s, body);
    const list = expectStatus(await s.api("GET", "/secrets"), 200).body.secrets;
    // An update writes a new ciphertext; the old one must not linger in the clear either.
    await s.api("PATCH", `/secrets/${list[0].id}`, { value: `${marker}-updated` });
    const needles = [marker, "client-1"].map((t) => new TextEncoder().encode(t));
    const check = async (when: string) => {
      const files = await filesOf(s.dataDir);
      assert.ok(files.has("gatehouse.db"), [...files.keys()].join(", "));
      for (const [name, bytes] of files) {
        for (const needle of needles) {
          assert.ok(!contains(bytes, needle), `${when}: ${name} holds a value in the clear`);
        }
      }
      // The names are stored in the clear (they are not secret): the search itself works.
      const all = [...files.values()];
      assert.ok(all.some((b) => contains(b, new TextEncoder().encode("KEY_PLAIN"))));
    };
    await check("while running (database and WAL)");
    await s.shutdown();
    await check("after shutdown");
  } finally {
    await s.close();
  }
});
