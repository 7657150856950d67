/**
 * How generated tools serialise what OpenAPI describes: query `style` and
 * `explode`, headers and cookies, form and multipart bodies, argument names
 * that would collide, and schemas with `$ref`s, recursion, `allOf`/`oneOf`,
 * 3.0 `nullable` and `readOnly`. Each case is called over MCP and the local
 * upstream checks the exact request.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Recorded, startUpstream, type Upstream } from "../tools/upstream.ts";
import {
  callTool,
  expectOk,
  gatewayWith,
  importApi,
  type Json,
  OK,
  rpc,
  toolOf,
} from "./helpers.ts";

const str = { type: "string" };
const strings = { type: "array", items: str };

/** A 3.1 document exercising every serialisation the executor knows. */
const STYLES_DOC = {
  openapi: "3.1.0",
  info: { title: "Styles", version: "1" },
  servers: [{ url: "https://styles.example.com" }],
  paths: {
    "/items/{id}": {
      get: {
        operationId: "getItem",
        parameters: [
          { name: "id", in: "path", required: true, schema: str },
          { name: "tags", in: "query", schema: strings },
          {
            name: "ids",
            in: "query",
            style: "form",
            explode: false,
            schema: { type: "array", items: { type: "integer" } },
          },
          { name: "space", in: "query", style: "spaceDelimited", schema: strings },
          { name: "pipe", in: "query", style: "pipeDelimited", schema: strings },
          {
            name: "filter",
            in: "query",
            style: "deepObject",
            explode: true,
            schema: { type: "object" },
          },
          {
            name: "point",
            in: "query",
            schema: {
              type: "object",
              properties: { x: { type: "integer" }, y: { type: "integer" } },
            },
          },
          { name: "pointFlat", in: "query", explode: false, schema: { type: "object" } },
          {
            name: "q",
            in: "query",
            content: { "application/json": { schema: { type: "object" } } },
          },
          { name: "absent", in: "query", schema: str },
          { name: "X-Trace", in: "header", schema: str },
          { name: "X-List", in: "header", schema: strings },
          { name: "session", in: "cookie", schema: str },
          { name: "prefs", in: "cookie", schema: strings },
          // Ignored by OpenAPI's rules: the auth and the body set these.
          { name: "Authorization", in: "header", schema: str },
        ],
        responses: OK,
      },
    },
    "/items/{item_id}/form": {
      post: {
        operationId: "postForm",
        parameters: [{ name: "item_id", in: "path", required: true, schema: str }],
        requestBody: {
          required: true,
          content: {
            "application/x-www-form-urlencoded": {
              schema: {
                type: "object",
                properties: {
                  name: str,
                  tags: strings,
                  flag: { type: "boolean" },
                  meta: { type: "object" },
                },
              },
            },
          },
        },
        responses: OK,
      },
    },
    "/upload": {
      post: {
        operationId: "upload",
        requestBody: {
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: {
                  title: str,
                  labels: strings,
                  payload_json: { type: "object" },
                  file: { type: "string", format: "binary" },
                },
                required: ["file"],
              },
            },
          },
        },
        responses: OK,
      },
    },
    "/things/{item_id}": {
      put: {
        operationId: "putThing",
        description: "A body property and a query parameter named like other arguments.",
        parameters: [
          { name: "item_id", in: "path", required: true, schema: str },
          { name: "body", in: "query", schema: str },
        ],
        requestBody: {
          required: true,
          content: {
            "application/merge-patch+json": {
              schema: {
                type: "object",
                properties: { item_id: str, body: str },
                required: ["item_id"],
              },
            },
          },
        },
        responses: OK,
      },
    },
    "/trees": {
      post: {
        operationId: "plantTree",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/Node" } } },
        },
        responses: OK,
      },
    },
  },
  components: {
    schemas: {
      Node: {
        type: "object",
        description: "A tree node.",
        properties: {
          name: { type: "string" },
          children: { type: "array", items: { $ref: "#/components/schemas/Node" } },
        },
        required: ["name"],
      },
    },
  },
};

/** A 3.0 document with `nullable`, `allOf`, `oneOf` with a discriminator, and `readOnly`. */
const SCHEMAS_DOC = {
  openapi: "3.0.3",
  info: { title: "Schemas", version: "1" },
  servers: [{ url: "https://schemas.example.com" }],
  paths: {
    "/pets": {
      post: {
        operationId: "createPet",
        summary: "Create a pet",
        description: "Adds a pet to the store.",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/NewPet" } } },
        },
        responses: OK,
      },
    },
  },
  components: {
    schemas: {
      Base: {
        type: "object",
        properties: {
          id: { type: "integer", readOnly: true },
          name: { type: "string", description: "The name.", "x-internal": true },
        },
        required: ["id", "name"],
      },
      Cat: {
        type: "object",
        properties: { kind: { type: "string", enum: ["cat"] }, purrs: { type: "boolean" } },
      },
      Dog: {
        type: "object",
        properties: { kind: { type: "string", enum: ["dog"] }, barks: { type: "boolean" } },
      },
      NewPet: {
        allOf: [
          { $ref: "#/components/schemas/Base" },
          {
            type: "object",
            properties: {
              nickname: { type: "string", nullable: true, default: null },
              kind: {
                oneOf: [{ $ref: "#/components/schemas/Cat" }, { $ref: "#/components/schemas/Dog" }],
                discriminator: { propertyName: "kind" },
              },
            },
          },
        ],
      },
    },
  },
};

/** Calls `name` and returns the one request the upstream received for it. */
async function sent(up: Upstream, url: string, name: string, args: Json): Promise<Recorded> {
  const before = up.requests.length;
  const result = await callTool(url, name, args);
  assert.notEqual(result.isError, true, JSON.stringify(result));
  assert.equal(up.requests.length, before + 1);
  return up.requests[before];
}

async function withImport(
  doc: Json,
  fn: (s: TestServer, up: Upstream, api: Json, url: string) => Promise<void>,
): Promise<void> {
  const ok = () => Response.json({ ok: true });
  const up = startUpstream({
    "/items/a%2Fb": ok,
    "/items/i-1/form": ok,
    "/upload": ok,
    "/things/t-1": ok,
    "/trees": ok,
    "/pets": ok,
  });
  const s = await startTestServer();
  try {
    const api = await importApi(s, { name: "test", spec: doc, baseUrl: up.url });
    const url = await gatewayWith(s, "/t", api.tools.map((t: Json) => t.id));
    await fn(s, up, api, url);
  } finally {
    await s.close();
    await up.close();
  }
}

async function storedTool(s: TestServer, api: Json, operationId: string): Promise<Json> {
  return expectOk(await s.api("GET", `/tools/${toolOf(api, operationId).id}`));
}

Deno.test("query style/explode, headers and cookies are serialised as OpenAPI says", async () => {
  await withImport(STYLES_DOC, async (s, up, api, url) => {
    const tool = await storedTool(s, api, "getItem");
    assert.deepEqual(Object.keys(tool.inputSchema.properties), [
      "id",
      "tags",
      "ids",
      "space",
      "pipe",
      "filter",
      "point",
      "pointFlat",
      "q",
      "absent",
      "X-Trace",
      "X-List",
      "session",
      "prefs",
    ]);
    const r = await sent(up, url, "getItem", {
      id: "a/b",
      tags: ["x", "y z"],
      ids: [1, 2, 3],
      space: ["a", "b"],
      pipe: ["a", "b"],
      filter: { color: "red", size: { min: 1 } },
      point: { x: 1, y: 2 },
      pointFlat: { x: 1, y: 2 },
      q: { a: 1 },
      "X-Trace": "t1",
      "X-List": ["a", "b"],
      session: "s 1",
      prefs: ["a", "b"],
    });
    assert.deepEqual([r.method, r.path], ["GET", "/items/a%2Fb"]);
    assert.equal(
      r.query,
      [
        "tags=x&tags=y%20z", // form, explode (default): repeated keys
        "ids=1,2,3", // form, explode false: comma-joined
        "space=a%20b", // spaceDelimited
        "pipe=a|b", // pipeDelimited
        "filter[color]=red&filter[size][min]=1", // deepObject
        "x=1&y=2", // exploded object: its members as keys
        "pointFlat=x,1,y,2", // object, explode false
        "q=%7B%22a%22%3A1%7D", // content: application/json
      ].join("&"),
    );
    assert.equal(r.headers["x-trace"], "t1");
    assert.equal(r.headers["x-list"], "a,b");
    assert.equal(r.headers.cookie, "session=s%201; prefs=a,b");

    // Absent optional parameters drop out; an empty list adds nothing.
    const bare = await sent(up, url, "getItem", { id: "a/b", tags: [] });
    assert.equal(bare.query, "");
    assert.equal(bare.headers.cookie, undefined);
  });
});

Deno.test("form and multipart bodies are encoded field by field", async () => {
  await withImport(STYLES_DOC, async (s, up, api, url) => {
    const form = await storedTool(s, api, "postForm");
    assert.equal(form.executionConfig.bodyEncoding, "form");
    let r = await sent(up, url, "postForm", {
      item_id: "i-1",
      body: { name: "n&m", tags: ["a", "b"], flag: true, meta: { k: "v" } },
    });
    assert.deepEqual([r.method, r.path], ["POST", "/items/i-1/form"]);
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    // Without an encoding entry an object follows OpenAPI's default (form, explode):
    // its members become keys of their own.
    assert.equal(r.body, "name=n%26m&tags=a&tags=b&flag=true&k=v");

    const upload = await storedTool(s, api, "upload");
    assert.equal(upload.executionConfig.bodyEncoding, "multipart");
    assert.deepEqual(upload.executionConfig.bodyFiles, ["file"]);
    r = await sent(up, url, "upload", {
      body: {
        title: "hello",
        labels: ["x", "y"],
        payload_json: { embeds: [] },
        file: { content: btoa("line one\nline two\n") },
      },
    });
    const type = r.headers["content-type"];
    const boundary = /^multipart\/form-data; ?boundary=(.+)$/.exec(type)?.[1];
    assert.ok(boundary, type);
    const parts = r.body.split(`--${boundary}`);
    // The closing delimiter (its trailing line break is optional in RFC 2046).
    assert.match(parts.at(-1)!, /^--(\r\n)?$/);
    const part = (i: number) => parts[i + 1];
    assert.equal(part(0), '\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n');
    assert.equal(part(1), '\r\nContent-Disposition: form-data; name="labels"\r\n\r\nx\r\n');
    assert.equal(part(2), '\r\nContent-Disposition: form-data; name="labels"\r\n\r\ny\r\n');
    assert.equal(
      part(3),
      '\r\nContent-Disposition: form-data; name="payload_json"\r\n\r\n{"embeds":[]}\r\n',
    );
    assert.equal(
      part(4),
      '\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n' +
        "Content-Type: application/octet-stream\r\n\r\nline one\nline two\n\r\n",
    );
    assert.equal(parts.length, 7);
  });
});

Deno.test("a body is one argument, so its properties never collide with parameters", async () => {
  await withImport(STYLES_DOC, async (s, up, api, url) => {
    const tool = await storedTool(s, api, "putThing");
    const props = tool.inputSchema.properties;
    assert.deepEqual(Object.keys(props), ["item_id", "body_2", "body"]);
    assert.match(props.body_2.description, /query parameter 'body'/);
    assert.deepEqual(tool.inputSchema.required, ["item_id", "body"]);
    assert.deepEqual(tool.annotations, {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: true,
    });
    const r = await sent(up, url, "putThing", {
      item_id: "t-1",
      body_2: "q",
      body: { item_id: "other", body: "text" },
    });
    assert.deepEqual([r.method, r.path, r.query], ["PUT", "/things/t-1", "body=q"]);
    assert.equal(r.headers["content-type"], "application/merge-patch+json");
    assert.equal(r.body, '{"item_id":"other","body":"text"}');
  });
});

Deno.test("recursive schemas keep $defs and $ref, and the gateway validates through them", async () => {
  await withImport(STYLES_DOC, async (s, up, api, url) => {
    const tool = await storedTool(s, api, "plantTree");
    const { body } = tool.inputSchema.properties;
    assert.equal(body.description, "A tree node.");
    assert.deepEqual(body.properties.children, {
      type: "array",
      items: { $ref: "#/$defs/Node" },
    });
    assert.deepEqual(tool.inputSchema.$defs.Node.properties.children.items, {
      $ref: "#/$defs/Node",
    });
    const tree = { name: "root", children: [{ name: "a", children: [{ name: "b" }] }] };
    const r = await sent(up, url, "plantTree", { body: tree });
    assert.deepEqual(JSON.parse(r.body), tree);
    // A mistake three levels down is caught by the gateway, before any request.
    const before = up.requests.length;
    const bad = await rpc(url, "tools/call", {
      name: "plantTree",
      arguments: { body: { name: "root", children: [{ name: "a", children: [{ name: 5 }] }] } },
    });
    assert.ok(bad.error || bad.result.isError, JSON.stringify(bad));
    assert.equal(up.requests.length, before);
  });
});

Deno.test("3.0 nullable, allOf, oneOf and readOnly become plain JSON Schema 2020-12", async () => {
  await withImport(SCHEMAS_DOC, async (s, up, api, url) => {
    const tool = await storedTool(s, api, "createPet");
    assert.equal(tool.title, "Create a pet");
    assert.equal(tool.description, "Create a pet\n\nAdds a pet to the store.");
    const [base, extra] = tool.inputSchema.properties.body.allOf;
    // readOnly `id` is the server's: not an argument, and no longer required.
    assert.deepEqual(base, {
      type: "object",
      properties: { name: { type: "string", description: "The name." } },
      required: ["name"],
    });
    assert.deepEqual(extra.properties.nickname, { type: ["string", "null"], default: null });
    // oneOf is written as anyOf (branches in the wild overlap); the discriminator is dropped.
    assert.equal(extra.properties.kind.anyOf.length, 2);
    assert.equal(extra.properties.kind.discriminator, undefined);
    assert.equal(extra.properties.kind.oneOf, undefined);

    const r = await sent(up, url, "createPet", {
      body: { name: "Tom", nickname: null, kind: { kind: "cat", purrs: true } },
    });
    assert.deepEqual(JSON.parse(r.body), {
      name: "Tom",
      nickname: null,
      kind: { kind: "cat", purrs: true },
    });
  });
});
