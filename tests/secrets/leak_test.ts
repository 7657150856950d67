/**
 * The promise "values are never returned, logged or placed in error
 * messages", checked over a whole run: every response body Gatehouse sends
 * (management API and MCP, including log notifications at debug level) and
 * every console line it writes (request logging on) is captured while secrets
 * are created, used via templates and via auth, echoed back by upstreams on
 * success, 401 and 500, updated, listed and misused; no known value appears
 * anywhere, in plain, URL-encoded or base64 form, nor in the spellings URLs
 * give a value: lower-cased as a host name in DNS and connection errors,
 * percent-encoded with either hex case, or punycoded inside a host label.
 */
import assert from "node:assert/strict";
import { domainToASCII } from "node:url";
import { startTestServer } from "../helpers/server.ts";
import { closedPort, type Handler, startUpstream } from "../tools/upstream.ts";
import { addSecret, httpTool, toolGateway } from "./fixtures.ts";

/** Everything an upstream can echo: headers, query and body. */
function echo(status: number): Handler {
  return (req, rec) => {
    const payload = {
      headers: Object.fromEntries(req.headers),
      query: rec.query,
      body: rec.body,
    };
    const text = JSON.stringify(payload);
    return status === 200
      // Secrets as values and as keys, in JSON and in a plain-text line.
      ? Response.json({ ...payload, [req.headers.get("authorization") ?? "none"]: true })
      : new Response(`upstream error ${status}: ${text}`, {
        status,
        headers: { "content-type": "text/plain" },
      });
  };
}

Deno.test("a whole run never shows a secret value in any response or log line", async () => {
  const canary = (what: string) => `canary-${what}-${crypto.randomUUID().slice(0, 12)}`;
  const v = {
    token: canary("bearer"),
    token2: canary("bearer-rotated"),
    queryKey: `${canary("query-key")}/+&=`,
    headerKey: canary("header-key"),
    password: canary("password"),
    clientSecret: canary("client-secret"),
    accessToken: canary("access-token"),
    custom: canary("custom-header"),
    // Mixed case: host names come back lower-cased.
    host: `Canary-Host-${crypto.randomUUID().slice(0, 8).toUpperCase()}`,
    // Non-ASCII: a host label holding it is punycoded, and paths percent-encode it.
    unicode: `canary-Ünïcödé-${crypto.randomUUID().slice(0, 8)}`,
  };
  const basicPair = `svc-user:${v.password}`;
  const forbidden = [
    ...Object.values(v),
    ...Object.values(v).map(encodeURIComponent),
    ...Object.values(v).map((x) => new URLSearchParams({ x }).toString().slice(2)),
    ...Object.values(v).map((x) => x.toLowerCase()),
    ...Object.values(v).map((x) => encodeURIComponent(x).toLowerCase()),
    domainToASCII(v.host),
    domainToASCII(v.unicode),
    domainToASCII(`api-${v.unicode}`),
    btoa(basicPair),
    btoa(`client-1:${v.clientSecret}`),
  ];

  const captured: string[] = [];
  const pending: Promise<void>[] = [];
  const realFetch = globalThis.fetch;
  const consoleNames = ["log", "error", "warn", "info", "debug"] as const;
  const realConsole = consoleNames.map((n) => console[n]);
  const logLines: string[] = [];
  for (const n of consoleNames) {
    console[n] = (...args: unknown[]) => {
      logLines.push(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "));
    };
  }

  const up = startUpstream({
    "/ok": echo(200),
    "/unauthorized": echo(401),
    "/broken": echo(500),
    // A proxy that normalises URLs to lower case and echoes them back.
    "/lower": (req) => new Response(`no route for ${req.url.toLowerCase()}`, { status: 404 }),
    "/token": () =>
      Response.json({ access_token: v.accessToken, token_type: "Bearer", expires_in: 3600 }),
    "/token-fails": (req) =>
      Response.json({
        error: "invalid_client",
        error_description: `rejected ${req.headers.get("authorization")}`,
      }, { status: 401 }),
  });
  const s = await startTestServer({ logRequests: true });
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(s.url)) pending.push(res.clone().text().then((t) => void captured.push(t)));
    return res;
  };
  try {
    // Secrets of every type.
    const token = await addSecret(s, { name: "TOKEN", type: "bearer_token", value: v.token });
    await addSecret(s, {
      name: "QKEY",
      type: "api_key",
      value: { key: v.queryKey, in: "query", name: "key" },
    });
    await addSecret(s, { name: "HKEY", type: "api_key", value: v.headerKey });
    await addSecret(s, {
      name: "BASIC",
      type: "basic_auth",
      value: { username: "svc-user", password: v.password },
    });
    await addSecret(s, {
      name: "OAUTH",
      type: "oauth2_client_credentials",
      value: { tokenUrl: `${up.url}/token`, clientId: "client-1", clientSecret: v.clientSecret },
    });
    await addSecret(s, {
      name: "OAUTH_BAD",
      type: "oauth2_client_credentials",
      value: {
        tokenUrl: `${up.url}/token-fails`,
        clientId: "client-1",
        clientSecret: v.clientSecret,
      },
    });
    await addSecret(s, { name: "HOST", type: "bearer_token", value: v.host });
    await addSecret(s, { name: "UNI", type: "bearer_token", value: v.unicode });
    await addSecret(s, {
      name: "HEADERS",
      type: "custom_headers",
      value: { headers: { "X-Sig": v.custom } },
    });

    // Tools using them via templates and via auth, against echoing upstreams.
    const tools: Record<string, unknown>[] = [];
    for (const path of ["/ok", "/unauthorized", "/broken"]) {
      const p = path.slice(1);
      tools.push(
        httpTool(`template_${p}`, `${up.url}${path}?k={{secrets.QKEY}}`, {
          method: "POST",
          headers: { Authorization: "Bearer {{secrets.TOKEN}}", "X-Basic": "{{secrets.BASIC}}" },
          queryParams: { h: "{{secrets.HKEY}}", o: "{{secrets.OAUTH}}" },
          body: { token: "{{secrets.TOKEN}}", note: "sent {{secrets.HKEY}} along" },
          retries: 1,
        }),
      );
      for (const name of ["TOKEN", "QKEY", "HKEY", "BASIC", "OAUTH", "HEADERS"]) {
        tools.push(
          httpTool(`auth_${name.toLowerCase()}_${p}`, `${up.url}${path}`, {
            auth: { secret: name },
            retries: path === "/broken" ? 1 : 0,
          }),
        );
      }
    }
    // Secrets in host names (a DNS failure, a closed port, a punycoded label) and in
    // paths and queries an upstream echoes back lower-cased.
    const closed = closedPort();
    tools.push(
      httpTool("host_dns", "http://{{secrets.HOST}}.invalid/x"),
      httpTool("host_refused", `http://{{secrets.HOST}}.localhost:${closed}/x`),
      httpTool("host_punycode", `http://api-{{secrets.UNI}}.localhost:${closed}/x`),
      httpTool("host_punycode_dns", "http://api-{{secrets.UNI}}.invalid/x"),
      httpTool("path_lower", `${up.url}/lower/{{secrets.UNI}}/{{secrets.HOST}}?q={{secrets.UNI}}`),
    );
    tools.push(httpTool("structured", `${up.url}/ok`, { auth: { secret: "TOKEN" } }));
    tools.push(httpTool("oauth_bad", `${up.url}/ok`, { auth: { secret: "OAUTH_BAD" } }));
    tools.push(httpTool("missing", `${up.url}/ok`, { auth: { secret: "MISSING" } }));
    tools.push(
      httpTool("headers_template", `${up.url}/ok`, { headers: { X: "{{secrets.HEADERS}}" } }),
    );
    const structured = tools.find((t) => t.name === "structured")!;
    structured.outputSchema = { type: "object" };
    const gw = await toolGateway(s, tools);

    let redactedSeen = 0;
    const callAll = async () => {
      for (const t of tools) {
        const result = await gw.call(t.name as string);
        if (JSON.stringify(result).includes("[REDACTED]")) redactedSeen++;
      }
    };
    await callAll();
    // Rotate a value, then use everything again.
    const patched = await s.api("PATCH", `/secrets/${token.id}`, { value: v.token2 });
    assert.equal(patched.status, 200);
    await callAll();

    // Reads and mistakes, each with the values in the request.
    await s.api("GET", "/secrets");
    await s.api("GET", `/secrets/${token.id}`);
    await s.api("GET", "/tools");
    await s.api("POST", "/secrets", { name: "TOKEN", type: "bearer_token", value: v.token });
    await s.api("POST", "/secrets", { name: "BAD", type: "bearer_token", value: `${v.token}\n` });
    await s.api("POST", "/secrets", { name: "bad-name", type: "bearer_token", value: v.token });
    await s.api("POST", "/secrets", { name: "T2", type: "nope", value: v.token });
    await s.api("POST", "/secrets", { name: "T3", type: "basic_auth", value: v.password });
    await s.api("PATCH", `/secrets/${token.id}`, {
      type: "api_key",
      value: { key: v.headerKey, in: "x" },
    });
    await s.api("PUT", `/secrets/${token.id}`, {
      name: "TOKEN",
      type: "custom_headers",
      value: { headers: { "Bad Header": v.custom } },
    });
    // Malformed JSON: V8's parse errors quote the text around the fault (a value's first part).
    for (const value of [v.token, v.password, v.clientSecret]) {
      for (
        const body of [value, `{"type":"bearer_token","value":${value}}`, `{"value":"${value}" x}`]
      ) {
        const raw = await fetch(`${s.url}/secrets`, {
          method: "POST",
          headers: { authorization: `Bearer ${s.adminKey}`, "content-type": "application/json" },
          body,
        });
        await raw.body?.cancel();
      }
    }
    await s.api(
      "POST",
      "/secrets",
      { name: "T4", type: "bearer_token", value: v.token },
      "gha_wrong_key",
    );
    await Promise.all(pending);

    const everything = [...captured, ...logLines];
    assert.ok(captured.length > 100, `captured ${captured.length} responses`);
    assert.ok(captured.some((t) => t.includes("notifications/message")), "MCP log lines captured");
    const leaks: string[] = [];
    for (const text of everything) {
      for (const f of forbidden) if (text.includes(f)) leaks.push(`${f} in: ${text.slice(0, 300)}`);
      // Every value starts with "canary-": even a cut-off part of one must not show.
      const at = text.indexOf("canary-");
      if (at >= 0) leaks.push(`part of a value in: ${text.slice(Math.max(0, at - 100), at + 100)}`);
    }
    assert.deepEqual(leaks, []);
    // The run did what it says: upstreams echoed secrets, and redaction replaced them.
    assert.ok(redactedSeen >= 20, `only ${redactedSeen} results showed redaction`);
    assert.ok(up.to("/broken").length >= 16, "500s were retried");
    assert.ok(logLines.some((l) => l.startsWith("POST /secrets 201")), logLines.join("\n"));
  } finally {
    globalThis.fetch = realFetch;
    consoleNames.forEach((n, i) => (console[n] = realConsole[i]));
    await s.close();
    await up.close();
  }
});
