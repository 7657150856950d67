/**
 * The paged lists of the management API (`GET /tools`, `/apis`, `/gateways`,
 * `/gateways/{id}/tools`, `/servers`) against a real server: every item
 * exactly once and in order whatever the page size, the filters of
 * `/tools`, refused parameters and cursors, and organizations that never
 * see each other's rows through a cursor.
 */
import assert from "node:assert/strict";
import { Validator } from "@cfworker/json-schema";
import { LISTS, MAX_LIMIT, PAGE_PARAMETERS } from "../../src/api/lists.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { freePort, type TestServer } from "../helpers/server.ts";
import { addServer } from "../upstream/gateway_fixtures.ts";
import { startScriptedUpstream } from "../upstream/scripted_upstream.ts";
import {
  type Call,
  client,
  create,
  expectError,
  expectStatus,
  gatewayBody,
  type Json,
  memberWithKey,
  separateOrg,
  toolBody,
  withServer,
} from "./fixtures.ts";

/** Appends query parameters to `path`. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

/** What paging through a list gave: every item in order, and each page's size. */
interface Walk {
  items: Json[];
  sizes: number[];
  cursors: string[];
}

/**
 * Reads every page of `path` (a list under `key`) with `limit` (the
 * server's default when undefined), checking that every page but the last
 * is full and carries a cursor, and that the last one says null.
 */
async function walk(call: Call, path: string, key: string, limit?: number): Promise<Walk> {
  const out: Walk = { items: [], sizes: [], cursors: [] };
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const res = expectStatus(await call("GET", withQuery(path, { limit, cursor })), 200);
    assert.deepEqual(Object.keys(res.body).sort(), [key, "nextCursor"].sort());
    const items = res.body[key] as Json[];
    out.items.push(...items);
    out.sizes.push(items.length);
    if (res.body.nextCursor === null) return out;
    assert.equal(typeof res.body.nextCursor, "string");
    assert.equal(items.length, limit ?? 100, `page ${i} of ${path} is not full but has a cursor`);
    cursor = res.body.nextCursor;
    out.cursors.push(cursor!);
  }
  throw new Error(`${path} never ended`);
}

/** Sorts by the given string fields in turn, comparing as SQLite's binary collation does. */
function sortedBy(items: Json[], ...fields: string[]): Json[] {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const cmp = (a: string, b: string) => {
    const x = bytes(a), y = bytes(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  return [...items].sort((a, b) => {
    for (const f of fields) {
      const c = cmp(a[f], b[f]);
      if (c !== 0) return c;
    }
    return 0;
  });
}

/** Runs `fn` over `items` a few at a time. */
async function inBatches<T, R>(items: T[], fn: (item: T) => Promise<R>, size = 20): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...await Promise.all(items.slice(i, i + size).map(fn)));
  }
  return out;
}

/** `n` tools whose names do not sort in the order they are made (some start upper-case). */
async function makeTools(call: Call, n: number, prefix = "t"): Promise<Json[]> {
  const names = Array.from({ length: n }, (_, i) => {
    const k = (i * 37) % n;
    return `${k % 10 === 0 ? prefix.toUpperCase() : prefix}_${String(k).padStart(4, "0")}`;
  });
  return await inBatches(names, (name) => create(call, "/tools", toolBody(name)));
}

/** An OpenAPI document with one GET operation per name. */
function specWith(names: string[], title = "Listed") {
  return {
    openapi: "3.1.0",
    info: { title, version: "1" },
    servers: [{ url: "https://listed.example.com" }],
    paths: Object.fromEntries(
      names.map((n) => [`/${n}`, {
        get: {
          operationId: n,
          summary: `Reads the ${n} collection`,
          responses: { "200": { description: "ok" } },
        },
      }]),
    ),
  };
}

const ids = (items: Json[], field = "id") => items.map((x) => x[field] as string);

/** Decodes a cursor the server gave out (a test may look inside; clients may not rely on it). */
function decode(cursor: string): Json {
  const bin = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

function encode(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

Deno.test("GET /tools: 250 tools, paged by 100, by 7, by 50 and at once, each exactly once in name order", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const made = await makeTools(admin, 250);
    const expected = ids(sortedBy(made, "name", "id"));
    assert.notDeepEqual(ids(made), expected, "creation order is not name order");

    // Without limit: the first 100 and a cursor, as before for small lists.
    const first = expectStatus(await admin("GET", "/tools"), 200).body;
    assert.deepEqual(ids(first.tools), expected.slice(0, 100));
    assert.equal(typeof first.nextCursor, "string");

    const byDefault = await walk(admin, "/tools", "tools");
    assert.deepEqual(byDefault.sizes, [100, 100, 50]);
    assert.deepEqual(ids(byDefault.items), expected);

    const by7 = await walk(admin, "/tools", "tools", 7);
    assert.equal(by7.sizes.length, 36);
    assert.equal(by7.sizes.at(-1), 250 - 35 * 7);
    assert.deepEqual(ids(by7.items), expected);
    assert.equal(new Set(ids(by7.items)).size, 250);
    assert.equal(new Set(by7.cursors).size, by7.cursors.length, "every cursor is new");

    // A limit that divides the count: the last full page already says there is no more.
    assert.deepEqual((await walk(admin, "/tools", "tools", 50)).sizes, [50, 50, 50, 50, 50]);
    const all = await walk(admin, "/tools", "tools", MAX_LIMIT);
    assert.deepEqual(all.sizes, [250]);
    assert.deepEqual(ids(all.items), expected);
    // Items are the same as GET /tools/{id} shows them.
    const one = expectStatus(await admin("GET", `/tools/${expected[17]}`), 200).body;
    assert.deepEqual(all.items[17], one);
  });
});

Deno.test("a page starts after the last item seen: tools added or removed meanwhile shift nothing", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const made = sortedBy(await makeTools(admin, 30, "m"), "name", "id");
    const page1 = expectStatus(await admin("GET", "/tools?limit=10"), 200).body;
    assert.deepEqual(ids(page1.tools), ids(made.slice(0, 10)));
    // Remove one already seen and one still ahead, add one before the cursor and one after.
    expectStatus(await admin("DELETE", `/tools/${made[3].id}`), 204);
    expectStatus(await admin("DELETE", `/tools/${made[15].id}`), 204);
    await create(admin, "/tools", toolBody("A_before_everything"));
    const late = await create(admin, "/tools", toolBody("z_after_everything"));
    const rest: Json[] = [];
    let cursor = page1.nextCursor;
    while (cursor) {
      const res = expectStatus(await admin("GET", withQuery("/tools", { limit: 10, cursor })), 200);
      rest.push(...res.body.tools);
      cursor = res.body.nextCursor;
    }
    const expected = [...made.slice(10, 15), ...made.slice(16), late];
    assert.deepEqual(ids(rest), ids(expected));
  });
});

Deno.test("GET /apis, /gateways, /servers and /gateways/{id}/tools page in their order", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    // APIs by name.
    const apiNames = Array.from({ length: 13 }, (_, i) => `api-${(i * 5) % 13}`);
    const apis = await inBatches(
      apiNames,
      (name) => create(admin, "/apis", { name, spec: specWith([`op_${name.slice(4)}`]) }),
      4,
    );
    const apiWalk = await walk(admin, "/apis", "apis", 5);
    assert.deepEqual(apiWalk.sizes, [5, 5, 3]);
    assert.deepEqual(ids(apiWalk.items), ids(sortedBy(apis, "name", "id")));
    assert.ok(apiWalk.items.every((a: Json) => a.toolCount === 1 && !("tools" in a)));

    // Gateways oldest first (then by id, for two made in the same millisecond).
    const gateways = await inBatches(
      Array.from({ length: 12 }, (_, i) => `/gw-${i}`),
      (endpoint) => create(admin, "/gateways", gatewayBody(endpoint)),
      6,
    );
    const gwWalk = await walk(admin, "/gateways", "gateways", 5);
    assert.deepEqual(gwWalk.sizes, [5, 5, 2]);
    assert.deepEqual(ids(gwWalk.items), ids(sortedBy(gateways, "createdAt", "id")));
    assert.ok(gwWalk.items.every((g: Json) => g.urls && g.clients), "gateways as GET shows them");

    // Servers by name (HTTP servers that cannot connect are listed all the same).
    const servers = await inBatches(
      Array.from({ length: 11 }, (_, i) => `srv-${(i * 3) % 11}`),
      (name) =>
        create(admin, "/servers", {
          name,
          transport: "streamable-http",
          url: `http://127.0.0.1:${freePort()}/mcp`,
          timeout: 1000,
        }),
      4,
    );
    const srvWalk = await walk(admin, "/servers", "servers", 4);
    assert.deepEqual(srvWalk.sizes, [4, 4, 3]);
    assert.deepEqual(ids(srvWalk.items), ids(sortedBy(servers, "name", "id")));
    assert.ok(srvWalk.items.every((x: Json) => typeof x.status?.state === "string"));

    // A gateway's assignments by tool name, enabled or not; another gateway's never.
    const tools = await makeTools(admin, 40, "g");
    const gw = gateways[0];
    const mine = tools.filter((_, i) => i % 3 !== 0);
    expectStatus(
      await admin("POST", `/gateways/${gw.id}/tools`, { toolIds: ids(mine), enabled: false }),
      201,
    );
    expectStatus(
      await admin("POST", `/gateways/${gw.id}/tools`, { toolId: mine[0].id, enabled: true }),
      201,
    );
    expectStatus(
      await admin("POST", `/gateways/${gateways[1].id}/tools`, { toolId: tools[0].id }),
      201,
    );
    const asWalk = await walk(admin, `/gateways/${gw.id}/tools`, "tools", 7);
    assert.deepEqual(asWalk.sizes, [7, 7, 7, 5]);
    assert.deepEqual(ids(asWalk.items, "toolId"), ids(sortedBy(mine, "name", "id")));
    const enabled = asWalk.items.filter((a: Json) => a.enabled);
    assert.deepEqual(ids(enabled, "toolId"), [mine[0].id]);
    assert.ok(asWalk.items.every((a: Json) => a.name === a.tool.name && a.toolId === a.tool.id));
    // Without limit: the first 100 (here all of them).
    const plain = expectStatus(await admin("GET", `/gateways/${gw.id}/tools`), 200).body;
    assert.equal(plain.tools.length, mine.length);
    assert.equal(plain.nextCursor, null);
    // A cursor of one gateway's list is not taken by another's.
    expectError(
      await admin(
        "GET",
        withQuery(`/gateways/${gateways[1].id}/tools`, { cursor: asWalk.cursors[0] }),
      ),
      400,
      "cursor",
    );
    expectError(await admin("GET", `/gateways/${crypto.randomUUID()}/tools?limit=0`), 404);
  });
});

Deno.test("GET /tools filters by apiId, serverId, type and q: alone, combined and with paging", async () => {
  const upA = startScriptedUpstream();
  const upB = startScriptedUpstream();
  try {
    await withServer(async (s) => {
      const admin = client(s, s.adminKey);
      const listed = async (query: Record<string, string | number>, limit = 3) =>
        (await walk(admin, withQuery("/tools", query), "tools", limit)).items;

      const ops = Array.from(
        { length: 23 },
        (_, i) => `op${String((i * 7) % 23).padStart(2, "0")}`,
      );
      const api = await create(admin, "/apis", { name: "big", spec: specWith(ops) });
      const small = await create(admin, "/apis", { name: "small", spec: specWith(["lonely"]) });
      const hand = await makeTools(admin, 9, "h");
      // Three tools named `probe`: a local one and one of each server (ordered by id).
      const local = await create(admin, "/tools", toolBody("probe", { description: "Ärger" }));
      const serverA = await addServer(s, { name: "a", transport: "streamable-http", url: upA.url });
      const serverB = await addServer(s, { name: "b", transport: "streamable-http", url: upB.url });
      const everything = await walk(admin, "/tools", "tools", 4);
      assert.equal(everything.items.length, 23 + 1 + 9 + 3);
      assert.deepEqual(ids(everything.items), ids(sortedBy(everything.items, "name", "id")));
      const probes = everything.items.filter((t: Json) => t.name === "probe");
      assert.equal(probes.length, 3);
      assert.deepEqual(ids(probes), [...ids(probes)].sort());

      // apiId: the API's tools only, by name, over pages of 3.
      const ofApi = await listed({ apiId: api.id });
      assert.deepEqual(ids(ofApi), ids(sortedBy(api.tools, "name", "id")));
      assert.deepEqual(ids(await listed({ apiId: small.id })), ids(small.tools));
      assert.deepEqual(await listed({ apiId: crypto.randomUUID() }), []);

      // serverId and type.
      const ofA = await listed({ serverId: serverA.id });
      assert.equal(ofA.length, 1);
      assert.deepEqual([ofA[0].name, ofA[0].serverId, ofA[0].type], ["probe", serverA.id, "mcp"]);
      const mcp = await listed({ type: "mcp" }, 1);
      assert.deepEqual(ids(mcp).sort(), probes.filter((t: Json) => t.serverId).map(ids1).sort());
      assert.ok(mcp.every((t: Json) => t.type === "mcp"));
      const http = await listed({ type: "http" }, 10);
      assert.equal(http.length, 23 + 1 + 9 + 1);
      assert.ok(http.every((t: Json) => t.type === "http" && !t.serverId));
      assert.deepEqual(await listed({ serverId: serverB.id, type: "http" }), []);
      assert.deepEqual(ids(await listed({ serverId: serverB.id, type: "mcp" })), [
        probes.find((t: Json) => t.serverId === serverB.id).id,
      ]);

      // q: a substring of the name or of the description, in any case (Unicode included).
      assert.deepEqual(ids(await listed({ q: "PROBE" })), ids(probes));
      assert.deepEqual(ids(await listed({ q: "äRG" })), [local.id]);
      const ofH = await listed({ q: "h_00" });
      assert.deepEqual(ofH.map((t: Json) => t.name), [
        "H_0000",
        "h_0001",
        "h_0002",
        "h_0003",
        "h_0004",
        "h_0005",
        "h_0006",
        "h_0007",
        "h_0008",
      ]);
      // Descriptions: the API's tools say "Reads the opNN collection".
      assert.equal((await listed({ q: "COLLECTION" }, 5)).length, 24);
      assert.deepEqual((await listed({ q: "op1" }, 2)).map((t: Json) => t.name), [
        "op10",
        "op11",
        "op12",
        "op13",
        "op14",
        "op15",
        "op16",
        "op17",
        "op18",
        "op19",
      ]);
      // LIKE's wildcards are plain text here.
      assert.deepEqual(await listed({ q: "%" }), []);
      assert.deepEqual(ids(await listed({ q: "_" }, 100)), ids(sortedBy(hand, "name", "id")));

      // Combined: every filter must hold.
      assert.deepEqual((await listed({ apiId: api.id, q: "op2", type: "http" })).map(name1), [
        "op20",
        "op21",
        "op22",
      ]);
      assert.deepEqual(await listed({ apiId: api.id, q: "lonely" }), []);
      assert.deepEqual(await listed({ apiId: api.id, type: "mcp" }), []);
      assert.deepEqual(await listed({ apiId: api.id, serverId: serverA.id }), []);
      assert.equal(hand.length, 9);

      // A filter's cursor goes on with the same filter only.
      const p1 = expectStatus(await admin("GET", `/tools?apiId=${api.id}&limit=5`), 200).body;
      assert.deepEqual(ids(p1.tools), ids(ofApi.slice(0, 5)));
      const next = (query: Record<string, string>) =>
        admin("GET", withQuery("/tools", { ...query, limit: 5, cursor: p1.nextCursor }));
      const p2 = expectStatus(await next({ apiId: api.id }), 200).body;
      assert.deepEqual(ids(p2.tools), ids(ofApi.slice(5, 10)));
      expectError(await next({}), 400, "cursor");
      expectError(await next({ apiId: small.id }), 400, "cursor");
      expectError(await next({ apiId: api.id, q: "op" }), 400, "cursor");
      expectError(await next({ apiId: api.id, type: "http" }), 400, "cursor");
      // The limit may change between pages.
      const p2b = expectStatus(
        await admin("GET", withQuery("/tools", { apiId: api.id, limit: 2, cursor: p1.nextCursor })),
        200,
      ).body;
      assert.deepEqual(ids(p2b.tools), ids(ofApi.slice(5, 7)));
    });
  } finally {
    await upA.close();
    await upB.close();
  }
});

const ids1 = (t: Json) => t.id as string;
const name1 = (t: Json) => t.name as string;

Deno.test("a bad limit, cursor, filter or parameter is a 400 naming it", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const tools = await makeTools(admin, 3);
    const gw = await create(admin, "/gateways", gatewayBody("/g"));
    expectStatus(await admin("POST", `/gateways/${gw.id}/tools`, { toolIds: ids(tools) }), 201);
    const lists = ["/tools", "/apis", "/gateways", `/gateways/${gw.id}/tools`, "/servers"];
    for (const path of lists) {
      for (const limit of ["0", "-1", "1001", "abc", "1.5", "", " 5", "1e2", "0x10", "99999999"]) {
        expectError(await admin("GET", withQuery(path, { limit })), 400, "limit");
      }
      expectError(await admin("GET", `${path}?limit=5&limit=6`), 400, "limit");
      for (const limit of ["1", "1000", "007"]) {
        expectStatus(await admin("GET", withQuery(path, { limit })), 200);
      }
      const garbled = [
        "",
        "!!!",
        "not a cursor",
        "a",
        encode({ v: 1, s: "x", k: ["a", "b"] }), // forged: no list gave it out
        encode({ v: 2, s: "x", k: ["a", "b"] }),
        encode(["a", "b"]),
        encode({ v: 1, s: "x", k: ["a"] }),
        encode({ v: 1, s: "x", k: ["a", 2] }),
        encode("text"),
        encode(null),
        btoa("\xff\xfe{"),
        "x".repeat(5000),
      ];
      for (const cursor of garbled) {
        const res = await admin("GET", withQuery(path, { cursor }));
        expectError(res, 400, "cursor");
        assert.equal(res.body.error.code, "invalid_request");
      }
      expectError(await admin("GET", `${path}?apiid=x`), 400, "apiid");
      expectError(await admin("GET", `${path}?page=2`), 400, "page");
    }
    // A tools cursor fits no other list, and another list's none of tools'.
    const toolCursor = expectStatus(await admin("GET", "/tools?limit=1"), 200).body.nextCursor;
    const gwCursor = expectStatus(await admin("GET", `/gateways/${gw.id}/tools?limit=1`), 200)
      .body.nextCursor;
    for (const path of ["/apis", "/gateways", `/gateways/${gw.id}/tools`, "/servers"]) {
      expectError(await admin("GET", withQuery(path, { cursor: toolCursor })), 400, "cursor");
    }
    expectError(await admin("GET", withQuery("/tools", { cursor: gwCursor })), 400, "cursor");
    // A cursor whose key was edited still positions only within the list: it holds no power.
    const edited = decode(toolCursor);
    edited.k = ["t_0001", "~"]; // after every tool named t_0001, whatever its id
    const fromT = expectStatus(
      await admin("GET", withQuery("/tools", { cursor: encode(edited) })),
      200,
    ).body;
    assert.deepEqual(fromT.tools.map(name1), ["t_0002"]);
    assert.deepEqual(sortedBy(tools, "name").map(name1), ["T_0000", "t_0001", "t_0002"]);
    // Filters of /tools.
    for (const [name, value] of [["type", "rest"], ["type", ""], ["q", ""], ["apiId", ""]]) {
      expectError(await admin("GET", withQuery("/tools", { [name]: value })), 400, name);
    }
    expectError(await admin("GET", withQuery("/tools", { q: "x".repeat(201) })), 400, "q");
    expectError(await admin("GET", "/tools?q=a&q=b"), 400, "q");
    // The other lists take no filters.
    expectError(await admin("GET", "/apis?q=x"), 400, "q");
    expectError(await admin("GET", "/servers?type=mcp"), 400, "type");
  });
});

Deno.test("lists stay in their organization: another org's cursor is refused and its rows never appear", async () => {
  await withServer(async (s) => {
    const a = client(s, s.adminKey);
    const b = await separateOrg(s, "beta");
    const aTools = await makeTools(a, 12, "a");
    const bTools = await makeTools(b.call, 12, "b");
    const bApi = await create(b.call, "/apis", { name: "b-api", spec: specWith(["bop"]) });
    const aGw = await create(a, "/gateways", gatewayBody("/shared"));
    const bGw = await create(b.call, "/gateways", gatewayBody("/shared"));
    expectStatus(
      await b.call("POST", `/gateways/${bGw.id}/tools`, { toolIds: ids(bTools) }),
      201,
    );

    const aAll = new Set(ids((await walk(a, "/tools", "tools", 5)).items));
    assert.deepEqual([...aAll].sort(), ids(aTools).sort());
    const bWalk = await walk(b.call, "/tools", "tools", 5);
    assert.deepEqual(ids(bWalk.items).sort(), [...ids(bTools), bApi.tools[0].id].sort());

    // B's cursors, sent by A, on the same lists: refused, never a page of B's rows.
    for (const cursor of bWalk.cursors) {
      expectError(await a("GET", withQuery("/tools", { cursor, limit: 5 })), 400, "cursor");
    }
    await create(b.call, "/gateways", gatewayBody("/second"));
    const bGwPage = expectStatus(await b.call("GET", "/gateways?limit=1"), 200).body;
    assert.equal(bGwPage.gateways[0].id, bGw.id);
    expectError(
      await a("GET", withQuery("/gateways", { cursor: bGwPage.nextCursor })),
      400,
      "cursor",
    );
    // B's gateway's assignments cannot be read by A, with or without a cursor.
    const bAssigned = expectStatus(await b.call("GET", `/gateways/${bGw.id}/tools?limit=2`), 200)
      .body;
    expectError(await a("GET", `/gateways/${bGw.id}/tools`), 404);
    expectError(
      await a("GET", withQuery(`/gateways/${aGw.id}/tools`, { cursor: bAssigned.nextCursor })),
      400,
      "cursor",
    );
    // A cursor of A's own list carrying B's last key positions within A's rows only.
    const mine = expectStatus(await a("GET", "/tools?limit=2"), 200).body;
    const forged = decode(mine.nextCursor);
    forged.k = decode(bWalk.cursors[0]).k;
    const page = expectStatus(await a("GET", withQuery("/tools", { cursor: encode(forged) })), 200)
      .body;
    assert.ok(page.tools.every((t: Json) => aAll.has(t.id)));
    // Filters name only what is in the org: B's API and server are nothing here.
    assert.deepEqual(expectStatus(await a("GET", `/tools?apiId=${bApi.id}`), 200).body, {
      tools: [],
      nextCursor: null,
    });
    assert.deepEqual(
      expectStatus(await a("GET", "/apis"), 200).body,
      { apis: [], nextCursor: null },
    );
    // Nothing of B in any of A's lists.
    const bIds = [...ids(bTools), bApi.id, bApi.tools[0].id, bGw.id];
    for (const path of ["/tools", "/apis", "/gateways", `/gateways/${aGw.id}/tools`, "/servers"]) {
      const text = JSON.stringify(expectStatus(await a("GET", `${path}?limit=1000`), 200).body);
      for (const id of bIds) assert.ok(!text.includes(id), `${path} shows ${id} of beta`);
    }
  });
});

Deno.test("viewers list every paged list, and no list shows a secret's value", async () => {
  const up = startScriptedUpstream();
  try {
    await withServer(async (s) => {
      const admin = client(s, s.adminKey);
      const VALUE = "list-secret-value-5f0c2a9e";
      await create(admin, "/secrets", { name: "TOKEN", type: "bearer_token", value: VALUE });
      const tool = await create(
        admin,
        "/tools",
        toolBody("authed", {
          executionConfig: {
            method: "GET",
            url: "https://x.example.com",
            auth: { secret: "TOKEN" },
          },
        }),
      );
      await create(admin, "/apis", { name: "api", spec: specWith(["op"]), secret: "TOKEN" });
      const server = await addServer(s, {
        name: "up",
        transport: "streamable-http",
        url: up.url,
        auth: { secret: "TOKEN" },
        headers: { "X-Token": "{{secrets.TOKEN}}" },
      });
      const gw = await create(admin, "/gateways", gatewayBody("/g"));
      expectStatus(await admin("POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }), 201);
      const viewer = await memberWithKey(s, "viewer");
      const lists: [string, string, number][] = [
        ["/tools", "tools", 3],
        ["/apis", "apis", 1],
        ["/gateways", "gateways", 1],
        [`/gateways/${gw.id}/tools`, "tools", 1],
        ["/servers", "servers", 1],
      ];
      for (const [path, key, count] of lists) {
        const seen = await walk(viewer.call, path, key, 1);
        assert.equal(seen.items.length, count, path);
        const text = JSON.stringify(seen.items);
        assert.ok(!text.includes(VALUE), `${path} shows the secret's value`);
        assert.ok(!/"orgId"/.test(text), `${path} shows orgId`);
      }
      const listedServer = expectStatus(await viewer.call("GET", "/servers"), 200).body.servers[0];
      assert.equal(listedServer.id, server.id);
      assert.deepEqual(listedServer.auth, { secret: "TOKEN" });
      // Viewers still cannot write.
      expectError(await viewer.call("POST", "/tools", toolBody("nope")), 403);
    });
  } finally {
    await up.close();
  }
});

Deno.test("the document describes each paged list's parameters and responses, and real pages match it", async () => {
  const doc: Json = openApiDocument();
  const routes: [string, string, string[]][] = [
    ["/tools", "ToolList", LISTS.tools.filters],
    ["/apis", "ApiList", []],
    ["/gateways", "GatewayList", []],
    ["/gateways/{id}/tools", "AssignmentList", []],
    ["/servers", "ServerList", []],
  ];
  for (const [path, schema, filters] of routes) {
    const op = doc.paths[path].get;
    const query = op.parameters.filter((p: Json) => p.in === "query").map((p: Json) => p.name);
    assert.deepEqual(query.sort(), [...PAGE_PARAMETERS, ...filters].sort(), path);
    assert.ok(op.responses["400"], `${path} documents no 400`);
    assert.deepEqual(op.responses["200"].content["application/json"].schema, {
      $ref: `#/components/schemas/${schema}`,
    });
    assert.ok(doc.components.schemas[schema].required.includes("nextCursor"), schema);
  }
  const limit = doc.paths["/tools"].get.parameters.find((p: Json) => p.name === "limit");
  assert.deepEqual([limit.schema.minimum, limit.schema.maximum, limit.schema.default], [
    1,
    MAX_LIMIT,
    100,
  ]);

  const validate = (name: string, value: unknown) => {
    const root = { $ref: `#/components/schemas/${name}`, components: doc.components };
    const result = new Validator(root, "2020-12", false).validate(value);
    return result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
  };
  await withServer(async (s: TestServer) => {
    const admin = client(s, s.adminKey);
    const tools = await makeTools(admin, 3);
    const gw = await create(admin, "/gateways", gatewayBody("/g"));
    await create(admin, "/gateways", gatewayBody("/h"));
    await create(admin, "/apis", { name: "a1", spec: specWith(["x"]) });
    await create(admin, "/apis", { name: "a2", spec: specWith(["y"]) });
    for (const name of ["s1", "s2"]) {
      await create(admin, "/servers", {
        name,
        transport: "streamable-http",
        url: `http://127.0.0.1:${freePort()}/mcp`,
      });
    }
    expectStatus(await admin("POST", `/gateways/${gw.id}/tools`, { toolIds: ids(tools) }), 201);
    for (
      const [path, schema] of [
        ["/tools", "ToolList"],
        ["/apis", "ApiList"],
        ["/gateways", "GatewayList"],
        [`/gateways/${gw.id}/tools`, "AssignmentList"],
        ["/servers", "ServerList"],
      ]
    ) {
      const first = expectStatus(await admin("GET", `${path}?limit=1`), 200).body;
      assert.equal(typeof first.nextCursor, "string");
      assert.deepEqual(validate(schema, first), [], `${path}?limit=1`);
      const rest = expectStatus(
        await admin("GET", withQuery(path, { limit: 1000, cursor: first.nextCursor })),
        200,
      ).body;
      assert.equal(rest.nextCursor, null);
      assert.deepEqual(validate(schema, rest), [], `${path} last page`);
      const bad = await admin("GET", `${path}?limit=0`);
      expectError(bad, 400, "limit");
      assert.deepEqual(validate("Error", bad.body), []);
    }
  });
});
