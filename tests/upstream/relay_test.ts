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
  ResourceUpdatedNotificationSchema,
  RootsListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { openListenStream } from "../helpers/mcp.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  type Gateway,
  type Json,
  KINDS,
  sdkTransport,
  setupGateway,
} from "../transports/fixtures.ts";
import { everythingOverHttp, until } from "./fixtures.ts";
import { addServer, api, everythingStdio, stateless } from "./gateway_fixtures.ts";
import { sessionServer } from "./session_server.ts";

/** A gateway serving server-everything (over `url`, or stdio) with the prefix `ev`. */
async function withEverything(
  fn: (s: TestServer, gw: Gateway) => Promise<void>,
  url?: string,
  settings: Record<string, unknown> = {},
) {
  const s = await startTestServer();
  try {
    const gw = await setupGateway(s, "/relay");
    const server = await addServer(
      s,
      {
        ...(url ? { name: "everything", transport: "streamable-http", url } : everythingStdio()),
        ...settings,
      },
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

/**
 * An SDK client on Streamable HTTP whose sampling handler never answers: it
 * waits until the gateway cancels the request. `asked` resolves when the
 * request arrives; `cancelled()` says whether it was cancelled.
 */
async function silentClient(gw: Gateway) {
  const client = new Client({ name: "silent", version: "1.0.0" }, {
    capabilities: { sampling: {} },
  });
  const { promise: asked, resolve: arrived } = Promise.withResolvers<void>();
  let cancelled = false;
  client.setRequestHandler(CreateMessageRequestSchema, (_req: Json, extra: Json) => {
    arrived();
    return new Promise((_resolve, reject) => {
      extra.signal.addEventListener("abort", () => {
        cancelled = true;
        reject(new Error("aborted"));
      });
    });
  });
  await client.connect(sdkTransport("http", gw, gw.key));
  return { client, asked, cancelled: () => cancelled };
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
        // server-everything also asks for roots on its own once the session starts: that request,
        // outside any call, reaches the session's client too, at a moment of its choosing.
        assert.deepEqual(asked.filter((a) => a !== "roots"), ["sampling", "elicitation"]);
        assert.ok(asked.includes("roots"), JSON.stringify(asked));

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
    const { client, asked, cancelled } = await silentClient(gw);
    try {
      const controller = new AbortController();
      const call = client.callTool(
        { name: "ev_trigger-sampling-request", arguments: { prompt: "wait" } },
        undefined,
        { signal: controller.signal },
      ).catch((e: Error) => e);
      await asked;
      controller.abort(new Error("user gave up"));
      assert.match(String(await call), /gave up|abort/i);
      await until(cancelled, 10_000, "the client's sampling request cancelled");
    } finally {
      await client.close();
    }
  });
});

Deno.test("a resource subscription goes to its server, and its updates reach the subscribed session only", async () => {
  const http = await everythingOverHttp();
  try {
    await withEverything(async (_s, gw) => {
      const a = await answeringClient("http", gw, "a");
      const b = await answeringClient("ws", gw, "b");
      try {
        assert.equal(
          (a.client.getServerCapabilities()?.resources as Json)?.subscribe,
          true,
          "the gateway offers subscriptions since its server does",
        );
        const uri = (await a.client.listResources()).resources[0].uri;
        const updates: string[] = [];
        a.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n: Json) => {
          updates.push(n.params.uri);
        });
        let bUpdates = 0;
        b.client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void bUpdates++);
        await a.client.subscribeResource({ uri });
        await a.client.callTool({ name: "ev_toggle-subscriber-updates", arguments: {} });
        await until(() => updates.includes(uri), 20_000, "notifications/resources/updated");
        assert.equal(bUpdates, 0, "a session that did not subscribe hears nothing");
        await a.client.unsubscribeResource({ uri });
        await a.client.callTool({ name: "ev_toggle-subscriber-updates", arguments: {} });
      } finally {
        await a.client.close();
        await b.client.close();
      }
    }, http.url);
  } finally {
    await http.stop();
  }
});

Deno.test("a 2026-07-28 client completes an elicitation round trip against a legacy upstream", async () => {
  await withEverything(async (_s, gw) => {
    const call = { name: "ev_trigger-elicitation-request", arguments: {} };
    const caps = { elicitation: { form: {} } };
    const first = await stateless(gw, "tools/call", call, caps);
    const asked = first.body.result;
    assert.equal(asked.resultType, "input_required", JSON.stringify(first.body));
    const [[key, request]] = Object.entries(asked.inputRequests) as [string, Json][];
    assert.equal(request.method, "elicitation/create");
    assert.equal(typeof asked.requestState, "string");

    // A requestState changed by one character (in the middle, where every bit counts) is refused.
    const state: string = asked.requestState;
    const at = Math.floor(state.length * 0.75);
    const tampered = state.slice(0, at) + (state[at] === "A" ? "B" : "A") + state.slice(at + 1);
    const refused = await stateless(gw, "tools/call", {
      ...call,
      requestState: tampered,
      inputResponses: { [key]: { action: "accept", content: {} } },
    }, caps);
    assert.equal(refused.body.error.code, -32602);
    assert.match(refused.body.error.message, /requestState/);

    const done = await stateless(gw, "tools/call", {
      ...call,
      requestState: asked.requestState,
      inputResponses: {
        [key]: { action: "accept", content: { color: "blue", number: 3, pets: "dogs" } },
      },
    }, caps);
    assert.equal(done.body.result.resultType, "complete", JSON.stringify(done.body));
    assert.match(JSON.stringify(done.body.result.content), /blue/);
    // Used up: the same requestState cannot resume the call twice.
    const again = await stateless(gw, "tools/call", {
      ...call,
      requestState: asked.requestState,
      inputResponses: { [key]: { action: "decline" } },
    }, caps);
    assert.equal(again.body.error.code, -32602);
  });
});

Deno.test("a 2026-07-28 client without the capability is not asked: the upstream is told so", async () => {
  await withEverything(async (_s, gw) => {
    const res = await stateless(
      gw,
      "tools/call",
      { name: "ev_trigger-sampling-request", arguments: { prompt: "x" } },
      {},
    );
    assert.equal(res.body.result.resultType, "complete");
    assert.equal(res.body.result.isError, true);
    assert.match(JSON.stringify(res.body.result.content), /sampling/);
  });
});

Deno.test("a client that never answers makes the upstream's request fail at the call's timeout, and is told", async () => {
  await withEverything(
    async (_s, gw) => {
      const { client, cancelled } = await silentClient(gw);
      try {
        const started = Date.now();
        const result = await client.callTool({
          name: "ev_trigger-sampling-request",
          arguments: { prompt: "anyone?" },
        });
        assert.equal(result.isError, true);
        assert.match(JSON.stringify(result.content), /within 1500 ms|timed out/i);
        assert.ok(Date.now() - started < 10_000);
        await until(
          cancelled,
          5000,
          "the client's pending request cancelled",
        );
      } finally {
        await client.close();
      }
    },
    undefined,
    { timeout: 1500 },
  );
});

Deno.test("a 2026-07-28 listen stream's resourceSubscriptions reach the upstream, and its updates come back tagged", async () => {
  await withEverything(async (_s, gw) => {
    const listed = await stateless(gw, "resources/list", {});
    const uri = listed.body.result.resources[0].uri as string;
    const stream = await openListenStream(gw.httpUrl, gw.key, {
      resourceSubscriptions: [uri, "nope://not-served"],
    });
    try {
      await until(() => stream.frames.length > 0, 10_000, "the acknowledgment");
      assert.equal(stream.frames[0].method, "notifications/subscriptions/acknowledged");
      // Only what an upstream took is honored.
      assert.deepEqual(stream.frames[0].params.notifications, { resourceSubscriptions: [uri] });
      const toggled = await stateless(gw, "tools/call", {
        name: "ev_toggle-subscriber-updates",
        arguments: {},
      });
      assert.equal(toggled.body.result.isError, undefined, JSON.stringify(toggled.body));
      const update = await until(
        () =>
          stream.frames.find((f: Json) =>
            f.method === "notifications/resources/updated" && f.params.uri === uri
          ),
        20_000,
        "notifications/resources/updated on the listen stream",
      );
      assert.equal(update.params._meta["io.modelcontextprotocol/subscriptionId"], "sub-1");
    } finally {
      await stream.close();
    }
  });
});

/**
 * A session-era upstream that asks its client for roots outside any call: a
 * moment after `roots_later` answers, and whenever the client says its roots
 * changed. `seen` collects the root URIs of each answer.
 */
function rootsAskingUpstream() {
  const seen: string[][] = [];
  const upstream = sessionServer({
    make: () => {
      const server = new McpServer({ name: "roots-asker", version: "1.0.0" });
      const ask = () =>
        server.server.listRoots().then(
          (r: Json) => seen.push(r.roots.map((x: Json) => x.uri)),
          (e: Error) => seen.push([`error: ${e.message}`]),
        );
      server.registerTool("roots_later", { description: "asks for roots after answering" }, () => {
        setTimeout(ask, 50);
        return { content: [{ type: "text", text: "asking soon" }] };
      });
      server.server.setNotificationHandler(RootsListChangedNotificationSchema, () => void ask());
      return server;
    },
  });
  return { upstream, seen };
}

for (const kind of KINDS) {
  Deno.test(`an upstream's roots/list outside any call reaches the session's client, and roots changes reach the upstream (${kind})`, async () => {
    const { upstream, seen } = rootsAskingUpstream();
    try {
      await withEverything(async (_s, gw) => {
        let roots = [{ uri: "file:///first" }];
        const client = new Client({ name: "roots", version: "1.0.0" }, {
          capabilities: { roots: { listChanged: true } },
        });
        client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
        await client.connect(sdkTransport(kind, gw, gw.key));
        try {
          await client.callTool({ name: "ev_roots_later", arguments: {} });
          await until(() => seen.length === 1, 10_000, "roots asked after the call");
          assert.deepEqual(seen[0], ["file:///first"]);
          roots = [{ uri: "file:///second" }];
          await client.sendRootsListChanged();
          await until(() => seen.length === 2, 10_000, "roots asked after they changed");
          assert.deepEqual(seen[1], ["file:///second"]);
        } finally {
          await client.close();
        }
      }, upstream.url);
    } finally {
      await upstream.stop();
    }
  });
}
