/**
 * The HTTP executor against a real upstream on a loopback port: what exactly
 * goes over the wire for each template, and what comes back for each kind of
 * response and failure.
 */
import assert from "node:assert/strict";
import { HttpExecutor, type HttpExecutorOptions } from "../../src/tools/http_executor.ts";
import { staticSecrets } from "../../src/tools/secrets.ts";
import type { Tool } from "../../src/store/tools.ts";
import { errorText, httpTool, ok, textOf } from "./fixtures.ts";
import {
  closedPort,
  delay,
  type Handler,
  hang,
  PNG_BYTES,
  startUpstream,
  testContext,
  type Upstream,
} from "./upstream.ts";

const json = (value: unknown, init: ResponseInit = {}) => Response.json(value, init);

/** Runs `fn` with an upstream serving `routes`, always closing it. */
async function withUpstream(
  routes: Record<string, Handler>,
  fn: (up: Upstream) => Promise<void>,
): Promise<void> {
  const up = startUpstream(routes);
  try {
    await fn(up);
  } finally {
    await up.close();
  }
}

/** Fast retries for tests; everything else as in production. */
function executor(options: HttpExecutorOptions = {}): HttpExecutor {
  return new HttpExecutor({ retryBaseMs: 5, ...options });
}

function run(tool: Tool, args: Record<string, unknown> = {}, options?: HttpExecutorOptions) {
  const ctx = testContext();
  return { ctx, result: executor(options).execute(tool, args, ctx) };
}

Deno.test("a path parameter cannot leave its segment: ../admin?x=1#y stays encoded", async () => {
  await withUpstream(
    { "/users/..%2Fadmin%3Fx%3D1%23y/profile": () => json({ ok: true }) },
    async (up) => {
      const tool = httpTool(
        { method: "GET", url: `${up.url}/users/{{parameters.id}}/profile` },
        { id: { type: "string" } },
      );
      const { result } = run(tool, { id: "../admin?x=1#y" });
      ok(await result);
      assert.equal(up.requests.length, 1);
      assert.equal(up.requests[0].method, "GET");
      assert.equal(up.requests[0].path, "/users/..%2Fadmin%3Fx%3D1%23y/profile");
      assert.equal(up.requests[0].query, "");
    },
  );
});

Deno.test("a path parameter that is '..', '.' or empty is refused before anything is sent", async () => {
  await withUpstream({}, async (up) => {
    const tool = httpTool(
      { method: "GET", url: `${up.url}/files/{{parameters.name}}` },
      { name: { type: "string" } },
    );
    for (const name of ["..", ".", ""]) {
      const text = errorText(await run(tool, { name }).result);
      assert.match(text, /path parameter may not be/);
    }
    assert.equal(up.requests.length, 0);
    // Already-encoded dots are encoded again, so they reach the upstream as data.
    await run(tool, { name: "%2e%2e" }).result;
    assert.equal(up.requests[0].path, "/files/%252e%252e");
  });
});

Deno.test("query values are filled and encoded; absent optional parameters are dropped", async () => {
  await withUpstream({ "/search": () => json([]) }, async (up) => {
    const tool = httpTool(
      {
        method: "GET",
        url: `${up.url}/search?v=1&sort={{parameters.sort}}`,
        queryParams: {
          page: "{{parameters.page}}",
          q: "name:{{parameters.name}}",
          tag: "{{parameters.tags}}",
          fixed: "a b&c",
        },
      },
      {
        page: { type: "integer" },
        name: { type: "string" },
        sort: { type: "string" },
        tags: { type: "array" },
      },
    );
    ok(await run(tool, { page: 2, tags: ["x y", "z"] }).result);
    ok(await run(tool, { name: "a&b=c", sort: "desc" }).result);
    assert.deepEqual(up.requests.map((r) => r.query), [
      "v=1&page=2&tag=x%20y&tag=z&fixed=a%20b%26c",
      "v=1&sort=desc&q=name%3Aa%26b%3Dc&fixed=a%20b%26c",
    ]);
  });
});

Deno.test("a JSON body keeps argument types for whole-value templates", async () => {
  await withUpstream({ "/items": () => json({ id: 7 }, { status: 201 }) }, async (up) => {
    const tool = httpTool(
      {
        method: "POST",
        url: `${up.url}/items`,
        body: {
          page: "{{parameters.page}}",
          filter: "{{parameters.filter}}",
          label: "page {{parameters.page}}",
          optional: "{{parameters.missing}}",
          list: ["{{parameters.page}}", 1, "{{parameters.missing}}"],
          nested: { flag: "{{parameters.flag}}", fixed: "x" },
        },
      },
      {
        page: { type: "integer" },
        filter: { type: "object" },
        missing: { type: "string" },
        flag: { type: "boolean" },
      },
    );
    const result = ok(await run(tool, { page: 3, filter: { a: [1, null] }, flag: false }).result);
    assert.equal(textOf(result), '{"id":7}');
    const req = up.requests[0];
    assert.equal(req.method, "POST");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(req.body), {
      page: 3,
      filter: { a: [1, null] },
      label: "page 3",
      list: [3, 1],
      nested: { flag: false, fixed: "x" },
    });
  });
});

Deno.test("a string body is sent as text and headers are templated", async () => {
  await withUpstream({ "/echo": () => new Response("done") }, async (up) => {
    const tool = httpTool(
      {
        method: "PUT",
        url: `${up.url}/echo`,
        headers: { "X-Trace": "t-{{parameters.trace}}", "X-Opt": "{{parameters.opt}}" },
        body: "hello {{parameters.who}}",
      },
      { trace: { type: "string" }, opt: { type: "string" }, who: { type: "string" } },
    );
    assert.equal(textOf(ok(await run(tool, { trace: "42", who: "world" }).result)), "done");
    const req = up.requests[0];
    assert.equal(req.body, "hello world");
    assert.match(req.headers["content-type"], /^text\/plain/);
    assert.equal(req.headers["x-trace"], "t-42");
    assert.equal("x-opt" in req.headers, false, "a header with an absent parameter is not sent");
    assert.match(req.headers["user-agent"], /^Gatehouse\//);
  });
});

Deno.test("header values with CR or LF are refused and nothing is sent", async () => {
  await withUpstream({}, async (up) => {
    const tool = httpTool(
      { method: "GET", url: `${up.url}/x`, headers: { "X-Name": "{{parameters.name}}" } },
      { name: { type: "string" } },
    );
    for (const name of ["a\r\nX-Evil: 1", "a\nb", "a\rb"]) {
      assert.match(errorText(await run(tool, { name }).result), /header 'X-Name'.*line break/);
    }
    assert.equal(up.requests.length, 0);
  });
});

Deno.test("secrets fill headers and queries, and are redacted from results and logs", async () => {
  const secret = "s3cr3t-token-value";
  const key = "k/ey+value";
  const echo: Handler = (_req, rec) =>
    new Response(`denied for ${rec.headers.authorization} at ${rec.path}?${rec.query}`, {
      status: 401,
    });
  await withUpstream({ "/private": echo }, async (up) => {
    const tool = httpTool({
      method: "GET",
      url: `${up.url}/private?api_key={{secrets.API_KEY}}`,
      headers: { Authorization: "Bearer {{secrets.TOKEN}}" },
    });
    const secrets = staticSecrets({ "org-1": { TOKEN: secret, API_KEY: key } });
    const { ctx, result } = run(tool, {}, { secrets });
    const text = errorText(await result);
    assert.equal(up.requests[0].headers.authorization, `Bearer ${secret}`);
    assert.equal(up.requests[0].query, `api_key=${encodeURIComponent(key)}`);
    assert.match(
      text,
      /^HTTP 401 Unauthorized: denied for Bearer \[REDACTED\] at \/private\?api_key=\[REDACTED\]$/,
    );
    const logged = JSON.stringify(ctx.logs);
    assert.ok(!logged.includes(secret) && !logged.includes(encodeURIComponent(key)), logged);
    assert.deepEqual(ctx.logs[0], { level: "debug", data: `GET ${up.url}/private?api_key=***` });
  });
});

Deno.test("a call needing an unknown secret fails naming it, without sending", async () => {
  await withUpstream({}, async (up) => {
    const tool = httpTool({
      method: "GET",
      url: `${up.url}/x`,
      headers: { Authorization: "Bearer {{secrets.TOKEN}}", "X-Other": "{{secrets.KNOWN}}" },
    });
    const secrets = staticSecrets({ "org-1": { KNOWN: "known-value" } });
    const text = errorText(await run(tool, {}, { secrets }).result);
    assert.match(text, /secret 'TOKEN' not configured/);
    assert.ok(!text.includes("known-value"));
    // The default resolver resolves nothing.
    assert.match(errorText(await run(tool).result), /secrets 'TOKEN', 'KNOWN' not configured/);
    assert.equal(up.requests.length, 0);
  });
});

Deno.test("idempotent methods are retried on 5xx; POST is not", async () => {
  const flaky: Handler = (_req, _rec, n) =>
    n === 1 ? new Response("boom", { status: 500 }) : json({ attempt: n });
  await withUpstream({ "/flaky-get": flaky, "/flaky-post": flaky }, async (up) => {
    const get = httpTool({ method: "GET", url: `${up.url}/flaky-get`, retries: 2 });
    const { ctx, result } = run(get);
    assert.equal(textOf(ok(await result)), '{"attempt":2}');
    assert.equal(up.to("/flaky-get").length, 2);
    const warnings = ctx.logs.filter((l) => l.level === "warning");
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0].data), /HTTP 500 Internal Server Error .*retry 1 of 2/);

    const post = httpTool({ method: "POST", url: `${up.url}/flaky-post`, retries: 2 });
    assert.match(errorText(await run(post).result), /^HTTP 500 Internal Server Error: boom$/);
    assert.equal(up.to("/flaky-post").length, 1);
  });
});

Deno.test("retries stop after the configured count", async () => {
  await withUpstream({ "/down": () => new Response("down", { status: 503 }) }, async (up) => {
    const tool = httpTool({ method: "DELETE", url: `${up.url}/down`, retries: 3 });
    assert.match(errorText(await run(tool).result), /^HTTP 503 Service Unavailable: down$/);
    assert.equal(up.requests.length, 4);
  });
});

Deno.test("a network error on an idempotent method is retried", async () => {
  const port = closedPort();
  const tool = httpTool({ method: "GET", url: `http://127.0.0.1:${port}/x`, retries: 2 });
  const { ctx, result } = run(tool);
  assert.match(errorText(await result), /connection refused by 127\.0\.0\.1:\d+/);
  assert.equal(ctx.logs.filter((l) => l.level === "warning").length, 2);
});

Deno.test("Retry-After on 429 is honoured", async () => {
  const limited: Handler = (_req, _rec, n) =>
    n === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : json({ ok: true });
  await withUpstream({ "/limited": limited }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/limited`, retries: 1 });
    const started = performance.now();
    ok(await run(tool).result);
    const elapsed = performance.now() - started;
    assert.equal(up.requests.length, 2);
    assert.ok(elapsed >= 990, `retried after ${elapsed} ms, before Retry-After`);
    assert.ok(elapsed < 2500, `retried after ${elapsed} ms`);
  });
});

Deno.test("a Retry-After beyond the cap ends the call at once, saying when to retry", async () => {
  const limited: Handler = () =>
    new Response('{"error":"rate limited"}', {
      status: 429,
      headers: { "retry-after": "3600", "content-type": "application/json" },
    });
  await withUpstream({ "/limited": limited }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/limited`, retries: 3 });
    const started = performance.now();
    const text = errorText(await run(tool).result);
    assert.ok(performance.now() - started < 1000);
    assert.equal(
      text,
      'HTTP 429 Too Many Requests (the upstream asks to retry after 3600 s): {"error":"rate limited"}',
    );
    assert.equal(up.requests.length, 1);
  });
});

Deno.test("a slow upstream times out quickly with an isError result", async () => {
  await withUpstream({ "/slow": hang(5000) }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/slow`, timeout: 200 });
    const started = performance.now();
    const text = errorText(await run(tool).result);
    const elapsed = performance.now() - started;
    assert.match(text, /^GET 127\.0\.0\.1:\d+ timed out after 200 ms$/);
    assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
  });
});

Deno.test("a timeout also covers a body that trickles in", async () => {
  const trickle: Handler = (_req, rec) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("first"));
        timer = setTimeout(() => c.close(), 5000);
        rec.closing.addEventListener("abort", () => clearTimeout(timer));
      },
      cancel() {
        clearTimeout(timer);
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  };
  await withUpstream({ "/trickle": trickle }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/trickle`, timeout: 300 });
    const started = performance.now();
    const text = errorText(await run(tool).result);
    assert.match(text, /timed out after 300 ms while sending the response/);
    assert.ok(performance.now() - started < 1500);
  });
});

Deno.test("cancelling the call aborts the upstream request at once", async () => {
  await withUpstream({ "/slow": hang(10_000, true) }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/slow` });
    const { ctx, result } = run(tool);
    const rec = await up.nth(0);
    const started = performance.now();
    ctx.controller.abort();
    const res = await result;
    assert.equal(res.isError, true);
    await rec.aborted;
    assert.ok(performance.now() - started < 1000);
    assert.ok(rec.wasAborted());
  });
});

Deno.test("cancelling during a retry wait ends the call without another attempt", async () => {
  await withUpstream({ "/down": () => new Response("x", { status: 503 }) }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/down`, retries: 5 });
    const { ctx, result } = run(tool, {}, { retryBaseMs: 5000, maxBackoffMs: 5000 });
    await up.nth(0);
    await delay(50);
    const started = performance.now();
    ctx.controller.abort();
    assert.match(errorText(await result), /cancelled/);
    assert.ok(performance.now() - started < 500);
    assert.equal(up.requests.length, 1);
  });
});

Deno.test("4xx and 5xx become isError results with the status and a body excerpt", async () => {
  const long = "x".repeat(2000);
  await withUpstream({
    "/missing": () => json({ error: "no such user", id: 42 }, { status: 404 }),
    "/broken": () => new Response(`trace:\n  ${long}`, { status: 500 }),
  }, async (up) => {
    const missing = httpTool({ method: "GET", url: `${up.url}/missing` });
    assert.equal(
      errorText(await run(missing).result),
      'HTTP 404 Not Found: {"error":"no such user","id":42}',
    );
    const broken = httpTool({ method: "POST", url: `${up.url}/broken` });
    const text = errorText(await run(broken).result);
    assert.ok(text.startsWith(`HTTP 500 Internal Server Error: trace: xxx`), text);
    assert.equal(text.length, "HTTP 500 Internal Server Error: ".length + 500 + 1);
    assert.ok(text.endsWith("x…"));
  });
});

Deno.test("connection refused becomes an isError result", async () => {
  const port = closedPort();
  const tool = httpTool({ method: "POST", url: `http://127.0.0.1:${port}/x?key=abc` });
  const text = errorText(await run(tool).result);
  assert.equal(
    text,
    `connection refused by 127.0.0.1:${port}: nothing is accepting connections there`,
  );
});

Deno.test("a response over the cap is cut with a note, without reading the rest", async () => {
  let produced = 0;
  let cancelled = false;
  const huge: Handler = () => {
    const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (produced >= 64 * 1024 * 1024) return c.close();
        produced += chunk.byteLength;
        c.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  };
  await withUpstream({ "/huge": huge }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/huge` });
    const cap = 100_000;
    const text = textOf(ok(await run(tool, {}, { maxResponseBytes: cap }).result));
    assert.equal(text, `${"a".repeat(cap)}\n\n[truncated: response exceeded ${cap} bytes]`);
    await delay(100);
    assert.ok(produced < 64 * 1024 * 1024, "the whole body was produced");
    assert.ok(cancelled, "the upstream body was not cancelled");
  });
});

Deno.test("the default cap is 1 MiB", async () => {
  const big = new Uint8Array(2 * 1024 * 1024).fill(0x62);
  await withUpstream({
    "/big": () => new Response(big, { headers: { "content-type": "text/plain" } }),
  }, async (up) => {
    const tool = httpTool({ method: "GET", url: `${up.url}/big` });
    const text = textOf(ok(await run(tool).result));
    assert.ok(text.endsWith("\n\n[truncated: response exceeded 1048576 bytes]"));
    assert.equal(text.indexOf("\n"), 1024 * 1024);
  });
});

Deno.test("images, audio and other binary become image, audio and resource blocks", async () => {
  const wav = new Uint8Array([82, 73, 70, 70, 0, 1, 2, 3]);
  const bin = new Uint8Array([0, 255, 1, 254]);
  await withUpstream({
    "/pixel.png": () => new Response(PNG_BYTES, { headers: { "content-type": "image/png" } }),
    "/beep": () => new Response(wav, { headers: { "content-type": "audio/wav" } }),
    "/file": () => new Response(bin, { headers: { "content-type": "application/pdf" } }),
  }, async (up) => {
    const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
    const png = ok(await run(httpTool({ method: "GET", url: `${up.url}/pixel.png` })).result);
    assert.deepEqual(png.content, [{ type: "image", data: b64(PNG_BYTES), mimeType: "image/png" }]);
    const audio = ok(await run(httpTool({ method: "GET", url: `${up.url}/beep` })).result);
    assert.deepEqual(audio.content, [{ type: "audio", data: b64(wav), mimeType: "audio/wav" }]);
    const file = ok(await run(httpTool({ method: "GET", url: `${up.url}/file?x=1` })).result);
    assert.deepEqual(file.content, [{
      type: "resource",
      resource: { uri: `${up.url}/file`, mimeType: "application/pdf", blob: b64(bin) },
    }]);
  });
});

Deno.test("JSON goes to structuredContent when the tool has an outputSchema", async () => {
  await withUpstream({
    "/obj": () => json({ users: [{ id: 1 }], total: 1 }),
    "/list": () => json([1, 2]),
    "/html": () => new Response("<p>hi</p>", { headers: { "content-type": "text/html" } }),
  }, async (up) => {
    const outputSchema = { type: "object" };
    const obj = ok(
      await run(httpTool({ method: "GET", url: `${up.url}/obj` }, {}, { outputSchema })).result,
    );
    assert.deepEqual(obj.structuredContent, { users: [{ id: 1 }], total: 1 });
    assert.equal(textOf(obj), '{"users":[{"id":1}],"total":1}');
    const list = ok(
      await run(httpTool({ method: "GET", url: `${up.url}/list` }, {}, { outputSchema })).result,
    );
    assert.deepEqual(list.structuredContent, { result: [1, 2] });
    const plain = ok(await run(httpTool({ method: "GET", url: `${up.url}/obj` })).result);
    assert.equal(plain.structuredContent, undefined);
    const html = await run(httpTool({ method: "GET", url: `${up.url}/html` }, {}, { outputSchema }))
      .result;
    assert.match(errorText(html), /expected a JSON result but the upstream sent text\/html/);
  });
});

Deno.test("credentials do not follow a redirect to another origin", async () => {
  await withUpstream({ "/landing": () => json({ landed: true }) }, async (other) => {
    await withUpstream({
      "/start": () => Response.redirect(`${other.url}/landing`, 302),
      "/local": () => new Response(null, { status: 307, headers: { location: "/landing" } }),
      "/landing": () => json({ local: true }),
    }, async (up) => {
      const tool = (path: string) =>
        httpTool({
          method: "GET",
          url: `${up.url}${path}`,
          headers: {
            Authorization: "Bearer {{secrets.T}}",
            "X-Key": "{{secrets.T}}",
            "X-Plain": "1",
          },
        });
      const secrets = staticSecrets({ "org-1": { T: "tok-123456" } });
      assert.equal(
        textOf(ok(await run(tool("/start"), {}, { secrets }).result)),
        '{"landed":true}',
      );
      const landed = other.requests[0].headers;
      assert.equal(landed.authorization, undefined);
      assert.equal(landed["x-key"], undefined);
      assert.equal(landed["x-plain"], "1");
      assert.equal(textOf(ok(await run(tool("/local"), {}, { secrets }).result)), '{"local":true}');
      assert.equal(up.to("/landing")[0].headers.authorization, "Bearer tok-123456");
    });
  });
});

Deno.test("compiled templates are cached per tool version", () => {
  const ex = executor();
  const tool = httpTool({ method: "GET", url: "https://api.example.com/{{parameters.id}}" }, {
    id: { type: "string" },
  });
  const first = ex.compiled(tool);
  assert.equal(ex.compiled({ ...tool }), first);
  const updated = {
    ...tool,
    updatedAt: "2025-01-02T00:00:00.000Z",
    executionConfig: { ...tool.executionConfig, method: "DELETE" },
  };
  const second = ex.compiled(updated);
  assert.notEqual(second, first);
  assert.equal(second.method, "DELETE");
});

Deno.test("an already cancelled call sends nothing", async () => {
  await withUpstream({}, async (up) => {
    const ctx = testContext();
    ctx.controller.abort();
    const res = await executor().execute(httpTool({ method: "GET", url: `${up.url}/x` }), {}, ctx);
    assert.equal(res.isError, true);
    assert.equal(up.requests.length, 0);
  });
});
