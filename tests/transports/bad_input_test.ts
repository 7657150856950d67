/**
 * Bad input never becomes an internal error: malformed percent-encoding in
 * any path, lone surrogates and absurd nesting in tool arguments, and
 * malformed JSON on routes that take secrets are each answered with a 4xx in
 * the shape of their surface, over raw fetch and WebSockets against a real
 * server process whose output is checked for stack traces.
 */
import assert from "node:assert/strict";
import { type ChildServer, startChildServer } from "../helpers/server.ts";
import { apiCall } from "../helpers/server.ts";
import { startUpstream } from "../tools/upstream.ts";
import { openWs, WsInbox } from "./fixtures.ts";

type Json = Record<string, unknown> & { error?: unknown };

/** Starts `src/main.ts` on a fresh data folder with a known admin key. */
async function startServer(): Promise<{ child: ChildServer; key: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-bad-input-" });
  const key = `gha_bad_input_${crypto.randomUUID()}`;
  const child = await startChildServer(dir, { GATEHOUSE_ADMIN_KEY: key });
  return { child, key, dir };
}

/** Neither stack frames nor internal errors in the server's output. */
function assertNoStackTrace(output: string): void {
  assert.doesNotMatch(output, /^\s+at /m, output);
  assert.doesNotMatch(output, /internal error|URIError|RangeError/i, output);
}

Deno.test("malformed percent-encoding in any path is a 400 in that surface's error shape", async () => {
  const { child, key, dir } = await startServer();
  try {
    const mcpShape = (b: Json) => {
      const e = b.error as { code: number; message: string };
      assert.equal(b.jsonrpc, "2.0");
      assert.equal(e.code, -32600);
      assert.match(e.message, /malformed percent-encoding/);
    };
    const oauthShape = (b: Json) => {
      assert.equal(b.error, "invalid_request");
      assert.match(String(b.error_description), /malformed percent-encoding/);
    };
    const apiShape = (b: Json) => {
      const e = b.error as { code: string; field: string; message: string };
      assert.equal(e.code, "invalid_request");
      assert.equal(e.field, "path");
      assert.match(e.message, /malformed percent-encoding/);
    };
    const cases: [string, string, (b: Json) => void][] = [
      ["GET", "/mcp/%ZZ/x", mcpShape],
      ["POST", "/mcp/%ZZ/x", mcpShape],
      ["GET", "/mcp/default/x%ZZ/sse", mcpShape],
      ["POST", "/mcp/default/x%ZZ/messages", mcpShape],
      ["GET", "/mcp/default/%E0%A4%A/ws", mcpShape],
      ["POST", "/mcp/default/x/oauth/token%ZZ", mcpShape],
      ["POST", "/mcp/%ZZ/x/oauth/token", oauthShape],
      ["POST", "/mcp/default/x%ZZ/oauth/register", oauthShape],
      ["GET", "/.well-known/oauth-protected-resource/mcp/%ZZ/x", oauthShape],
      ["GET", "/.well-known/oauth-authorization-server/mcp/%ZZ/x", oauthShape],
      ["GET", "/mcp/default/x%ZZ/.well-known/oauth-authorization-server", oauthShape],
      ["GET", "/gateways/%ZZ", apiShape],
      ["PATCH", "/tools/%ZZ", apiShape],
      ["PUT", "/secrets/%ZZ", apiShape],
      ["GET", "/no-such-route/%ZZ", apiShape],
    ];
    for (const [method, path, shape] of cases) {
      // Without a credential too: the path is refused before anything reads it.
      const withAndWithout: Record<string, string>[] = [{ authorization: `Bearer ${key}` }, {}];
      for (const auth of withAndWithout) {
        const res = await fetch(child.url + path, {
          method,
          headers: { ...auth, "content-type": "application/json" },
          body: method === "GET" ? undefined : "{}",
        });
        assert.equal(res.status, 400, `${method} ${path}`);
        shape(await res.json());
      }
    }
    // The login page answers a page, not JSON.
    const page = await fetch(`${child.url}/mcp/default/x%ZZ/oauth/authorize`);
    assert.equal(page.status, 400);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /malformed percent-encoding/);
    // Well-formed escapes still route as before.
    const fine = await fetch(`${child.url}/gateways/%41bc`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(fine.status, 404);
    await fine.body?.cancel();
  } finally {
    const status = await child.stop();
    assert.equal(status.code, 0);
    assertNoStackTrace(child.output());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lone surrogates and deep nesting in tool arguments are -32602, on every transport", async () => {
  const { child, key, dir } = await startServer();
  const up = startUpstream({ "/ok/fine": () => Response.json({ ok: true }) });
  try {
    const api = (method: string, path: string, body?: unknown) =>
      apiCall(child.url, key, method, path, body);
    const tool = await api("POST", "/tools", {
      name: "fetch_item",
      description: "puts its argument in the URL, a header and the body",
      inputSchema: { type: "object", properties: { a: {} } },
      type: "http",
      executionConfig: {
        method: "POST",
        url: `${up.url}/ok/{{parameters.a}}`,
        queryParams: { q: "{{parameters.a}}" },
        headers: { "X-A": "{{parameters.a}}" },
        body: { a: "{{parameters.a}}" },
      },
    });
    assert.equal(tool.status, 201, JSON.stringify(tool.body));
    const gw = await api("POST", "/gateways", {
      name: "bad input",
      type: "mcp",
      endpoint: "/bad",
      configuration: { transport: "http" },
    });
    assert.equal(gw.status, 201);
    const gid = gw.body.id as string;
    assert.equal(
      (await api("POST", `/gateways/${gid}/tools`, { toolId: tool.body.id })).status,
      201,
    );
    assert.equal((await api("POST", `/gateways/${gid}/auth`, { type: "api_key" })).status, 201);
    const gwKey = (await api("POST", `/gateways/${gid}/keys`, { name: "k" })).body.key as string;
    const url = `${child.url}/mcp/default/bad`;

    let deep = "1";
    for (let i = 0; i < 10_000; i++) deep = `{"a":${deep}}`;
    const bad: [string, RegExp][] = [
      [`{"a":"\\ud800"}`, /params\.arguments\.a is not well-formed Unicode/],
      [`{"a":["ok","x\\udfff"]}`, /params\.arguments\.a\[1\] is not well-formed Unicode/],
      [`{"\\udc00":"x"}`, /not well-formed Unicode/],
      [`{"a":${deep}}`, /nest more than 64 levels deep/],
      [`{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, /nest more than 64 levels deep/],
    ];
    const call = (id: number, args: string) =>
      `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"fetch_item","arguments":${args}}}`;
    const check = (answer: Json, id: number, why: RegExp) => {
      assert.equal(answer.id, id);
      const e = answer.error as { code: number; message: string };
      assert.equal(e?.code, -32602, JSON.stringify(answer).slice(0, 300));
      assert.match(e.message, why);
    };

    // Streamable HTTP, sessionless.
    for (const [i, [args, why]] of bad.entries()) {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gwKey}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: call(i + 1, args),
      });
      assert.equal(res.status, 200);
      check(await res.json(), i + 1, why);
    }
    // The same tool with good arguments still reaches the upstream.
    const good = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gwKey}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: call(99, `{"a":"fine"}`),
    });
    const goodBody = await good.json();
    assert.equal(goodBody.result?.isError, undefined, JSON.stringify(goodBody));

    // WebSocket.
    const ws = new WsInbox(
      await openWs(`ws://${new URL(url).host}/mcp/default/bad/ws?api_key=${gwKey}`, "mcp"),
    );
    try {
      const init = await ws.request({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-03-26",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        },
      }, 0);
      assert.ok(init.result, JSON.stringify(init));
      for (const [i, [args, why]] of bad.entries()) {
        check(await ws.request(call(i + 1, args), i + 1), i + 1, why);
      }
    } finally {
      await ws.close();
    }
  } finally {
    await child.stop();
    await up.close();
    assertNoStackTrace(child.output());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed JSON on routes that take secrets is refused without quoting the body", async () => {
  const { child, key, dir } = await startServer();
  try {
    const secret = `hunter2-${crypto.randomUUID()}`;
    const bodies = [
      secret,
      `{"name":"S","type":"bearer_token","value":${secret}}`,
      `{"value":"${secret}" x}`,
      `{"password":"${secret}",}`,
      `{"currentPassword": '${secret}'}`,
    ];
    const routes: [string, string][] = [
      ["POST", "/secrets"],
      ["PUT", "/secrets/S"],
      ["PATCH", "/secrets/S"],
      ["PUT", "/me/password"],
      ["POST", "/orgs/default/members"],
    ];
    for (const [method, path] of routes) {
      for (const body of bodies) {
        const res = await fetch(child.url + path, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body,
        });
        const text = await res.text();
        assert.ok(
          res.status === 400 || res.status === 404,
          `${method} ${path}: ${res.status} ${text}`,
        );
        assert.ok(!text.includes("hunter2"), `${method} ${path} quoted the body: ${text}`);
        if (res.status === 400) assert.match(text, /not valid JSON/);
      }
    }
  } finally {
    await child.stop();
    assert.ok(!child.output().includes("hunter2"), child.output());
    assertNoStackTrace(child.output());
    await Deno.remove(dir, { recursive: true });
  }
});
