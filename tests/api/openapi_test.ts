import assert from "node:assert/strict";
import { Validator } from "@cfworker/json-schema";
import { openApiDocument } from "../../src/api/openapi.ts";
import type { TestServer } from "../helpers/server.ts";
import {
  appRoutes,
  client,
  gatewayBody,
  type Json,
  notManagement,
  toolBody,
  withServer,
} from "./fixtures.ts";

const doc: Json = openApiDocument();
const METHODS = ["get", "post", "put", "patch", "delete"];

function documentedRoutes(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    if (notManagement(path)) continue;
    for (const method of Object.keys(item)) out.add(`${method.toUpperCase()} ${path}`);
  }
  return out;
}

/** A validator for `schema`, which may use `#/components/...` references. */
function validatorFor(schema: Json): Validator {
  const root = { ...structuredClone(schema), components: structuredClone(doc.components) };
  return new Validator(root, "2020-12", false);
}

function errorsOf(schema: Json, value: unknown): string[] {
  const result = validatorFor(schema).validate(value);
  return result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
}

/** The documented response of `method template` for `status`, with references followed. */
function documentedResponse(method: string, template: string, status: number): Json {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not documented`);
  let res = op.responses[String(status)];
  assert.ok(res, `${method} ${template} answered ${status}, which is not documented`);
  if (res.$ref) res = doc.components.responses[res.$ref.split("/").pop()];
  return res;
}

Deno.test("the served document is OpenAPI 3.1 with bearer security and resolvable references", async () => {
  await withServer(async (s) => {
    const res = await fetch(`${s.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), doc);
  });
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
  const bearer = doc.components.securitySchemes.bearerAuth;
  assert.deepEqual([bearer.type, bearer.scheme], ["http", "bearer"]);
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  assert.ok(refs.length > 50);
  for (const ref of new Set(refs)) {
    const [, kind, name] = ref.slice(8, -1).split("#/components/")[1].match(/^(\w+)\/(.+)$/)!;
    assert.ok(doc.components[kind]?.[name], `unresolved ${ref}`);
  }
  const opIds: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item as Record<string, Json>)) {
      assert.ok(METHODS.includes(method), `${method} ${path}`);
      opIds.push(op.operationId);
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = op.parameters.filter((p: Json) => p.in === "path").map((p: Json) => p.name);
      assert.deepEqual(declared, params, `${method} ${path} path parameters`);
      assert.ok(Object.keys(op.responses).some((st) => st.startsWith("2")), `${method} ${path}`);
      if (op.security?.length === 0) continue;
      assert.ok(op.responses["401"], `${method} ${path} documents no 401`);
    }
  }
  assert.equal(new Set(opIds).size, opIds.length, "operationIds are unique");
  // Every schema is itself valid to the validator (compiles and checks something).
  for (const name of Object.keys(doc.components.schemas)) {
    validatorFor({ $ref: `#/components/schemas/${name}` }).validate({});
  }
});

Deno.test("every route of the app is documented and every documented route exists", async () => {
  const inApp = await appRoutes();
  const inDoc = documentedRoutes();
  assert.ok(inApp.size > 30);
  assert.deepEqual(
    [...inApp].filter((r) => !inDoc.has(r)).sort(),
    [],
    "routes missing from the document",
  );
  assert.deepEqual(
    [...inDoc].filter((r) => !inApp.has(r)).sort(),
    [],
    "documented routes the app does not serve",
  );
});

/** One request of the walk-through, checked against the document. */
interface Step {
  method: string;
  template: string;
  path: string;
  body?: unknown;
  key?: string | null;
  contentType?: string;
  raw?: string;
}

/** Sends `step`, checks request and response against the document, returns the body. */
async function checked(
  s: TestServer,
  seen: Map<string, Set<number>>,
  step: Step,
): Promise<{ status: number; body: Json }> {
  const op = doc.paths[step.template]?.[step.method.toLowerCase()];
  assert.ok(op, `${step.method} ${step.template} is not documented`);
  const headers: Record<string, string> = {};
  const key = step.key === undefined ? s.adminKey : step.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let payload: string | undefined = step.raw;
  if (step.body !== undefined) payload = JSON.stringify(step.body);
  if (payload !== undefined) headers["content-type"] = step.contentType ?? "application/json";
  const res = await fetch(s.url + step.path, { method: step.method, headers, body: payload });
  const text = await res.text();
  const label = `${step.method} ${step.path} -> ${res.status}`;
  const documented = documentedResponse(step.method, step.template, res.status);
  // A text response (such as /metrics) is documented under its own media type, as served.
  const textType = Object.keys(documented.content ?? {}).find((t) => t !== "application/json");
  if (textType) assert.equal(res.headers.get("content-type"), textType, label);
  const body = text && !textType ? JSON.parse(text) : undefined;

  // A request the server accepted must be one the document allows.
  if (res.ok && step.body !== undefined) {
    const schema = op.requestBody.content["application/json"].schema;
    assert.deepEqual(errorsOf(schema, step.body), [], `${label}: request body off the document`);
  }
  const schema = documented.content?.["application/json"]?.schema;
  if (schema) {
    assert.deepEqual(errorsOf(schema, body), [], `${label}: response off the document`);
  } else if (!textType) {
    assert.equal(text, "", `${label}: undocumented response body`);
  }
  const id = `${step.method} ${step.template}`;
  if (!seen.has(id)) seen.set(id, new Set());
  seen.get(id)!.add(res.status);
  return { status: res.status, body };
}

Deno.test("real responses of every operation match the document", async () => {
  await withServer(async (s) => {
    const seen = new Map<string, Set<number>>();
    const go = async (step: Step, status: number) => {
      const res = await checked(s, seen, step);
      assert.equal(res.status, status, `${step.method} ${step.path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const G = (method: string, template: string, path = template, rest: Partial<Step> = {}) => ({
      method,
      template,
      path,
      ...rest,
    });

    await go(G("GET", "/healthz"), 200);
    await go(G("GET", "/readyz"), 200);
    await go(G("GET", "/openapi.json"), 200);
    await go(G("GET", "/metrics"), 200);
    await go(G("GET", "/metrics", "/metrics", { key: null }), 401);

    const acme = await go(
      G("POST", "/orgs", "/orgs", { body: { name: "Acme", slug: "acme" } }),
      201,
    );
    const acmeKey = acme.accessKey.key;
    await go(G("POST", "/orgs", "/orgs", { body: { name: "Acme", slug: "acme" } }), 409);
    await go(G("GET", "/orgs"), 200);
    await go(G("GET", "/orgs/{slug}", "/orgs/acme", { key: acmeKey }), 200);
    // The admin key acts in its own org only, though its user owns acme too.
    await go(G("GET", "/orgs/{slug}", "/orgs/acme"), 403);
    await go(G("GET", "/orgs/{slug}", "/orgs/nope"), 404);
    const acmeSettings = { settings: { outbound: { allowLoopback: false } } };
    await go(
      G("PATCH", "/orgs/{slug}", "/orgs/acme", { body: acmeSettings, key: acmeKey }),
      200,
    );
    await go(
      G("PATCH", "/orgs/{slug}", "/orgs/acme", {
        key: acmeKey,
        body: { settings: { outbound: { allowLoopback: "no" } } },
      }),
      400,
    );
    await go(G("GET", "/orgs/{slug}/members", "/orgs/default/members"), 200);
    const invited = await go(
      G("POST", "/orgs/{slug}/members", "/orgs/default/members", {
        body: { email: "m@example.com", role: "member" },
      }),
      201,
    );
    await go(
      G("POST", "/orgs/{slug}/members", "/orgs/default/members", {
        body: { email: "p@example.com", role: "viewer", password: "a long password" },
      }),
      400,
    );
    await go(G("GET", "/orgs/{slug}/invitations", "/orgs/default/invitations"), 200);
    const accept = (body: Json, rest: Partial<Step> = {}) =>
      G("POST", "/invitations/accept", "/invitations/accept", { body, key: null, ...rest });
    await go(accept({ token: "ghi_nope", password: "a long password" }), 400);
    const joined = await go(
      accept({ token: invited.token, password: "m's long password", name: "M" }),
      201,
    );
    const member = joined.member;
    await go(
      G("POST", "/orgs/{slug}/members", "/orgs/default/members", {
        body: { email: "m@example.com", role: "viewer" },
      }),
      409,
    );
    // An existing account (the owner, in acme) must prove it is theirs.
    const toAcme = await go(
      G("POST", "/orgs/{slug}/members", "/orgs/acme/members", {
        key: acmeKey,
        body: { email: "m@example.com", role: "viewer" },
      }),
      201,
    );
    await go(accept({ token: toAcme.token }), 401);
    await go(accept({ token: toAcme.token }, { key: s.adminKey }), 403);
    const withdrawn = await go(
      G("POST", "/orgs/{slug}/members", "/orgs/default/members", {
        body: { email: "w@example.com", role: "viewer" },
      }),
      201,
    );
    const withdrawPath = `/orgs/default/invitations/${withdrawn.id}`;
    await go(G("DELETE", "/orgs/{slug}/invitations/{id}", withdrawPath), 204);
    await go(G("DELETE", "/orgs/{slug}/invitations/{id}", withdrawPath), 404);
    const memberPath = `/orgs/default/members/${member.userId}`;
    await go(G("GET", "/me"), 200);
    await go(G("GET", "/me", "/me", { key: null }), 401);
    // Passwords: the caller's own, then signing in with one.
    await go(
      G("PUT", "/me/password", "/me/password", { body: { password: "correct horse" } }),
      204,
    );
    await go(G("PUT", "/me/password", "/me/password", { body: { password: "short" } }), 400);
    await go(
      G("PUT", "/me/password", "/me/password", { body: { password: "x".repeat(9) }, key: null }),
      401,
    );
    await go(
      G("PUT", "/me/password", "/me/password", {
        body: { password: "correct horse 2", currentPassword: "correct horse" },
      }),
      204,
    );
    await go(
      G("PATCH", "/orgs/{slug}/members/{userId}", memberPath, { body: { role: "viewer" } }),
      200,
    );
    const login = (body: Json) => G("POST", "/login", "/login", { body, key: null });
    await go(
      login({ email: "m@example.com", password: "wrong password", organization: "default" }),
      401,
    );
    await go(login({ email: "m@example.com", organization: "default" }), 400);
    const key = (await go(
      login({ email: "m@example.com", password: "m's long password", organization: "default" }),
      201,
    )).accessKey;
    await go(
      G("POST", "/keys", "/keys", { body: { name: "k", userId: member.userId } }),
      400,
    );
    const spare = await go(
      G("POST", "/keys", "/keys", {
        body: { name: "spare", expiresAt: new Date(Date.now() + 60_000).toISOString() },
      }),
      201,
    );
    await go(G("GET", "/keys"), 200);
    await go(G("GET", "/keys/{id}", `/keys/${key.id}`), 200);
    await go(G("POST", "/gateways", "/gateways", { key: key.key, body: gatewayBody("/v") }), 403);
    await go(G("DELETE", "/keys/{id}", `/keys/${spare.id}`), 200);
    await go(G("GET", "/gateways", "/gateways", { key: spare.key }), 401);
    await go(G("GET", "/gateways", "/gateways", { key: null }), 401);

    const tool = await go(
      G("POST", "/tools", "/tools", {
        body: toolBody("get_users", {
          title: "Users",
          annotations: { readOnlyHint: true },
          outputSchema: { type: "object" },
        }),
      }),
      201,
    );
    const other = await go(G("POST", "/tools", "/tools", { body: toolBody("other") }), 201);
    await go(G("POST", "/tools", "/tools", { body: toolBody("get_users") }), 409);
    await go(G("POST", "/tools", "/tools", { body: toolBody("bad name") }), 400);
    await go(G("POST", "/tools", "/tools", { raw: "name=x", contentType: "text/plain" }), 415);
    await go(
      G("POST", "/tools", "/tools", {
        body: toolBody("big", { description: "x".repeat(1_100_000) }),
      }),
      413,
    );
    await go(G("GET", "/tools"), 200);
    // Paged lists: a page with its cursor, the next one, filters, and a refused limit.
    const toolPage = await go(G("GET", "/tools", "/tools?limit=1"), 200);
    await go(G("GET", "/tools", `/tools?limit=1&cursor=${toolPage.nextCursor}`), 200);
    await go(G("GET", "/tools", "/tools?type=http&q=USERS"), 200);
    await go(G("GET", "/tools", "/tools?limit=0"), 400);
    await go(G("GET", "/tools/{id}", `/tools/${tool.id}`), 200);
    await go(G("GET", "/tools/{id}", `/tools/${crypto.randomUUID()}`), 404);
    await go(
      G("PATCH", "/tools/{id}", `/tools/${tool.id}`, { body: { description: "d", title: null } }),
      200,
    );
    await go(G("PATCH", "/tools/{id}", `/tools/${tool.id}`, { body: { name: "other" } }), 409);
    await go(
      G("PUT", "/tools/{id}", `/tools/${other.id}`, {
        body: toolBody("other", { description: "new" }),
      }),
      200,
    );

    const secret = await go(
      G("POST", "/secrets", "/secrets", {
        body: { name: "API_TOKEN", type: "bearer_token", value: "tok-1", description: "d" },
      }),
      201,
    );
    await go(
      G("POST", "/secrets", "/secrets", {
        body: { name: "API_TOKEN", type: "bearer_token", value: "tok-2" },
      }),
      409,
    );
    await go(
      G("POST", "/secrets", "/secrets", {
        body: {
          name: "OAUTH",
          type: "oauth2_client_credentials",
          value: { tokenUrl: "http://auth.example.com/token", clientId: "c", clientSecret: "s" },
        },
      }),
      400,
    );
    await go(G("GET", "/secrets"), 200);
    await go(G("GET", "/secrets/{id}", `/secrets/${secret.id}`), 200);
    await go(G("GET", "/secrets/{id}", `/secrets/${crypto.randomUUID()}`), 404);
    const secretPath = `/secrets/${secret.id}`;
    await go(
      G("PATCH", "/secrets/{id}", secretPath, { body: { description: null, value: "tok-3" } }),
      200,
    );
    await go(
      G("PUT", "/secrets/{id}", secretPath, {
        body: { name: "API_KEY", type: "api_key", value: { key: "k-1", in: "query" } },
      }),
      200,
    );
    await go(
      G("PUT", "/tools/{id}", `/tools/${other.id}`, {
        body: toolBody("other", {
          executionConfig: {
            method: "GET",
            url: "https://api.example.com/users",
            auth: { secret: "API_KEY" },
          },
        }),
      }),
      200,
    );
    await go(G("DELETE", "/secrets/{id}", secretPath), 204);

    // An upstream nothing listens at: every route answers, the status says failed.
    const deadUrl = "http://127.0.0.1:9/mcp";
    const server = await go(
      G("POST", "/servers", "/servers", {
        body: { name: "dead", transport: "streamable-http", url: deadUrl, timeout: 2000 },
      }),
      201,
    );
    await go(
      G("POST", "/servers", "/servers", {
        body: { name: "dead", transport: "streamable-http", url: deadUrl },
      }),
      409,
    );
    await go(G("POST", "/servers", "/servers", { body: { name: "x", transport: "ftp" } }), 400);
    await go(G("GET", "/servers"), 200);
    await go(G("GET", "/servers", "/servers?limit=1"), 200);
    await go(G("GET", "/servers", "/servers?cursor=x"), 400);
    const serverPath = `/servers/${server.id}`;
    await go(G("GET", "/servers/{id}", serverPath), 200);
    await go(G("GET", "/servers/{id}", `/servers/${crypto.randomUUID()}`), 404);
    await go(G("PATCH", "/servers/{id}", serverPath, { body: { headers: { "X-A": "b" } } }), 200);
    await go(
      G("PUT", "/servers/{id}", serverPath, {
        body: { name: "dead", transport: "sse", url: deadUrl },
      }),
      200,
    );
    await go(G("POST", "/servers/{id}/refresh", `${serverPath}/refresh`), 200);
    await go(G("GET", "/servers/{id}/logs", `${serverPath}/logs`), 200);
    await go(G("GET", "/servers/{id}/items", `${serverPath}/items`), 200);
    await go(G("GET", "/servers/{id}/items", `/servers/${crypto.randomUUID()}/items`), 404);

    const gw = await go(
      G("POST", "/gateways", "/gateways", { body: gatewayBody("/my-tools", { description: "d" }) }),
      201,
    );
    await go(G("POST", "/gateways", "/gateways", { body: gatewayBody("/my-tools") }), 409);
    await go(G("GET", "/gateways"), 200);
    await go(G("GET", "/gateways", "/gateways?limit=1"), 200);
    const gwPath = `/gateways/${gw.id}`;
    await go(G("GET", "/gateways/{id}", gwPath), 200);
    await go(
      G("PATCH", "/gateways/{id}", gwPath, { body: { configuration: { transport: "sse" } } }),
      200,
    );
    await go(
      G("PUT", "/gateways/{id}", gwPath, {
        body: gatewayBody("/my-tools", { configuration: { transport: "websocket" } }),
      }),
      200,
    );

    await go(
      G("POST", "/gateways/{id}/tools", `${gwPath}/tools`, {
        body: { toolIds: [tool.id, other.id], enabled: false },
      }),
      201,
    );
    await go(
      G("POST", "/gateways/{id}/tools", `${gwPath}/tools`, { body: { toolId: tool.id } }),
      201,
    );
    await go(
      G("POST", "/gateways/{id}/tools", `${gwPath}/tools`, {
        body: { toolId: crypto.randomUUID() },
      }),
      404,
    );
    await go(G("GET", "/gateways/{id}/tools", `${gwPath}/tools`), 200);
    await go(G("GET", "/gateways/{id}/tools", `${gwPath}/tools?limit=1`), 200);
    // A member's own call: what MCP answers, here its error for a tool the gateway lacks.
    const call = (body: Json) => G("POST", "/gateways/{id}/call", `${gwPath}/call`, { body });
    assert.equal((await go(call({ name: "no_such_tool", arguments: {} }), 200)).error.code, -32602);
    await go(call({ arguments: {} }), 400);
    await go(
      G("PATCH", "/gateways/{id}/tools/{toolId}", `${gwPath}/tools/${other.id}`, {
        body: { enabled: true },
      }),
      200,
    );
    await go(G("DELETE", "/gateways/{id}/tools/{toolId}", `${gwPath}/tools/${other.id}`), 204);

    // The dead server's listings, stored as if it had listed a tool and then changed it: the
    // change is held for approval.
    const stored = (await s.store.servers.find(server.id))!;
    const listing = (description: string) => ({
      tools: [{ name: "probe", description, inputSchema: { type: "object" } }],
      resources: [],
      resourceTemplates: [],
      prompts: [],
    });
    await s.store.serverItems.sync(stored, listing("first"));
    await s.store.serverItems.sync(stored, listing("second"));
    const attachPath = `${gwPath}/servers`;
    await go(
      G("POST", "/gateways/{id}/servers", attachPath, {
        body: { serverId: server.id, prefix: "dead" },
      }),
      201,
    );
    await go(
      G("POST", "/gateways/{id}/servers", attachPath, { body: { serverId: crypto.randomUUID() } }),
      404,
    );
    await go(G("POST", "/gateways/{id}/servers", attachPath, { body: { prefix: "x" } }), 400);
    await go(G("GET", "/gateways/{id}/servers", attachPath), 200);
    await go(G("GET", "/gateways/{id}/servers/{serverId}", `${attachPath}/${server.id}`), 200);
    const held = await go(G("GET", "/servers/{id}/changes", `${serverPath}/changes`), 200);
    await go(
      G(
        "POST",
        "/servers/{id}/changes/{changeId}/approve",
        `${serverPath}/changes/${held.changes[0].id}/approve`,
      ),
      200,
    );
    await go(G("DELETE", "/gateways/{id}/servers/{serverId}", `${attachPath}/${server.id}`), 204);
    await go(G("DELETE", "/servers/{id}", serverPath), 204);

    const gk = await go(
      G("POST", "/gateways/{id}/keys", `${gwPath}/keys`, {
        body: { name: "client", scopes: ["tools:read"] },
      }),
      201,
    );
    await go(G("GET", "/gateways/{id}/keys", `${gwPath}/keys`), 200);
    await go(
      G("PATCH", "/gateways/{id}/keys/{keyId}", `${gwPath}/keys/${gk.id}`, {
        body: { rateLimit: { requests: 10, windowSeconds: 60 } },
      }),
      200,
    );
    await go(G("DELETE", "/gateways/{id}/keys/{keyId}", `${gwPath}/keys/${gk.id}`), 200);

    const method = await go(
      G("POST", "/gateways/{id}/auth", `${gwPath}/auth`, { body: { type: "api_key" } }),
      201,
    );
    await go(
      G("POST", "/gateways/{id}/auth", `${gwPath}/auth`, { body: { type: "api_key" } }),
      409,
    );
    await go(G("GET", "/gateways/{id}/auth", `${gwPath}/auth`), 200);
    await go(
      G("PATCH", "/gateways/{id}/auth/{methodId}", `${gwPath}/auth/${method.id}`, {
        body: {
          order: 5,
          required: true,
          validationRules: {
            allowedIpRanges: ["127.0.0.0/8", "::1"],
            requiredHeaders: { "X-Team": "tools", "X-Trace": true },
          },
        },
      }),
      200,
    );
    await go(
      G("PATCH", "/gateways/{id}/auth/{methodId}", `${gwPath}/auth/${method.id}`, {
        body: { validationRules: { allowedIpRanges: ["10.0.0.1/8"] } },
      }),
      400,
    );
    await go(G("DELETE", "/gateways/{id}/auth/{methodId}", `${gwPath}/auth/${method.id}`), 204);

    await go(G("DELETE", "/tools/{id}", `/tools/${tool.id}`), 204);
    await go(G("DELETE", "/gateways/{id}", gwPath), 204);
    await go(G("DELETE", "/orgs/{slug}/members/{userId}", memberPath), 204);

    // Imported APIs: the spec as YAML text (the document allows an object or text).
    const spec = [
      "openapi: 3.1.0",
      "info: {title: Walk, version: '1'}",
      "servers: [{url: 'https://walk.example.com'}]",
      "paths:",
      "  /things/{id}:",
      "    get:",
      "      operationId: getThing",
      "      parameters:",
      "        - {name: id, in: path, required: true, schema: {type: string}}",
      "        - {name: q, in: query, explode: false, schema: {type: array, items: {type: string}}}",
      "      responses: {'200': {description: ok}}",
    ].join("\n");
    const imported = await go(
      G("POST", "/apis", "/apis", { body: { name: "walk", spec, include: ["getThing"] } }),
      201,
    );
    await go(G("POST", "/apis", "/apis", { body: { name: "walk", spec } }), 409);
    const preview = await go(
      G("POST", "/apis", "/apis?dryRun=true", { body: { name: "walk-preview", spec } }),
      200,
    );
    assert.equal(preview.dryRun, true);
    await go(G("POST", "/apis", "/apis", { body: { name: "bad", spec: "openapi: 9" } }), 400);
    await go(G("GET", "/apis"), 200);
    await go(G("GET", "/apis", "/apis?limit=1"), 200);
    await go(G("GET", "/apis", "/apis?limit=1001"), 400);
    const apiPath = `/apis/${imported.id}`;
    await go(G("GET", "/apis/{id}", apiPath), 200);
    // An imported tool is a normal tool, described by the same schema.
    await go(G("GET", "/tools/{id}", `/tools/${imported.tools[0].id}`), 200);
    await go(G("GET", "/apis/{id}", `/apis/${crypto.randomUUID()}`), 404);
    const change = await go(
      G("PUT", "/apis/{id}", `${apiPath}?dryRun=true`, { body: { name: "walk", spec } }),
      200,
    );
    assert.equal(change.sameDocument, true);
    await go(G("PUT", "/apis/{id}", apiPath, { body: { name: "walk", spec } }), 200);
    await go(G("DELETE", "/apis/{id}", apiPath), 204);

    // Asynchronous imports: 202 with a job, read until it ends (a success, then a failure).
    const untilDone = async (id: string) => {
      while (true) {
        const job = await go(G("GET", "/apis/imports/{id}", `/apis/imports/${id}`), 200);
        if (job.state === "succeeded" || job.state === "failed") return job;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const started = await go(
      G("POST", "/apis", "/apis?async=true", { body: { name: "walk-async", spec } }),
      202,
    );
    const done = await untilDone(started.id);
    assert.equal(done.status, 201);
    assert.equal(done.result.tools.length, 1);
    const refused = await go(
      G("POST", "/apis", "/apis?async=true", { body: { name: "walk-bad", spec: "openapi: 9" } }),
      202,
    );
    assert.equal((await untilDone(refused.id)).error.field, "spec");
    await go(
      G("PUT", "/apis/{id}", `/apis/${done.result.id}?async=true`, {
        body: { name: "walk-async", spec },
      }),
      202,
    );
    await go(G("GET", "/apis/imports/{id}", `/apis/imports/${crypto.randomUUID()}`), 404);
    await go(G("POST", "/apis", "/apis?async=maybe", { body: { name: "x", spec } }), 400);

    // The audit trail of all of the above, a page at a time and filtered.
    const events = await go(G("GET", "/audit", "/audit?limit=5"), 200);
    await go(G("GET", "/audit", `/audit?limit=5&cursor=${events.nextCursor}`), 200);
    await go(G("GET", "/audit", "/audit?action=gateway.&targetType=gateway&since=2020-01-01"), 200);
    await go(G("GET", "/audit", "/audit?action=gateway.explode"), 400);

    // The request log and usage statistics: two MCP requests to a gateway without an auth
    // method, refused (denied) rows.
    const statsGw = await go(
      G("POST", "/gateways", "/gateways", { body: gatewayBody("/stats-walk") }),
      201,
    );
    for (let i = 0; i < 2; i++) {
      const refused = await fetch(`${s.url}/mcp/default/stats-walk`, { method: "POST" });
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
    }
    const logs = await go(G("GET", "/logs", "/logs?limit=1"), 200);
    assert.equal(logs.logs[0].status, "denied");
    await go(G("GET", "/logs", `/logs?limit=1&cursor=${logs.nextCursor}`), 200);
    await go(G("GET", "/logs", "/logs?status=denied&since=2020-01-01&format=json"), 200);
    await go(G("GET", "/logs", "/logs?status=maybe"), 400);
    await go(G("GET", "/gateways/{id}/stats", `/gateways/${statsGw.id}/stats`), 200);
    await go(G("GET", "/gateways/{id}/stats", `/gateways/${statsGw.id}/stats?since=x`), 400);

    // The walk-through reached every documented operation with a success.
    for (const route of documentedRoutes()) {
      const statuses = [...(seen.get(route) ?? [])];
      assert.ok(statuses.some((st) => st < 300), `${route} never succeeded in the walk-through`);
    }
  });
});

Deno.test("request schemas refuse what the server refuses", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const cases: [string, string, unknown][] = [
      ["GatewayCreate", "/gateways", gatewayBody("no-slash")],
      ["GatewayCreate", "/gateways", gatewayBody("/a", { type: "rest" })],
      ["GatewayCreate", "/gateways", gatewayBody("/a", { configuration: { transport: "ftp" } })],
      ["GatewayCreate", "/gateways", { ...gatewayBody("/a"), extra: 1 }],
      ["ToolCreate", "/tools", toolBody("bad name")],
      ["ToolCreate", "/tools", toolBody("t", { executionConfig: { method: "GET" } })],
      [
        "ToolCreate",
        "/tools",
        toolBody("t", { executionConfig: { method: "GET", url: "https://x.io", retries: 9 } }),
      ],
      ["OrgCreate", "/orgs", { name: "x", slug: "Bad" }],
      ["SecretCreate", "/secrets", { name: "1bad", type: "bearer_token", value: "t" }],
      ["SecretCreate", "/secrets", { name: "B", type: "basic_auth", value: { username: "u" } }],
      ["SecretCreate", "/secrets", { name: "H", type: "custom_headers", value: { headers: {} } }],
      ["AccessKeyCreate", "/keys", { name: "" }],
      ["MemberCreate", "/orgs/default/members", { email: "a@b.c", role: "root" }],
      ["MemberCreate", "/orgs/default/members", { email: "a@b.c", role: "member", password: "1" }],
      ["ApiImport", "/apis", { name: "no spec" }],
      ["ApiImport", "/apis", { name: "x", spec: "openapi: 3.1.0", include: [], extra: 1 }],
      ["ApiImport", "/apis", { name: "x", spec: {}, secret: "not a name" }],
      ["ApiImport", "/apis", { name: "x", spec: {}, slim: "yes" }],
      ["ApiImport", "/apis", { name: "x", spec: {}, limits: { toolBytes: 0 } }],
      ["ApiImport", "/apis", { name: "x", spec: {}, limits: { pageBytes: 1 } }],
    ];
    for (const [name, path, body] of cases) {
      assert.notDeepEqual(
        errorsOf(schema(name), body),
        [],
        `${name} accepts ${JSON.stringify(body)}`,
      );
      assert.equal(
        (await admin("POST", path, body)).status,
        400,
        `${path} ${JSON.stringify(body)}`,
      );
    }
    const gw = (await admin("POST", "/gateways", gatewayBody("/g"))).body;
    const assign = [{ toolIds: [] }, { toolId: "a", toolIds: ["b"] }, {}];
    for (const body of assign) {
      assert.notDeepEqual(errorsOf(schema("AssignTools"), body), [], JSON.stringify(body));
      assert.equal((await admin("POST", `/gateways/${gw.id}/tools`, body)).status, 400);
    }
  });
});
