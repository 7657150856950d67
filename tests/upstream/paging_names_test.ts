/**
 * List pages of a gateway serving an upstream whose tool names are not
 * ASCII (beside the gateway's own tools): with one tool a page, boundaries
 * fall after such names, and paging still lists each tool once (the cursor
 * carries the name).
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { loadConfig } from "../../src/config.ts";
import { startTestServer } from "../helpers/server.ts";
import { type Json, sdkTransport, setupGateway, TOOL_NAMES } from "../transports/fixtures.ts";
import { addServer, api } from "./gateway_fixtures.ts";
import { sessionServer } from "./session_server.ts";

const NAMES = ["añadir", "café_au_lait", "日本語", "émoji_🎉", "zebra"];

Deno.test("tools/list pages after non-ASCII tool names list every tool once", async () => {
  const upstream = sessionServer({
    make: () => {
      const server = new McpServer({ name: "names", version: "1.0.0" });
      for (const name of NAMES) {
        server.registerTool(name, { description: `the tool ${name}` }, () => ({
          content: [{ type: "text", text: name }],
        }));
      }
      return server;
    },
  });
  const s = await startTestServer({ mcp: { ...loadConfig([], () => undefined).mcp, pageSize: 1 } });
  try {
    const gw = await setupGateway(s, "/names");
    const server = await addServer(s, {
      name: "names",
      transport: "streamable-http",
      url: upstream.url,
    });
    await api(s, "POST", `/gateways/${gw.id}/servers`, { serverId: server.id }, 201);
    const client = new Client({ name: "pager", version: "1.0.0" });
    await client.connect(sdkTransport("http", gw, gw.key));
    try {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page: Json = await client.listTools(cursor === undefined ? {} : { cursor });
        seen.push(...page.tools.map((t: Json) => t.name));
        cursor = page.nextCursor;
      } while (cursor !== undefined && seen.length < 20);
      assert.deepEqual(
        seen,
        [...NAMES, ...TOOL_NAMES].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    } finally {
      await client.close();
    }
  } finally {
    await s.close();
    await upstream.stop();
  }
});
