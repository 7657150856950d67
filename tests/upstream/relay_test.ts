/**
 * Server-to-client traffic through a gateway: server-everything's tools ask
 * the caller's client for sampling, elicitation and roots, and report
 * progress; SDK clients on each of Gatehouse's transports answer them.
 */
import assert from "node:assert/strict";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  type Gateway,
  type Json,
  KINDS,
  sdkTransport,
  setupGateway,
} from "../transports/fixtures.ts";
import { denoServer, EVERYTHING, everythingOverHttp, until } from "./fixtures.ts";

async function api(s: TestServer, method: string, path: string, body?: unknown, status = 200) {
  const res = await s.api(method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body as Json;
}

/** A gateway serving server-everything (over `url`, or stdio) with the prefix `ev`. */
async function withEverything(fn: (s: TestServer, gw: Gateway) => Promise<void>, url?: string) {
  const s = await startTestServer();
  try {
    const gw = await setupGateway(s, "/relay");
    const server = await api(
      s,
      "POST",
      "/servers",
      url
        ? { name: "everything", transport: "streamable-http", url }
        : { name: "everything", transport: "stdio", ...denoServer(EVERYTHING), timeout: 20_000 },
      201,
    );
    await until(
      async () => (await api(s, "GET", `/servers/${server.id}`)).status.state === "ready",
      60_000,
      "server-everything ready",
    );
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "ev" }, 201);
    await fn(s, gw);
  } finally {
    await s.close();
  }
}

/** An SDK client with sampling, elicitation and roots handlers that answer with `tag`. */
async function answeringClient(kind: (typeof KINDS)[number], gw: Gateway, tag: string) {
  const client = new Client({ name: `relay-${tag}`, version: "1.0.0" }, {
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
  });
  const asked: string[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, (req: Json) => {
    asked.push("sampling");
    return {
      role: "assistant",
      model: `model-${tag}`,
      content: { type: "text", text: `sampled for ${tag}: ${req.params.messages[0].content.text}` },
    };
  });
  client.setRequestHandler(ElicitRequestSchema, () => {
    asked.push("elicitation");
    return { action: "accept", content: { color: "red", number: 7, pets: "cats" } };
  });
  client.setRequestHandler(ListRootsRequestSchema, () => {
    asked.push("roots");
    return { roots: [{ uri: `file:///home/${tag}`, name: tag }] };
  });
  await client.connect(sdkTransport(kind, gw, gw.key));
  return { client, asked };
}

for (const kind of KINDS) {
  Deno.test(`sampling, elicitation and roots requests of an upstream reach the calling client (${kind})`, async () => {
    await withEverything(async (_s, gw) => {
      const { client, asked } = await answeringClient(kind, gw, kind);
      try {
        const sampled = await client.callTool({
          name: "ev_trigger-sampling-request",
          arguments: { prompt: "hello" },
        });
        assert.match(
          JSON.stringify(sampled.content),
          new RegExp(`sampled for ${kind}: [^"]*hello`),
        );
        const elicited = await client.callTool({
          name: "ev_trigger-elicitation-request",
          arguments: {},
        });
        assert.equal(elicited.isError, undefined, JSON.stringify(elicited));
        assert.match(JSON.stringify(elicited.content), /red/);
        const roots = await client.callTool({ name: "ev_get-roots-list", arguments: {} });
        assert.match(JSON.stringify(roots.content), new RegExp(`file:///home/${kind}`));
        assert.deepEqual(asked, ["sampling", "elicitation", "roots"]);

        // Progress of a long operation comes back with the client's own token, increasing.
        const seen: number[] = [];
        await client.callTool(
          { name: "ev_trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
          undefined,
          { onprogress: (p: { progress: number }) => seen.push(p.progress) },
        );
        assert.ok(seen.length >= 2, `progress: ${seen}`);
        assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
      } finally {
        await client.close();
      }
    });
  });
}

Deno.test("a client that did not declare sampling is never asked: the upstream gets an error", async () => {
  await withEverything(async (_s, gw) => {
    const client = new Client({ name: "plain", version: "1.0.0" }, { capabilities: {} });
    let asked = false;
    await client.connect(sdkTransport("http", gw, gw.key));
    client.fallbackRequestHandler = () => {
      asked = true;
      return Promise.resolve({});
    };
    try {
      const result = await client.callTool({
        name: "ev_trigger-sampling-request",
        arguments: { prompt: "x" },
      });
      assert.equal(result.isError, true);
      assert.match(JSON.stringify(result.content), /sampling/);
      assert.equal(asked, false);
    } finally {
      await client.close();
    }
  });
});

Deno.test("two clients calling the same upstream tool at once each get only their own requests", async () => {
  const http = await everythingOverHttp();
  try {
    await withEverything(async (_s, gw) => {
      const a = await answeringClient("http", gw, "alice");
      const b = await answeringClient("ws", gw, "bob");
      try {
        const [ra, rb] = await Promise.all([
          a.client.callTool({ name: "ev_trigger-sampling-request", arguments: { prompt: "p" } }),
          b.client.callTool({ name: "ev_trigger-sampling-request", arguments: { prompt: "p" } }),
        ]);
        assert.match(JSON.stringify(ra.content), /sampled for alice/);
        assert.match(JSON.stringify(rb.content), /sampled for bob/);
        assert.deepEqual(a.asked, ["sampling"]);
        assert.deepEqual(b.asked, ["sampling"]);
      } finally {
        await a.client.close();
        await b.client.close();
      }
    }, http.url);
  } finally {
    await http.stop();
  }
});

Deno.test("a cancelled downstream call cancels the upstream one and the client's pending request", async () => {
  await withEverything(async (_s, gw) => {
    const client = new Client({ name: "slow", version: "1.0.0" }, {
      capabilities: { sampling: {} },
    });
    const { promise: askedNow, resolve: asked } = Promise.withResolvers<void>();
    let cancelledByGateway = false;
    client.setRequestHandler(CreateMessageRequestSchema, (_req: Json, extra: Json) => {
      asked();
      return new Promise((_resolve, reject) => {
        extra.signal.addEventListener("abort", () => {
          cancelledByGateway = true;
          reject(new Error("aborted"));
        });
      });
    });
    await client.connect(sdkTransport("http", gw, gw.key));
    try {
      const controller = new AbortController();
      const call = client.callTool(
        { name: "ev_trigger-sampling-request", arguments: { prompt: "wait" } },
        undefined,
        { signal: controller.signal },
      ).catch((e: Error) => e);
      await askedNow;
      controller.abort(new Error("user gave up"));
      assert.match(String(await call), /gave up|abort/i);
      await until(() => cancelledByGateway, 10_000, "the client's sampling request cancelled");
    } finally {
      await client.close();
    }
  });
});
