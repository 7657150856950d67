/**
 * Secrets reaching the upstream exactly: as `executionConfig.auth` (each type
 * its own way) and as `{{secrets.NAME}}` templates, through a real gateway,
 * the real vault and a real upstream that records what it receives.
 */
import assert from "node:assert/strict";
import { expectStatus, withServer } from "../api/fixtures.ts";
import { startUpstream } from "../tools/upstream.ts";
import { addSecret, expectFieldError, httpTool, resultText, toolGateway } from "./fixtures.ts";

const b64 = (s: string) => btoa(s);

Deno.test("auth secrets of every type reach the upstream exactly", async () => {
  const up = startUpstream({
    "/echo": () => Response.json({ ok: true }),
    "/echo/": () => Response.json({ ok: true }),
  });
  try {
    await withServer(async (s) => {
      await addSecret(s, { name: "KEY_DEFAULT", type: "api_key", value: "key-default-1" });
      await addSecret(s, {
        name: "KEY_NAMED",
        type: "api_key",
        value: { key: "key-named-2", in: "header", name: "X-Custom-Key" },
      });
      await addSecret(s, {
        name: "KEY_QUERY",
        type: "api_key",
        value: { key: "a b&c=d/é", in: "query", name: "apikey" },
      });
      await addSecret(s, {
        name: "KEY_QUERY_DEFAULT",
        type: "api_key",
        value: { key: "qk", in: "query" },
      });
      await addSecret(s, { name: "TOKEN", type: "bearer_token", value: "bearer-tok-3" });
      await addSecret(s, {
        name: "BASIC",
        type: "basic_auth",
        value: { username: "svc-user", password: "p@ss:wörd" },
      });
      await addSecret(s, {
        name: "HEADERS",
        type: "custom_headers",
        value: { headers: { "X-Tenant": "acme", "X-Signature": "sig-4" } },
      });
      const names = [
        "KEY_DEFAULT",
        "KEY_NAMED",
        "KEY_QUERY",
        "KEY_QUERY_DEFAULT",
        "TOKEN",
        "BASIC",
        "HEADERS",
      ];
      const gw = await toolGateway(
        s,
        names.map((n) =>
          httpTool(`auth_${n.toLowerCase()}`, `${up.url}/echo?x=1`, {
            auth: { secret: n },
            // The auth header wins over the tool's own header of the same name.
            headers: { Authorization: "Bearer from-tool", Accept: "application/json" },
          })
        ),
      );
      for (const n of names) {
        const result = await gw.call(`auth_${n.toLowerCase()}`);
        assert.equal(result.isError, undefined, JSON.stringify(result));
      }
      const seen = up.to("/echo");
      assert.equal(seen.length, names.length);
      const [keyDefault, keyNamed, keyQuery, keyQueryDefault, token, basic, headers] = seen;
      assert.equal(keyDefault.headers["x-api-key"], "key-default-1");
      assert.equal(keyDefault.query, "x=1");
      assert.equal(keyNamed.headers["x-custom-key"], "key-named-2");
      assert.equal(keyNamed.headers["x-api-key"], undefined);
      assert.equal(keyQuery.query, `x=1&apikey=${encodeURIComponent("a b&c=d/é")}`);
      assert.equal(keyQuery.headers["x-api-key"], undefined);
      assert.equal(keyQueryDefault.query, "x=1&api_key=qk");
      assert.equal(token.headers.authorization, "Bearer bearer-tok-3");
      assert.equal(
        basic.headers.authorization,
        `Basic ${b64(String.fromCharCode(...new TextEncoder().encode("svc-user:p@ss:wörd")))}`,
      );
      assert.equal(headers.headers["x-tenant"], "acme");
      assert.equal(headers.headers["x-signature"], "sig-4");
      assert.equal(headers.headers.authorization, "Bearer from-tool");
      for (const r of seen) assert.equal(r.headers.accept, "application/json");
    });
  } finally {
    await up.close();
  }
});

Deno.test("templates fill each type's value; custom headers only work as auth", async () => {
  const up = startUpstream({ "/t": () => Response.json({ ok: true }) });
  try {
    await withServer(async (s) => {
      await addSecret(s, {
        name: "KEY",
        type: "api_key",
        value: { key: "tk/1", in: "query", name: "ignored" },
      });
      await addSecret(s, { name: "TOKEN", type: "bearer_token", value: "tok-2" });
      await addSecret(s, {
        name: "BASIC",
        type: "basic_auth",
        value: { username: "u", password: "p" },
      });
      await addSecret(s, {
        name: "HEADERS",
        type: "custom_headers",
        value: { headers: { "X-A": "aaaa" } },
      });
      const gw = await toolGateway(s, [
        httpTool("templated", `${up.url}/t`, {
          method: "POST",
          headers: { Authorization: "Bearer {{secrets.TOKEN}}", "X-Basic": "{{secrets.BASIC}}" },
          queryParams: { key: "{{secrets.KEY}}" },
          body: { token: "{{secrets.TOKEN}}" },
        }),
        httpTool("headers_as_template", `${up.url}/t`, {
          headers: { "X-A": "{{secrets.HEADERS}}" },
        }),
        httpTool("missing_template", `${up.url}/t`, { headers: { "X-A": "{{secrets.NOPE}}" } }),
        httpTool("missing_auth", `${up.url}/t`, { auth: { secret: "ALSO_NOPE" } }),
      ]);
      const ok = await gw.call("templated");
      assert.equal(ok.isError, undefined, JSON.stringify(ok));
      const [r] = up.to("/t");
      assert.equal(r.headers.authorization, "Bearer tok-2");
      assert.equal(r.headers["x-basic"], "u:p");
      assert.equal(r.query, "key=tk%2F1");
      assert.deepEqual(JSON.parse(r.body), { token: "tok-2" });

      const custom = await gw.call("headers_as_template");
      assert.equal(custom.isError, true);
      assert.match(
        resultText(custom),
        /secret 'HEADERS' holds custom headers.*executionConfig\.auth/,
      );
      const missing = await gw.call("missing_template");
      assert.equal(missing.isError, true);
      assert.match(resultText(missing), /secret 'NOPE' not configured/);
      const missingAuth = await gw.call("missing_auth");
      assert.equal(missingAuth.isError, true);
      assert.match(
        resultText(missingAuth),
        /secret 'ALSO_NOPE' \(executionConfig\.auth\) not configured/,
      );
      assert.equal(up.to("/t").length, 1, "no request is sent when a secret is missing");
    });
  } finally {
    await up.close();
  }
});

Deno.test("an update or delete applies to the very next call (nothing stale is cached)", async () => {
  const up = startUpstream({ "/t": () => Response.json({ ok: true }) });
  try {
    await withServer(async (s) => {
      const secret = await addSecret(s, { name: "TOKEN", type: "bearer_token", value: "old-1" });
      const gw = await toolGateway(s, [
        httpTool("t", `${up.url}/t`, { auth: { secret: "TOKEN" } }),
      ]);
      await gw.call("t");
      expectStatus(await s.api("PATCH", `/secrets/${secret.id}`, { value: "new-2" }), 200);
      await gw.call("t");
      expectStatus(
        await s.api("PATCH", `/secrets/${secret.id}`, {
          type: "api_key",
          value: { key: "key-3", name: "X-Key" },
        }),
        200,
      );
      await gw.call("t");
      expectStatus(await s.api("DELETE", `/secrets/${secret.id}`), 204);
      const gone = await gw.call("t");
      assert.equal(gone.isError, true);
      assert.match(resultText(gone), /secret 'TOKEN' \(executionConfig\.auth\) not configured/);
      const seen = up.to("/t");
      assert.deepEqual(
        seen.map((r) => [r.headers.authorization, r.headers["x-key"]]),
        [["Bearer old-1", undefined], ["Bearer new-2", undefined], [undefined, "key-3"]],
      );
    });
  } finally {
    await up.close();
  }
});

Deno.test("auth headers are dropped when a redirect leaves the origin", async () => {
  const other = startUpstream({ "/landing": () => Response.json({ landed: true }) });
  const up = startUpstream({
    "/start": () =>
      new Response(null, { status: 302, headers: { location: `${other.url}/landing` } }),
  });
  try {
    await withServer(async (s) => {
      await addSecret(s, { name: "KEY", type: "api_key", value: "redirect-key" });
      await addSecret(s, {
        name: "HEADERS",
        type: "custom_headers",
        value: { headers: { "X-Sig": "redirect-sig" } },
      });
      const gw = await toolGateway(s, [
        httpTool("key", `${up.url}/start`, { auth: { secret: "KEY" } }),
        httpTool("headers", `${up.url}/start`, { auth: { secret: "HEADERS" } }),
      ]);
      for (const name of ["key", "headers"]) {
        assert.equal(resultText(await gw.call(name)), '{"landed":true}');
      }
      assert.equal(up.to("/start")[0].headers["x-api-key"], "redirect-key");
      assert.equal(up.to("/start")[1].headers["x-sig"], "redirect-sig");
      for (const r of other.to("/landing")) {
        assert.equal(r.headers["x-api-key"], undefined);
        assert.equal(r.headers["x-sig"], undefined);
      }
    });
  } finally {
    await up.close();
    await other.close();
  }
});

Deno.test("executionConfig.auth is validated when a tool is saved", async () => {
  await withServer(async (s) => {
    const tool = (auth: unknown) => httpTool("t", "https://api.example.com/x", { auth });
    expectFieldError(await s.api("POST", "/tools", tool("TOKEN")), 400, "executionConfig.auth");
    expectFieldError(
      await s.api("POST", "/tools", tool({ secret: "bad-name" })),
      400,
      "executionConfig.auth.secret",
    );
    expectFieldError(await s.api("POST", "/tools", tool({})), 400, "executionConfig.auth.secret");
    expectFieldError(
      await s.api("POST", "/tools", tool({ secret: "A", scheme: "x" })),
      400,
      "executionConfig.auth.scheme",
    );
    const created = expectStatus(await s.api("POST", "/tools", tool({ secret: "A_1" })), 201).body;
    assert.deepEqual(created.executionConfig.auth, { secret: "A_1" });
  });
});
