import assert from "node:assert/strict";
import {
  type Call,
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  ids,
  join,
  type Json,
  memberWithKey,
  toolBody,
  withServer,
} from "./fixtures.ts";

/** Every read of the API, given a gateway, a tool and a key that exist. */
function reads(gw: string, tool: string, key: string): string[] {
  return [
    "/orgs",
    "/orgs/default",
    "/orgs/default/members",
    "/keys",
    `/keys/${key}`,
    "/gateways",
    `/gateways/${gw}`,
    `/gateways/${gw}/tools`,
    `/gateways/${gw}/keys`,
    `/gateways/${gw}/auth`,
    "/tools",
    `/tools/${tool}`,
  ];
}

Deno.test("a viewer reads everything and every write is refused with 403", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const gw = await create(owner, "/gateways", gatewayBody("/g"));
    const tool = await create(owner, "/tools", toolBody("t"));
    await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    const gk = await create(owner, `/gateways/${gw.id}/keys`, { name: "gk" });
    const method = await create(owner, `/gateways/${gw.id}/auth`, { type: "api_key" });
    const viewer = await memberWithKey(s, "viewer");
    const own = (await viewer.call("GET", "/keys")).body.keys[0];
    const ownerId = (await owner("GET", "/orgs/default/members")).body.members[0].userId;

    for (const path of reads(gw.id, tool.id, own.id)) {
      expectStatus(await viewer.call("GET", path), 200);
    }
    const before = await Promise.all(reads(gw.id, tool.id, own.id).map((p) => owner("GET", p)));
    const writes: [string, string, unknown?][] = [
      ["POST", "/gateways", gatewayBody("/v")],
      ["PATCH", `/gateways/${gw.id}`, { name: "v" }],
      ["PUT", `/gateways/${gw.id}`, gatewayBody("/v")],
      ["DELETE", `/gateways/${gw.id}`],
      ["POST", "/tools", toolBody("v")],
      ["PATCH", `/tools/${tool.id}`, { description: "v" }],
      ["PUT", `/tools/${tool.id}`, toolBody("v")],
      ["DELETE", `/tools/${tool.id}`],
      ["POST", `/gateways/${gw.id}/tools`, { toolId: tool.id, enabled: false }],
      ["PATCH", `/gateways/${gw.id}/tools/${tool.id}`, { enabled: false }],
      ["DELETE", `/gateways/${gw.id}/tools/${tool.id}`],
      ["POST", `/gateways/${gw.id}/keys`, { name: "v" }],
      ["DELETE", `/gateways/${gw.id}/keys/${gk.id}`],
      ["POST", `/gateways/${gw.id}/auth`, { type: "none" }],
      ["DELETE", `/gateways/${gw.id}/auth/${method.id}`],
      ["POST", "/keys", { name: "v" }],
      ["DELETE", `/keys/${own.id}`],
      ["POST", "/orgs/default/members", { email: "v@example.com", role: "viewer" }],
      ["PATCH", `/orgs/default/members/${viewer.userId}`, { role: "owner" }],
      ["DELETE", `/orgs/default/members/${ownerId}`],
    ];
    for (const [m, path, body] of writes) {
      const res = await viewer.call(m, path, body);
      expectError(res, 403);
      assert.equal(res.body.error.code, "forbidden", `${m} ${path}`);
    }
    const after = await Promise.all(reads(gw.id, tool.id, own.id).map((p) => owner("GET", p)));
    assert.deepEqual(after.map((r) => r.body), before.map((r) => r.body));
  });
});

Deno.test("a member writes gateways, tools and their parts, and manages only their own keys", async () => {
  await withServer(async (s) => {
    const member = await memberWithKey(s, "member");
    const m = member.call;
    const gw = await create(m, "/gateways", gatewayBody("/m"));
    const tool = await create(m, "/tools", toolBody("m"));
    expectStatus(await m("PATCH", `/gateways/${gw.id}`, { description: "edited" }), 200);
    expectStatus(await m("PATCH", `/tools/${tool.id}`, { description: "edited" }), 200);
    await create(m, `/gateways/${gw.id}/tools`, { toolIds: [tool.id] });
    await create(m, `/gateways/${gw.id}/keys`, { name: "client" });
    await create(m, `/gateways/${gw.id}/auth`, { type: "api_key" });
    const mine = await create(m, "/keys", { name: "second" });
    expectStatus(await m("DELETE", `/keys/${mine.id}`), 200);

    // Their list holds their own two keys only; the owner's list has those and more.
    const listed = (await m("GET", "/keys")).body.keys;
    assert.deepEqual(listed.map((k: Json) => k.userId), [member.userId, member.userId]);
    const all = ids(await client(s, s.adminKey)("GET", "/keys"), "keys");
    assert.ok(all.length > 2 && listed.every((k: Json) => all.includes(k.id)));
    const other = await memberWithKey(s, "member");
    const othersKey = ids(await other.call("GET", "/keys"), "keys")[0];
    expectError(await m("GET", `/keys/${othersKey}`), 403);
    expectError(await m("DELETE", `/keys/${othersKey}`), 403);
    // Nobody gets a key that acts as someone else.
    expectError(await m("POST", "/keys", { name: "for you", userId: other.userId }), 400, "userId");
    expectError(
      await m("POST", "/orgs/default/members", { email: "x@example.com", role: "viewer" }),
      403,
    );
    expectError(await m("PATCH", `/orgs/default/members/${other.userId}`, { role: "viewer" }), 403);
    expectError(await m("DELETE", `/orgs/default/members/${other.userId}`), 403);
    // The other member's key still works.
    expectStatus(await other.call("GET", "/gateways"), 200);
    expectStatus(await m("DELETE", `/gateways/${gw.id}`), 204);
    expectStatus(await m("DELETE", `/tools/${tool.id}`), 204);
  });
});

Deno.test("an admin manages members and their keys but cannot touch owners", async () => {
  await withServer(async (s) => {
    const admin = await memberWithKey(s, "admin");
    const a = admin.call;
    const owner = client(s, s.adminKey);
    const ownerId = (await owner("GET", "/orgs/default/members")).body.members[0].userId;
    const ownerKey = ids(await owner("GET", "/keys"), "keys")[0];

    const added = await join(s, a, "default", "new@example.com", "viewer");
    expectStatus(
      await a("PATCH", `/orgs/default/members/${added.userId}`, { role: "member" }),
      200,
    );
    // The newcomer's own key; the admin can see and revoke it, never mint one.
    expectError(await a("POST", "/keys", { name: "for new", userId: added.userId }), 400, "userId");
    const newcomer = client(s, added.key);
    await create(newcomer, "/tools", toolBody("by_newcomer"));
    const newcomersKey = ids(await newcomer("GET", "/keys"), "keys")[0];
    assert.ok(ids(await a("GET", "/keys"), "keys").includes(newcomersKey));
    expectStatus(await a("DELETE", `/keys/${newcomersKey}`), 200);
    expectError(await newcomer("GET", "/tools"), 401);

    // Owners are out of an admin's reach, including through their keys.
    expectError(
      await a("POST", "/orgs/default/members", { email: "o@example.com", role: "owner" }),
      403,
    );
    expectError(await a("PATCH", `/orgs/default/members/${added.userId}`, { role: "owner" }), 403);
    expectError(await a("PATCH", `/orgs/default/members/${ownerId}`, { role: "viewer" }), 403);
    expectError(await a("DELETE", `/orgs/default/members/${ownerId}`), 403);
    expectError(await a("POST", "/keys", { name: "mint", userId: ownerId }), 400, "userId");
    expectError(await a("DELETE", `/keys/${ownerKey}`), 403);
    expectStatus(await owner("GET", "/gateways"), 200);

    expectStatus(await a("DELETE", `/orgs/default/members/${added.userId}`), 204);
    const members = (await owner("GET", "/orgs/default/members")).body.members.map((x: Json) =>
      x.email
    );
    assert.ok(!members.includes("new@example.com"));
  });
});

Deno.test("the last owner can be neither demoted nor removed; a second owner unlocks it", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const ownerId = (await owner("GET", "/orgs/default/members")).body.members[0].userId;
    const demote = await owner("PATCH", `/orgs/default/members/${ownerId}`, { role: "admin" });
    expectError(demote, 409, "role");
    expectError(await owner("DELETE", `/orgs/default/members/${ownerId}`), 409, "userId");
    assert.equal((await owner("GET", "/orgs/default")).body.role, "owner");

    const second = await memberWithKey(s, "owner");
    expectStatus(await owner("PATCH", `/orgs/default/members/${ownerId}`, { role: "admin" }), 200);
    // Now the second owner is the last one.
    expectError(await second.call("DELETE", `/orgs/default/members/${second.userId}`), 409);
    expectStatus(await second.call("DELETE", `/orgs/default/members/${ownerId}`), 204);
    // A removed member's keys stop working at once.
    expectError(await owner("GET", "/gateways"), 401);
  });
});

Deno.test("a role change takes effect on the next request", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const member = await memberWithKey(s, "member");
    await create(member.call, "/tools", toolBody("before"));
    expectStatus(
      await owner("PATCH", `/orgs/default/members/${member.userId}`, { role: "viewer" }),
      200,
    );
    expectError(await member.call("POST", "/tools", toolBody("after")), 403);
    expectStatus(await member.call("GET", "/tools"), 200);
    expectStatus(
      await owner("PATCH", `/orgs/default/members/${member.userId}`, { role: "admin" }),
      200,
    );
    await create(member.call, "/orgs/default/members", {
      email: "by-admin@example.com",
      role: "member",
    });
  });
});

Deno.test("any member may create an organization and becomes its owner", async () => {
  await withServer(async (s) => {
    const viewer = await memberWithKey(s, "viewer");
    const org = await create(viewer.call, "/orgs", { name: "Side project", slug: "side" });
    assert.equal(org.role, "owner");
    const asSideOwner: Call = client(s, org.accessKey.key);
    await create(asSideOwner, "/gateways", gatewayBody("/side"));
    const inSide = await memberWithKey(s, "viewer", "side", asSideOwner);
    assert.equal((await inSide.call("GET", "/orgs/side")).body.role, "viewer");
  });
});
