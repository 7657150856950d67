/**
 * Unit tests of the pieces below the import: parameter serialisation,
 * body encodings, the validation of the new execution config fields, and
 * generated names.
 */
import assert from "node:assert/strict";
import { argName, baseToolName, isNameFor, uniqueName } from "../../src/openapi/names.ts";
import { normalizeHttpConfig } from "../../src/tools/definition.ts";
import {
  type BodyEncoding,
  compileParameters,
  cookiePair,
  encodeBody,
  headerValue,
  queryPairs,
} from "../../src/tools/http_parameters.ts";

const param = (p: Record<string, unknown>) => compileParameters([p])[0];

Deno.test("query parameters follow OpenAPI's style and explode rules", () => {
  const q = (p: Record<string, unknown>, v: unknown) =>
    queryPairs(param({ name: "k", in: "query", ...p }), v).join("&");
  assert.equal(q({}, "a b&c"), "k=a%20b%26c");
  assert.equal(q({}, 5), "k=5");
  assert.equal(q({}, true), "k=true");
  assert.equal(q({}, ["a", null, "b"]), "k=a&k=b");
  assert.equal(q({ explode: false }, ["a,1", "b"]), "k=a%2C1,b");
  assert.equal(q({ style: "spaceDelimited" }, ["a", "b"]), "k=a%20b");
  assert.equal(q({ style: "pipeDelimited" }, ["a", "b"]), "k=a|b");
  assert.equal(q({ style: "pipeDelimited", explode: true }, ["a", "b"]), "k=a&k=b");
  assert.equal(q({}, { r: 1, g: null, b: 3 }), "r=1&b=3");
  assert.equal(q({ explode: false }, { r: 1, b: 3 }), "k=r,1,b,3");
  assert.equal(
    q({ style: "deepObject" }, { a: { b: "c d" }, e: [1, 2] }),
    "k[a][b]=c%20d&k[e][0]=1&k[e][1]=2",
  );
  assert.equal(q({ json: true }, { a: [1] }), "k=%7B%22a%22%3A%5B1%5D%7D");
  assert.equal(q({}, []), "");
  assert.equal(q({}, {}), "");
  assert.equal(q({ name: "a[b]" }, "x"), "a%5Bb%5D=x");
});

Deno.test("header and cookie parameters", () => {
  const h = param({ name: "X-A", in: "header" });
  assert.equal(h.style, "simple");
  assert.equal(h.explode, false);
  assert.equal(headerValue(h, ["a", "b"]), "a,b");
  assert.equal(headerValue(h, { a: 1, b: 2 }), "a,1,b,2");
  assert.equal(headerValue(param({ name: "X", in: "header", explode: true }), { a: 1 }), "a=1");
  assert.equal(headerValue(h, []), undefined);
  const c = param({ name: "s id", in: "cookie" });
  assert.equal(cookiePair(c, "a;b"), "s%20id=a%3Bb");
  assert.equal(cookiePair(c, ["a", "b"]), "s%20id=a,b");
});

Deno.test("bodies: JSON keeps types, forms repeat list members, multipart files are parts", async () => {
  // Rules as compiled for a tool stored before bodyFields: objects in forms go as JSON text.
  const rules = (encoding: BodyEncoding, files: string[] = []) => ({
    encoding,
    files: new Set(files),
  });
  assert.deepEqual(encodeBody(rules("json"), "text"), {
    body: '"text"',
    contentType: "application/json",
  });
  const form = encodeBody(rules("form"), { a: "x y", l: [1, 2], o: { k: true }, n: null });
  assert.deepEqual(form, {
    body: "a=x+y&l=1&l=2&o=%7B%22k%22%3Atrue%7D",
    contentType: "application/x-www-form-urlencoded",
  });
  assert.throws(() => encodeBody(rules("form"), [1]), /must be an object/);
  const multi = encodeBody(rules("multipart", ["f"]), { t: "a", f: "content" });
  assert.match(multi.contentType, /^multipart\/form-data; boundary=/);
  const fd = await new Response(multi.body, { headers: { "content-type": multi.contentType } })
    .formData();
  assert.equal(fd.get("t"), "a");
  const file = fd.get("f") as File;
  assert.equal(file.name, "f");
  assert.equal(await file.text(), "content");
});

Deno.test("execution config: parameters, bodyEncoding and bodyFiles are validated", () => {
  const schema = { type: "object", properties: { a: {}, b: {} } };
  const check = (extra: Record<string, unknown>) => {
    const out = normalizeHttpConfig(
      { method: "POST", url: "https://x.example.com", ...extra },
      schema,
    );
    return "problem" in out ? out.problem.field : "ok";
  };
  assert.equal(check({ parameters: [{ name: "a", in: "query" }] }), "ok");
  assert.equal(
    check({ parameters: [{ name: "q", in: "query", arg: "b", style: "deepObject" }] }),
    "ok",
  );
  assert.equal(
    check({ parameters: [{ name: "c", in: "query" }] }),
    "executionConfig.parameters[0].name",
  );
  assert.equal(
    check({ parameters: [{ name: "a", in: "path" }] }),
    "executionConfig.parameters[0].in",
  );
  assert.equal(
    check({ parameters: [{ name: "a", in: "header", style: "form" }] }),
    "executionConfig.parameters[0].style",
  );
  assert.equal(
    check({ parameters: [{ name: "a b", in: "header", arg: "a" }] }),
    "executionConfig.parameters[0].name",
  );
  assert.equal(
    check({ parameters: [{ name: "a", in: "query", x: 1 }] }),
    "executionConfig.parameters[0].x",
  );
  assert.equal(check({ parameters: "a" }), "executionConfig.parameters");
  assert.equal(check({ bodyEncoding: "form", body: "{{parameters.a}}" }), "ok");
  assert.equal(check({ bodyEncoding: "xml", body: "x" }), "executionConfig.bodyEncoding");
  assert.equal(check({ bodyEncoding: "json" }), "executionConfig.bodyEncoding");
  assert.equal(
    check({ bodyEncoding: "form", body: "x", bodyFiles: ["a"] }),
    "executionConfig.bodyFiles",
  );
  assert.equal(check({ bodyEncoding: "multipart", body: "x", bodyFiles: ["a"] }), "ok");
});

Deno.test("generated names are valid, bounded and unique", () => {
  assert.equal(baseToolName("listPets", "get", "/pets"), "listPets");
  assert.equal(baseToolName(undefined, "GET", "/pets/{petId}"), "get_pets_petId");
  assert.equal(baseToolName("  ", "post", "/"), "post");
  assert.equal(baseToolName("a/b c{d}", "get", "/"), "a_b_c_d");
  const long = baseToolName("x".repeat(80), "get", "/");
  assert.equal(long.length, 64);
  assert.notEqual(long, baseToolName(`${"x".repeat(79)}y`, "get", "/"));
  assert.equal(uniqueName("a", new Set(["a", "a_2"])), "a_3");
  assert.equal(uniqueName("x".repeat(64), new Set(["x".repeat(64)])).length, 64);
  assert.ok(isNameFor("a_3", "a"));
  assert.ok(!isNameFor("ab", "a"));
  const taken = new Set<string>();
  assert.equal(argName("StartTime<", taken), "StartTime_lt");
  assert.equal(argName("StartTime>=", taken), "StartTime_gte");
  assert.equal(argName("page[size]", taken), "page_size");
  assert.equal(argName("page.size", taken), "page_size_2");
  assert.equal(argName("1st", taken), "_1st");
  assert.equal(argName("_id", taken), "_id");
  assert.equal(argName("€", taken), "param");
});
