/**
 * `subscriptions/listen` (2026-07-28): a stateless client's stream of list
 * changes, acknowledged first, each notification tagged with the
 * subscription id, only for the kinds it asked for.
 */
import assert from "node:assert/strict";
import {
  apiIn,
  createGateway,
  ok,
  openListenStream,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";
import { waitFor } from "../transports/fixtures.ts";

const V = "2026-07-28";

Deno.test("subscriptions/listen acknowledges what it honors, then streams tagged list changes", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS.slice(0, 1) });
    const api = apiIn(s, "default");
    const stream = await openListenStream(gw.url, gw.key, {
      toolsListChanged: true,
      resourceSubscriptions: ["file:///x"],
    });
    try {
      await waitFor("the acknowledgment", () => stream.frames.length > 0);
      assert.deepEqual(stream.frames[0], {
        jsonrpc: "2.0",
        method: "notifications/subscriptions/acknowledged",
        params: {
          _meta: { "io.modelcontextprotocol/subscriptionId": "sub-1" },
          // Resource subscriptions are not honored, so the acknowledgment does not promise them.
          notifications: { toolsListChanged: true },
        },
      });
      const tool = ok(
        await api("POST", "/tools", {
          name: "late",
          description: "Assigned later",
          type: "http",
          executionConfig: { method: "GET", url: "https://tool.test/late" },
        }),
        201,
      );
      ok(await api("POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }), 201);
      await waitFor("tools/list_changed", () => stream.frames.length > 1);
      assert.deepEqual(stream.frames[1], {
        jsonrpc: "2.0",
        method: "notifications/tools/list_changed",
        params: { _meta: { "io.modelcontextprotocol/subscriptionId": "sub-1" } },
      });
    } finally {
      await stream.close();
    }
  });
});

Deno.test("subscriptions/listen sends nothing for kinds it was not asked for, and refuses JSON-only clients", async () => {
  await withMcpServer(async (s) => {
    const gw = await createGateway(s, { tools: STANDARD_TOOLS.slice(0, 1) });
    const api = apiIn(s, "default");
    const stream = await openListenStream(gw.url, gw.key, { promptsListChanged: true });
    try {
      await waitFor("the acknowledgment", () => stream.frames.length > 0);
      assert.deepEqual(stream.frames[0].params.notifications, { promptsListChanged: true });
      ok(await api("PATCH", `/tools/${gw.toolIds.echo}`, { description: "changed" }));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(stream.frames.length, 1, "a tools change is not a prompts change");
    } finally {
      await stream.close();
    }
    const jsonOnly = await fetch(gw.url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gw.key}`,
        "content-type": "application/json",
        accept: "application/json",
        "mcp-protocol-version": V,
        "mcp-method": "subscriptions/listen",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "subscriptions/listen",
        params: {
          notifications: {},
          _meta: {
            "io.modelcontextprotocol/protocolVersion": V,
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    assert.equal(jsonOnly.status, 400);
    assert.match((await jsonOnly.json()).error.message, /text\/event-stream/);
  });
});
