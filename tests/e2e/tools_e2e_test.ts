/**
 * Tools end to end: one gateway serving tools imported from an OpenAPI
 * document and a hand-written `http` tool, listed and called by the MCP SDK
 * client over every transport (Streamable HTTP, SSE, WebSocket), with the
 * default executors, against a real HTTP API on loopback. The API checks the
 * secret each call must carry and records every request, so the test can
 * hold the exact requests against what the tools promise, and show that the
 * MCP client's own credential (the gateway key) never leaves the gateway.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  connectSdk,
  type Gateway,
  type Kind,
  KINDS,
  type SdkClient,
} from "../transports/fixtures.ts";

/**
 * A JSON value as the test reads it. Loosely typed on purpose: the
 * assertions, not the compiler, check shapes here.
 */
// deno-lint-ignore no-explicit-any
type Json = any;

/** One request as the upstream saw it, and the JSON it answered. */
interface Seen {
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** The query string as sent, without `?`. */
  query: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  answer: Json;
}

const PETS_KEY = `pets-key-${crypto.randomUUID()}`;
const SHOP_TOKEN = `shop-token-${crypto.randomUUID()}`;

const PETS = [
  { id: "1", name: "Rex", tag: "dog" },
  { id: "2", name: "Tom", tag: "cat" },
  { id: "3", name: "Fido", tag: "dog" },
  { id: "4", name: "Luna", tag: "dog" },
];

/**
 * The API: `/v1/...` is the pet store the OpenAPI document describes (it
 * wants `X-API-Key`), `/shop/...` the order service of the hand-written tool
 * (it wants `X-Shop-Token`). Every request is recorded with its answer.
 */
function startApi() {
  const seen: Seen[] = [];
  const answer = (rec: Omit<Seen, "status" | "answer">, status: number, json: Json) => {
    seen.push({ ...rec, status, answer: json });
    return Response.json(json, { status });
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const raw = req.url.slice(req.url.indexOf("/", req.url.indexOf("://") + 3));
      const q = raw.indexOf("?");
      const rec = {
        method: req.method,
        path: q < 0 ? raw : raw.slice(0, q),
        query: q < 0 ? "" : raw.slice(q + 1),
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
      };
      const url = new URL(req.url);
      const params = url.searchParams;
      if (rec.path.startsWith("/v1/")) {
        if (req.headers.get("x-api-key") !== PETS_KEY) {
          return answer(rec, 401, { error: "pet store key missing or wrong" });
        }
        if (rec.path === "/v1/pets" && req.method === "GET") {
          const tag = params.get("tag");
          const limit = params.has("limit") ? Number(params.get("limit")) : PETS.length;
          return answer(rec, 200, {
            pets: PETS.filter((p) => tag === null || p.tag === tag).slice(0, limit),
          });
        }
        const m = /^\/v1\/pets\/([^/]+)$/.exec(rec.path);
        if (m && req.method === "GET") {
          const id = decodeURIComponent(m[1]);
          return answer(rec, 200, PETS.find((p) => p.id === id) ?? { id, name: `Pet ${id}` });
        }
        if (m && req.method === "PUT") {
          const id = decodeURIComponent(m[1]);
          return answer(rec, 200, {
            id,
            ...JSON.parse(rec.body),
            notified: params.get("notify") === "true",
          });
        }
        return answer(rec, 404, { error: "no such pet route" });
      }
      const order = /^\/shop\/orders\/([^/]+)$/.exec(rec.path);
      if (order && req.method === "GET") {
        if (req.headers.get("x-shop-token") !== SHOP_TOKEN) {
          return answer(rec, 401, { error: "shop token missing or wrong" });
        }
        return answer(rec, 200, {
          orderId: decodeURIComponent(order[1]),
          status: "shipped",
          expand: params.getAll("expand"),
        });
      }
      return answer(rec, 404, { error: "no route" });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

/** The pet store: a path parameter, query parameters and a JSON body; its server is replaced. */
const PETSTORE = {
  openapi: "3.0.3",
  info: { title: "Pet Store (end to end)", version: "1.0.0" },
  servers: [{ url: "https://pets.example.invalid/v1" }],
  paths: {
    "/pets": {
      get: {
        operationId: "listPets",
        summary: "List pets",
        tags: ["pets"],
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1 } },
          { name: "tag", in: "query", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "Pets",
            content: { "application/json": { schema: { type: "object" } } },
          },
        },
      },
    },
    "/pets/{petId}": {
      parameters: [{ name: "petId", in: "path", required: true, schema: { type: "string" } }],
      get: {
        operationId: "getPet",
        summary: "Get one pet",
        responses: {
          "200": {
            description: "The pet",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } },
          },
        },
      },
      put: {
        operationId: "updatePet",
        summary: "Change a pet",
        parameters: [{ name: "notify", in: "query", schema: { type: "boolean" } }],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/PetChange" } } },
        },
        responses: {
          "200": {
            description: "The changed pet",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Pet: {
        type: "object",
        properties: { id: { type: "string" }, name: { type: "string" } },
      },
      PetChange: {
        type: "object",
        properties: {
          name: { type: "string" },
          age: { type: "integer" },
          vaccinated: { type: "boolean" },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["name"],
      },
    },
  },
};

/** The hand-written tool: its secret goes in through a `{{secrets.NAME}}` header template. */
function lookupOrderTool(apiUrl: string) {
  return {
    name: "lookup_order",
    description: "Look up an order in the shop",
    inputSchema: {
      type: "object",
      properties: {
        orderId: { type: "string", description: "The order number" },
        expand: { type: "string", description: "A related record to include" },
      },
      required: ["orderId"],
    },
    type: "http",
    executionConfig: {
      method: "GET",
      url: `${apiUrl}/shop/orders/{{parameters.orderId}}`,
      headers: { "X-Shop-Token": "{{secrets.SHOP_TOKEN}}" },
      queryParams: { expand: "{{parameters.expand}}" },
    },
  };
}

/** Asserts `status` and returns the body. */
async function expect(
  s: TestServer,
  method: string,
  path: string,
  body: unknown,
  status: number,
): Promise<Json> {
  const res = await s.api(method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body).slice(0, 1000)}`);
  return res.body;
}

/** Secrets, the import, the hand-written tool and one gateway holding all of them. */
async function setUp(s: TestServer, apiUrl: string): Promise<Gateway> {
  await expect(s, "POST", "/secrets", { name: "PETS_KEY", type: "api_key", value: PETS_KEY }, 201);
  await expect(
    s,
    "POST",
    "/secrets",
    { name: "SHOP_TOKEN", type: "bearer_token", value: SHOP_TOKEN },
    201,
  );
  const imported = await expect(s, "POST", "/apis", {
    name: "pets",
    spec: PETSTORE,
    baseUrl: `${apiUrl}/v1`,
    secret: "PETS_KEY",
  }, 201);
  assert.deepEqual(
    imported.tools.map((t: Json) => t.name).sort(),
    ["getPet", "listPets", "updatePet"],
  );
  const handWritten = await expect(s, "POST", "/tools", lookupOrderTool(apiUrl), 201);

  const endpoint = "/shop-and-pets";
  const gw = await expect(s, "POST", "/gateways", {
    name: "Shop and pets",
    type: "mcp",
    endpoint,
    configuration: { transport: "http" },
  }, 201);
  const toolIds = [...imported.tools.map((t: Json) => t.id), handWritten.id];
  await expect(s, "POST", `/gateways/${gw.id}/tools`, { toolIds }, 201);
  await expect(s, "POST", `/gateways/${gw.id}/auth`, { type: "api_key" }, 201);
  const key = await expect(s, "POST", `/gateways/${gw.id}/keys`, { name: "e2e" }, 201);
  const port = Number(new URL(s.url).port);
  const path = `/mcp/default${endpoint}`;
  return {
    id: gw.id,
    key: key.key,
    port,
    path,
    httpUrl: `${s.url}${path}`,
    sseUrl: `${s.url}${path}/sse`,
    wsUrl: `ws://127.0.0.1:${port}${path}/ws`,
  };
}

/** What each transport's client asks, so that every call is told apart upstream. */
const CALLS: Record<Kind, {
  list: Record<string, unknown>;
  listQuery: string;
  petId: string;
  petPath: string;
  notify: boolean;
  orderId: string;
  orderPath: string;
  expand?: string;
  orderQuery: string;
}> = {
  http: {
    list: { limit: 2, tag: "dog" },
    listQuery: "limit=2&tag=dog",
    petId: "1",
    petPath: "/v1/pets/1",
    notify: true,
    orderId: "A-100",
    orderPath: "/shop/orders/A-100",
    expand: "items",
    orderQuery: "expand=items",
  },
  sse: {
    list: { tag: "cat" },
    listQuery: "tag=cat",
    // A path value cannot leave its segment: `/`, `?` and `#` arrive encoded.
    petId: "../admin?x=1#y",
    petPath: "/v1/pets/..%2Fadmin%3Fx%3D1%23y",
    notify: false,
    orderId: "B 200/7",
    orderPath: "/shop/orders/B%20200%2F7",
    expand: "customer & items",
    orderQuery: "expand=customer%20%26%20items",
  },
  ws: {
    // Optional arguments left out drop out of the query.
    list: {},
    listQuery: "",
    petId: "3",
    petPath: "/v1/pets/3",
    notify: true,
    orderId: "C-300",
    orderPath: "/shop/orders/C-300",
    orderQuery: "",
  },
};

/** Calls `name` and returns its one text block parsed as JSON (the call must not be an error). */
async function callJson(c: SdkClient, name: string, args: Record<string, unknown>): Promise<Json> {
  const result: Json = await c.client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name} failed: ${JSON.stringify(result)}`);
  assert.equal(result.content.length, 1, JSON.stringify(result));
  assert.equal(result.content[0].type, "text");
  return JSON.parse(result.content[0].text);
}

/** The one request that reached `path` with `method` since `from`. */
function onlyRequest(seen: Seen[], from: number, method: string, path: string): Seen {
  const hits = seen.slice(from).filter((r) => r.method === method && r.path === path);
  assert.equal(hits.length, 1, `${method} ${path}: ${hits.length} requests, not 1`);
  return hits[0];
}

Deno.test("imported and hand-written tools, listed and called over every transport", async (t) => {
  const api = startApi();
  const s = await startTestServer();
  try {
    const gw = await setUp(s, api.url);

    for (const kind of KINDS) {
      await t.step(`over ${kind}`, async () => {
        const want = CALLS[kind];
        const c = await connectSdk(kind, gw);
        try {
          const { tools }: { tools: Json[] } = await c.client.listTools();
          const byName = new Map<string, Json>(tools.map((tool) => [tool.name, tool]));
          assert.deepEqual(
            [...byName.keys()].sort(),
            ["getPet", "listPets", "lookup_order", "updatePet"],
          );
          const update = byName.get("updatePet")!;
          assert.deepEqual(update.inputSchema.required, ["petId", "body"]);
          assert.deepEqual(Object.keys(update.inputSchema.properties ?? {}).sort(), [
            "body",
            "notify",
            "petId",
          ]);
          assert.equal(byName.get("listPets")!.annotations?.readOnlyHint, true);
          assert.equal(byName.get("lookup_order")!.description, "Look up an order in the shop");

          const from = api.seen.length;

          // Imported, query parameters only.
          const listed = await callJson(c, "listPets", want.list);
          const listReq = onlyRequest(api.seen, from, "GET", "/v1/pets");
          assert.equal(listReq.query, want.listQuery);
          assert.equal(listReq.body, "");
          assert.deepEqual(listed, listReq.answer);
          assert.ok(listed.pets.length > 0);

          // Imported, a path parameter.
          const pet = await callJson(c, "getPet", { petId: want.petId });
          const petReq = onlyRequest(api.seen, from, "GET", want.petPath);
          assert.equal(petReq.query, "");
          assert.deepEqual(pet, petReq.answer);
          assert.equal(pet.id, want.petId);

          // Imported, a path parameter, a query parameter and a JSON body that keeps its types.
          const change = { name: `Renamed over ${kind}`, age: 4, vaccinated: true, tags: ["a"] };
          const updated = await callJson(c, "updatePet", {
            petId: want.petId,
            notify: want.notify,
            body: change,
          });
          const putReq = onlyRequest(api.seen, from, "PUT", want.petPath);
          assert.equal(putReq.query, `notify=${want.notify}`);
          assert.match(putReq.headers["content-type"] ?? "", /^application\/json/);
          assert.deepEqual(JSON.parse(putReq.body), change);
          assert.deepEqual(updated, putReq.answer);
          assert.deepEqual(updated, { id: want.petId, ...change, notified: want.notify });

          // Hand-written, its secret in a header template.
          const order = await callJson(c, "lookup_order", {
            orderId: want.orderId,
            ...(want.expand === undefined ? {} : { expand: want.expand }),
          });
          const orderReq = onlyRequest(api.seen, from, "GET", want.orderPath);
          assert.equal(orderReq.query, want.orderQuery);
          assert.deepEqual(order, orderReq.answer);
          assert.deepEqual(order, {
            orderId: want.orderId,
            status: "shipped",
            expand: want.expand === undefined ? [] : [want.expand],
          });

          // Each call was exactly one request, each authenticated by its own secret.
          const mine = api.seen.slice(from);
          assert.equal(mine.length, 4, JSON.stringify(mine.map((r) => `${r.method} ${r.path}`)));
          for (const r of mine) {
            assert.equal(r.status, 200, `${r.method} ${r.path}: ${JSON.stringify(r.answer)}`);
            if (r.path.startsWith("/v1/")) {
              assert.equal(r.headers["x-api-key"], PETS_KEY);
              assert.equal(r.headers["x-shop-token"], undefined);
            } else {
              assert.equal(r.headers["x-shop-token"], SHOP_TOKEN);
              assert.equal(r.headers["x-api-key"], undefined);
            }
          }
        } finally {
          await c.close();
        }
      });
    }

    await t.step("the upstream never saw the MCP client's credentials", () => {
      assert.equal(api.seen.length, 4 * KINDS.length);
      for (const r of api.seen) {
        const where = `${r.method} ${r.path}`;
        // The gateway key went in as Authorization (HTTP, SSE) or ?api_key= (WebSocket).
        assert.equal(r.headers.authorization, undefined, `${where} got an Authorization header`);
        assert.equal(r.headers["mcp-session-id"], undefined, `${where} got the MCP session id`);
        for (const credential of [gw.key, s.adminKey]) {
          for (const [name, value] of Object.entries(r.headers)) {
            assert.ok(!value.includes(credential), `${where}: header ${name} carries a credential`);
          }
          assert.ok(!r.query.includes(credential), `${where}: the query carries a credential`);
          assert.ok(!r.body.includes(credential), `${where}: the body carries a credential`);
        }
      }
    });
  } finally {
    await s.close();
    await api.close();
  }
});
