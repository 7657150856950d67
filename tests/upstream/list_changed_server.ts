/**
 * A stdio MCP server (the SDK's own) that adds a second tool shortly after
 * a client initializes, announcing it with `notifications/tools/list_changed`.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "list-changed", version: "1.0.0" });
const ok = () => ({ content: [{ type: "text" as const, text: "ok" }] });
server.registerTool("first", { description: "The first tool." }, ok);
server.server.oninitialized = () => {
  setTimeout(() => server.registerTool("second", { description: "Added later." }, ok), 300);
};
await server.connect(new StdioServerTransport());
