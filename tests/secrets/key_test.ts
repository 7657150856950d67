/**
 * The vault key: accepted forms of GATEHOUSE_SECRET_KEY, the key file made on
 * first start (mode 0600, a one-time notice), restarts that decrypt what was
 * stored, and the clear refusals: a malformed key, a key that does not match
 * the stored secrets, a ciphertext that does not belong to its row.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { decodeSecretKey } from "../../src/secrets/key.ts";
import { expectStatus } from "../api/fixtures.ts";
import {
  apiCall,
  databaseEnv,
  spawnMain,
  startChildServer,
  startTestServer,
} from "../helpers/server.ts";
import { startUpstream } from "../tools/upstream.ts";
import { addSecret, httpTool, resultText, toolGateway } from "./fixtures.ts";

const KEY_BYTES = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 3);
const KEY_HEX = Array.from(KEY_BYTES, (b) => b.toString(16).padStart(2, "0")).join("");
const KEY_B64 = btoa(String.fromCharCode(...KEY_BYTES));

Deno.test("GATEHOUSE_SECRET_KEY takes 32 bytes as base64 or hex and nothing else", () => {
  const env = (v: string) => (n: string) => n === "GATEHOUSE_SECRET_KEY" ? v : undefined;
  for (const form of [KEY_B64, KEY_HEX, KEY_HEX.toUpperCase(), KEY_B64.replace(/=+$/, "")]) {
    assert.deepEqual(loadConfig([], env(form)).secretKey, KEY_BYTES, form);
  }
  const urlSafe = KEY_B64.replace(/\+/g, "-").replace(/\//g, "_");
  assert.deepEqual(decodeSecretKey(urlSafe), KEY_BYTES);
  assert.deepEqual(decodeSecretKey(` ${KEY_B64}\n`), KEY_BYTES);
  const bad = [
    "",
    "short-but-secret-value",
    KEY_HEX.slice(2),
    `${KEY_HEX}00`,
    btoa("x".repeat(31)),
    btoa("x".repeat(33)),
    `${KEY_B64.slice(0, -4)}!!!!`,
  ];
  for (const v of bad) {
    assert.throws(
      () => loadConfig([], env(v)),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /GATEHOUSE_SECRET_KEY must be 32 random bytes as base64/);
        if (v.length > 4) assert.ok(!err.message.includes(v), "the message quotes the key");
        return true;
      },
      JSON.stringify(v),
    );
  }
  assert.equal(loadConfig([], () => undefined).secretKey, undefined);
});

Deno.test("a key file is created once with mode 0600; a restart decrypts what was stored", async () => {
  const up = startUpstream({ "/t": () => Response.json({ ok: true }) });
  const s = await startTestServer();
  const path = `${s.dataDir}/secret.key`;
  try {
    assert.deepEqual(
      { source: s.secretKey.source, created: s.secretKey.created, path: s.secretKey.path },
      { source: "file", created: true, path },
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const keyText = await Deno.readTextFile(path);
    assert.equal(decodeSecretKey(keyText)?.length, 32);
    await addSecret(s, { name: "TOKEN", type: "bearer_token", value: "survives-restart" });
    await s.shutdown();

    const again = await startTestServer({ dataDir: s.dataDir, adminKey: s.adminKey });
    try {
      assert.equal(again.secretKey.created, false);
      assert.equal(await Deno.readTextFile(path), keyText, "the key file is not rewritten");
      const gw = await toolGateway(again, [
        httpTool("t", `${up.url}/t`, { auth: { secret: "TOKEN" } }),
      ]);
      assert.equal((await gw.call("t")).isError, undefined);
      assert.equal(up.to("/t")[0].headers.authorization, "Bearer survives-restart");
    } finally {
      await again.shutdown();
    }
  } finally {
    await s.close();
    await up.close();
  }
});

Deno.test("GATEHOUSE_SECRET_KEY wins over a key file; a different key is refused once secrets exist", async () => {
  const s = await startTestServer({ secretKey: KEY_BYTES });
  try {
    assert.equal(s.secretKey.source, "env");
    await assert.rejects(Deno.stat(`${s.dataDir}/secret.key`), Deno.errors.NotFound);
    await s.shutdown();
    // No secret stored yet: another key is accepted (nothing could be lost).
    const other = crypto.getRandomValues(new Uint8Array(32));
    const s2 = await startTestServer({
      dataDir: s.dataDir,
      adminKey: s.adminKey,
      secretKey: other,
    });
    await addSecret(s2, { name: "TOKEN", type: "bearer_token", value: "sealed-under-other" });
    await s2.shutdown();
    await assert.rejects(
      () => startTestServer({ dataDir: s.dataDir, adminKey: s.adminKey, secretKey: KEY_BYTES }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(
          err.message,
          /the secret key \(GATEHOUSE_SECRET_KEY\) is not the key the 1 stored secret was encrypted with/,
        );
        return true;
      },
    );
    // The refused start left the database closed and usable: the right key still works.
    const s3 = await startTestServer({
      dataDir: s.dataDir,
      adminKey: s.adminKey,
      secretKey: other,
    });
    assert.equal(expectStatus(await s3.api("GET", "/secrets"), 200).body.secrets.length, 1);
    await s3.shutdown();
  } finally {
    await s.close();
  }
});

Deno.test("a ciphertext moved onto another row fails as an error result naming the secret", async () => {
  const up = startUpstream({ "/t": () => Response.json({ ok: true }) });
  try {
    const s = await startTestServer();
    try {
      await addSecret(s, { name: "A", type: "bearer_token", value: "value-of-a" });
      await addSecret(s, { name: "B", type: "bearer_token", value: "value-of-b" });
      // Tampering by hand (what a copied or edited database would look like): B gets A's value.
      await s.store.db.run(
        `UPDATE secrets SET iv = (SELECT iv FROM secrets WHERE name = 'A'),
         ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'A') WHERE name = 'B'`,
      );
      const gw = await toolGateway(s, [
        httpTool("a", `${up.url}/t`, { auth: { secret: "A" } }),
        httpTool("b", `${up.url}/t`, { auth: { secret: "B" } }),
      ]);
      assert.equal((await gw.call("a")).isError, undefined);
      const b = await gw.call("b");
      assert.equal(b.isError, true);
      const text = resultText(b);
      assert.match(text, /secret 'B' could not be decrypted/);
      assert.ok(!text.includes("value-of"), text);
      assert.equal(up.to("/t").length, 1, "nothing is sent with an undecryptable secret");
    } finally {
      await s.close();
    }
  } finally {
    await up.close();
  }
});

Deno.test("main: the key-file notice is printed once; bad or wrong keys stop it with status 2, no stack", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-key-" });
  const adminKey = `gha_test_${crypto.randomUUID()}`;
  try {
    const first = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: adminKey });
    const created = await apiCall(first.url, adminKey, "POST", "/secrets", {
      name: "TOKEN",
      type: "bearer_token",
      value: "child-process-secret",
    });
    assert.equal(created.status, 201);
    assert.equal((await first.stop()).code, 0);
    const keyText = (await Deno.readTextFile(`${dataDir}/secret.key`)).trim();
    assert.match(first.stderr(), /Created the secret vault key .*secret\.key \(mode 0600\)/);
    assert.match(first.stderr(), /move the key to\nGATEHOUSE_SECRET_KEY/);
    assert.ok(!first.output().includes(keyText), "the key itself is never printed");

    const second = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: adminKey });
    assert.equal((await second.stop()).code, 0);
    assert.doesNotMatch(second.output(), /Created the secret vault key/);

    const wrong = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const refused = spawnMain(["--port", "0", "--data", dataDir], {
      ...await databaseEnv(dataDir),
      GATEHOUSE_ADMIN_KEY: adminKey,
      GATEHOUSE_SECRET_KEY: wrong,
    });
    const status = await refused.stop();
    assert.equal(status.code, 2, refused.output());
    assert.match(
      refused.stderr(),
      /^gatehouse: the secret key \(GATEHOUSE_SECRET_KEY\) is not the key the 1 stored secret was encrypted with/,
    );
    assert.doesNotMatch(refused.output(), /\n\s+at /, "no stack trace");
    assert.ok(!refused.output().includes(wrong));

    const malformed = spawnMain(["--port", "0", "--data", dataDir], {
      GATEHOUSE_SECRET_KEY: "not-a-key-but-still-secret",
    });
    assert.equal((await malformed.stop()).code, 2, malformed.output());
    assert.match(malformed.stderr(), /^gatehouse: GATEHOUSE_SECRET_KEY must be 32 random bytes/);
    assert.ok(!malformed.output().includes("not-a-key-but-still-secret"));
    assert.doesNotMatch(malformed.output(), /\n\s+at /);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
