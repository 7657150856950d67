import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";

Deno.test("a created gateway is listed with its MCP URLs", async () => {
  const s = await startTestServer();
  try {
    const created = await s.api("POST", "/gateways", {
      name: "My MCP Gateway",
      type: "mcp",
      endpoint: "/my-tools",
      configuration: { transport: "http" },
    });
    assert.equal(created.status, 201);
    const urls = created.body.urls as Record<string, string>;
    assert.equal(urls.http, `${s.url}/mcp/default/my-tools`);
    const list = await s.api("GET", "/gateways");
    assert.deepEqual((list.body.gateways as { id: string }[]).map((g) => g.id), [created.body.id]);
  } finally {
    await s.close();
  }
});
