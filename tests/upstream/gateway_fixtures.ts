/**
 * What the federation tests do through a real Gatehouse: management API
 * calls that must succeed, upstream servers added and waited for, and
 * 2026-07-28 requests sent by raw fetch as the specification has a
 * stateless client send them.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TestServer } from "../helpers/server.ts";
import type { Gateway, Json } from "../transports/fixtures.ts";
import { denoServer, EVERYTHING, until } from "./fixtures.ts";

/** A management API call that must answer `status`; its body. */
export async function api(
  s: TestServer,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
): Promise<Json> {
  const res = await s.api(method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body as Json;
}

/** Adds an upstream server and waits until it is ready (failing fast if it fails). */
export async function addServer(s: TestServer, body: Record<string, unknown>): Promise<Json> {
  const server = await api(s, "POST", "/servers", body, 201);
  return await until(
    async () => {
      const st = await api(s, "GET", `/servers/${server.id}`);
      assert.notEqual(st.status.state, "failed", JSON.stringify(st.status));
      return st.status.state === "ready" ? st : undefined;
    },
    60_000,
    `server ${body.name} ready`,
  );
}

/** server-everything as a stdio server body. */
export function everythingStdio(name = "everything") {
  return { name, transport: "stdio", ...denoServer(EVERYTHING), timeout: 20_000 };
}

/**
 * One 2026-07-28 request to `gw`: the headers and `_meta` the version asks
 * for (the `Mcp-Name` header repeats `name`, or `uri` for resources/read,
 * unless `mcpName` says otherwise).
 * Answers the HTTP status and the JSON-RPC answer, from JSON or SSE.
 */
export async function stateless(
  gw: Gateway,
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = {},
  mcpName?: string,
): Promise<{ status: number; body: Json }> {
  const named = mcpName ?? (typeof params.name === "string" ? params.name : params.uri);
  const res = await fetch(gw.httpUrl, {
    method: "POST",
    headers: {
      authorization: `Bearer ${gw.key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(typeof named === "string" ? { "mcp-name": named } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": capabilities,
        },
      },
    }),
  });
  const text = await res.text();
  const data = text.trimStart().startsWith("{")
    ? text
    : text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
      .find((l) => l.includes('"id":1'))!;
  return { status: res.status, body: JSON.parse(data) };
}
