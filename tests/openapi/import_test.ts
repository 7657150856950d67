/**
 * The `/apis` routes: the forms a document may take (YAML, JSON, object,
 * Swagger 2.0), filters, server resolution, refusals with the parser's
 * reasons, the import body limit, re-imports that keep tool ids and
 * assignments, deletion, tool names, and isolation between organizations.
 */
import assert from "node:assert/strict";
import { stringify as toYaml } from "yaml";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstream } from "../tools/upstream.ts";
import {
  callTool,
  doc31,
  expectFail,
  expectOk,
  fixture,
  gatewayWith,
  importApi,
  type Json,
  OK,
  rpc,
  toolOf,
} from "./helpers.ts";

/** A small document: pets (tag `pets`) and users (tag `users`). */
function petsDoc(): Json {
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  return doc31({
    "/pets": {
      get: { operationId: "listPets", tags: ["pets"], summary: "List pets", responses: OK },
      post: {
        operationId: "createPet",
        tags: ["pets"],
        requestBody: {
          content: { "application/json": { schema: { type: "object" } } },
        },
        responses: OK,
      },
    },
    "/pets/{id}": {
      get: { operationId: "getPet", tags: ["pets"], parameters: [id], responses: OK },
      delete: { operationId: "deletePet", tags: ["pets"], parameters: [id], responses: OK },
    },
    "/users/{id}": {
      get: { operationId: "getUser", tags: ["users"], parameters: [id], responses: OK },
    },
  });
}

async function withServer(fn: (s: TestServer) => Promise<void>, overrides = {}): Promise<void> {
  const s = await startTestServer(overrides);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** The names of `api`'s tools, sorted. */
const namesOf = (api: Json): string[] => api.tools.map((t: Json) => t.name).sort();

/** Every tool of the org, by name. */
async function allTools(s: TestServer): Promise<Map<string, Json>> {
  const tools = expectOk(await s.api("GET", "/tools")).tools as Json[];
  return new Map(tools.map((t) => [t.name, t]));
}

Deno.test("a document as YAML text, JSON text or object gives the same tools", async () => {
  await withServer(async (s) => {
    const doc = petsDoc();
    const fromObject = await importApi(s, { name: "object", spec: doc });
    const fromJson = await importApi(s, { name: "json", spec: JSON.stringify(doc) });
    const fromYaml = await importApi(s, { name: "yaml", spec: toYaml(doc) });
    assert.deepEqual(namesOf(fromObject), [
      "createPet",
      "deletePet",
      "getPet",
      "getUser",
      "listPets",
    ]);
    // The same operations in the same org: later imports take suffixed names.
    assert.deepEqual(namesOf(fromJson), namesOf(fromObject).map((n) => `${n}_2`));
    assert.deepEqual(namesOf(fromYaml), namesOf(fromObject).map((n) => `${n}_3`));
    const tools = await allTools(s);
    for (const name of namesOf(fromObject)) {
      const [a, b, c] = [name, `${name}_2`, `${name}_3`].map((n) => tools.get(n));
      assert.deepEqual(b.inputSchema, a.inputSchema);
      assert.deepEqual(c.executionConfig, a.executionConfig);
    }
    assert.equal(fromObject.specHash, fromJson.specHash);
    assert.match(fromYaml.specHash, /^[0-9a-f]{64}$/);
    assert.equal(fromYaml.title, "Test API");
    assert.equal(fromYaml.specVersion, "3.1.0");

    const list = expectOk(await s.api("GET", "/apis")).apis as Json[];
    assert.deepEqual(list.map((a) => [a.name, a.toolCount]), [
      ["json", 5],
      ["object", 5],
      ["yaml", 5],
    ]);
    const one = expectOk(await s.api("GET", `/apis/${fromObject.id}`));
    assert.equal(one.tools.length, 5);
    assert.deepEqual(toolOf(one, "getPet"), {
      id: toolOf(fromObject, "getPet").id,
      name: "getPet",
      operationId: "getPet",
      method: "GET",
      path: "/pets/{id}",
    });
  });
});

Deno.test("Swagger 2.0 is converted: servers, form data, collectionFormat, body parameters", async () => {
  const up = startUpstream({ "/v1/pets/p%201": () => Response.json({ ok: true }) });
  await withServer(async (s) => {
    const swagger = {
      swagger: "2.0",
      info: { title: "Old API", version: "2" },
      host: "api.example.com",
      basePath: "/v1",
      schemes: ["https"],
      paths: {
        "/pets/{id}": {
          post: {
            operationId: "updatePet",
            summary: "Update a pet",
            consumes: ["application/x-www-form-urlencoded"],
            parameters: [
              { name: "id", in: "path", required: true, type: "string" },
              {
                name: "tags",
                in: "query",
                type: "array",
                items: { type: "string" },
                collectionFormat: "pipes",
              },
              { name: "name", in: "formData", type: "string", required: true },
            ],
            responses: { "200": { description: "ok" } },
          },
          put: {
            operationId: "replacePet",
            parameters: [
              { name: "id", in: "path", required: true, type: "string" },
              { name: "pet", in: "body", required: true, schema: { $ref: "#/definitions/Pet" } },
            ],
            responses: { "200": { description: "ok" } },
          },
        },
      },
      definitions: {
        Pet: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      },
    };
    const api = await importApi(s, { name: "old", spec: swagger });
    assert.equal(api.specVersion, "2.0");
    const tools = await allTools(s);
    const update = tools.get("updatePet");
    assert.equal(update.executionConfig.url, "https://api.example.com/v1/pets/{{parameters.id}}");
    assert.equal(update.executionConfig.bodyEncoding, "form");
    assert.deepEqual(update.executionConfig.parameters, [
      { name: "tags", in: "query", style: "pipeDelimited", explode: false },
    ]);
    assert.deepEqual(update.inputSchema.properties.body.required, ["name"]);
    const replace = tools.get("replacePet");
    assert.equal(replace.executionConfig.bodyEncoding, "json");
    assert.deepEqual(replace.inputSchema.properties.body.required, ["name"]);
    assert.deepEqual(replace.inputSchema.required, ["id", "body"]);

    // And the converted tool sends what the 2.0 document described.
    const local = await importApi(s, { name: "old-local", spec: swagger, baseUrl: `${up.url}/v1` });
    const url = await gatewayWith(s, "/old", [toolOf(local, "updatePet").id]);
    const result = await callTool(url, toolOf(local, "updatePet").name, {
      id: "p 1",
      tags: ["a", "b"],
      body: { name: "Rex" },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const r = up.requests[0];
    assert.deepEqual([r.method, r.path, r.query, r.body], [
      "POST",
      "/v1/pets/p%201",
      "tags=a|b",
      "name=Rex",
    ]);
  });
  await up.close();
});

Deno.test("include and exclude select operations by tag or operationId", async () => {
  await withServer(async (s) => {
    const pets = await importApi(s, { name: "a", spec: petsDoc(), include: ["pets"] });
    assert.deepEqual(namesOf(pets), ["createPet", "deletePet", "getPet", "listPets"]);
    assert.deepEqual(pets.include, ["pets"]);
    const some = await importApi(s, {
      name: "b",
      spec: petsDoc(),
      include: ["getUser", "pets"],
      exclude: ["deletePet", "nothing"],
    });
    assert.deepEqual(
      some.tools.map((t: Json) => t.operationId).sort(),
      ["createPet", "getPet", "getUser", "listPets"],
    );
    assert.deepEqual(some.warnings, ["exclude value 'nothing' matches no operationId or tag"]);
    const users = await importApi(s, { name: "c", spec: petsDoc(), exclude: ["pets"] });
    assert.deepEqual(users.tools.map((t: Json) => t.operationId), ["getUser"]);

    expectFail(
      await s.api("POST", "/apis", { name: "d", spec: petsDoc(), include: ["x"] }),
      400,
      "include",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "d", spec: petsDoc(), include: "pets" }),
      400,
      "include",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "d", spec: petsDoc(), exclude: [""] }),
      400,
      "exclude",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "d", spec: petsDoc(), exclude: ["pets", "users"] }),
      400,
      "exclude",
    );
  });
});

Deno.test("servers: baseUrl overrides, variables take defaults, relative URLs resolve", async () => {
  await withServer(async (s) => {
    const urlOf = async (name: string, spec: Json, extra: Json = {}) => {
      const api = await importApi(s, { name, spec, ...extra });
      const tool = expectOk(await s.api("GET", `/tools/${api.tools[0].id}`));
      return tool.executionConfig.url;
    };
    const get = { get: { responses: OK } };
    assert.equal(
      await urlOf(
        "vars",
        doc31({ "/a": get }, {
          servers: [{
            url: "https://{region}.example.com:{port}/{base}",
            variables: {
              region: { default: "eu", enum: ["eu", "us"] },
              port: { default: "8443" },
              base: { default: "v2" },
            },
          }],
        }),
      ),
      "https://eu.example.com:8443/v2/a",
    );
    // An operation's relative server resolves against the document's.
    assert.equal(
      await urlOf(
        "relative",
        doc31({ "/a": { get: { servers: [{ url: "/other/" }], responses: OK } } }),
      ),
      "https://api.example.com/other/a",
    );
    // baseUrl replaces every server, operation servers included.
    assert.equal(
      await urlOf(
        "override",
        doc31({ "/a": { get: { servers: [{ url: "https://op.example.com" }], responses: OK } } }),
        { baseUrl: "http://127.0.0.1:9/prefix/" },
      ),
      "http://127.0.0.1:9/prefix/a",
    );
    // The petstore document's server is relative ("/api/v3"): usable only with baseUrl.
    const relative = doc31({ "/a": get }, { servers: [{ url: "/api/v3" }] });
    const msg = expectFail(
      await s.api("POST", "/apis", { name: "x", spec: relative }),
      400,
      "baseUrl",
    );
    assert.match(msg, /\/api\/v3/);
    assert.equal(
      await urlOf("fixed", relative, { baseUrl: "https://petstore.example.com/api/v3" }),
      "https://petstore.example.com/api/v3/a",
    );
    const none = doc31({ "/a": get }, { servers: undefined });
    expectFail(await s.api("POST", "/apis", { name: "x", spec: none }), 400, "baseUrl");
    for (const baseUrl of ["ftp://x.example.com", "not a url", "https://x.example.com/?a=1", 5]) {
      expectFail(
        await s.api("POST", "/apis", { name: "x", spec: petsDoc(), baseUrl }),
        400,
        "baseUrl",
      );
    }
  });
});

Deno.test("documents that cannot be imported are a 400 naming spec, with the parser's reason", async () => {
  // A reference to this upstream must never be fetched: only local references resolve.
  const up = startUpstream({ "/schema.json": () => Response.json({ type: "string" }) });
  await withServer(async (s) => {
    const before = (await allTools(s)).size;
    const cases: [unknown, RegExp][] = [
      [
        doc31({ "/a": { get: { parameters: [{ name: "x", in: "nowhere" }], responses: OK } } }),
        /not a valid OpenAPI 3\.1\.0 document: .*(allowed values|in)/,
      ],
      ["{ not json", /not valid JSON/],
      ["openapi: 3.0.0\ninfo: [unclosed", /neither JSON nor valid YAML/],
      [{ info: { title: "x" }, paths: {} }, /neither an 'openapi' nor a 'swagger'/],
      [{ openapi: "4.0.0", info: { title: "x", version: "1" }, paths: {} }, /version '4\.0\.0'/],
      [42, /spec must be the OpenAPI document/],
      ["   ", /empty/],
      [doc31({}), /no operations/],
      [
        doc31({
          "/a": {
            get: { parameters: [{ $ref: `${up.url}/schema.json` }], responses: OK },
          },
        }),
        /reference/i,
      ],
      [
        doc31({ "/a": { get: { parameters: [{ $ref: "/etc/passwd" }], responses: OK } } }),
        /reference/i,
      ],
      [
        doc31({
          "/a": { get: { parameters: [{ $ref: "#/components/parameters/Nope" }], responses: OK } },
        }),
        /Nope/,
      ],
    ];
    for (const [spec, reason] of cases) {
      const res = await s.api("POST", "/apis", { name: "bad", spec });
      const message = expectFail(res, 400, "spec");
      assert.match(message, reason, `${JSON.stringify(spec).slice(0, 80)}: ${message}`);
    }
    expectFail(await s.api("POST", "/apis", { name: "bad" }), 400, "spec");
    expectFail(await s.api("POST", "/apis", { spec: petsDoc() }), 400, "name");
    expectFail(
      await s.api("POST", "/apis", { name: "x", spec: petsDoc(), extra: 1 }),
      400,
      "extra",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "x", spec: petsDoc(), secret: "nope" }),
      400,
      "secret",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "x", spec: petsDoc(), secret: "1x" }),
      400,
      "secret",
    );
    // Nothing was left behind, and nothing was fetched.
    assert.deepEqual(expectOk(await s.api("GET", "/apis")).apis, []);
    assert.equal((await allTools(s)).size, before);
    assert.equal(up.requests.length, 0);
  });
  await up.close();
});

Deno.test("YAML anchors and aliases resolve; an alias bomb is refused", async () => {
  await withServer(async (s) => {
    const yaml = [
      "openapi: 3.0.3",
      "info: {title: Anchors, version: '1'}",
      "servers: [{url: 'https://a.example.com'}]",
      "paths:",
      "  /a:",
      "    get: &op",
      "      parameters: [{name: q, in: query, schema: {type: string}}]",
      "      responses: {'200': {description: ok}}",
      "  /b:",
      "    get: *op",
    ].join("\n");
    const api = await importApi(s, { name: "anchors", spec: yaml });
    assert.deepEqual(namesOf(api), ["get_a", "get_b"]);
    const lines = ["openapi: 3.0.3", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      lines.push(`a${i}: &a${i} [${`*a${i - 1},`.repeat(9).slice(0, -1)}]`);
    }
    const message = expectFail(
      await s.api("POST", "/apis", { name: "bomb", spec: lines.join("\n") }),
      400,
      "spec",
    );
    assert.match(message, /alias/i);
  });
});

Deno.test("the import route has its own body limit, larger than the management API's", async () => {
  const limit = 2_500_000;
  await withServer(async (s) => {
    // Twilio's document (1.9 MB) is over the 1 MiB limit of other routes, under this one.
    const twilio = await fixture("twilio-api-v2010.json");
    assert.ok(twilio.length > 1024 * 1024 && twilio.length < limit);
    const api = await importApi(s, {
      name: "twilio",
      spec: twilio,
      baseUrl: "https://api.example.com",
      include: ["ListCall"],
    });
    assert.equal(api.tools.length, 1);
    const big = { name: "big", spec: twilio + " ".repeat(limit - twilio.length + 10) };
    const res = await s.api("POST", "/apis", big);
    expectFail(res, 413);
    assert.equal(res.body.error?.code, "payload_too_large");
    assert.match(res.body.error?.message ?? "", new RegExp(String(limit)));
    // Elsewhere the management API keeps its 1 MiB limit.
    const tool = {
      name: "t",
      type: "http",
      description: "x".repeat(1_100_000),
      executionConfig: { method: "GET", url: "https://x.example.com" },
    };
    expectFail(await s.api("POST", "/tools", tool), 413);
  }, { maxImportBodyBytes: limit });
});

Deno.test("re-import keeps ids, names and assignments of operations that remain", async () => {
  await withServer(async (s) => {
    const v1 = await importApi(s, { name: "pets", spec: petsDoc() });
    const ids = Object.fromEntries(v1.tools.map((t: Json) => [t.operationId, t.id]));
    const url = await gatewayWith(s, "/pets", [ids.listPets, ids.getPet, ids.deletePet]);
    // A hand edit of an imported tool (it is a normal tool) ...
    expectOk(await s.api("PATCH", `/tools/${ids.listPets}`, { description: "edited" }));

    const v2 = petsDoc();
    // listPets moves to a new path (same operationId); getPet loses its operationId (same
    // route); createPet stays; deletePet and getUser disappear; getPhoto appears.
    v2.paths["/animals"] = { get: { ...v2.paths["/pets"].get, summary: "List animals" } };
    delete v2.paths["/pets"].get;
    delete v2.paths["/pets/{id}"].get.operationId;
    delete v2.paths["/pets/{id}"].delete;
    delete v2.paths["/users/{id}"];
    v2.paths["/pets/{id}/photo"] = { get: { operationId: "getPhoto", responses: OK } };
    v2.paths["/pets/{id}/photo"].get.parameters = v2.paths["/pets/{id}"].get.parameters;

    // A dry run says what the re-import will do, and does none of it.
    const plan = expectOk(
      await s.api("PUT", `/apis/${v1.id}?dryRun=true`, {
        name: "pets",
        spec: v2,
        exclude: ["nothing-called-so"],
      }),
    );
    assert.deepEqual(plan.counts, { created: 1, updated: 2, unchanged: 1, removed: 2 });
    assert.equal(plan.sameDocument, false);
    assert.deepEqual(plan.settings, [{
      field: "exclude",
      before: null,
      after: ["nothing-called-so"],
    }]);
    const planned = (id: string) => plan.operations.find((o: Json) => o.id === id);
    assert.deepEqual(
      [planned(ids.listPets).change, planned(ids.listPets).path, planned(ids.listPets).fields],
      ["update", "/animals", ["title", "description", "executionConfig"]],
    );
    assert.equal(planned(ids.listPets).gateways.length, 1);
    assert.deepEqual(
      [planned(ids.getPet).previousName, planned(ids.getPet).name],
      ["getPet", "get_pets_id"],
    );
    assert.deepEqual([planned(ids.createPet).change, planned(ids.createPet).fields], [
      "unchanged",
      [],
    ]);
    const made = plan.operations.find((o: Json) => o.change === "create");
    assert.deepEqual([made.name, made.id], ["getPhoto", null]);
    assert.deepEqual(
      plan.removed.map((t: Json) => [t.name, t.gateways.length]).sort(),
      [["deletePet", 1], ["getUser", 0]],
    );
    assert.deepEqual(expectOk(await s.api("GET", `/apis/${v1.id}`)).tools, v1.tools);
    assert.equal(expectOk(await s.api("GET", `/tools/${ids.listPets}`)).description, "edited");
    expectFail(
      await s.api("PUT", `/apis/${v1.id}?dryRun=true&async=true`, { name: "pets", spec: v2 }),
      400,
      "dryRun",
    );

    const res = await s.api("PUT", `/apis/${v1.id}`, { name: "pets", spec: v2 });
    const after = expectOk(res);
    assert.deepEqual([after.created, after.updated, after.removed], [1, 3, 2]);
    assert.equal(toolOf(after, "listPets").id, ids.listPets);
    assert.equal(toolOf(after, "listPets").name, "listPets");
    const getPet = after.tools.find((t: Json) => t.path === "/pets/{id}");
    assert.equal(getPet.id, ids.getPet);
    assert.equal(getPet.name, "get_pets_id");
    assert.ok(after.updatedAt > v1.updatedAt);

    // Assignments of the kept tools remain; the removed tool's is gone with it.
    const gw = (expectOk(await s.api("GET", "/gateways")).gateways as Json[])[0];
    const assigned = expectOk(await s.api("GET", `/gateways/${gw.id}/tools`)).tools as Json[];
    assert.deepEqual(assigned.map((a) => a.toolId).sort(), [ids.getPet, ids.listPets].sort());
    expectFail(await s.api("GET", `/tools/${ids.deletePet}`), 404);
    // The re-import is what clients see now (the hand edit is overwritten).
    const listed = await rpc(url, "tools/list");
    const tools = listed.result.tools as Json[];
    assert.deepEqual(tools.map((t) => t.name).sort(), ["get_pets_id", "listPets"]);
    assert.equal(tools.find((t) => t.name === "listPets").description, "List animals");
    const stored = expectOk(await s.api("GET", `/tools/${ids.listPets}`));
    assert.match(stored.executionConfig.url, /\/animals$/);
    assert.equal(stored.apiId, v1.id, "an imported tool names its API");

    // A failed re-import changes nothing.
    expectFail(await s.api("PUT", `/apis/${v1.id}`, { name: "pets", spec: "{bad" }), 400, "spec");
    assert.deepEqual(expectOk(await s.api("GET", `/apis/${v1.id}`)).tools, after.tools);
    expectFail(await s.api("PUT", `/apis/${crypto.randomUUID()}`, { name: "p", spec: v2 }), 404);
  });
});

Deno.test("deleting an API removes its tools and their assignments, nothing else", async () => {
  await withServer(async (s) => {
    const hand = expectOk(
      await s.api("POST", "/tools", {
        name: "hand_written",
        type: "http",
        executionConfig: { method: "GET", url: "https://x.example.com" },
      }),
      201,
    );
    const api = await importApi(s, { name: "pets", spec: petsDoc() });
    const other = await importApi(s, { name: "other", spec: petsDoc(), include: ["users"] });
    await gatewayWith(s, "/g", [hand.id, ...api.tools.map((t: Json) => t.id), other.tools[0].id]);
    assert.equal((await allTools(s)).size, 7);

    const res = await s.api("DELETE", `/apis/${api.id}`);
    assert.equal(res.status, 204);
    expectFail(await s.api("GET", `/apis/${api.id}`), 404);
    expectFail(await s.api("DELETE", `/apis/${api.id}`), 404);
    assert.deepEqual([...(await allTools(s)).keys()].sort(), ["getUser_2", "hand_written"]);
    const gw = (expectOk(await s.api("GET", "/gateways")).gateways as Json[])[0];
    const assigned = expectOk(await s.api("GET", `/gateways/${gw.id}/tools`)).tools as Json[];
    assert.deepEqual(assigned.map((a) => a.name).sort(), ["getUser_2", "hand_written"]);
    assert.deepEqual(
      (expectOk(await s.api("GET", "/apis")).apis as Json[]).map((a) => a.name),
      ["other"],
    );
  });
});

Deno.test("tool names: valid, at most 64 characters, unique against every tool of the org", async () => {
  await withServer(async (s) => {
    expectOk(
      await s.api("POST", "/tools", {
        name: "listPets",
        type: "http",
        executionConfig: { method: "GET", url: "https://x.example.com" },
      }),
      201,
    );
    const long = "a".repeat(100);
    const api = await importApi(s, {
      name: "names",
      spec: doc31({
        "/pets": { get: { operationId: "listPets", responses: OK } },
        "/pets/{petId}/toys": {
          get: {
            parameters: [{ name: "petId", in: "path", required: true, schema: { type: "string" } }],
            responses: OK,
          },
        },
        "/x": {
          get: { operationId: "get pets/{id} (v2)", responses: OK },
          post: { operationId: `${long}1`, responses: OK },
          put: { operationId: `${long}2`, responses: OK },
          delete: { operationId: "get_pets_id_v2", responses: OK },
        },
      }),
    });
    const names = Object.fromEntries(
      api.tools.map((t: Json) => [t.operationId ?? t.path, t.name]),
    );
    assert.equal(names.listPets, "listPets_2");
    assert.equal(names["/pets/{petId}/toys"], "get_pets_petId_toys");
    assert.equal(names["get pets/{id} (v2)"], "get_pets_id_v2");
    assert.equal(names.get_pets_id_v2, "get_pets_id_v2_2");
    assert.equal(names[`${long}1`].length, 64);
    assert.equal(names[`${long}2`].length, 64);
    assert.notEqual(names[`${long}1`], names[`${long}2`]);
    for (const n of Object.values(names)) assert.match(n as string, /^[A-Za-z0-9_.-]{1,64}$/);

    // A duplicate API name is a conflict, and leaves no tools behind.
    const count = (await allTools(s)).size;
    expectFail(await s.api("POST", "/apis", { name: "names", spec: petsDoc() }), 409, "name");
    assert.equal((await allTools(s)).size, count);
  });
});

Deno.test("APIs are isolated between organizations, and viewers cannot import", async () => {
  await withServer(async (s) => {
    const api = await importApi(s, { name: "pets", spec: petsDoc() });
    const otherKey = expectOk(await s.api("POST", "/orgs", { name: "Other", slug: "other" }), 201)
      .accessKey.key;
    const other = (method: string, path: string, body?: unknown) =>
      fetch(`${s.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${otherKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));

    assert.deepEqual(expectOk(await other("GET", "/apis")).apis, []);
    expectFail(await other("GET", `/apis/${api.id}`), 404);
    expectFail(await other("PUT", `/apis/${api.id}`, { name: "pets", spec: petsDoc() }), 404);
    expectFail(await other("DELETE", `/apis/${api.id}`), 404);
    // Names are unique per organization: the other one gets them unsuffixed.
    const mine = expectOk(await other("POST", "/apis", { name: "pets", spec: petsDoc() }), 201);
    assert.deepEqual(namesOf(mine), namesOf(api));
    assert.equal(expectOk(await s.api("GET", `/apis/${api.id}`)).tools.length, 5);

    const invited = expectOk(
      await s.api("POST", "/orgs/default/members", { email: "v@example.com", role: "viewer" }),
      201,
    );
    const joined = await s.api("POST", "/invitations/accept", {
      token: invited.token,
      password: "a viewer's password",
    }, "");
    const key = expectOk(joined, 201).accessKey;
    expectFail(await s.api("POST", "/apis", { name: "v", spec: petsDoc() }, key.key), 403);
    expectFail(await s.api("DELETE", `/apis/${api.id}`, undefined, key.key), 403);
    assert.equal(expectOk(await s.api("GET", "/apis", undefined, key.key)).apis.length, 1);
  });
});
