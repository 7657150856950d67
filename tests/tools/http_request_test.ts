/**
 * Templates and request building without a network: what URL, headers and
 * body a call produces, and which argument values are refused.
 */
import assert from "node:assert/strict";
import { BuildError, buildRequest, compileHttpTool } from "../../src/tools/http_request.ts";
import { compileJson, compileString, renderJson } from "../../src/tools/templates.ts";

function build(
  config: Record<string, unknown>,
  args: Record<string, unknown> = {},
  secrets: Record<string, string> = {},
) {
  return buildRequest(compileHttpTool(config), args, new Map(Object.entries(secrets)));
}

function refused(config: Record<string, unknown>, args: Record<string, unknown>): string {
  try {
    build(config, args);
  } catch (err) {
    assert.ok(err instanceof BuildError, String(err));
    return err.message;
  }
  throw new Error("expected the request to be refused");
}

Deno.test("compileString splits literals and references and marks whole-value templates", () => {
  assert.deepEqual(compileString("a {{ parameters.x.y }} b {{secrets.K}}").parts, [
    "a ",
    { kind: "parameters", path: ["x", "y"], name: "x.y" },
    " b ",
    { kind: "secrets", name: "K" },
  ]);
  assert.deepEqual(compileString("{{parameters.page}}").whole, {
    kind: "parameters",
    path: ["page"],
    name: "page",
  });
  assert.equal(compileString(" {{parameters.page}}").whole, undefined);
  // Not a known reference: left as literal text.
  assert.deepEqual(compileString("{{other}}").parts, ["{{other}}"]);
});

Deno.test("renderJson keeps types, nests, and leaves absent members out", () => {
  const body = compileJson({
    n: "{{parameters.n}}",
    deep: "{{parameters.user.name}}",
    text: "{{parameters.n}} items",
    none: "{{parameters.none}}",
    nul: "{{parameters.nul}}",
    fixed: { a: [1, "x"] },
  });
  const args = { n: 5, user: { name: "ada" }, nul: null };
  assert.deepEqual(renderJson(body, { args, secrets: new Map() }), {
    n: 5,
    deep: "ada",
    text: "5 items",
    nul: null,
    fixed: { a: [1, "x"] },
  });
  const proto = renderJson(compileJson(JSON.parse('{"__proto__": "{{parameters.n}}"}')), {
    args,
    secrets: new Map(),
  });
  assert.equal(JSON.stringify(proto), '{"__proto__":5}');
});

Deno.test("a JSON-typed whole-value body is sent as JSON, a string one as text", () => {
  const config = { method: "POST", url: "https://api.example.com/x", body: "{{parameters.p}}" };
  const json = build(config, { p: { a: 1 } });
  assert.equal(json.body, '{"a":1}');
  assert.equal(json.headers.get("content-type"), "application/json");
  const text = build(config, { p: "raw" });
  assert.equal(text.body, "raw");
  assert.equal(text.headers.get("content-type"), null);
  assert.equal(build(config, {}).body, undefined);
});

Deno.test("an explicit content-type header wins over the JSON default", () => {
  const plan = build({
    method: "POST",
    url: "https://api.example.com/x",
    headers: { "Content-Type": "application/vnd.api+json" },
    body: { a: 1 },
  });
  assert.equal(plan.headers.get("content-type"), "application/vnd.api+json");
});

Deno.test("GET and HEAD send no body even when one is configured", () => {
  const plan = build({ method: "GET", url: "https://api.example.com/x", body: { a: 1 } });
  assert.equal(plan.body, undefined);
});

Deno.test("path values are percent-encoded per segment; lists are comma-joined", () => {
  const url = "https://api.example.com/v1/{{parameters.a}}/x-{{parameters.b}}.json";
  assert.equal(
    build({ method: "GET", url }, { a: "a/b c", b: 42 }).url.href,
    "https://api.example.com/v1/a%2Fb%20c/x-42.json",
  );
  assert.equal(
    build({ method: "GET", url }, { a: ["x", "y/z"], b: "\\..\\" }).url.href,
    "https://api.example.com/v1/x,y%2Fz/x-%5C..%5C.json",
  );
});

Deno.test("a missing path parameter is refused rather than leaving an empty segment", () => {
  const config = { method: "GET", url: "https://api.example.com/users/{{parameters.id}}/posts" };
  assert.match(refused(config, {}), /parameter 'id' is required to build the URL path/);
  assert.match(refused(config, { id: null }), /parameter 'id' is required/);
  assert.match(refused(config, { id: ".." }), /may not be '.' or '..'/);
  assert.equal(
    build(config, { id: "..." }).url.pathname,
    "/users/.../posts",
    "three dots are an ordinary name",
  );
});

Deno.test("a parameter in the host cannot redirect the call elsewhere", () => {
  const config = { method: "GET", url: "https://{{parameters.tenant}}.example.com/x" };
  assert.equal(build(config, { tenant: "acme" }).url.host, "acme.example.com");
  for (const tenant of ["evil.com/", "evil.com?", "evil.com#", "a@evil.com"]) {
    assert.match(refused(config, { tenant }), /not a valid URL/, tenant);
  }
});

Deno.test("secrets in the URL are masked in the log URL", () => {
  const plan = build(
    {
      method: "GET",
      url: "https://api.example.com/x?key={{secrets.KEY}}",
      queryParams: { q: "{{parameters.q}}" },
    },
    { q: "hi" },
    { KEY: "a b" },
  );
  assert.equal(plan.url.href, "https://api.example.com/x?key=a%20b&q=hi");
  assert.equal(plan.logUrl, "https://api.example.com/x?key=***&q=hi");
});

Deno.test("header names that are not valid HTTP are refused", () => {
  assert.match(
    refused({ method: "GET", url: "https://api.example.com/", headers: { "Bad Name": "x" } }, {}),
    /header 'Bad Name' is not a valid HTTP header/,
  );
});

Deno.test("compiled tools know their secrets and which headers carry them", () => {
  const t = compileHttpTool({
    method: "put",
    url: "https://api.example.com/{{secrets.A}}",
    headers: { Authorization: "Bearer {{secrets.B}}", Accept: "application/json" },
    body: { k: "{{secrets.C}}", n: "{{secrets.A}}" },
    timeout: 1234,
    retries: 2,
  });
  assert.deepEqual(t.secrets.toSorted(), ["A", "B", "C"]);
  assert.deepEqual(t.secretHeaders, ["authorization"]);
  assert.equal(t.method, "PUT");
  assert.equal(t.idempotent, true);
  assert.equal(t.urlHasSecret, true);
  assert.equal(t.timeoutMs, 1234);
  assert.equal(t.retries, 2);
  assert.equal(compileHttpTool({ method: "POST", url: "https://a.example/" }).idempotent, false);
});
