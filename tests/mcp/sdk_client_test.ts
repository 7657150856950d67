/**
 * The official MCP TypeScript SDK client against a real gateway over
 * Streamable HTTP: handshake, tool listing and calls, progress, logging,
 * cancellation and tool-list change notifications.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  LoggingMessageNotificationSchema,
  McpError,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import {
  apiIn,
  connectClient,
  createGateway,
  ECHO_SCHEMA,
  type Json,
  ok,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

Deno.test("SDK client: initialize negotiates the latest version and reports the gateway", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, {
      tools: STANDARD_TOOLS,
      description: "Tools for the test suite",
    });
    const { client, transport } = await connectClient(gw.url, gw.key);
    try {
      const info = client.getServerVersion()!;
      assert.equal(info.name, "gatehouse");
      assert.equal(typeof info.version, "string");
      assert.ok(info.version.length > 0);
      assert.equal(info.title, `Gateway ${gw.endpoint}`);
      assert.deepEqual(client.getServerCapabilities(), {
        tools: { listChanged: true },
        logging: {},
      });
      assert.equal(client.getInstructions(), "Tools for the test suite");
      assert.equal(transport.protocolVersion, "2025-11-25");
      assert.match(transport.sessionId ?? "", /^[\x21-\x7e]{16,}$/);
      assert.deepEqual(await client.ping(), {});
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: listTools returns exactly the enabled tools with every MCP field", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const api = apiIn(s, "default");
    // A tool of the org that is assigned but disabled, and one not assigned at all.
    const disabled = ok(
      await api("POST", "/tools", {
        name: "hidden",
        description: "Disabled on this gateway",
        type: "http",
        executionConfig: { method: "GET", url: "https://tool.test/echo" },
      }),
      201,
    ).id;
    ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: disabled, enabled: false }), 201);
    ok(
      await api("POST", "/tools", {
        name: "elsewhere",
        type: "http",
        executionConfig: { method: "GET", url: "https://tool.test/echo" },
      }),
      201,
    );
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const { tools, nextCursor } = await client.listTools();
      assert.equal(nextCursor, undefined);
      assert.deepEqual(tools, [
        {
          name: "boom",
          description: "Fails inside the server",
          inputSchema: { type: "object", properties: {} },
        },
        {
          name: "chatty",
          description: "Reports progress and logs",
          inputSchema: { type: "object", properties: {} },
        },
        {
          name: "echo",
          title: "Echo",
          description: "Echoes its arguments",
          inputSchema: ECHO_SCHEMA,
          outputSchema: {
            type: "object",
            properties: { echoed: { type: "object" } },
            required: ["echoed"],
          },
          annotations: { readOnlyHint: true, idempotentHint: true },
        },
        {
          name: "wait",
          description: "Runs until cancelled",
          inputSchema: { type: "object", properties: {} },
        },
      ]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: callTool runs the tool through the executor and returns its result", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      await client.listTools(); // caches the outputSchema, so the SDK checks structuredContent
      const result = await client.callTool({ name: "echo", arguments: { text: "hi", count: 2 } });
      assert.deepEqual(result, {
        content: [{ type: "text", text: '{"text":"hi","count":2}' }],
        structuredContent: { echoed: { text: "hi", count: 2 } },
      });
      assert.equal(s.executor.calls.length, 1);
      assert.equal(s.executor.calls[0].tool, "echo");
      assert.deepEqual(s.executor.calls[0].args, { text: "hi", count: 2 });
      assert.equal(s.executor.calls[0].signal.aborted, false);
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: an executor that throws gives JSON-RPC internal error -32603", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const err = await client.callTool({ name: "boom", arguments: {} }).then(
        () => assert.fail("the call should fail"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof McpError, String(err));
      assert.equal(err.code, -32603);
      // The internal message is not leaked to the client.
      assert.doesNotMatch(err.message, /blew up/);
      // The session survives.
      assert.deepEqual(await client.ping(), {});
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: progress notifications reach onprogress, increasing only", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const progress: unknown[] = [];
      const result = await client.callTool({ name: "chatty", arguments: {} }, undefined, {
        onprogress: (p: unknown) => progress.push(p),
      });
      assert.deepEqual(result.content, [{ type: "text", text: "done" }]);
      assert.deepEqual(progress, [
        { progress: 1, total: 3, message: "step 1" },
        { progress: 2, total: 3, message: "step 2" },
        { progress: 3, total: 3, message: "step 3" },
      ]);
      // Without a progress token, no progress is sent (and the call still works).
      const quiet = await client.callTool({ name: "chatty", arguments: {} });
      assert.deepEqual(quiet.content, [{ type: "text", text: "done" }]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: setLoggingLevel filters the notifications/message a call sends", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const { client } = await connectClient(gw.url, gw.key);
    try {
      const logs: { level: string; logger?: string; data: unknown }[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n: Json) => {
        logs.push(n.params);
      });
      const run = async (level?: "debug" | "warning" | "emergency") => {
        if (level) assert.deepEqual(await client.setLoggingLevel(level), {});
        logs.length = 0;
        await client.callTool({ name: "chatty", arguments: {} });
        return logs.map((l) => l.level);
      };
      // Gatehouse starts a session at `info`.
      assert.deepEqual(await run(), ["info", "warning", "error"]);
      assert.deepEqual(await run("debug"), ["debug", "info", "warning", "error"]);
      assert.deepEqual(logs[0], { level: "debug", logger: "chatty", data: { said: "debug" } });
      assert.deepEqual(await run("warning"), ["warning", "error"]);
      assert.deepEqual(await run("emergency"), []);
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: an aborted call sends notifications/cancelled, aborts the executor, gets no response", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS });
    const exchanges: { body: string; status: number; text: string }[] = [];
    const watching: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === "POST") {
        // Record the whole answer to each POST, then hand the client a copy.
        const text = await res.clone().text();
        exchanges.push({ body: String(init.body), status: res.status, text });
      }
      return res;
    };
    const { client } = await connectClient(gw.url, gw.key, { fetch: watching });
    try {
      const ac = new AbortController();
      const call = client.callTool({ name: "wait", arguments: {} }, undefined, {
        signal: ac.signal,
      });
      await s.executor.until(() => s.executor.calls.length === 1);
      const signal = s.executor.calls[0].signal;
      assert.equal(signal.aborted, false);
      ac.abort("user pressed stop");
      await assert.rejects(call);
      await s.executor.until(() => s.executor.aborts.length === 1);
      assert.equal(signal.aborted, true);
      // The call's own POST is answered 202 with no body: no response after a cancel.
      const deadline = Date.now() + 2000;
      let callPost;
      while (!(callPost = exchanges.find((e) => e.body.includes('"tools/call"')))) {
        if (Date.now() > deadline) assert.fail("the tools/call POST was never answered");
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(callPost.status, 202, callPost.text);
      assert.equal(callPost.text, "");
      const cancel = exchanges.find((e) => e.body.includes("notifications/cancelled"));
      assert.ok(cancel, "the client sent notifications/cancelled");
      assert.equal(cancel.status, 202);
      assert.equal(JSON.parse(cancel.body).params.requestId, JSON.parse(callPost.body).id);
      // The session is still usable.
      const again = await client.callTool({ name: "echo", arguments: { text: "after" } });
      assert.equal(again.isError, undefined);
    } finally {
      await client.close();
    }
  });
});

Deno.test("SDK client: notifications/tools/list_changed reaches an open session on every change", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS.slice(0, 1) });
    const api = apiIn(s, "default");
    const extra = ok(
      await api("POST", "/tools", {
        name: "late",
        description: "Assigned later",
        type: "http",
        executionConfig: { method: "GET", url: "https://tool.test/echo" },
      }),
      201,
    ).id;
    // Learn when the client's GET stream is open, so no notification can be missed.
    const { promise: streamOpen, resolve: opened } = Promise.withResolvers<void>();
    const watching: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === "GET" && res.ok) opened();
      return res;
    };
    const transport = new StreamableHTTPClientTransport(new URL(gw.url), {
      requestInit: { headers: { authorization: `Bearer ${gw.key}` } },
      fetch: watching,
    });
    const client = new Client({ name: "t", version: "1" });
    let changes = 0;
    let notify = () => {};
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes++;
      notify();
    });
    const nextChange = () => {
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(resolve, 2000);
      notify = () => {
        clearTimeout(timer);
        resolve();
      };
      return promise;
    };
    await client.connect(transport);
    try {
      await streamOpen;
      const names = async () => (await client.listTools()).tools.map((t: Json) => t.name);
      assert.deepEqual(await names(), ["echo"]);

      let next = nextChange();
      ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: extra }), 201);
      await next;
      assert.equal(changes, 1);
      assert.deepEqual(await names(), ["echo", "late"]);

      next = nextChange();
      ok(await api("PATCH", `/gateways/${gw.id}/tools/${extra}`, { enabled: false }));
      await next;
      assert.equal(changes, 2);
      assert.deepEqual(await names(), ["echo"]);

      // Removing a disabled assignment changes nothing the session sees: no notification.
      next = nextChange();
      assert.equal((await api("DELETE", `/gateways/${gw.id}/tools/${extra}`)).status, 204);
      await next;
      assert.equal(changes, 2);

      next = nextChange();
      ok(await api("PATCH", `/tools/${gw.toolIds.echo}`, { description: "Echoes, changed" }));
      await next;
      assert.equal(changes, 3);
    } finally {
      await client.close();
    }
  });
});
