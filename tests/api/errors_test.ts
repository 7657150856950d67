import assert from "node:assert/strict";
import { hashToken } from "../../src/auth/tokens.ts";
import { loadConfig } from "../../src/config.ts";
import { apiCall } from "../helpers/server.ts";
import {
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  join,
  memberWithKey,
  toolBody,
  withServer,
} from "./fixtures.ts";

Deno.test("401: no key, a malformed header, an unknown, revoked or expired key", async () => {
  await withServer(async (s) => {
    const noKey = await apiCall(s.url, undefined, "GET", "/gateways");
    expectError(noKey, 401);
    assert.equal(noKey.body.error?.code, "unauthorized");
    assert.match(noKey.headers.get("www-authenticate") ?? "", /^Bearer /);

    const basic = await fetch(`${s.url}/tools`, { headers: { authorization: "Basic YTpi" } });
    assert.equal(basic.status, 401);
    await basic.body?.cancel();
    expectError(await s.api("GET", "/tools", undefined, "gha_not_a_real_key_0000000000"), 401);

    const admin = client(s, s.adminKey);
    const issued = await create(admin, "/keys", { name: "short-lived" });
    expectStatus(await s.api("GET", "/gateways", undefined, issued.key as string), 200);
    expectStatus(await admin("DELETE", `/keys/${issued.id}`), 200);
    expectError(await s.api("GET", "/gateways", undefined, issued.key as string), 401);

    // An expiry in the past cannot be set through the API, so it is stored directly.
    const owner = (await s.store.accessKeys.list((await s.store.orgs.bySlug("default"))!.id))[0];
    const expired = "gha_expired_key_for_the_test_000000";
    await s.store.accessKeys.create(owner.orgId, owner.userId, {
      name: "expired",
      hash: hashToken(expired),
      prefix: expired.slice(0, 10),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expectError(await s.api("GET", "/gateways", undefined, expired), 401);
  });
});

Deno.test("401 on every management route before anything else is looked at", async () => {
  await withServer(async (s) => {
    const routes: [string, string][] = [
      ["POST", "/orgs"],
      ["GET", "/orgs/default/members"],
      ["DELETE", "/keys/x"],
      ["PUT", "/gateways/x"],
      ["POST", "/gateways/x/tools"],
      ["DELETE", "/gateways/x/keys/y"],
      ["GET", "/gateways/x/auth"],
      ["PATCH", "/tools/x"],
    ];
    for (const [method, path] of routes) {
      const body = method === "GET" ? undefined : { name: "x" };
      expectError(await apiCall(s.url, undefined, method, path, body), 401);
    }
  });
});

Deno.test("400 names the field at fault", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/base"));
    const cases: [string, string, unknown, string][] = [
      ["POST", "/gateways", { ...gatewayBody("/a"), name: undefined }, "name"],
      ["POST", "/gateways", gatewayBody("no-slash"), "endpoint"],
      ["POST", "/gateways", gatewayBody("/with space"), "endpoint"],
      ["POST", "/gateways", gatewayBody("/a/../b"), "endpoint"],
      ["POST", "/gateways", gatewayBody("/tools/sse"), "endpoint"],
      ["POST", "/gateways", gatewayBody("/tools/oauth/token"), "endpoint"],
      ["POST", "/gateways", gatewayBody("/a", { type: "rest" }), "type"],
      [
        "POST",
        "/gateways",
        gatewayBody("/a", { configuration: { transport: "ftp" } }),
        "configuration.transport",
      ],
      ["POST", "/gateways", gatewayBody("/a", { configuration: undefined }), "configuration"],
      ["POST", "/gateways", { ...gatewayBody("/a"), nmae: "typo" }, "nmae"],
      ["PATCH", `/gateways/${gw.id}`, { configuration: "sse" }, "configuration"],
      ["PATCH", `/gateways/${gw.id}`, { configuration: null }, "configuration"],
      ["PATCH", `/gateways/${gw.id}`, { name: "" }, "name"],
      ["POST", "/tools", toolBody("has space"), "name"],
      ["POST", "/tools", toolBody("t", { inputSchema: { type: "string" } }), "inputSchema.type"],
      ["POST", "/tools", toolBody("t", { inputSchema: [] }), "inputSchema"],
      [
        "POST",
        "/tools",
        toolBody("t", { inputSchema: { type: "object", properties: { a: { type: "strin" } } } }),
        "inputSchema",
      ],
      ["POST", "/tools", toolBody("t", { type: "grpc" }), "type"],
      ["POST", "/tools", toolBody("t", { executionConfig: undefined }), "executionConfig"],
      [
        "POST",
        "/tools",
        toolBody("t", { executionConfig: { method: "FETCH", url: "https://x.io" } }),
        "executionConfig.method",
      ],
      [
        "POST",
        "/tools",
        toolBody("t", { executionConfig: { method: "GET", url: "ftp://x.io" } }),
        "executionConfig.url",
      ],
      [
        "POST",
        "/tools",
        toolBody("t", {
          executionConfig: { method: "GET", url: "https://x.io/{{parameters.nope}}" },
        }),
        "executionConfig.url",
      ],
      ["POST", "/orgs", { name: "Acme", slug: "Not A Slug" }, "slug"],
      ["POST", "/keys", { name: "k", expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
      ["POST", "/keys", { name: "k", expiresAt: "soon" }, "expiresAt"],
      ["POST", `/gateways/${gw.id}/keys`, { name: "k", scopes: ["admin"] }, "scopes"],
      ["POST", `/gateways/${gw.id}/auth`, { type: "digest" }, "type"],
      [
        "POST",
        `/gateways/${gw.id}/auth`,
        { type: "api_key", configuration: { header: "X" } },
        "configuration.header",
      ],
      ["POST", `/gateways/${gw.id}/tools`, { toolIds: [] }, "toolIds"],
      ["POST", `/gateways/${gw.id}/tools`, { toolId: "a", toolIds: ["b"] }, "toolIds"],
      ["POST", `/gateways/${gw.id}/tools`, {}, "toolId"],
      ["POST", "/orgs/default/members", { email: "not-an-email", role: "member" }, "email"],
      ["POST", "/orgs/default/members", { email: "a@b.c", role: "god" }, "role"],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await admin(method, path, body);
      expectError(res, 400, field);
      assert.equal(res.body.error?.code, "invalid_request");
    }
    // Nothing was created or changed by any of them.
    assert.equal((await admin("GET", "/gateways")).body.gateways.length, 1);
    assert.deepEqual((await admin("GET", "/tools")).body.tools, []);
    assert.equal((await admin("GET", `/gateways/${gw.id}`)).body.configuration.transport, "http");
  });
});

Deno.test("400 for a body that is not a JSON object or nests absurdly deep", async () => {
  await withServer(async (s) => {
    const post = (body: string) =>
      fetch(`${s.url}/tools`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.adminKey}`, "content-type": "application/json" },
        body,
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    for (const body of ['{"name": ', "[1, 2]", "null", '"text"', "", "{'single': 1}"]) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.error.field, "body");
    }
    // Deep enough to overflow a recursive validator if it got that far.
    const deep = toolBody("deep", {
      executionConfig: { method: "POST", url: "https://x.io", body: "@" },
    });
    const text = JSON.stringify(deep).replace('"@"', "[".repeat(100_000) + "]".repeat(100_000));
    const res = await post(text);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, "body");
  });
});

Deno.test("415 when the body is not declared as JSON", async () => {
  await withServer(async (s) => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
      const headers: Record<string, string> = { authorization: `Bearer ${s.adminKey}` };
      if (type) headers["content-type"] = type;
      const res = await fetch(`${s.url}/gateways`, {
        method: "POST",
        headers,
        body: JSON.stringify(gatewayBody("/x")),
      });
      assert.equal(res.status, 415, String(type));
      assert.equal((await res.json()).error.code, "unsupported_media_type");
    }
    // The charset parameter and vendor +json types are JSON.
    const ok = await fetch(`${s.url}/gateways`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${s.adminKey}`,
        "content-type": "application/vnd.api+json; charset=utf-8",
      },
      body: JSON.stringify(gatewayBody("/x")),
    });
    assert.equal(ok.status, 201);
    await ok.body?.cancel();
  });
});

Deno.test("413 for a body over the limit, with or without Content-Length", async () => {
  await withServer(async (s) => {
    const big = JSON.stringify(
      toolBody("big", { description: "x".repeat(loadConfig([], () => undefined).maxBodyBytes) }),
    );
    const headers = { authorization: `Bearer ${s.adminKey}`, "content-type": "application/json" };
    const declared = await fetch(`${s.url}/tools`, { method: "POST", headers, body: big });
    assert.equal(declared.status, 413);
    assert.equal((await declared.json()).error.code, "payload_too_large");

    // Streamed (chunked): the limit is counted as the body arrives.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) {
          ctrl.enqueue(bytes.slice(i, i + 64 * 1024));
        }
        ctrl.close();
      },
    });
    const chunked = await fetch(`${s.url}/tools`, { method: "POST", headers, body: stream });
    assert.equal(chunked.status, 413);
    assert.equal((await chunked.json()).error.code, "payload_too_large");
    assert.deepEqual((await s.api("GET", "/tools")).body.tools, []);
  });
});

Deno.test("403 when the role is too low or X-Organization names an org the caller is not in", async () => {
  await withServer(async (s) => {
    const viewer = await memberWithKey(s, "viewer");
    const res = await viewer.call("POST", "/gateways", gatewayBody("/v"));
    expectError(res, 403);
    assert.equal(res.body.error?.code, "forbidden");
    const elsewhere = client(s, s.adminKey, "no-such-org");
    expectError(await elsewhere("GET", "/gateways"), 403);
  });
});

Deno.test("404 for unknown ids and unknown routes, in the error shape", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/g"));
    const missing = crypto.randomUUID();
    const paths: [string, string][] = [
      ["GET", `/gateways/${missing}`],
      ["PATCH", `/gateways/${missing}`],
      ["DELETE", `/gateways/${missing}`],
      ["GET", `/tools/${missing}`],
      ["DELETE", `/tools/${missing}`],
      ["GET", `/keys/${missing}`],
      ["DELETE", `/keys/${missing}`],
      ["GET", `/gateways/${missing}/tools`],
      ["DELETE", `/gateways/${gw.id}/tools/${missing}`],
      ["PATCH", `/gateways/${gw.id}/tools/${missing}`],
      ["DELETE", `/gateways/${gw.id}/keys/${missing}`],
      ["DELETE", `/gateways/${gw.id}/auth/${missing}`],
      ["GET", "/orgs/nope"],
      ["PATCH", `/orgs/default/members/${missing}`],
      ["GET", "/gateways/x/y/z"],
      ["GET", "/nothing-here"],
    ];
    for (const [method, path] of paths) {
      const body = method !== "PATCH"
        ? undefined
        : path.includes("/members/")
        ? { role: "member" }
        : path.includes("/tools/")
        ? { enabled: true }
        : {};
      const res = await admin(method, path, body);
      expectError(res, 404);
      assert.equal(res.body.error?.code, "not_found", `${method} ${path}`);
    }
    const res = await admin("POST", `/gateways/${gw.id}/tools`, { toolId: missing });
    expectError(res, 404, "toolId");
  });
});

Deno.test("409 for a value already taken, naming the field", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/taken"));
    const other = await create(admin, "/gateways", gatewayBody("/other"));
    expectError(await admin("POST", "/gateways", gatewayBody("/taken")), 409, "endpoint");
    expectError(
      await admin("PATCH", `/gateways/${other.id}`, { endpoint: "/taken" }),
      409,
      "endpoint",
    );
    const tool = await create(admin, "/tools", toolBody("one"));
    await create(admin, "/tools", toolBody("two"));
    expectError(await admin("POST", "/tools", toolBody("one")), 409, "name");
    expectError(await admin("PATCH", `/tools/${tool.id}`, { name: "two" }), 409, "name");
    expectError(await admin("POST", "/orgs", { name: "Again", slug: "default" }), 409, "slug");
    await join(s, admin, "default", "dup@example.com", "member");
    expectError(
      await admin("POST", "/orgs/default/members", { email: "DUP@example.com", role: "viewer" }),
      409,
      "email",
    );
    await create(admin, `/gateways/${gw.id}/auth`, { type: "api_key" });
    expectError(await admin("POST", `/gateways/${gw.id}/auth`, { type: "api_key" }), 409, "type");
    // The conflicting writes changed nothing.
    assert.equal((await admin("GET", `/gateways/${other.id}`)).body.endpoint, "/other");
    assert.equal((await admin("GET", `/tools/${tool.id}`)).body.name, "one");
  });
});

Deno.test("bad input of any shape is answered 4xx, never 500", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/fuzz"));
    const tool = await create(admin, "/tools", toolBody("fuzz"));
    const values: unknown[] = [
      null,
      0,
      -1.5,
      1e308,
      true,
      "",
      "\ud800",
      "x".repeat(5000),
      [],
      [null],
      {},
      JSON.parse('{"__proto__": {"polluted": true}}'),
      { type: "object", properties: "nope" },
    ];
    const targets: [string, string, string[]][] = [
      ["POST", "/gateways", ["name", "type", "endpoint", "configuration", "description"]],
      ["PATCH", `/gateways/${gw.id}`, ["name", "endpoint", "configuration", "description"]],
      ["PUT", `/gateways/${gw.id}`, ["name", "configuration"]],
      ["POST", "/tools", [
        "name",
        "inputSchema",
        "outputSchema",
        "annotations",
        "executionConfig",
        "title",
      ]],
      ["PATCH", `/tools/${tool.id}`, [
        "name",
        "inputSchema",
        "executionConfig",
        "annotations",
        "title",
      ]],
      ["POST", `/gateways/${gw.id}/tools`, ["toolId", "toolIds", "enabled"]],
      ["PATCH", `/gateways/${gw.id}/tools/${tool.id}`, ["enabled"]],
      ["POST", `/gateways/${gw.id}/keys`, ["name", "scopes", "expiresAt"]],
      ["POST", `/gateways/${gw.id}/auth`, ["type", "configuration"]],
      ["POST", "/keys", ["name", "expiresAt", "userId"]],
      ["POST", "/orgs", ["name", "slug"]],
      ["POST", "/orgs/default/members", ["email", "name", "role"]],
      ["PATCH", "/orgs/default/members/x", ["role"]],
    ];
    let requests = 0;
    for (const [method, path, fields] of targets) {
      const base = path === "/gateways"
        ? gatewayBody("/f")
        : path === "/tools"
        ? toolBody("f")
        : {};
      for (const field of fields) {
        for (const value of values) {
          const res = await admin(method, path, { ...base, [field]: value });
          requests++;
          assert.ok(
            res.status < 500,
            `${method} ${path} ${field}=${JSON.stringify(value)}: ${res.status}`,
          );
          if (res.status >= 400) expectError(res, res.status);
        }
      }
    }
    for (
      const id of ["%00", "%E0%A4%A", "..%2F..%2Fetc", "x".repeat(4000), "'; DROP TABLE tools;--"]
    ) {
      for (const path of [`/gateways/${id}`, `/tools/${id}`, `/keys/${id}`, `/orgs/${id}`]) {
        const res = await admin("GET", path);
        requests++;
        // A malformed escape is refused as such; anything else is just an unknown id.
        const want = id === "%E0%A4%A" ? 400 : 404;
        assert.ok(res.status === want, `${path}: ${res.status}`);
      }
    }
    assert.ok(requests > 500);
    // The one tool is still there and intact: no input corrupted it.
    expectStatus(await admin("GET", `/tools/${tool.id}`), 200);
  });
});
