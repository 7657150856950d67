import assert from "node:assert/strict";
import type { TestServer } from "../helpers/server.ts";
import {
  type Call,
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  ids,
  type Json,
  separateOrg,
  toolBody,
  withServer,
} from "./fixtures.ts";

/** One of everything in an org, made through the API by `call`. */
async function populate(call: Call, tag: string) {
  const gateway = await create(call, "/gateways", gatewayBody("/shared-endpoint"));
  const tool = await create(call, "/tools", toolBody(`tool_${tag}`));
  await create(call, `/gateways/${gateway.id}/tools`, { toolId: tool.id });
  const gatewayKey = await create(call, `/gateways/${gateway.id}/keys`, { name: `gk ${tag}` });
  const method = await create(call, `/gateways/${gateway.id}/auth`, { type: "api_key" });
  const accessKey = await create(call, "/keys", { name: `ak ${tag}` });
  return { gateway, tool, gatewayKey, method, accessKey };
}

/** Everything `call` can list, for before/after comparisons. */
async function snapshot(call: Call, gatewayId: string): Promise<Json> {
  return {
    gateways: (await call("GET", "/gateways")).body,
    tools: (await call("GET", "/tools")).body,
    keys: (await call("GET", "/keys")).body,
    assigned: (await call("GET", `/gateways/${gatewayId}/tools`)).body,
    gatewayKeys: (await call("GET", `/gateways/${gatewayId}/keys`)).body,
    methods: (await call("GET", `/gateways/${gatewayId}/auth`)).body,
  };
}

async function twoOrgs(s: TestServer) {
  const a = client(s, s.adminKey);
  const b = await separateOrg(s, "beta");
  return { a, b: b.call, inA: await populate(a, "a"), inB: await populate(b.call, "b") };
}

Deno.test("an org's lists show nothing of another org", async () => {
  await withServer(async (s) => {
    const { a, b, inA, inB } = await twoOrgs(s);
    assert.deepEqual(ids(await a("GET", "/gateways"), "gateways"), [inA.gateway.id]);
    assert.deepEqual(ids(await a("GET", "/tools"), "tools"), [inA.tool.id]);
    const aKeys = ids(await a("GET", "/keys"), "keys");
    assert.ok(aKeys.includes(inA.accessKey.id) && !aKeys.includes(inB.accessKey.id));
    assert.deepEqual(ids(await b("GET", "/gateways"), "gateways"), [inB.gateway.id]);
    assert.deepEqual(ids(await b("GET", "/tools"), "tools"), [inB.tool.id]);
    const bKeys = ids(await b("GET", "/keys"), "keys");
    assert.ok(bKeys.includes(inB.accessKey.id) && !bKeys.includes(inA.accessKey.id));
    const orgs = (await a("GET", "/orgs")).body.orgs.map((o: Json) => o.slug);
    assert.deepEqual(orgs, ["default"]);
    // The same endpoint in two orgs is two gateways at two URLs.
    assert.notEqual(inA.gateway.urls.http, inB.gateway.urls.http);
    assert.match(inB.gateway.urls.http, /\/mcp\/beta\/shared-endpoint$/);
  });
});

Deno.test("another org's resources answer 404 by id, for reads and writes alike", async () => {
  await withServer(async (s) => {
    const { a, b, inA, inB } = await twoOrgs(s);
    const before = await snapshot(b, inB.gateway.id);
    const g = inB.gateway.id;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/gateways/${g}`],
      ["PATCH", `/gateways/${g}`, { name: "hijacked" }],
      ["PUT", `/gateways/${g}`, gatewayBody("/hijacked")],
      ["DELETE", `/gateways/${g}`],
      ["GET", `/tools/${inB.tool.id}`],
      ["PATCH", `/tools/${inB.tool.id}`, { description: "hijacked" }],
      ["PUT", `/tools/${inB.tool.id}`, toolBody("hijacked")],
      ["DELETE", `/tools/${inB.tool.id}`],
      ["GET", `/keys/${inB.accessKey.id}`],
      ["DELETE", `/keys/${inB.accessKey.id}`],
      ["GET", `/gateways/${g}/tools`],
      ["POST", `/gateways/${g}/tools`, { toolId: inA.tool.id }],
      ["PATCH", `/gateways/${g}/tools/${inB.tool.id}`, { enabled: false }],
      ["DELETE", `/gateways/${g}/tools/${inB.tool.id}`],
      ["GET", `/gateways/${g}/keys`],
      ["POST", `/gateways/${g}/keys`, { name: "stolen" }],
      ["DELETE", `/gateways/${g}/keys/${inB.gatewayKey.id}`],
      ["GET", `/gateways/${g}/auth`],
      ["POST", `/gateways/${g}/auth`, { type: "none" }],
      ["DELETE", `/gateways/${g}/auth/${inB.method.id}`],
      // Org B's sub-resources reached through org A's own gateway.
      ["PATCH", `/gateways/${inA.gateway.id}/tools/${inB.tool.id}`, { enabled: false }],
      ["DELETE", `/gateways/${inA.gateway.id}/tools/${inB.tool.id}`],
      ["DELETE", `/gateways/${inA.gateway.id}/keys/${inB.gatewayKey.id}`],
      ["DELETE", `/gateways/${inA.gateway.id}/auth/${inB.method.id}`],
      ["GET", "/orgs/beta"],
      ["GET", "/orgs/beta/members"],
      ["POST", "/orgs/beta/members", { email: "spy@example.com", role: "owner" }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await a(method, path, body);
      expectError(res, 404);
      // The answer is the same as for an id that never existed.
      const fake = path.replace(g, crypto.randomUUID()).replace("beta", "no-such-org");
      assert.equal((await a(method, fake, body)).status, 404, `${method} ${fake}`);
    }
    assert.deepEqual(await snapshot(b, inB.gateway.id), before);
  });
});

Deno.test("assigning another org's tool fails as not found and assigns nothing", async () => {
  await withServer(async (s) => {
    const { a, inA, inB } = await twoOrgs(s);
    const own = await create(a, "/tools", toolBody("own_second"));
    const url = `/gateways/${inA.gateway.id}/tools`;
    const before = (await a("GET", url)).body;
    expectError(await a("POST", url, { toolId: inB.tool.id }), 404, "toolId");
    // In a bulk request one foreign id sinks the whole request.
    expectError(await a("POST", url, { toolIds: [own.id, inB.tool.id] }), 404, "toolIds");
    assert.deepEqual((await a("GET", url)).body, before);
  });
});

Deno.test("X-Organization cannot reach an org the caller is not in", async () => {
  await withServer(async (s) => {
    const { inB } = await twoOrgs(s);
    const intoBeta = client(s, s.adminKey, "beta");
    for (const path of ["/gateways", "/tools", "/keys", `/gateways/${inB.gateway.id}`]) {
      const res = await intoBeta("GET", path);
      expectError(res, 403);
      // Same answer as for an org that does not exist.
      const nowhere = await client(s, s.adminKey, "no-such-org")("GET", path);
      assert.equal(nowhere.status, 403);
    }
    expectError(await intoBeta("POST", "/gateways", gatewayBody("/sneaky")), 403);
  });
});

Deno.test("a user in two orgs acts in each with a key issued there", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    await create(admin, "/orgs", { name: "Acme", slug: "acme" });
    const acme = client(s, s.adminKey, "acme");
    const inAcme = await create(acme, "/gateways", gatewayBody("/my-tools"));
    assert.equal(inAcme.org, "acme");
    assert.equal(inAcme.urls.http, `${s.url}/mcp/acme/my-tools`);
    // Without the header the key acts in the org it was issued in.
    assert.deepEqual((await admin("GET", "/gateways")).body.gateways, []);
    expectError(await admin("GET", `/gateways/${inAcme.id}`), 404);
    expectStatus(await acme("GET", `/gateways/${inAcme.id}`), 200);
    const mine = (await admin("GET", "/orgs")).body.orgs.map((o: Json) => [o.slug, o.role]);
    assert.deepEqual(mine, [["default", "owner"], ["acme", "owner"]]);
  });
});
