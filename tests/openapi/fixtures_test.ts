/**
 * Three real documents from npm packages imported through the API (petstore
 * 3.0 YAML, Twilio 3.0 JSON with form bodies, Vercel 3.1 with type lists),
 * checked tool by tool, then called over MCP against a local upstream that
 * checks the exact request each generated tool sends.
 */
import assert from "node:assert/strict";
import { Validator } from "@cfworker/json-schema";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Recorded, startUpstream, type Upstream } from "../tools/upstream.ts";
import {
  callTool,
  expectOk,
  fixture,
  gatewayWith,
  importApi,
  type Json,
  rpc,
  toolOf,
} from "./helpers.ts";

const TOOL_NAME_64 = /^[A-Za-z0-9_.-]{1,64}$/;
/** An import of the largest documents must take seconds, not minutes. */
const MAX_IMPORT_MS = 10_000;

/** Imports `spec`, timing the whole request; prints the figure. */
async function timedImport(s: TestServer, label: string, body: Json): Promise<Json> {
  const start = performance.now();
  const api = await importApi(s, body);
  const ms = performance.now() - start;
  console.log(`import of ${label}: ${api.tools.length} tools in ${ms.toFixed(0)} ms`);
  assert.ok(ms < MAX_IMPORT_MS, `importing ${label} took ${ms.toFixed(0)} ms`);
  return api;
}

/** Checks every tool of `api` as stored: valid unique names, compiling schemas, annotations. */
async function checkTools(s: TestServer, api: Json, count: number): Promise<Map<string, Json>> {
  assert.equal(api.tools.length, count);
  assert.equal(api.toolCount, count);
  assert.equal(api.created, count);
  const names = new Set<string>();
  for (const t of api.tools) {
    assert.match(t.name, TOOL_NAME_64);
    assert.ok(!names.has(t.name), `duplicate tool name ${t.name}`);
    names.add(t.name);
  }
  // One page of the API's tools (the default page holds 100).
  const page = expectOk(await s.api("GET", `/tools?apiId=${api.id}&limit=1000`));
  assert.equal(page.nextCursor, null);
  const listed = page.tools as Json[];
  assert.equal(listed.length, count);
  const byId = new Map(listed.map((t) => [t.id, t]));
  for (const ref of api.tools) {
    const tool = byId.get(ref.id);
    assert.ok(tool, `tool ${ref.name} is not listed under /tools`);
    assert.equal(tool.name, ref.name);
    assert.equal(tool.inputSchema.type, "object");
    // The gateway validates arguments with this validator: every schema must compile and run.
    const v = new Validator(tool.inputSchema, "2020-12", false);
    v.validate({});
    const method = tool.executionConfig.method;
    assert.equal(method, ref.method);
    assert.equal(tool.annotations.openWorldHint, true);
    if (method === "GET" || method === "HEAD") assert.equal(tool.annotations.readOnlyHint, true);
    else assert.equal(tool.annotations.readOnlyHint, false);
    if (method === "DELETE") assert.equal(tool.annotations.destructiveHint, true);
    if (method === "PUT") assert.equal(tool.annotations.idempotentHint, true);
    assert.ok(tool.description.length > 0 && tool.description.length <= 1024);
  }
  return new Map(api.tools.map((t: Json) => [t.operationId, byId.get(t.id)]));
}

/** Answers every request with a small JSON object. */
function jsonUpstream(paths: string[]): Upstream {
  return startUpstream(Object.fromEntries(paths.map((p) => [p, () => Response.json({ ok: p })])));
}

/** The single request the upstream received since `from`. */
function onlyRequest(up: Upstream, from: number): Recorded {
  assert.equal(up.requests.length, from + 1, JSON.stringify(up.requests.slice(from)));
  return up.requests[from];
}

/** Calls `name` and returns the request the upstream saw (the call must succeed). */
async function sent(up: Upstream, url: string, name: string, args: Json): Promise<Recorded> {
  const before = up.requests.length;
  const result = await callTool(url, name, args);
  assert.notEqual(result.isError, true, JSON.stringify(result));
  return onlyRequest(up, before);
}

Deno.test("petstore 3.0 (YAML text): 20 tools that send exactly the documented requests", async () => {
  const up = jsonUpstream([
    "/pet/10",
    "/pet/findByTags",
    "/pet/findByStatus",
    "/pet/5",
    "/pet",
    "/pet/7",
    "/pet/3/uploadImage",
    "/user/..%2Fadmin%3Fx%3D1%23y",
  ]);
  const s = await startTestServer();
  try {
    const api = await timedImport(s, "petstore-v3.yaml", {
      name: "petstore",
      spec: fixture("petstore-v3.yaml"),
      baseUrl: up.url,
    });
    assert.equal(api.specVersion, "3.0.0");
    assert.equal(api.baseUrl, up.url);
    const tools = await checkTools(s, api, 20);
    assert.deepEqual([...tools.keys()].sort(), [
      "addPet",
      "createUser",
      "createUsersWithArrayInput",
      "createUsersWithListInput",
      "deleteOrder",
      "deletePet",
      "deleteUser",
      "findPetsByStatus",
      "findPetsByTags",
      "getInventory",
      "getOrderById",
      "getPetById",
      "getUserByName",
      "loginUser",
      "logoutUser",
      "placeOrder",
      "updatePet",
      "updatePetWithForm",
      "updateUser",
      "uploadFile",
    ]);
    const getPet = tools.get("getPetById");
    assert.equal(getPet.title, "Find pet by ID");
    assert.equal(getPet.description, "Find pet by ID\n\nReturns a single pet");
    assert.deepEqual(getPet.inputSchema.required, ["petId"]);
    assert.equal(getPet.inputSchema.properties.petId.type, "integer");
    const addPet = tools.get("addPet");
    // The body is one argument; its $refs are inlined, `required` and enums kept.
    const body = addPet.inputSchema.properties.body;
    assert.deepEqual(body.required, ["name", "photoUrls"]);
    assert.deepEqual(body.properties.status.enum, ["available", "pending", "sold"]);
    assert.equal(body.properties.category.properties.name.type, "string");

    const ids = ["getPetById", "findPetsByTags", "findPetsByStatus", "deletePet", "addPet"]
      .concat(["updatePetWithForm", "uploadFile", "getUserByName"])
      .map((op) => toolOf(api, op).id);
    const url = await gatewayWith(s, "/petstore", ids);
    const listed = await rpc(url, "tools/list");
    assert.equal(listed.result.tools.length, ids.length);

    let r = await sent(up, url, "getPetById", { petId: 10 });
    assert.deepEqual([r.method, r.path, r.query], ["GET", "/pet/10", ""]);
    assert.equal(r.headers.accept, "application/json");

    r = await sent(up, url, "findPetsByTags", { tags: ["a b", "c&d"] });
    assert.deepEqual([r.method, r.path, r.query], [
      "GET",
      "/pet/findByTags",
      "tags=a%20b&tags=c%26d",
    ]);

    r = await sent(up, url, "findPetsByStatus", { status: ["sold", "pending"] });
    assert.equal(r.query, "status=sold&status=pending");
    // The items' enum is enforced before anything is sent.
    const bad = await rpc(url, "tools/call", {
      name: "findPetsByStatus",
      arguments: { status: ["lost"] },
    });
    assert.ok(bad.error || bad.result.isError, JSON.stringify(bad));

    r = await sent(up, url, "deletePet", { petId: 5, api_key: "k-1" });
    assert.deepEqual([r.method, r.path, r.headers.api_key], ["DELETE", "/pet/5", "k-1"]);

    const pet = {
      id: 10,
      name: "doggie",
      category: { id: 1, name: "Dogs" },
      photoUrls: ["https://img.example/1.png"],
      tags: [{ id: 2, name: "good" }],
      status: "available",
    };
    r = await sent(up, url, "addPet", { body: pet });
    assert.deepEqual([r.method, r.path], ["POST", "/pet"]);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(r.body), pet);

    r = await sent(up, url, "updatePetWithForm", {
      petId: 7,
      body: { name: "Rex", status: "sold" },
    });
    assert.deepEqual([r.method, r.path, r.body], ["POST", "/pet/7", "name=Rex&status=sold"]);
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");

    // multipart/form-data: `file` (format binary) goes as a file part, the rest as fields.
    r = await sent(up, url, "uploadFile", {
      petId: 3,
      body: { additionalMetadata: "m 1", file: { content: btoa("raw\n") } },
    });
    assert.deepEqual([r.path, r.query], ["/pet/3/uploadImage", ""]);
    const boundary = r.headers["content-type"].match(/^multipart\/form-data; ?boundary=(.+)$/)?.[1];
    assert.ok(boundary, r.headers["content-type"]);
    const form = await new Response(r.body, {
      headers: { "content-type": r.headers["content-type"] },
    })
      .formData();
    assert.equal(form.get("additionalMetadata"), "m 1");
    const file = form.get("file");
    assert.ok(file instanceof File, String(file));
    assert.equal(await file.text(), "raw\n");

    // A path value stays inside its segment.
    r = await sent(up, url, "getUserByName", { username: "../admin?x=1#y" });
    assert.equal(r.path, "/user/..%2Fadmin%3Fx%3D1%23y");
  } finally {
    await s.close();
    await up.close();
  }
});

/** An account SID of the form Twilio's document requires (`^AC[0-9a-fA-F]{32}$`). */
const SID = `AC${"0123456789abcdef".repeat(2)}`;

Deno.test("Twilio 3.0 (JSON text): 195 tools, form bodies and comparison query parameters", async () => {
  const up = jsonUpstream([
    `/2010-04-01/Accounts/${SID}/Messages.json`,
    `/2010-04-01/Accounts/${SID}/Calls.json`,
  ]);
  const s = await startTestServer();
  try {
    const secret = await s.api("POST", "/secrets", {
      name: "twilio",
      type: "basic_auth",
      value: { username: SID, password: "tw-token-xyz" },
    });
    expectOk(secret, 201);
    const api = await timedImport(s, "twilio-api-v2010.json", {
      name: "twilio",
      spec: fixture("twilio-api-v2010.json"),
      baseUrl: up.url,
      secret: "twilio",
    });
    const tools = await checkTools(s, api, 195);
    const create = tools.get("CreateMessage");
    assert.equal(create.executionConfig.bodyEncoding, "form");
    assert.deepEqual(create.executionConfig.auth, { secret: "twilio" });
    assert.deepEqual(create.inputSchema.required, ["AccountSid"]);
    assert.deepEqual(create.inputSchema.properties.body.required, ["To"]);
    const list = tools.get("ListCall");
    // `StartTime<` cannot be a property name for model APIs: renamed, the wire name kept.
    assert.ok(list.inputSchema.properties.StartTime_lt);
    assert.match(list.inputSchema.properties.StartTime_lt.description, /StartTime</);
    assert.deepEqual(
      list.executionConfig.parameters.find((p: Json) => p.name === "StartTime<"),
      { name: "StartTime<", in: "query", arg: "StartTime_lt" },
    );

    const url = await gatewayWith(s, "/twilio", [
      toolOf(api, "CreateMessage").id,
      toolOf(api, "ListCall").id,
    ]);
    let r = await sent(up, url, "CreateMessage", {
      AccountSid: SID,
      body: {
        To: "+15551234567",
        From: "+15557654321",
        Body: "Hello & good bye",
        MediaUrl: ["https://a.example/1.png", "https://a.example/2.png"],
        SmartEncoded: true,
      },
    });
    assert.deepEqual([r.method, r.path], ["POST", `/2010-04-01/Accounts/${SID}/Messages.json`]);
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(
      r.body,
      "To=%2B15551234567&From=%2B15557654321&Body=Hello+%26+good+bye" +
        "&MediaUrl=https%3A%2F%2Fa.example%2F1.png&MediaUrl=https%3A%2F%2Fa.example%2F2.png" +
        "&SmartEncoded=true",
    );
    // The secret authenticates the call and is not part of what the model sees.
    assert.equal(r.headers.authorization, `Basic ${btoa(`${SID}:tw-token-xyz`)}`);

    r = await sent(up, url, "ListCall", {
      AccountSid: SID,
      "StartTime_lt": "2024-01-01T00:00:00Z",
      PageSize: 20,
      Status: "completed",
    });
    assert.deepEqual([r.method, r.path], ["GET", `/2010-04-01/Accounts/${SID}/Calls.json`]);
    assert.equal(r.query, "Status=completed&StartTime%3C=2024-01-01T00%3A00%3A00Z&PageSize=20");
  } finally {
    await s.close();
    await up.close();
  }
});

Deno.test("Vercel 3.1 (object): 113 tools, JSON bodies with type lists, array queries", async () => {
  const up = jsonUpstream(["/v9/projects", "/v4/aliases"]);
  const s = await startTestServer();
  try {
    const api = await timedImport(s, "vercel.json", {
      name: "vercel",
      spec: JSON.parse(fixture("vercel.json")),
      baseUrl: up.url,
    });
    assert.equal(api.specVersion, "3.1.0");
    const tools = await checkTools(s, api, 113);
    const create = tools.get("createProject");
    assert.equal(create.executionConfig.bodyEncoding, "json");
    const sizes = [...tools.values()].map((t) => JSON.stringify(t.inputSchema).length);
    assert.ok(Math.max(...sizes) < 64 * 1024, `largest input schema: ${Math.max(...sizes)} bytes`);
    // 3.1 type lists (nullable unions) survive.
    assert.deepEqual(create.inputSchema.properties.body.properties.buildCommand.type, [
      "string",
      "null",
    ]);

    const url = await gatewayWith(s, "/vercel", [
      toolOf(api, "createProject").id,
      toolOf(api, "listAliases").id,
    ]);
    const project = { name: "site", framework: "nextjs", buildCommand: null };
    let r = await sent(up, url, "createProject", { teamId: "t 1", body: project });
    assert.deepEqual([r.method, r.path, r.query], ["POST", "/v9/projects", "teamId=t%201"]);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(r.body), project);

    // The body's enum (with null in it) and `additionalProperties: false` are enforced.
    for (const body of [{ name: "site", framework: "rails" }, { name: "site", extra: 1 }]) {
      const bad = await rpc(url, "tools/call", { name: "createProject", arguments: { body } });
      assert.ok(bad.error || bad.result.isError, JSON.stringify(bad));
    }
    r = await sent(up, url, "createProject", { body: { name: "bare", framework: null } });
    assert.deepEqual(JSON.parse(r.body), { name: "bare", framework: null });

    r = await sent(up, url, "listAliases", { domain: ["a.example", "b.example"], limit: 5 });
    assert.equal(r.path, "/v4/aliases");
    const query = new URLSearchParams(r.query);
    assert.deepEqual(query.getAll("domain"), ["a.example", "b.example"]);
    assert.equal(query.get("limit"), "5");
  } finally {
    await s.close();
    await up.close();
  }
});
