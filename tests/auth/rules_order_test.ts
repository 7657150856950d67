/**
 * What every auth method may carry besides its credential, and how several
 * combine: `validationRules` (client address ranges, honouring trusted
 * proxies, and required headers), `order`, `required`, two `jwt` methods for
 * two identity providers, and `PATCH /gateways/{id}/auth/{methodId}`, with
 * every bad input refused naming its field and the route closed to viewers
 * and other orgs.
 */
import assert from "node:assert/strict";
import {
  apiIn,
  createGateway,
  expectRpcError,
  issueKey,
  type Json,
  type McpTestServer,
  ok,
  req,
  rpc,
  type RpcAnswer,
  withMcpServer,
} from "../helpers/mcp.ts";
import { apiCall } from "../helpers/server.ts";
import { addUser, PASSWORD } from "../oauth/helpers.ts";
import {
  addMethod,
  AUDIENCE,
  bareGateway,
  expect401,
  ISSUER,
  jwtSettings,
  makeKey,
  mint,
  standardTools,
  withAuthServer,
} from "./helpers.ts";

const LIST = req(1, "tools/list");
const CALL = req(2, "tools/call", { name: "echo", arguments: { text: "hi" } });

function expectOk(a: RpcAnswer): void {
  assert.equal(a.status, 200, a.text);
}

const patch = (s: McpTestServer, gwId: string, methodId: string, body: unknown) =>
  apiIn(s, "default")("PATCH", `/gateways/${gwId}/auth/${methodId}`, body);

Deno.test("allowedIpRanges: the client address must be in a range; a PATCH applies to the next request; no SQL per request", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const [method] = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    ok(await patch(s, gw.id, method.id, { validationRules: { allowedIpRanges: ["10.0.0.0/8"] } }));
    const refused = expect401(await rpc(gw.url, LIST, { key: gw.key }));
    assert.match(refused, /client address 127\.0\.0\.1 is not in the method's allowedIpRanges/);
    // A forwarded address from a peer that is not a trusted proxy is ignored.
    expect401(
      await rpc(gw.url, LIST, { key: gw.key, headers: { "x-forwarded-for": "10.1.2.3" } }),
      /127\.0\.0\.1 is not in/,
    );
    // SSE is refused at the stream too.
    const sse = await fetch(`${gw.url}/sse`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${gw.key}` },
    });
    await sse.body?.cancel();
    assert.equal(sse.status, 401);

    const updated = ok(
      await patch(s, gw.id, method.id, {
        validationRules: { allowedIpRanges: ["2001:db8::/32", "127.0.0.0/8"] },
      }),
    );
    assert.deepEqual(updated.validationRules, {
      allowedIpRanges: ["2001:db8::/32", "127.0.0.0/8"],
    });
    let lists = 0;
    const methods = s.store.authMethods;
    const list0 = methods.list.bind(methods);
    methods.list = (id) => (lists++, list0(id));
    for (let i = 0; i < 20; i++) expectOk(await rpc(gw.url, LIST, { key: gw.key }));
    assert.equal(lists, 1, "the ranges were compiled once");
    // Null removes the rules.
    assert.equal(
      ok(await patch(s, gw.id, method.id, { validationRules: null })).validationRules,
      null,
    );
    expectOk(await rpc(gw.url, LIST, { key: gw.key }));
  });
});

Deno.test("allowedIpRanges honour X-Forwarded-For from GATEHOUSE_TRUSTED_PROXIES, IPv4 and IPv6", async () => {
  await withMcpServer(
    async (s) => {
      const gw = await createGateway(s, { tools: [{ name: "echo" }] });
      const [method] = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
      ok(
        await patch(s, gw.id, method.id, {
          validationRules: { allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"] },
        }),
      );
      const from = (xff: string) =>
        rpc(gw.url, LIST, { key: gw.key, headers: { "x-forwarded-for": xff } });
      expectOk(await from("203.0.113.9"));
      expectOk(await from("2001:db8:1::7"));
      // The nearest untrusted hop counts, not what the client wrote first.
      expectOk(await from("198.51.100.1, 203.0.113.50"));
      expect401(await from("203.0.113.50, 198.51.100.1"), /198\.51\.100\.1 is not in/);
      expect401(await from("2001:db9::1"), /2001:db9::1 is not in/);
      expect401(await rpc(gw.url, LIST, { key: gw.key }), /127\.0\.0\.1 is not in/);
    },
    {},
    { trustedProxies: ["127.0.0.1"] },
  );
});

Deno.test("requiredHeaders: exact values or presence, never echoed; on HTTP and WebSocket", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const [method] = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    const stored = ok(
      await patch(s, gw.id, method.id, {
        validationRules: { requiredHeaders: { "X-Team": "tools-team", "X-Trace-Id": true } },
      }),
    );
    assert.deepEqual(stored.validationRules.requiredHeaders, {
      "x-team": "tools-team",
      "x-trace-id": true,
    });
    const withHeaders = (h: Record<string, string>) =>
      rpc(gw.url, LIST, { key: gw.key, headers: h });
    expect401(
      await withHeaders({ "x-trace-id": "1" }),
      /header 'x-team' the method requires is missing/,
    );
    const wrong = expect401(await withHeaders({ "x-team": "other-team", "x-trace-id": "1" }));
    assert.match(wrong, /header 'x-team' does not have the value the method requires/);
    assert.doesNotMatch(wrong, /tools-team|other-team/);
    expect401(
      await withHeaders({ "x-team": "tools-team" }),
      /'x-trace-id' the method requires is missing/,
    );
    expectOk(await withHeaders({ "X-Team": "tools-team", "x-trace-id": "" }));

    // Browsers' WebSockets cannot send such headers: refused at the upgrade.
    const socket = new WebSocket(`${gw.url.replace(/^http/, "ws")}/ws`, [
      "mcp",
      `bearer.${gw.key}`,
    ]);
    const outcome = await new Promise<string>((resolve) => {
      socket.onopen = () => resolve("open");
      socket.onerror = () => resolve("refused");
    });
    if (outcome === "open") socket.close();
    assert.equal(outcome, "refused");
  });
});

Deno.test("order decides who the caller is; PATCH order swaps it on the next request", async () => {
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    const keyMethod = await addMethod(s, gw, "api_key");
    const open = await addMethod(s, gw, "none");
    assert.deepEqual([keyMethod.order, open.order], [1, 2]);
    const reader = (await issueKey(s, gw, ["tools:read"])).key;
    // api_key first: the read-only key is its principal, and cannot call.
    expectRpcError(await rpc(gw.url, CALL, { key: reader }), 403, -32600, 2);
    expectOk(await rpc(gw.url, CALL));
    // none first: everyone is anonymous, the same key included.
    ok(await patch(s, gw.id, open.id, { order: 0 }));
    const listed = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    assert.deepEqual(listed.map((m: Json) => m.type), ["none", "api_key"]);
    expectOk(await rpc(gw.url, CALL, { key: reader }));
    // A new method without an order goes after the existing ones (none 0, api_key 1).
    const last = await addMethod(s, gw, "bearer");
    assert.equal(last.order, 2);
    const types = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods.map((m: Json) =>
      m.type
    );
    assert.deepEqual(types, ["none", "api_key", "bearer"]);
  });
});

Deno.test("required: every required method must accept as well; the first accepting in order names the caller", async () => {
  const idp = await makeKey("ES256");
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    const keyMethod = await addMethod(s, gw, "api_key");
    const jwtMethod = await addMethod(s, gw, "jwt", {
      issuer: ISSUER,
      audience: AUDIENCE,
      publicKeyPem: idp.pem,
    });
    ok(await patch(s, gw.id, keyMethod.id, { required: true }));
    ok(await patch(s, gw.id, jwtMethod.id, { required: true }));
    const key = (await issueKey(s, gw, ["tools:read"])).key;
    const token = await mint(idp, { claims: { scope: "tools:read tools:execute" } });
    const both = { headers: { "x-api-key": key, authorization: `Bearer ${token}` } };

    expect401(await rpc(gw.url, LIST, { key }), /the required 'jwt' method refused the request/);
    expect401(await rpc(gw.url, LIST, { key: token }), /the required 'api_key' method refused/);
    expect401(
      await rpc(gw.url, LIST),
      /required .* method refused the request: missing credentials/,
    );
    expectOk(await rpc(gw.url, LIST, both));
    // The key (first in order) is the caller: its read-only scope holds though the JWT has more.
    expectRpcError(await rpc(gw.url, CALL, both), 403, -32600, 2);
    // An expired JWT fails the required method even with a good key.
    const expired = await mint(idp, { claims: { exp: Math.floor(Date.now() / 1000) - 600 } });
    expect401(
      await rpc(gw.url, LIST, {
        headers: { "x-api-key": key, authorization: `Bearer ${expired}` },
      }),
      /required 'jwt' method refused the request: .*expired/,
    );
    // Required `none` with a range is a gateway-wide address rule.
    const fenced = await createGateway(s, { tools: await standardTools(s) });
    const rule = await addMethod(s, fenced, "none");
    ok(
      await patch(s, fenced.id, rule.id, {
        required: true,
        validationRules: { allowedIpRanges: ["10.0.0.0/8"] },
      }),
    );
    expect401(
      await rpc(fenced.url, LIST, { key: fenced.key }),
      /required 'none' method refused the request: the client address 127\.0\.0\.1/,
    );
  });
});

Deno.test("two jwt methods serve two identity providers; other types stay one per gateway", async () => {
  const first = await makeKey("RS256");
  const second = await makeKey("ES256");
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    await addMethod(s, gw, "jwt", { issuer: ISSUER, audience: AUDIENCE, publicKeyPem: first.pem });
    await addMethod(s, gw, "jwt", {
      issuer: "https://login.partner.test",
      audience: AUDIENCE,
      publicKeyPem: second.pem,
    });
    expectOk(await rpc(gw.url, LIST, { key: await mint(first) }));
    expectOk(
      await rpc(gw.url, LIST, {
        key: await mint(second, { claims: { iss: "https://login.partner.test" } }),
      }),
    );
    // A token of the second provider claiming the first's issuer is refused by both.
    expect401(await rpc(gw.url, LIST, { key: await mint(second) }));
    expect401(
      await rpc(gw.url, LIST),
      /send a JWT from https:\/\/idp\.test.* or a JWT from https:\/\/login\.partner\.test/,
    );
    for (const type of ["api_key", "bearer", "basic", "oauth2", "none"]) {
      await addMethod(s, gw, type);
      const again = await apiIn(s, "default")("POST", `/gateways/${gw.id}/auth`, { type });
      assert.equal(again.status, 409, type);
      assert.equal(again.body.error?.field, "type");
    }
  }, jwtSettings());
});

Deno.test("auth method input: every bad order, required or rule is a 400 naming the field; PATCH is closed to viewers and other orgs", async () => {
  await withAuthServer(async (s) => {
    const gw = await createGateway(s, { tools: await standardTools(s) });
    const [method] = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    const bad: [Json, string, RegExp][] = [
      [{ order: -1 }, "order", /integer from 0/],
      [{ order: 1.5 }, "order", /integer/],
      [{ required: "yes" }, "required", /true or false/],
      [{ validationRules: [] }, "validationRules", /object or null/],
      [{ validationRules: { allowed: [] } }, "validationRules.allowed", /unknown field/],
      [{ validationRules: { allowedIpRanges: [] } }, "validationRules.allowedIpRanges", /1 to 100/],
      [
        { validationRules: { allowedIpRanges: ["10.0.0.0/8", "::1", "300.1.1.1/8"] } },
        "validationRules.allowedIpRanges[2]",
        /CIDR block/,
      ],
      [
        { validationRules: { allowedIpRanges: ["10.0.0.1/8"] } },
        "validationRules.allowedIpRanges[0]",
        /past the prefix/,
      ],
      [
        { validationRules: { allowedIpRanges: ["2001:db8::/129"] } },
        "validationRules.allowedIpRanges[0]",
        /CIDR/,
      ],
      [{ validationRules: { allowedIpRanges: [7] } }, "validationRules.allowedIpRanges[0]", /CIDR/],
      [{ validationRules: { requiredHeaders: {} } }, "validationRules.requiredHeaders", /1 to 20/],
      [
        { validationRules: { requiredHeaders: { Authorization: "Bearer x" } } },
        "validationRules.requiredHeaders.Authorization",
        /carries credentials/,
      ],
      [
        { validationRules: { requiredHeaders: { "bad name": "x" } } },
        "validationRules.requiredHeaders.bad name",
        /header name/,
      ],
      [
        { validationRules: { requiredHeaders: { "X-A": "line\nbreak" } } },
        "validationRules.requiredHeaders.X-A",
        /visible ASCII/,
      ],
      [
        { validationRules: { requiredHeaders: { "X-A": false } } },
        "validationRules.requiredHeaders.X-A",
        /true/,
      ],
      [{ type: "none" }, "type", /cannot change/],
      [{ configuration: { x: 1 } }, "configuration.x", /takes no configuration/],
    ];
    for (const [body, field, message] of bad) {
      for (
        const res of [
          await patch(s, gw.id, method.id, body),
          ...(body.type ? [] : [
            await apiIn(s, "default")("POST", `/gateways/${gw.id}/auth`, {
              type: "bearer",
              ...body,
            }),
          ]),
        ]
      ) {
        const label = JSON.stringify(body);
        assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error?.field, field, label);
        assert.match(res.body.error?.message ?? "", message, label);
      }
    }
    // Nothing changed.
    const [after] = ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods;
    assert.deepEqual(after, method);
    const missing = await patch(s, gw.id, "no-such-method", { order: 1 });
    assert.equal(missing.status, 404);

    // A viewer may read the methods but not change them.
    await addUser(s, "viewer@example.com", "viewer");
    const login = ok(
      await apiCall(s.url, undefined, "POST", "/login", {
        email: "viewer@example.com",
        password: PASSWORD,
        organization: "default",
      }),
      201,
    );
    const viewer = (m: string, p: string, b?: unknown) =>
      apiCall(s.url, login.accessKey.key, m, p, b);
    assert.equal((await viewer("GET", `/gateways/${gw.id}/auth`)).status, 200);
    const denied = await viewer("PATCH", `/gateways/${gw.id}/auth/${method.id}`, { order: 9 });
    assert.equal(denied.status, 403);
    // Another org's admin does not see the gateway at all.
    const other = ok(await s.api("POST", "/orgs", { name: "Other", slug: "other" }), 201);
    const otherKey = other.accessKey.key;
    const foreign = await apiCall(
      s.url,
      otherKey,
      "PATCH",
      `/gateways/${gw.id}/auth/${method.id}`,
      {
        order: 9,
      },
    );
    assert.equal(foreign.status, 404);
    assert.deepEqual(ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods[0], method);
  });
});
