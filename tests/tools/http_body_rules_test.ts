/**
 * The body fields of `http` tools' execution configs end to end: tools
 * stored before `bodyFields` existed keep the bytes they sent, hand-written
 * tools may use `bodyFields` and `base64` bodies, and bad values are refused
 * when saved, naming the field. Tools are created through the management
 * API and called over MCP; a local upstream checks the exact request.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { gatewayWith, type Json, rpc } from "../openapi/helpers.ts";
import { type Recorded, startUpstream, type Upstream } from "./upstream.ts";

const anyObject = { type: "object" };

async function withTools(
  tools: Json[],
  fn: (call: (name: string, args: Json) => Promise<Recorded | string>) => Promise<void>,
): Promise<void> {
  const up: Upstream = startUpstream({ "*": () => Response.json({ ok: true }) });
  const s: TestServer = await startTestServer();
  try {
    const ids: string[] = [];
    for (const t of tools) {
      const res = await s.api("POST", "/tools", {
        description: t.name,
        type: "http",
        ...t,
        executionConfig: { ...t.executionConfig, url: `${up.url}${t.executionConfig.url}` },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids.push((res.body as Json).id);
    }
    const url = await gatewayWith(s, "/body", ids);
    await fn(async (name, args) => {
      const before = up.requests.length;
      const reply = await rpc(url, "tools/call", { name, arguments: args });
      if (reply.error || reply.result.isError) {
        assert.equal(up.requests.length, before, "a refused call sends nothing");
        return String(reply.error?.message ?? reply.result.content[0].text);
      }
      assert.equal(up.requests.length, before + 1);
      return up.requests[before];
    });
  } finally {
    await s.close();
    await up.close();
  }
}

const sent = (r: Recorded | string): Recorded => {
  assert.notEqual(typeof r, "string", String(r));
  return r as Recorded;
};

Deno.test("tools stored before bodyFields keep sending what they sent", async () => {
  await withTools([
    {
      name: "old_form",
      inputSchema: { type: "object", properties: { body: anyObject } },
      executionConfig: {
        method: "POST",
        url: "/form",
        body: "{{parameters.body}}",
        bodyEncoding: "form",
      },
    },
    {
      name: "old_upload",
      inputSchema: {
        type: "object",
        properties: {
          body: {
            type: "object",
            properties: { file: { type: "string", format: "binary" }, meta: anyObject },
          },
        },
      },
      executionConfig: {
        method: "POST",
        url: "/upload",
        body: "{{parameters.body}}",
        bodyEncoding: "multipart",
        bodyFiles: ["file"],
      },
    },
  ], async (call) => {
    // Objects in a form went as JSON text before bodyFields; they still do.
    let r = sent(await call("old_form", { body: { a: "x y", o: { k: true }, l: [1, 2] } }));
    assert.equal(r.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(r.body, "a=x+y&o=%7B%22k%22%3Atrue%7D&l=1&l=2");

    // A file given as a string is its text, as before.
    r = sent(await call("old_upload", { body: { file: "line\n", meta: { a: 1 } } }));
    const boundary = /boundary=(\S+)$/.exec(r.headers["content-type"])![1];
    assert.equal(
      r.body,
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\nline\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{"a":1}\r\n` +
        `--${boundary}--\r\n`,
    );
  });
});

Deno.test("hand-written tools may declare bodyFields and base64 bodies", async () => {
  await withTools([
    {
      name: "new_form",
      inputSchema: { type: "object", properties: { body: anyObject } },
      executionConfig: {
        method: "POST",
        url: "/form",
        body: "{{parameters.body}}",
        bodyEncoding: "form",
        bodyFields: { f: { style: "deepObject" }, j: { contentType: "application/json" } },
      },
    },
    {
      name: "raw_bytes",
      inputSchema: { type: "object", properties: { data: { type: "string" } } },
      executionConfig: {
        method: "PUT",
        url: "/bytes",
        headers: { "Content-Type": "image/png" },
        body: "{{parameters.data}}",
        bodyEncoding: "base64",
      },
    },
  ], async (call) => {
    let r = sent(await call("new_form", { body: { f: { a: [1] }, j: [1], o: { k: "v" } } }));
    assert.equal(r.body, "f[a][0]=1&j=%5B1%5D&k=v");
    r = sent(await call("raw_bytes", { data: "AAEC/w==" }));
    assert.deepEqual([r.method, r.headers["content-type"]], ["PUT", "image/png"]);
    assert.deepEqual(r.bytes, Uint8Array.of(0, 1, 2, 255));
    assert.match(
      String(await call("raw_bytes", { data: "not base64" })),
      /the body is not valid base64/,
    );
  });
});

Deno.test("bad bodyFields, styles and encodings are refused when saved, naming the field", async () => {
  const s = await startTestServer();
  try {
    const config = (extra: Json) => ({
      name: "t",
      description: "t",
      type: "http",
      inputSchema: { type: "object", properties: { a: {} } },
      executionConfig: { method: "POST", url: "https://x.example.com", ...extra },
    });
    const cases: [Json, string][] = [
      [{ body: "{{parameters.a}}", bodyFields: {} }, "executionConfig.bodyFields"],
      [
        { body: "{{parameters.a}}", bodyEncoding: "json", bodyFields: {} },
        "executionConfig.bodyFields",
      ],
      [
        { body: "{{parameters.a}}", bodyEncoding: "form", bodyFields: { a: { style: "matrix" } } },
        "executionConfig.bodyFields.a.style",
      ],
      [
        {
          body: "{{parameters.a}}",
          bodyEncoding: "multipart",
          bodyFields: { a: { contentType: "text/plain\r\nX-Evil: 1" } },
        },
        "executionConfig.bodyFields.a.contentType",
      ],
      [
        { body: "{{parameters.a}}", bodyEncoding: "form", bodyFields: { a: { explode: "yes" } } },
        "executionConfig.bodyFields.a.explode",
      ],
      [
        { body: "{{parameters.a}}", bodyEncoding: "form", bodyFields: { a: { allowReserved: 1 } } },
        "executionConfig.bodyFields.a.allowReserved",
      ],
      [
        { parameters: [{ name: "X-A", in: "header", arg: "a", style: "deepObject" }] },
        "executionConfig.parameters[0].style",
      ],
      [{ bodyEncoding: "base64" }, "executionConfig.bodyEncoding"],
    ];
    for (const [extra, field] of cases) {
      const res = await s.api("POST", "/tools", config(extra));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const { error } = res.body as Json;
      assert.equal(error.field, field, error.message);
    }
    const ok = await s.api(
      "POST",
      "/tools",
      config({ parameters: [{ name: "X-A", in: "header", arg: "a", style: "tabDelimited" }] }),
    );
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  } finally {
    await s.close();
  }
});
