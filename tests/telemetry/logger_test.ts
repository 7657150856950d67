/**
 * JSON logs: with `GATEHOUSE_LOG_FORMAT=json` every line a real server
 * process prints is one JSON object with time, level and message, lines of
 * a request carry its id (the one answered as `X-Request-Id`), an Error
 * logged keeps its stack, and no credential reaches a line.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { jsonLine, redactSecrets, withRequestId } from "../../src/telemetry/logger.ts";
import { apiCall, startChildServer } from "../helpers/server.ts";

type Json = Record<string, unknown>;

Deno.test("a console call becomes one JSON object, with an Error's stack and the request id", () => {
  const err = new TypeError("no route to upstream");
  const line = withRequestId("req-1", () => jsonLine("error", ["forwarding failed:", err]));
  assert.ok(!line.includes("\n"), "one line");
  const record = JSON.parse(line);
  assert.equal(record.level, "error");
  assert.equal(record.message, "forwarding failed: TypeError: no route to upstream");
  assert.equal(record.requestId, "req-1");
  assert.ok(!Number.isNaN(Date.parse(record.time)), record.time);
  assert.equal(record.error.name, "TypeError");
  assert.equal(record.error.message, "no route to upstream");
  assert.match(record.error.stack, /logger_test\.ts/);
  // Outside a request there is no id; objects are shown, not "[object Object]".
  const plain = JSON.parse(jsonLine("info", ["state", { ready: true }]));
  assert.equal(plain.requestId, undefined);
  assert.equal(plain.message, "state { ready: true }");
});

Deno.test("credentials are redacted from messages and stacks", () => {
  const cases: [string, string][] = [
    ["key gha_AbC123xyz_456 issued", "key gha_REDACTED issued"],
    ["gateway key ghk_s3cr3tvalue", "gateway key ghk_REDACTED"],
    ["Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer REDACTED"],
    ["Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic REDACTED"],
    [
      "GET https://api.test/v1?q=cats&api_key=hunter2&access_token=t0k#top",
      "GET https://api.test/v1?q=cats&api_key=REDACTED&access_token=REDACTED#top",
    ],
    [
      "error sending request for url (https://x.test/?apiKey=abc)",
      "error sending request for url (https://x.test/?apiKey=REDACTED)",
    ],
    ["an ordinary line about keys and tokens", "an ordinary line about keys and tokens"],
  ];
  for (const [text, redacted] of cases) assert.equal(redactSecrets(text), redacted);
  const err = new Error("upstream refused Bearer abc.def");
  const record = JSON.parse(jsonLine("error", [err]));
  assert.equal(record.error.message, "upstream refused Bearer REDACTED");
  assert.ok(!record.error.stack.includes("abc.def"));
});

Deno.test("GATEHOUSE_LOG_FORMAT takes text or json and nothing else", () => {
  const env = (format?: string) => (n: string) => n === "GATEHOUSE_LOG_FORMAT" ? format : undefined;
  assert.equal(loadConfig([], env()).logFormat, "text");
  assert.equal(loadConfig([], env("json")).logFormat, "json");
  assert.throws(() => loadConfig([], env("xml")), /GATEHOUSE_LOG_FORMAT must be one of text, json/);
});

Deno.test("a server with JSON logs prints only JSON lines, with request ids and no secret", async () => {
  const adminKey = `gha_logs_${crypto.randomUUID()}`;
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-logs-" });
  const child = await startChildServer(dataDir, {
    GATEHOUSE_ADMIN_KEY: adminKey,
    GATEHOUSE_LOG_FORMAT: "json",
    GATEHOUSE_LOG_REQUESTS: "1",
  });
  let stopped = false;
  try {
    const base = child.url;
    const call = (method: string, path: string, body?: unknown, key = adminKey) =>
      apiCall(base, key, method, path, body);
    const gw = (await call("POST", "/gateways", {
      name: "logged",
      type: "mcp",
      endpoint: "/logged",
      configuration: { transport: "http" },
    })).body as Json;
    await call("POST", `/gateways/${gw.id}/auth`, { type: "api_key" });
    const gwKey = (await call("POST", `/gateways/${gw.id}/keys`, { name: "k" })).body.key as string;
    assert.match(gwKey, /^ghk_/);
    // The gateway key in a query string, on the MCP endpoint and on a route that does not exist.
    const mcp = await fetch(`${base}/mcp/default/logged?api_key=${gwKey}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        },
      }),
    });
    await mcp.body?.cancel();
    assert.equal(mcp.status, 200);
    const missing = await fetch(`${base}/nowhere?api_key=${gwKey}&token=${adminKey}`);
    await missing.body?.cancel();
    const requestId = missing.headers.get("x-request-id");
    assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);
    // A wrong key, sent as a bearer token, is refused and logged as a request like any other.
    const refused = await call("GET", "/gateways", undefined, `${adminKey}x`);
    assert.equal(refused.status, 401);

    const status = await child.stop("SIGTERM");
    stopped = true;
    assert.equal(status.code, 0, child.output());
    const lines = child.output().split("\n").filter((l) => l !== "");
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as Json;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
    for (const r of records) {
      assert.equal(typeof r.message, "string", JSON.stringify(r));
      assert.ok(["debug", "info", "warn", "error"].includes(r.level as string), JSON.stringify(r));
      assert.ok(!Number.isNaN(Date.parse(r.time as string)), JSON.stringify(r));
    }
    assert.ok(records.some((r) => /^Gatehouse listening on /.test(r.message as string)));
    const line = records.find((r) => r.requestId === requestId);
    assert.ok(line, `no line with request id ${requestId}:\n${lines.join("\n")}`);
    assert.match(String(line.message), /^GET \/nowhere 404 /);
    assert.ok(records.some((r) => /^POST \/mcp\/default\/logged 200/.test(r.message as string)));
    const output = child.output();
    for (const secret of [adminKey, gwKey, "api_key=ghk"]) {
      assert.ok(!output.includes(secret), `${secret} reached the log:\n${output}`);
    }
  } finally {
    if (!stopped) await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});
