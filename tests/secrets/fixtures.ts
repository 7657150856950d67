/**
 * Shared set-up for the secrets tests: a real server (default executors, the
 * real vault), secrets and `http` tools made through the management API, a
 * gateway with a raw MCP session, and tool calls over Streamable HTTP.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ApiResponse, TestServer } from "../helpers/server.ts";
import { createGateway, type Json, ok, openSession, type RawSession, req } from "../helpers/mcp.ts";

export type { Json };

/** Creates a secret (expects 201) and returns its metadata. */
export async function addSecret(s: TestServer, body: Record<string, unknown>): Promise<Json> {
  return ok(await s.api("POST", "/secrets", body), 201);
}

/** An `http` tool body named `name` calling `url` with `config` merged into its execution config. */
export function httpTool(
  name: string,
  url: string,
  config: Record<string, unknown> = {},
  properties: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    description: `test tool ${name}`,
    inputSchema: { type: "object", properties },
    type: "http",
    executionConfig: { method: "GET", url, ...config },
  };
}

/** A gateway in the default org with `tools` (bodies) assigned, and an open MCP session. */
export interface ToolGateway {
  session: RawSession;
  url: string;
  toolIds: Record<string, string>;
  /** Calls `name` over MCP; returns the JSON-RPC result (asserting there is no JSON-RPC error). */
  call(name: string, args?: Record<string, unknown>): Promise<Json>;
}

let nextId = 1;

/** Creates `tools`, a gateway with them and an `api_key` auth, and opens a session at debug logging. */
export async function toolGateway(
  s: TestServer,
  tools: Record<string, unknown>[],
): Promise<ToolGateway> {
  const refs: { id: string; name: string }[] = [];
  for (const t of tools) {
    const created = ok(await s.api("POST", "/tools", t), 201);
    refs.push({ id: created.id, name: created.name });
  }
  const gw = await createGateway(s, { tools: refs });
  const session = await openSession(gw.url, gw.key);
  // Debug level: the executor's log lines travel to the client too, and must hold no secret.
  const level = await session.rpc(req(nextId++, "logging/setLevel", { level: "debug" }));
  assert.equal(level.status, 200, level.text);
  return {
    session,
    url: gw.url,
    toolIds: gw.toolIds,
    call: async (name, args = {}) => {
      const answer = await session.rpc(req(nextId++, "tools/call", { name, arguments: args }));
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body?.error, undefined, answer.text);
      return answer.body.result;
    },
  };
}

/** The text of a tool result's first block. */
export function resultText(result: Json): string {
  assert.equal(result.content?.[0]?.type, "text", JSON.stringify(result));
  return result.content[0].text;
}

/** Asserts an API error with `status` naming `field`; returns its message. */
export function expectFieldError(res: ApiResponse, status: number, field: string): string {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error?.field, field, JSON.stringify(res.body));
  return res.body.error!.message;
}
