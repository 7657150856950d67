/**
 * Swagger 2.0 documents the way large public descriptions write them:
 * parameters behind `$ref` (body and form fields included), path-level
 * parameters, every `collectionFormat`, `enum` and `default` on list
 * parameters, versions YAML reads as numbers. Each tool is called over MCP
 * and the local upstream checks the exact request that arrives.
 */
import assert from "node:assert/strict";
import petstore2Yaml from "@readme/oas-examples/2.0/yaml/petstore.yaml" with { type: "text" };
import { expectFail, expectOk, type Json, OK } from "./helpers.ts";
import { assertMultipart, base64, withWire } from "./wire.ts";
import { startTestServer } from "../helpers/server.ts";

const OK2 = { "200": { description: "ok" } };

/** A Kubernetes-shaped 2.0 document: shared parameters, PATCH bodies and forms behind `$ref`. */
const REFS_DOC = {
  swagger: "2.0",
  info: { title: "Refs", version: "1" },
  host: "k8s.example.com",
  schemes: ["https"],
  consumes: ["application/json"],
  parameters: {
    patch: { name: "body", in: "body", required: true, schema: { type: "object" } },
    pretty: { name: "pretty", in: "query", type: "string", uniqueItems: true },
    formName: { name: "name", in: "formData", type: "string", required: true },
    formTags: { name: "tags", in: "formData", type: "array", items: { type: "string" } },
    formFile: { name: "file", in: "formData", type: "file" },
  },
  paths: {
    "/api/v1/namespaces/{namespace}/configmaps/{name}": {
      parameters: [
        { name: "name", in: "path", required: true, type: "string" },
        { name: "namespace", in: "path", required: true, type: "string" },
        { $ref: "#/parameters/pretty" },
      ],
      get: { operationId: "readConfigMap", responses: OK2 },
      patch: {
        operationId: "patchConfigMap",
        consumes: ["application/merge-patch+json"],
        parameters: [{ $ref: "#/parameters/patch" }],
        responses: OK2,
      },
    },
    "/forms/{id}": {
      post: {
        operationId: "submitForm",
        consumes: ["application/x-www-form-urlencoded"],
        parameters: [
          { name: "id", in: "path", required: true, type: "string" },
          { $ref: "#/parameters/formName" },
          { $ref: "#/parameters/formTags" },
        ],
        responses: OK2,
      },
    },
    "/uploads": {
      post: {
        operationId: "upload",
        consumes: ["multipart/form-data"],
        parameters: [{ $ref: "#/parameters/formName" }, { $ref: "#/parameters/formFile" }],
        responses: OK2,
      },
    },
    // A path-level body reaches every method.
    "/shared-body": {
      parameters: [{ $ref: "#/parameters/patch" }],
      put: { operationId: "putShared", responses: OK2 },
      post: { operationId: "postShared", responses: OK2 },
    },
  },
};

Deno.test("Swagger 2.0: body and formData parameters behind $ref are arguments like inline ones", async () => {
  await withWire(REFS_DOC, async (w) => {
    const patch = await w.stored("patchConfigMap");
    assert.deepEqual(Object.keys(patch.inputSchema.properties), [
      "name",
      "namespace",
      "pretty",
      "body",
    ]);
    assert.deepEqual(patch.inputSchema.required, ["name", "namespace", "body"]);
    assert.deepEqual(patch.inputSchema.properties.body, { type: "object" });
    assert.equal(patch.inputSchema.additionalProperties, false);
    assert.equal(patch.executionConfig.headers["Content-Type"], "application/merge-patch+json");

    let r = await w.send("patchConfigMap", {
      namespace: "default",
      name: "cm-1",
      pretty: "true",
      body: { data: { k: "v" } },
    });
    assert.deepEqual([r.method, r.path, r.query], [
      "PATCH",
      "/api/v1/namespaces/default/configmaps/cm-1",
      "pretty=true",
    ]);
    assert.equal(r.headers["content-type"], "application/merge-patch+json");
    assert.equal(r.body, '{"data":{"k":"v"}}');

    // The body is required, and an argument the operation does not take is refused.
    assert.match(
      await w.refuse("patchConfigMap", { namespace: "default", name: "cm-1" }),
      /required property "body"/,
    );
    assert.match(
      await w.refuse("patchConfigMap", {
        namespace: "default",
        name: "cm-1",
        body: {},
        dryRun: "All",
      }),
      /Property "dryRun" does not match additional properties/,
    );

    // Path-level parameters reach every method, the ones listed first included.
    r = await w.send("readConfigMap", { namespace: "kube-system", name: "cm 2" });
    assert.deepEqual([r.method, r.path, r.query, r.body], [
      "GET",
      "/api/v1/namespaces/kube-system/configmaps/cm%202",
      "",
      "",
    ]);

    // A required form field makes the form body required; lists default to csv.
    const form = await w.stored("submitForm");
    assert.deepEqual(form.inputSchema.required, ["id", "body"]);
    assert.deepEqual(form.inputSchema.properties.body.required, ["name"]);
    assert.match(await w.refuse("submitForm", { id: "f1" }), /required property "body"/);
    r = await w.send("submitForm", { id: "f1", body: { name: "Ada L", tags: ["a", "b,c"] } });
    assert.deepEqual([r.method, r.path], ["POST", "/forms/f1"]);
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(r.body, "name=Ada+L&tags=a,b%2Cc");

    // A file field behind $ref: a multipart file part with base64 content.
    const upload = await w.stored("upload");
    assert.deepEqual(upload.executionConfig.bodyFiles, ["file"]);
    assert.deepEqual(upload.inputSchema.properties.body.properties.file.required, ["content"]);
    const bytes = Uint8Array.of(0, 1, 2, 0xfe, 0xff);
    r = await w.send("upload", {
      body: { name: "Ada", file: { content: base64(bytes), filename: "f.bin" } },
    });
    assert.deepEqual([r.method, r.path], ["POST", "/uploads"]);
    assertMultipart(r, [
      { name: "name", content: "Ada" },
      {
        name: "file",
        filename: "f.bin",
        contentType: "application/octet-stream",
        content: bytes,
      },
    ]);

    for (const op of ["putShared", "postShared"]) {
      const t = await w.stored(op);
      assert.deepEqual(t.inputSchema.required, ["body"], op);
      r = await w.send(op, { body: { x: 1 } });
      assert.deepEqual([r.path, r.headers["content-type"], r.body], [
        "/shared-body",
        "application/json",
        '{"x":1}',
      ]);
    }
  });
});

const list = { type: "array", items: { type: "string" } };

/** Every collection format in the query, in headers and in a form. */
const FORMATS_DOC = {
  swagger: "2.0",
  info: { title: "Formats", version: "1" },
  host: "formats.example.com",
  paths: {
    "/items": {
      get: {
        operationId: "listItems",
        parameters: [
          { name: "c", in: "query", ...list, collectionFormat: "csv" },
          { name: "s", in: "query", ...list, collectionFormat: "ssv" },
          { name: "t", in: "query", ...list, collectionFormat: "tsv" },
          { name: "p", in: "query", ...list, collectionFormat: "pipes" },
          { name: "m", in: "query", ...list, collectionFormat: "multi" },
          { name: "d", in: "query", ...list },
          { name: "X-C", in: "header", ...list, collectionFormat: "csv" },
          { name: "X-S", in: "header", ...list, collectionFormat: "ssv" },
          { name: "X-T", in: "header", ...list, collectionFormat: "tsv" },
          { name: "X-P", in: "header", ...list, collectionFormat: "pipes" },
        ],
        responses: OK2,
      },
      post: {
        operationId: "postItems",
        consumes: ["application/x-www-form-urlencoded"],
        parameters: [
          { name: "c", in: "formData", ...list, collectionFormat: "csv" },
          { name: "s", in: "formData", ...list, collectionFormat: "ssv" },
          { name: "t", in: "formData", ...list, collectionFormat: "tsv" },
          { name: "p", in: "formData", ...list, collectionFormat: "pipes" },
          { name: "m", in: "formData", ...list, collectionFormat: "multi" },
          { name: "d", in: "formData", ...list },
        ],
        responses: OK2,
      },
    },
  },
};

Deno.test("Swagger 2.0 collectionFormat: csv, ssv, tsv, pipes and multi in queries, headers and forms", async () => {
  await withWire(FORMATS_DOC, async (w) => {
    const ab = ["a", "b c"];
    const args = { c: ab, s: ab, t: ab, p: ab, m: ab, d: ab };
    let r = await w.send("listItems", {
      ...args,
      "X-C": ["a", "b"],
      "X-S": ["a", "b"],
      "X-T": ["a", "b"],
      "X-P": ["a", "b"],
    });
    assert.equal(
      r.query,
      "c=a,b%20c&s=a%20b%20c&t=a%09b%20c&p=a|b%20c&m=a&m=b%20c&d=a,b%20c",
    );
    assert.deepEqual(
      [r.headers["x-c"], r.headers["x-s"], r.headers["x-t"], r.headers["x-p"]],
      ["a,b", "a b", "a\tb", "a|b"],
    );
    r = await w.send("postItems", { body: args });
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(r.body, "c=a,b+c&s=a%20b+c&t=a%09b+c&p=a|b+c&m=a&m=b+c&d=a,b+c");
    const stored = await w.stored("postItems");
    assert.deepEqual(stored.executionConfig.bodyFields, {
      c: { style: "form", explode: false },
      s: { style: "spaceDelimited", explode: false },
      t: { style: "tabDelimited", explode: false },
      p: { style: "pipeDelimited", explode: false },
      m: { style: "form", explode: true },
      d: { style: "form", explode: false },
    });
  });
});

/** `enum` and `default` written on list parameters themselves, as many 2.0 documents do. */
const ENUMS_DOC = {
  swagger: "2.0",
  info: { title: "Enums", version: "1" },
  host: "enums.example.com",
  paths: {
    "/pets/findByStatus": {
      get: {
        operationId: "findByStatus",
        parameters: [{
          name: "status",
          in: "query",
          type: "array",
          items: { type: "string" },
          enum: ["available", "pending", "sold"],
          default: "available",
          collectionFormat: "multi",
        }],
        responses: OK2,
      },
      post: {
        operationId: "postByStatus",
        consumes: ["application/x-www-form-urlencoded"],
        parameters: [{
          name: "status",
          in: "formData",
          type: "array",
          items: { type: "string" },
          enum: ["available", "sold"],
          collectionFormat: "multi",
        }],
        responses: OK2,
      },
    },
  },
};

Deno.test("Swagger 2.0: enum and default on a list parameter apply to its items", async () => {
  await withWire(ENUMS_DOC, async (w) => {
    const find = await w.stored("findByStatus");
    assert.deepEqual(find.inputSchema.properties.status, {
      type: "array",
      items: { type: "string", enum: ["available", "pending", "sold"], default: "available" },
    });
    let r = await w.send("findByStatus", { status: ["available"] });
    assert.deepEqual([r.path, r.query], ["/pets/findByStatus", "status=available"]);
    r = await w.send("findByStatus", { status: ["sold", "pending"] });
    assert.equal(r.query, "status=sold&status=pending");
    assert.match(await w.refuse("findByStatus", { status: ["lost"] }), /status/);

    const post = await w.stored("postByStatus");
    assert.deepEqual(post.inputSchema.properties.body.properties.status.items.enum, [
      "available",
      "sold",
    ]);
    r = await w.send("postByStatus", { body: { status: ["available", "sold"] } });
    assert.equal(r.body, "status=available&status=sold");
    assert.match(await w.refuse("postByStatus", { body: { status: ["lost"] } }), /status/);
  });
});

Deno.test("Swagger 2.0 petstore (YAML text, @readme/oas-examples): forms, files and lists as written", async () => {
  await withWire(
    petstore2Yaml,
    async (w) => {
      assert.equal(w.api.specVersion, "2.0");
      let r = await w.send("findPetsByStatus", { status: ["available", "sold"] });
      assert.deepEqual([r.method, r.path, r.query], [
        "GET",
        "/v2/pet/findByStatus",
        "status=available&status=sold",
      ]);
      r = await w.send("updatePetWithForm", { petId: 7, body: { name: "Rex", status: "sold" } });
      assert.deepEqual([r.method, r.path, r.body], ["POST", "/v2/pet/7", "name=Rex&status=sold"]);
      assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
      r = await w.send("uploadFile", {
        petId: 3,
        body: {
          additionalMetadata: "m 1",
          file: { content: base64("GIF89a"), filename: "a.gif", contentType: "image/gif" },
        },
      });
      assert.equal(r.path, "/v2/pet/3/uploadImage");
      assertMultipart(r, [
        { name: "additionalMetadata", content: "m 1" },
        { name: "file", filename: "a.gif", contentType: "image/gif", content: "GIF89a" },
      ]);
      r = await w.send("addPet", { body: { name: "doggie", photoUrls: ["u"] } });
      assert.deepEqual([r.path, r.headers["content-type"], r.body], [
        "/v2/pet",
        "application/json",
        '{"name":"doggie","photoUrls":["u"]}',
      ]);
    },
    {},
    "/v2",
  );
});

/** The smallest document of `version` (the YAML line as written) with one operation. */
function yamlDoc(versionLine: string, extra = ""): string {
  const swagger = versionLine.startsWith("swagger");
  return [
    versionLine,
    "info: {title: Numbers, version: 1.5}",
    swagger ? "host: numbers.example.com" : "servers: [{url: 'https://numbers.example.com'}]",
    "paths:",
    "  /things:",
    "    get:",
    "      operationId: listThings",
    swagger
      ? "      parameters: [{name: q, in: query, type: string}]"
      : "      parameters: [{name: q, in: query, schema: {type: string}}]",
    "      responses: {'200': {description: ok}}",
    extra,
  ].join("\n");
}

Deno.test("versions YAML reads as numbers are read as the version they mean", async () => {
  for (
    const [line, version] of [["swagger: 2.0", "2.0"], ["openapi: 3.0", "3.0"], [
      "openapi: 3.1",
      "3.1",
    ]]
  ) {
    await withWire(yamlDoc(line), async (w) => {
      assert.equal(w.api.specVersion, version, line);
      assert.equal(w.api.version, "1.5");
      const r = await w.send("listThings", { q: "a b" });
      assert.deepEqual([r.method, r.path, r.query], ["GET", "/things", "q=a%20b"], line);
    });
  }
});

Deno.test("refusals never contradict themselves", async () => {
  const s = await startTestServer();
  try {
    const refused = async (spec: unknown, body: Json = {}) =>
      expectFail(await s.api("POST", "/apis", { name: "x", spec, ...body }), 400, "spec");
    // A version that is not supported is named with its field, never as one that is.
    let message = await refused(yamlDoc("openapi: 3.3"));
    assert.match(message, /declares openapi version '3\.3'/);
    message = await refused(yamlDoc("swagger: 3.0"));
    assert.match(message, /declares swagger version '3\.0'/);

    // The innermost reason is quoted, not the alternatives the document did not mean.
    const badIn = {
      swagger: "2.0",
      info: { title: "x", version: "1" },
      host: "a.example.com",
      paths: {
        "/a": {
          get: { parameters: [{ name: "q", in: "nowhere", type: "string" }], responses: OK },
        },
      },
    };
    message = await refused(badIn);
    assert.doesNotMatch(message, /not expected to be here/);
    assert.match(
      message,
      /^spec is not a valid Swagger 2\.0 document: must be equal to one of the allowed values: body, header, formData, query, path at \/paths\/~1a\/get\/parameters\/0\/in$/,
    );

    // An operation the filter kept but that cannot be imported says why, not "the filter".
    const broken = {
      openapi: "3.1.0",
      info: { title: "x", version: "1" },
      servers: [{ url: "https://a.example.com" }],
      paths: {
        "/a": {
          get: {
            operationId: "broken",
            parameters: [{ name: "X Bad", in: "header", schema: { type: "string" } }],
            responses: OK,
          },
        },
      },
    };
    message = await refused(broken, { include: ["broken"] });
    assert.equal(
      message,
      "no operation of the document could be imported: GET /a: executionConfig.parameters[0]" +
        ".name is not a valid HTTP header name; skipped",
    );
    expectFail(
      await s.api("POST", "/apis", { name: "x", spec: broken, include: ["other"] }),
      400,
      "include",
    );
    assert.deepEqual(expectOk(await s.api("GET", "/apis")).apis, []);
  } finally {
    await s.close();
  }
});
