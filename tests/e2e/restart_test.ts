/**
 * A real server process (`src/main.ts`) stopped with SIGTERM and started again
 * on the same data folder: nothing is lost, and a request in flight when the
 * signal arrives still completes.
 */
import assert from "node:assert/strict";
import type { Json } from "../api/fixtures.ts";
import { apiCall, type ChildServer, startChildServer } from "../helpers/server.ts";

/** The admin key first-run setup printed (shown once, so the test must catch it). */
function printedAdminKey(child: ChildServer): string {
  const m = /Admin access key \(shown once, store it now\): (gha_\S+)/.exec(child.output());
  assert.ok(m, `no admin key in the output:\n${child.output()}`);
  return m[1];
}

async function ok(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Json> {
  const res = await apiCall(base, key, method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const TOOL = (name: string) => ({
  name,
  inputSchema: { type: "object", properties: { q: { type: "string" } } },
  type: "http",
  executionConfig: { method: "GET", url: "https://api.example.com/search?q={{parameters.q}}" },
});

Deno.test("after SIGTERM and a restart every record is back and the printed admin key still works", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-restart-" });
  let child = await startChildServer(dataDir);
  try {
    const adminKey = printedAdminKey(child);
    const base = child.url;
    const acmeKey = (await ok(base, adminKey, "POST", "/orgs", { name: "Acme", slug: "acme" }))
      .accessKey.key;
    const invitation = await ok(base, adminKey, "POST", "/orgs/default/members", {
      email: "m@example.com",
      role: "member",
    });
    const joined = await ok(base, "", "POST", "/invitations/accept", {
      token: invitation.token,
      password: "a member's password",
    });
    const memberKey = joined.accessKey;
    const revoked = await ok(base, adminKey, "POST", "/keys", { name: "old" });
    await ok(base, adminKey, "DELETE", `/keys/${revoked.id}`);
    const gw = await ok(base, adminKey, "POST", "/gateways", {
      name: "My MCP Gateway",
      type: "mcp",
      endpoint: "/my-tools",
      configuration: { transport: "sse" },
      description: "kept across restarts",
    });
    const tools = [];
    for (const name of ["search", "lookup", "fetch"]) {
      tools.push(await ok(base, adminKey, "POST", "/tools", TOOL(name)));
    }
    await ok(base, adminKey, "POST", `/gateways/${gw.id}/tools`, {
      toolIds: tools.map((t) => t.id),
    });
    await ok(base, adminKey, "PATCH", `/gateways/${gw.id}/tools/${tools[1].id}`, {
      enabled: false,
    });
    const gwKey = await ok(base, adminKey, "POST", `/gateways/${gw.id}/keys`, { name: "client" });
    await ok(base, adminKey, "POST", `/gateways/${gw.id}/auth`, { type: "api_key" });

    const reads = [
      "/orgs",
      "/orgs/default/members",
      "/keys",
      "/gateways",
      "/tools",
      `/gateways/${gw.id}/tools`,
      `/gateways/${gw.id}/keys`,
      `/gateways/${gw.id}/auth`,
    ];
    const before = await Promise.all(reads.map((p) => ok(base, adminKey, "GET", p)));

    const status = await child.stop("SIGTERM");
    assert.equal(status.code, 0, child.output());

    child = await startChildServer(dataDir);
    assert.doesNotMatch(child.output(), /First run/);
    // The port differs, so compare everything but the host in the URLs built from it.
    const normalize = (v: unknown, url: string) =>
      JSON.parse(JSON.stringify(v).replaceAll(new URL(url).host, "HOST"));
    const after = await Promise.all(reads.map((p) => ok(child.url, adminKey, "GET", p)));
    assert.deepEqual(normalize(after, child.url), normalize(before, base));
    assert.deepEqual(after[5].tools.map((a: Json) => a.enabled), [true, false, true]);
    assert.deepEqual(after[6].keys.map((k: Json) => k.id), [gwKey.id]);

    // Keys keep working, and a revoked one stays revoked.
    await ok(child.url, memberKey.key, "GET", "/gateways");
    assert.equal((await apiCall(child.url, revoked.key, "GET", "/gateways")).status, 401);
    const acme = await apiCall(child.url, acmeKey, "GET", "/orgs/acme");
    assert.equal(acme.status, 200);
    assert.equal(acme.body.role, "owner");
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** A POST sent by hand on a raw connection, so that its body can be held back. */
interface SlowPost {
  /** Sends the rest of the body. */
  finish(): Promise<void>;
  /** The raw HTTP response, once the server has answered and closed. */
  response: Promise<string>;
  /** Drops the connection (clean-up when the test fails half-way). */
  close(): void;
}

async function slowPost(url: string, key: string, path: string, body: string): Promise<SlowPost> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const bytes = new TextEncoder().encode(body);
  const half = Math.floor(bytes.length / 2);
  await conn.write(new TextEncoder().encode(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
  ));
  await conn.write(bytes.slice(0, half));
  let closed = false;
  const close = () => {
    if (!closed) conn.close();
    closed = true;
  };
  const response = (async () => {
    let text = "";
    const buf = new Uint8Array(4096);
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      close();
    }
    return text;
  })();
  return { finish: async () => void await conn.write(bytes.slice(half)), response, close };
}

Deno.test("SIGTERM lets a request in flight finish, takes no new ones, and keeps the write", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-graceful-" });
  let child = await startChildServer(dataDir);
  let inFlight: SlowPost | undefined;
  try {
    const adminKey = printedAdminKey(child);
    const body = JSON.stringify({
      name: "Arrived during shutdown",
      type: "mcp",
      endpoint: "/late",
      configuration: { transport: "http" },
    });
    inFlight = await slowPost(child.url, adminKey, "/gateways", body);
    // Let the server start on the request (headers and half the body) before the signal.
    await new Promise((r) => setTimeout(r, 200));
    child.process.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    // New work is turned away: the connection is refused or answered 503.
    const late = await fetch(`${child.url}/gateways`, {
      headers: { authorization: `Bearer ${adminKey}` },
    }).then(async (r) => (await r.body?.cancel(), r.status), () => "refused");
    assert.ok(late === "refused" || late === 503, `a new request during shutdown got ${late}`);
    // The request that was already in flight completes normally.
    await inFlight.finish();
    const raw = await inFlight.response;
    assert.match(raw, /^HTTP\/1\.1 201/, raw);
    // The one SIGTERM is enough: the server exits by itself once the request is done. (A second
    // signal could land while the runtime tears down, after the listener is gone.)
    const status = await child.process.status;
    assert.equal(status.code, 0, child.output());

    child = await startChildServer(dataDir);
    const list = await apiCall(child.url, adminKey, "GET", "/gateways");
    const names = (list.body.gateways as { name: string }[]).map((g) => g.name);
    assert.deepEqual(names, ["Arrived during shutdown"]);
  } finally {
    inFlight?.close();
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});
