/**
 * How an auth secret's parts are added to a built request: headers replace
 * the tool's own, query parameters are appended encoded and masked in the
 * log URL, and credential headers are marked for dropping on redirects.
 */
import assert from "node:assert/strict";
import {
  applyAuth,
  BuildError,
  buildRequest,
  compileHttpTool,
} from "../../src/tools/http_request.ts";

function plan(url: string, headers: Record<string, string> = {}) {
  return buildRequest(compileHttpTool({ method: "GET", url, headers }), {}, new Map());
}

Deno.test("query auth is appended after the tool's own query, encoded, and masked in logs", () => {
  const cases: [string, string, string][] = [
    [
      "https://api.example.com/v1/items?page=2",
      "https://api.example.com/v1/items?page=2&api%20key=a%20b%26c",
      "https://api.example.com/v1/items?page=2&api%20key=***",
    ],
    [
      "https://api.example.com/v1/items",
      "https://api.example.com/v1/items?api%20key=a%20b%26c",
      "https://api.example.com/v1/items?api%20key=***",
    ],
    [
      "https://user:pw@api.example.com/x",
      "https://user:pw@api.example.com/x?api%20key=a%20b%26c",
      "https://user:pw@api.example.com/x?api%20key=***",
    ],
  ];
  for (const [url, href, log] of cases) {
    const p = applyAuth(plan(url), { headers: [], query: [["api key", "a b&c"]] });
    assert.equal(p.url.href, href, url);
    assert.equal(p.logUrl, log, url);
  }
});

Deno.test("auth headers replace the tool's and are dropped on cross-origin redirects", () => {
  const p = applyAuth(
    plan("https://api.example.com/x", { Authorization: "Bearer tool", Accept: "a/b" }),
    {
      headers: [["Authorization", "Bearer secret"], ["X-Sig", "s"]],
      query: [],
    },
  );
  assert.equal(p.headers.get("authorization"), "Bearer secret");
  assert.equal(p.headers.get("accept"), "a/b");
  assert.deepEqual([...p.secretHeaders].sort(), ["authorization", "x-sig"]);
  assert.throws(
    () =>
      applyAuth(plan("https://api.example.com/x"), {
        headers: [["X-A", "v\r\nX-B: 1"]],
        query: [],
      }),
    (err: unknown) => err instanceof BuildError && !err.message.includes("X-B: 1"),
  );
});
