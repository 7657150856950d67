/**
 * The audit trail on a real server with a real SQLite file: every write
 * route records its event, in the transaction of the change; `GET /audit`
 * pages and filters; only owners and admins of the org read it; and no
 * credential ever reaches it.
 */
import assert from "node:assert/strict";
import { hashToken } from "../../src/auth/tokens.ts";
import { isCredentialName, REDACTED, redacted } from "../../src/store/audit.ts";
import { apiCall, startTestServer, type TestServer } from "../helpers/server.ts";
import {
  appRoutes,
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  type Json,
  MEMBER_PASSWORD,
  memberWithKey,
  separateOrg,
  toolBody,
  withServer,
} from "./fixtures.ts";

/** Every event of the org `key` acts in, newest first, read a page of `limit` at a time. */
async function allEvents(s: TestServer, key: string, query = "", limit = 100): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `limit=${limit}${query ? `&${query}` : ""}${
      cursor ? `&cursor=${cursor}` : ""
    }`;
    const page: Json = expectStatus(await apiCall(s.url, key, "GET", `/audit?${q}`), 200).body;
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** A reader of the events of `key`'s org that answers, each time, the ones new since the last. */
function newEvents(s: TestServer, key: string): () => Promise<Json[]> {
  let seen = new Set<string>();
  return async () => {
    const all = await allEvents(s, key);
    const fresh = all.filter((e) => !seen.has(e.id)).reverse();
    seen = new Set(all.map((e) => e.id));
    return fresh;
  };
}

const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

Deno.test("every write route records its event, with the caller, the target and what changed", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const adminKey = (await s.store.accessKeys.byHash(hashToken(s.adminKey)))!;
    const covered = new Set<string>();
    const trails = new Map<string, () => Promise<Json[]>>();
    trails.set("default", newEvents(s, s.adminKey));
    // First run's own events come first.
    const first = await trails.get("default")!();
    assert.deepEqual(first.map((e) => [e.action, e.actor.type]), [
      ["org.create", "system"],
      ["access_key.create", "system"],
    ]);

    /**
     * Sends a write, expects `status` (2xx unless told), and checks that the org `org`
     * got exactly the events `expected` (action and, when given, target id), in order.
     */
    const step = async (
      template: string,
      method: string,
      path: string,
      body: unknown,
      expected: [string, string?][],
      opts: { key?: string | null; status?: number; org?: string } = {},
    ): Promise<Json> => {
      const key = opts.key === undefined ? s.adminKey : opts.key ?? undefined;
      const res = await apiCall(s.url, key, method, path, body);
      const status = opts.status ?? (method === "POST" ? 201 : res.status === 204 ? 204 : 200);
      expectStatus(res, status);
      if (res.status < 300) covered.add(`${method} ${template}`);
      const events = await trails.get(opts.org ?? "default")!();
      const label = `${method} ${path}`;
      assert.deepEqual(
        events.map((e) => e.action),
        expected.map(([a]) => a),
        `${label} recorded ${JSON.stringify(events, null, 1)}`,
      );
      expected.forEach(([, target], i) => {
        if (target !== undefined) assert.equal(events[i].target.id, target, label);
      });
      for (const e of events) {
        assert.ok(Date.parse(e.at) > Date.now() - 60_000, label);
        if (key === s.adminKey) {
          assert.deepEqual(e.actor, {
            type: "access_key",
            id: adminKey.id,
            userId: adminKey.userId,
            name: "owner@localhost",
          });
        }
      }
      return { body: res.body, events };
    };

    // Organizations: the new org's trail has its creation and the key that came with it.
    const acme = (await step("/orgs", "POST", "/orgs", { name: "Acme", slug: "acme" }, []))
      .body;
    const acmeKey = acme.accessKey.key;
    trails.set("acme", newEvents(s, acmeKey));
    const acmeFirst = await trails.get("acme")!();
    assert.deepEqual(acmeFirst.map((e) => [e.action, e.target.id]), [
      ["org.create", acme.id],
      ["access_key.create", acme.accessKey.id],
    ]);
    // Made with the admin key of `default`, acting as its holder.
    assert.equal(acmeFirst[0].actor.id, adminKey.id);
    assert.deepEqual(acmeFirst[0].changes, { name: { to: "Acme" }, slug: { to: "acme" } });
    const settings = { settings: { outbound: { allowLoopback: false } } };
    const patched = await step("/orgs/{slug}", "PATCH", "/orgs/acme", settings, [[
      "org.update",
      acme.id,
    ]], { key: acmeKey, org: "acme" });
    assert.deepEqual(patched.events[0].changes["settings.outbound"].to, { allowLoopback: false });

    // Members: invited, joined (a new account acting by its password), withdrawn.
    const invite = (email: string, role = "member") =>
      step("/orgs/{slug}/members", "POST", "/orgs/default/members", { email, role }, [[
        "member.invite",
      ]]);
    const invited = await invite("m@example.com");
    assert.equal(invited.events[0].target.id, invited.body.id);
    assert.deepEqual(invited.events[0].changes.role, { to: "member" });
    const joined = await step(
      "/invitations/accept",
      "POST",
      "/invitations/accept",
      {
        token: invited.body.token,
        password: MEMBER_PASSWORD,
        name: "M",
      },
      [["member.join"], ["access_key.create"]],
      { key: null },
    );
    const member = joined.body.member;
    assert.equal(joined.events[0].target.id, member.userId);
    assert.deepEqual(joined.events[0].actor, {
      type: "user",
      id: member.userId,
      userId: member.userId,
      name: "m@example.com",
    });
    assert.equal(joined.events[0].changes.account.to, "created");
    assert.equal(joined.events[1].target.id, joined.body.accessKey.id);
    const withdrawn = await invite("w@example.com", "viewer");
    await step(
      "/orgs/{slug}/invitations/{id}",
      "DELETE",
      `/orgs/default/invitations/${withdrawn.body.id}`,
      undefined,
      [["member.invite_withdraw", withdrawn.body.id]],
    );
    const memberPath = `/orgs/default/members/${member.userId}`;
    const demoted = await step("/orgs/{slug}/members/{userId}", "PATCH", memberPath, {
      role: "viewer",
    }, [["member.role_change", member.userId]]);
    assert.deepEqual(demoted.events[0].changes, { role: { from: "member", to: "viewer" } });

    // Passwords and sign-ins, failed ones included.
    const password = await step("/me/password", "PUT", "/me/password", {
      password: "correct horse",
    }, [["user.password_change", adminKey.userId]]);
    assert.deepEqual(password.events[0].changes, { password: { to: REDACTED } });
    const login = (pw: string) => ({
      email: "m@example.com",
      password: pw,
      organization: "default",
    });
    const failed = await step("/login", "POST", "/login", login("wrong password"), [[
      "user.login_failed",
      member.userId,
    ]], { key: null, status: 401 });
    assert.deepEqual(failed.events[0].changes, { clientAddress: { to: "127.0.0.1" } });
    const loggedIn = await step("/login", "POST", "/login", login(MEMBER_PASSWORD), [
      ["user.login", member.userId],
      ["access_key.create"],
    ], { key: null });
    assert.equal(loggedIn.events[1].target.id, loggedIn.body.accessKey.id);
    assert.equal(loggedIn.events[0].actor.type, "user");

    // Access keys.
    const spare = (await step("/keys", "POST", "/keys", { name: "spare" }, [[
      "access_key.create",
    ]])).body;
    const revoked = await step("/keys/{id}", "DELETE", `/keys/${spare.id}`, undefined, [[
      "access_key.revoke",
      spare.id,
    ]]);
    assert.deepEqual(revoked.events[0].changes.revokedAt.from, null);

    // Tools.
    const tool = (await step("/tools", "POST", "/tools", toolBody("get_users"), [["tool.create"]]))
      .body;
    const other = (await step("/tools", "POST", "/tools", toolBody("other"), [["tool.create"]]))
      .body;
    const toolPatch = await step("/tools/{id}", "PATCH", `/tools/${tool.id}`, {
      description: "new",
    }, [["tool.update", tool.id]]);
    assert.deepEqual(toolPatch.events[0].changes, {
      description: { from: "Retrieve a list of users with pagination", to: "new" },
    });
    await step("/tools/{id}", "PUT", `/tools/${tool.id}`, toolBody("get_users"), [[
      "tool.update",
      tool.id,
    ]]);

    // Secrets: metadata changes, and rotations that say so without the value.
    const secret = (await step("/secrets", "POST", "/secrets", {
      name: "API_TOKEN",
      type: "bearer_token",
      value: "tok-1",
    }, [["secret.create"]])).body;
    const secretPath = `/secrets/${secret.id}`;
    const described = await step("/secrets/{id}", "PATCH", secretPath, { description: "d" }, [[
      "secret.update",
      secret.id,
    ]]);
    assert.deepEqual(described.events[0].changes, { description: { from: "", to: "d" } });
    const rotated = await step("/secrets/{id}", "PATCH", secretPath, { value: "tok-2" }, [[
      "secret.rotate",
      secret.id,
    ]]);
    assert.deepEqual(rotated.events[0].changes, { value: { from: REDACTED, to: REDACTED } });
    await step("/secrets/{id}", "PUT", secretPath, {
      name: "API_TOKEN",
      type: "bearer_token",
      value: "tok-3",
    }, [["secret.rotate", secret.id]]);

    // Upstream servers (nothing listens at the URL; the routes answer all the same).
    const deadUrl = "http://127.0.0.1:9/mcp";
    const server = (await step("/servers", "POST", "/servers", {
      name: "dead",
      transport: "streamable-http",
      url: deadUrl,
      timeout: 2000,
    }, [["server.create"]])).body;
    const serverPath = `/servers/${server.id}`;
    await step("/servers/{id}", "PATCH", serverPath, { headers: { "X-A": "b" } }, [[
      "server.update",
      server.id,
    ]]);
    await step("/servers/{id}", "PUT", serverPath, {
      name: "dead",
      transport: "streamable-http",
      url: deadUrl,
      timeout: 2000,
    }, [["server.update", server.id]]);
    await step("/servers/{id}/refresh", "POST", `${serverPath}/refresh`, undefined, [[
      "server.refresh",
      server.id,
    ]], { status: 200 });

    // Gateways and their parts: all on the gateway's trail.
    const gw = (await step("/gateways", "POST", "/gateways", gatewayBody("/g"), [[
      "gateway.create",
    ]])).body;
    const gwPath = `/gateways/${gw.id}`;
    const gwPatch = await step("/gateways/{id}", "PATCH", gwPath, { name: "G" }, [[
      "gateway.update",
      gw.id,
    ]]);
    assert.deepEqual(gwPatch.events[0].changes, { name: { from: "Gateway /g", to: "G" } });
    await step("/gateways/{id}", "PUT", gwPath, gatewayBody("/g"), [["gateway.update", gw.id]]);
    const assigned = await step("/gateways/{id}/tools", "POST", `${gwPath}/tools`, {
      toolIds: [tool.id, other.id],
    }, [["gateway.tool.assign", gw.id]]);
    assert.deepEqual(assigned.events[0].changes, {
      [`tools.${tool.id}.enabled`]: { to: true },
      [`tools.${other.id}.enabled`]: { to: true },
    });
    const disabled = await step(
      "/gateways/{id}/tools/{toolId}",
      "PATCH",
      `${gwPath}/tools/${other.id}`,
      { enabled: false },
      [["gateway.tool.update", gw.id]],
    );
    assert.deepEqual(disabled.events[0].changes, {
      [`tools.${other.id}.enabled`]: { from: true, to: false },
    });
    await step(
      "/gateways/{id}/tools/{toolId}",
      "DELETE",
      `${gwPath}/tools/${other.id}`,
      undefined,
      [["gateway.tool.unassign", gw.id]],
    );
    // A change the server made, held for approval (written as the supervisor would).
    const stored = (await s.store.servers.find(server.id))!;
    const listing = (description: string) => ({
      tools: [{ name: "probe", description, inputSchema: { type: "object" } }],
      resources: [],
      resourceTemplates: [],
      prompts: [],
    });
    await s.store.serverItems.sync(stored, listing("first"));
    await s.store.serverItems.sync(stored, listing("second"));
    await step("/gateways/{id}/servers", "POST", `${gwPath}/servers`, {
      serverId: server.id,
      prefix: "dead",
    }, [["gateway.server.attach", gw.id]]);
    const held = expectStatus(await admin("GET", `${serverPath}/changes`), 200).body.changes[0];
    const approved = await step(
      "/servers/{id}/changes/{changeId}/approve",
      "POST",
      `${serverPath}/changes/${held.id}/approve`,
      undefined,
      [["server.approve", server.id]],
      { status: 200 },
    );
    assert.deepEqual(approved.events[0].changes, {
      "tools.probe.description": { from: "first", to: "second" },
    });
    await step(
      "/gateways/{id}/servers/{serverId}",
      "DELETE",
      `${gwPath}/servers/${server.id}`,
      undefined,
      [["gateway.server.detach", gw.id]],
    );
    const gk = await step("/gateways/{id}/keys", "POST", `${gwPath}/keys`, { name: "client" }, [[
      "gateway.key.issue",
      gw.id,
    ]]);
    assert.deepEqual(gk.events[0].changes[`keys.${gk.body.id}.name`], { to: "client" });
    const limited = await step(
      "/gateways/{id}/keys/{keyId}",
      "PATCH",
      `${gwPath}/keys/${gk.body.id}`,
      { rateLimit: { requests: 10, windowSeconds: 60 } },
      [["gateway.key.update", gw.id]],
      { status: 200 },
    );
    assert.deepEqual(limited.events[0].changes, {
      [`keys.${gk.body.id}.rateLimit`]: { from: null, to: { requests: 10, windowSeconds: 60 } },
    });
    const gkRevoked = await step(
      "/gateways/{id}/keys/{keyId}",
      "DELETE",
      `${gwPath}/keys/${gk.body.id}`,
      undefined,
      [["gateway.key.revoke", gw.id]],
    );
    assert.deepEqual(
      Object.keys(gkRevoked.events[0].changes),
      [`keys.${gk.body.id}.revokedAt`],
    );
    const method = (await step("/gateways/{id}/auth", "POST", `${gwPath}/auth`, {
      type: "api_key",
    }, [["gateway.auth_method.create", gw.id]])).body;
    const reordered = await step(
      "/gateways/{id}/auth/{methodId}",
      "PATCH",
      `${gwPath}/auth/${method.id}`,
      { order: 5 },
      [["gateway.auth_method.update", gw.id]],
    );
    assert.deepEqual(reordered.events[0].changes, {
      [`auth.${method.id}.order`]: { from: 1, to: 5 },
    });
    await step(
      "/gateways/{id}/auth/{methodId}",
      "DELETE",
      `${gwPath}/auth/${method.id}`,
      undefined,
      [["gateway.auth_method.delete", gw.id]],
    );

    // A member's own tool call changes nothing of the org: the request log records it, as it
    // records MCP clients' calls; the audit trail gets no event.
    await step("/gateways/{id}/call", "POST", `${gwPath}/call`, { name: "no_such_tool" }, [], {
      status: 200,
    });

    // Removals.
    await step("/tools/{id}", "DELETE", `/tools/${tool.id}`, undefined, [["tool.delete", tool.id]]);
    await step("/secrets/{id}", "DELETE", secretPath, undefined, [["secret.delete", secret.id]]);
    await step("/servers/{id}", "DELETE", serverPath, undefined, [["server.delete", server.id]]);
    const gone = await step("/gateways/{id}", "DELETE", gwPath, undefined, [[
      "gateway.delete",
      gw.id,
    ]]);
    assert.deepEqual(gone.events[0].changes.endpoint, { from: "/g" });
    const removed = await step("/orgs/{slug}/members/{userId}", "DELETE", memberPath, undefined, [[
      "member.remove",
      member.userId,
    ]]);
    // Their two keys (from joining and signing in) went with them.
    assert.deepEqual(removed.events[0].changes, {
      role: { from: "viewer" },
      accessKeyCount: { from: 2, to: 0 },
    });

    // Imported APIs.
    const spec = {
      openapi: "3.1.0",
      info: { title: "Walk", version: "1" },
      servers: [{ url: "https://walk.example.com" }],
      paths: {
        "/things": { get: { operationId: "getThings", responses: { 200: { description: "ok" } } } },
      },
    };
    const imported = await step("/apis", "POST", "/apis", { name: "walk", spec }, [[
      "api.import",
    ]]);
    assert.deepEqual(imported.events[0].changes["tools.created"], { to: 1 });
    const apiPath = `/apis/${imported.body.id}`;
    const reimported = await step("/apis/{id}", "PUT", apiPath, {
      name: "walk",
      spec: { ...spec, info: { title: "Walk", version: "2" } },
    }, [["api.reimport", imported.body.id]]);
    assert.deepEqual(reimported.events[0].changes.version, { from: "1", to: "2" });
    await step("/apis/{id}", "DELETE", apiPath, undefined, [["api.delete", imported.body.id]]);

    // Every write route of the app was walked, and recorded its event.
    const writes = [...await appRoutes()].filter((r) => WRITE_METHODS.includes(r.split(" ")[0]));
    assert.ok(writes.length >= 42, writes.join(", "));
    assert.deepEqual(
      writes.filter((r) => !covered.has(r)).sort(),
      [],
      "write routes the walk did not cover",
    );
  });
});

Deno.test("a refused change records nothing, and a change whose event cannot be written is not made", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const before = await allEvents(s, s.adminKey);
    expectStatus(await admin("POST", "/gateways", gatewayBody("/g")), 201);
    expectError(await admin("POST", "/gateways", gatewayBody("/g")), 409, "endpoint");
    expectError(await admin("POST", "/tools", toolBody("bad name")), 400, "name");
    expectError(await admin("DELETE", `/tools/${crypto.randomUUID()}`), 404);
    const after = await allEvents(s, s.adminKey);
    assert.deepEqual(after.slice(1), before);
    assert.equal(after[0].action, "gateway.create");

    // The event's insert fails: the change it describes is rolled back with it, and nobody is
    // told of it (the MCP layer's caches are invalidated only by committed changes).
    const record = s.store.audit.record;
    let notices = 0;
    const unsubscribe = s.store.changes.subscribe(() => notices++);
    s.store.audit.record = () => {
      throw new Error("disk full");
    };
    try {
      expectStatus(await admin("POST", "/tools", toolBody("lost")), 500);
      expectStatus(await admin("POST", "/gateways", gatewayBody("/lost")), 500);
      expectStatus(await admin("DELETE", `/gateways/${after[0].target.id}`), 500);
      const secret = { name: "LOST", type: "bearer_token", value: "v" };
      expectStatus(await admin("POST", "/secrets", secret), 500);
    } finally {
      s.store.audit.record = record;
      unsubscribe();
    }
    assert.equal(notices, 0);
    assert.deepEqual((await admin("GET", "/tools")).body.tools, []);
    const gateways = (await admin("GET", "/gateways")).body.gateways.map((g: Json) => g.endpoint);
    assert.deepEqual(gateways, ["/g"]);
    assert.deepEqual((await admin("GET", "/secrets")).body.secrets, []);
    assert.deepEqual(await allEvents(s, s.adminKey), after);
  });
});

Deno.test("no secret value, key, token or password ever reaches the trail", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const marks = {
      bearer: "bearer-value-5f1a9c",
      apiKey: "api-key-value-77d2e1",
      basicPassword: "basic-password-0c3b44",
      clientSecret: "client-secret-value-9ad0f3",
      rotated: "rotated-value-18e6b2",
      myPassword: "my own password 4471",
      literalHeader: "literal-header-token-6b51",
      literalEnv: "literal-env-token-a7c0",
    };
    const raw: string[] = [];
    const secret = await create(admin, "/secrets", {
      name: "TOKEN",
      type: "bearer_token",
      value: marks.bearer,
    });
    await create(admin, "/secrets", {
      name: "KEY",
      type: "api_key",
      value: { key: marks.apiKey, in: "header", name: "X-Api-Key" },
    });
    const basic = await create(admin, "/secrets", {
      name: "BASIC",
      type: "basic_auth",
      value: { username: "u", password: marks.basicPassword },
    });
    await create(admin, "/secrets", {
      name: "OAUTH",
      type: "oauth2_client_credentials",
      value: {
        tokenUrl: "https://auth.example.com/token",
        clientId: "c",
        clientSecret: marks.clientSecret,
      },
    });
    expectStatus(await admin("PATCH", `/secrets/${secret.id}`, { value: marks.rotated }), 200);
    expectStatus(
      await admin("PUT", `/secrets/${basic.id}`, {
        name: "BASIC",
        type: "basic_auth",
        value: { username: "u", password: marks.rotated },
      }),
      200,
    );
    const gw = await create(admin, "/gateways", gatewayBody("/g"));
    raw.push((await create(admin, `/gateways/${gw.id}/keys`, { name: "k" })).key);
    raw.push((await create(admin, "/keys", { name: "k" })).key);
    const invitation = await create(admin, "/orgs/default/members", {
      email: "n@example.com",
      role: "member",
    });
    raw.push(invitation.token);
    const joined = expectStatus(
      await apiCall(s.url, undefined, "POST", "/invitations/accept", {
        token: invitation.token,
        password: MEMBER_PASSWORD,
      }),
      201,
    ).body;
    raw.push(joined.accessKey.key);
    expectStatus(await admin("PUT", "/me/password", { password: marks.myPassword }), 204);
    const signedIn = expectStatus(
      await apiCall(s.url, undefined, "POST", "/login", {
        email: "owner@localhost",
        password: marks.myPassword,
        organization: "default",
      }),
      201,
    ).body;
    raw.push(signedIn.accessKey.key);
    // Credentials written in plain sight into settings are kept out as well.
    await create(
      admin,
      "/tools",
      toolBody("t", {
        executionConfig: {
          method: "GET",
          url: "https://api.example.com/users",
          headers: { Authorization: `Bearer ${marks.literalHeader}`, "X-Trace": "1" },
        },
      }),
    );
    await create(admin, "/servers", {
      name: "local",
      transport: "stdio",
      command: "true",
      env: { GITHUB_TOKEN: marks.literalEnv, LOG_LEVEL: "debug" },
    });

    const events = await allEvents(s, s.adminKey);
    const text = JSON.stringify(events);
    for (const value of [...Object.values(marks), ...raw, s.adminKey]) {
      assert.ok(!text.includes(value), `${value} is in the trail`);
    }
    // What is not a credential is kept, so the events still say what changed.
    const server = events.find((e) => e.action === "server.create");
    assert.deepEqual(server.changes.env.to, { GITHUB_TOKEN: REDACTED, LOG_LEVEL: "debug" });
    const tool = events.find((e) => e.action === "tool.create");
    assert.deepEqual(tool.changes.executionConfig.to.headers, {
      Authorization: REDACTED,
      "X-Trace": "1",
    });
    const rotations = events.filter((e) => e.action === "secret.rotate");
    assert.equal(rotations.length, 2);
    for (const e of rotations) assert.deepEqual(e.changes.value, { from: REDACTED, to: REDACTED });
  });
});

Deno.test("credential names are found in any spelling; names of vault secrets are kept", () => {
  const credentials = [
    "password",
    "PASSWORD",
    "currentPassword",
    "db_password",
    "clientSecret",
    "client_secret",
    "CLIENT-SECRET",
    "clientsecret",
    "ClientSecret",
    "apiKey",
    "api_key",
    "X-Api-Key",
    "APIKey",
    "apikey",
    "privateKey",
    "refreshToken",
    "access_token",
    "GITHUB_TOKEN",
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "credentials",
    "key",
  ];
  for (const name of credentials) assert.ok(isCredentialName(name), name);
  const kept = [
    "secret",
    "hs256Secret",
    "tokenUrl",
    "accessTokenTtlSeconds",
    "keyId",
    "prefix",
    "publicKeyPem",
    "name",
    "description",
    "monkey",
  ];
  for (const name of kept) assert.ok(!isCredentialName(name), name);
  assert.deepEqual(
    redacted({
      auth: { secret: "API_TOKEN" },
      headers: { "X-Token": "t", Accept: "json" },
      note: "sent as Bearer abc.def and gha_0123456789abcdefghij",
      template: "Bearer {{secrets.API_TOKEN}}",
      list: [{ password: 1 }],
    }),
    {
      auth: { secret: "API_TOKEN" },
      headers: { "X-Token": REDACTED, Accept: "json" },
      note: `sent as Bearer ${REDACTED} and ${REDACTED}`,
      template: "Bearer {{secrets.API_TOKEN}}",
      list: [{ password: REDACTED }],
    },
  );
});

Deno.test("GET /audit pages newest first and filters; bad filters are a 400 naming them", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const other = await memberWithKey(s, "admin");
    const gateways: Json[] = [];
    for (let i = 0; i < 7; i++) {
      gateways.push(await create(admin, "/gateways", gatewayBody(`/g${i}`)));
    }
    // Apart by a few ms on both sides: `middle` has millisecond precision, PostgreSQL's
    // timestamps microseconds, so an event in the same millisecond would sort after it.
    await new Promise((r) => setTimeout(r, 5));
    const middle = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await create(other.call, "/tools", toolBody("t"));
    expectStatus(await admin("PATCH", `/gateways/${gateways[3].id}`, { name: "renamed" }), 200);

    // Pages of 2 add up to the whole trail, each event once, newest first.
    const paged = await allEvents(s, s.adminKey, "", 2);
    const whole = await allEvents(s, s.adminKey);
    assert.deepEqual(paged, whole);
    assert.equal(new Set(whole.map((e) => e.id)).size, whole.length);
    assert.deepEqual(whole.slice(0, 2).map((e) => e.action), ["gateway.update", "tool.create"]);
    for (let i = 1; i < whole.length; i++) assert.ok(whole[i - 1].at >= whole[i].at);
    const first = expectStatus(await admin("GET", "/audit?limit=3"), 200).body;
    assert.equal(first.events.length, 3);
    assert.equal(typeof first.nextCursor, "string");

    const actions = async (query: string) =>
      (await allEvents(s, s.adminKey, query)).map((e) => `${e.action} ${e.target.name}`);
    const adminKeyId = (await s.store.accessKeys.byHash(hashToken(s.adminKey)))!.id;
    const otherKeyId = (await other.call("GET", "/keys")).body.keys
      .find((k: Json) => k.userId === other.userId).id;
    assert.deepEqual(await actions(`actor=${otherKeyId}`), ["tool.create t"]);
    // A person's id finds what any of their keys did, and their sign-ins and joining.
    assert.deepEqual(await actions(`actor=${other.userId}`), [
      "tool.create t",
      "access_key.create accepted invitation",
      `member.join ${other.email}`,
    ]);
    assert.equal((await actions(`actor=${adminKeyId}&action=gateway.create`)).length, 7);
    assert.deepEqual(await actions("action=gateway.update"), ["gateway.update renamed"]);
    assert.equal((await actions("action=gateway.")).length, 8);
    assert.deepEqual(await actions(`targetId=${gateways[3].id}`), [
      "gateway.update renamed",
      "gateway.create Gateway /g3",
    ]);
    assert.deepEqual(await actions("targetType=tool"), ["tool.create t"]);
    assert.deepEqual(await actions(`since=${middle}`), [
      "gateway.update renamed",
      "tool.create t",
    ]);
    assert.equal((await actions(`until=${middle}&action=gateway.`)).length, 7);
    assert.deepEqual(await actions(`since=${middle}&targetType=tool&actor=${other.userId}`), [
      "tool.create t",
    ]);
    assert.deepEqual(await actions("since=2999-01-01"), []);

    // A cursor goes on with the same filters only.
    const filtered = expectStatus(await admin("GET", "/audit?limit=2&action=gateway."), 200).body;
    expectError(
      await admin("GET", `/audit?limit=2&action=gateway.create&cursor=${filtered.nextCursor}`),
      400,
      "cursor",
    );
    const bad: [string, string][] = [
      ["since=yesterday", "since"],
      ["since=2026-13-45", "since"],
      ["until=12345", "until"],
      [`since=${middle}&until=2020-01-01T00:00:00Z`, "until"],
      ["action=gateway.explode", "action"],
      ["action=gate", "action"],
      ["action=", "action"],
      ["targetType=planet", "targetType"],
      ["actor=x&actor=y", "actor"],
      ["type=http", "type"],
      ["limit=0", "limit"],
      ["cursor=nope", "cursor"],
    ];
    for (const [query, field] of bad) {
      expectError(await admin("GET", `/audit?${query}`), 400, field);
    }
    // A forged cursor of the right shape but no event number.
    const forged = btoa(JSON.stringify({
      v: 1,
      s: JSON.parse(atob(first.nextCursor.replace(/-/g, "+").replace(/_/g, "/"))).s,
      k: ["x"],
    })).replace(/=+$/, "");
    expectError(await admin("GET", `/audit?limit=3&cursor=${forged}`), 400, "cursor");
  });
});

Deno.test("only owners and admins read the trail, of their own org only, and nobody changes it", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const admin = await memberWithKey(s, "admin");
    const member = await memberWithKey(s, "member");
    const viewer = await memberWithKey(s, "viewer");
    expectStatus(await admin.call("GET", "/audit"), 200);
    expectError(await member.call("GET", "/audit"), 403);
    expectError(await viewer.call("GET", "/audit"), 403);
    expectError(await apiCall(s.url, undefined, "GET", "/audit"), 401);

    // Revoked and expired keys read nothing.
    const spare = await create(admin.call, "/keys", { name: "spare" });
    expectStatus(await apiCall(s.url, spare.key, "GET", "/audit"), 200);
    expectStatus(await admin.call("DELETE", `/keys/${spare.id}`), 200);
    expectError(await apiCall(s.url, spare.key, "GET", "/audit"), 401);
    const soon = await create(admin.call, "/keys", {
      name: "soon",
      expiresAt: new Date(Date.now() + 300).toISOString(),
    });
    expectStatus(await apiCall(s.url, soon.key, "GET", "/audit"), 200);
    await new Promise((r) => setTimeout(r, 400));
    expectError(await apiCall(s.url, soon.key, "GET", "/audit"), 401);

    // Another org's events never show, either way round; its cursors are refused here.
    const elsewhere = await separateOrg(s, "elsewhere");
    const theirGateway = await create(elsewhere.call, "/gateways", gatewayBody("/theirs"));
    for (let i = 0; i < 3; i++) await create(elsewhere.call, "/tools", toolBody(`t${i}`));
    const ours = await create(owner, "/gateways", gatewayBody("/ours"));
    const mine = JSON.stringify(await allEvents(s, s.adminKey));
    const theirs = JSON.stringify(await allEvents(s, elsewhere.key));
    assert.ok(!mine.includes(theirGateway.id) && !mine.includes("elsewhere/"));
    assert.ok(mine.includes(ours.id));
    assert.ok(!theirs.includes(ours.id) && theirs.includes(theirGateway.id));
    assert.equal((await allEvents(s, elsewhere.key, `targetId=${ours.id}`)).length, 0);
    const page = expectStatus(await elsewhere.call("GET", "/audit?limit=1"), 200).body;
    expectError(await owner("GET", `/audit?limit=1&cursor=${page.nextCursor}`), 400, "cursor");
    expectError(
      await apiCall(s.url, s.adminKey, "GET", "/audit", undefined, {
        "x-organization": "elsewhere",
      }),
      403,
    );

    // No route changes or deletes an event, and the database refuses it too.
    const event = (await allEvents(s, s.adminKey))[0];
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      for (const path of ["/audit", `/audit/${event.id}`]) {
        expectError(await owner(method, path, method === "DELETE" ? undefined : {}), 404);
      }
    }
    await assert.rejects(
      s.store.db.run("UPDATE audit_events SET action = 'x' WHERE id = ?", event.id),
      /cannot be changed/,
    );
    await assert.rejects(
      s.store.db.run("DELETE FROM audit_events WHERE id = ?", event.id),
      /cannot be deleted/,
    );
    assert.deepEqual((await allEvents(s, s.adminKey))[0], event);
  });
});

Deno.test("GATEHOUSE_ADMIN_KEY added on a later start is recorded as the system's", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-audit-" });
  const first = await startTestServer({ dataDir, adminKey: `gha_first_${crypto.randomUUID()}` });
  await first.shutdown();
  const second = `gha_second_${crypto.randomUUID()}`;
  const s = await startTestServer({ dataDir, adminKey: second });
  try {
    const events = await allEvents(s, second);
    assert.deepEqual(events.map((e) => [e.action, e.actor.type, e.target.name]), [
      ["access_key.create", "system", "admin (GATEHOUSE_ADMIN_KEY)"],
      ["access_key.create", "system", "admin"],
      ["org.create", "system", "default"],
    ]);
    assert.ok(!JSON.stringify(events).includes(second));
  } finally {
    await s.close();
  }
});
