/**
 * What the wire tests share: a document imported through the API against a
 * local upstream that records every request, the generated tools assigned to
 * a gateway, and calls over MCP that return the exact request that arrived.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Recorded, startUpstream, type Upstream } from "../tools/upstream.ts";
import { callTool, expectOk, gatewayWith, importApi, type Json, rpc } from "./helpers.ts";

/**
 * An imported document, ready to call. Operations are named by operationId,
 * or by route (`POST /things`) where the document gives none.
 */
export interface Wire {
  s: TestServer;
  up: Upstream;
  /** The import's answer: the API with its tools and warnings. */
  api: Json;
  /** The tool generated from `op`, as `GET /tools/{id}` shows it. */
  stored(op: string): Promise<Json>;
  /** Calls the tool of `op` (it must succeed) and returns the one request it sent. */
  send(op: string, args: Json): Promise<Recorded>;
  /** Calls the tool of `op`, which must fail without sending anything; returns why. */
  refuse(op: string, args: Json): Promise<string>;
}

/** The tool of `api` generated from `op` (an operationId or a route). */
function toolFor(api: Json, op: string): { id: string; name: string } {
  const t = api.tools.find((x: Json) => x.operationId === op || `${x.method} ${x.path}` === op);
  assert.ok(t, `no tool for ${op}`);
  return t;
}

/**
 * Imports `spec` with the upstream's URL (plus `prefix`) as `baseUrl` (and
 * `extra` import fields), assigns every tool to one gateway and runs `fn`.
 */
export async function withWire(
  spec: unknown,
  fn: (w: Wire) => Promise<void>,
  extra: Json = {},
  prefix = "",
): Promise<void> {
  const up = startUpstream({ "*": () => Response.json({ ok: true }) });
  const s = await startTestServer();
  try {
    const api = await importApi(s, { name: "wire", spec, baseUrl: `${up.url}${prefix}`, ...extra });
    const url = await gatewayWith(s, "/wire", api.tools.map((t: Json) => t.id));
    await fn({
      s,
      up,
      api,
      stored: async (op) => expectOk(await s.api("GET", `/tools/${toolFor(api, op).id}`)),
      send: async (op, args) => {
        const before = up.requests.length;
        const result = await callTool(url, toolFor(api, op).name, args);
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(up.requests.length, before + 1, "exactly one request");
        return up.requests[before];
      },
      refuse: async (op, args) => {
        const before = up.requests.length;
        const reply = await rpc(url, "tools/call", {
          name: toolFor(api, op).name,
          arguments: args,
        });
        const text = reply.error?.message ?? reply.result?.content?.[0]?.text;
        assert.ok(reply.error || reply.result.isError, JSON.stringify(reply));
        assert.equal(up.requests.length, before, "nothing was sent");
        return String(text);
      },
    });
  } finally {
    await s.close();
    await up.close();
  }
}

const utf8 = new TextEncoder();

/** `parts` joined as bytes (strings as UTF-8). */
export function bytesOf(...parts: (string | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? utf8.encode(p) : p);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** One part of an expected multipart body. */
export interface ExpectedPart {
  name: string;
  content: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

/**
 * Asserts `r` is a `multipart/form-data` request whose body is exactly
 * `parts`, in order, byte for byte, under the boundary it declared.
 */
export function assertMultipart(r: Recorded, parts: ExpectedPart[]): void {
  const type = r.headers["content-type"];
  const boundary = /^multipart\/form-data; boundary=(\S+)$/.exec(type)?.[1];
  assert.ok(boundary, type);
  const expected = bytesOf(
    ...parts.flatMap((p) => [
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"` +
      (p.filename === undefined ? "" : `; filename="${p.filename}"`) +
      (p.contentType === undefined ? "" : `\r\nContent-Type: ${p.contentType}`) +
      "\r\n\r\n",
      p.content,
      "\r\n",
    ]),
    `--${boundary}--\r\n`,
  );
  assert.deepEqual(r.bytes, expected, r.body);
}

/** `bytes` as base64. */
export function base64(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? utf8.encode(bytes) : bytes;
  return btoa(String.fromCharCode(...raw));
}
