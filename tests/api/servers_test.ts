import assert from "node:assert/strict";
import { freePort, startTestServer } from "../helpers/server.ts";
import {
  denoServer,
  EVERYTHING,
  EVERYTHING_COUNTS,
  everythingOverHttp,
  livePids,
  MEMORY,
  MEMORY_COUNTS,
  SCRATCH,
  shellThen,
  until,
} from "../upstream/fixtures.ts";
import {
  type Call,
  client,
  create,
  expectError,
  expectStatus,
  type Json,
  memberWithKey,
  separateOrg,
  withServer,
} from "./fixtures.ts";

const SECRET = "tok-servers-test-91b2c7d4e8";

function httpServer(name: string, url = `http://127.0.0.1:${freePort()}/mcp`) {
  return { name, transport: "streamable-http", url, timeout: 5000 };
}

function memoryServer(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    transport: "stdio",
    ...denoServer(MEMORY),
    env: { MEMORY_FILE_PATH: `${SCRATCH}/memory-${crypto.randomUUID()}.jsonl` },
    ...extra,
  };
}

Deno.test("viewers read servers; members write HTTP servers; only admins touch stdio ones", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const http = await create(owner, "/servers", httpServer("h"));
    const stdio = await create(owner, "/servers", memoryServer("m"));
    const viewer = await memberWithKey(s, "viewer");
    for (
      const path of [
        "/servers",
        `/servers/${http.id}`,
        `/servers/${http.id}/logs`,
        `/servers/${http.id}/items`,
      ]
    ) {
      expectStatus(await viewer.call("GET", path), 200);
    }
    for (
      const [method, path, body] of [
        ["POST", "/servers", httpServer("v")],
        ["PATCH", `/servers/${http.id}`, { timeout: 100 }],
        ["PUT", `/servers/${http.id}`, httpServer("h")],
        ["POST", `/servers/${http.id}/refresh`],
        ["DELETE", `/servers/${http.id}`],
      ] as [string, string, unknown?][]
    ) {
      expectError(await viewer.call(method, path, body), 403);
    }

    const member = await memberWithKey(s, "member");
    const mine = await create(member.call, "/servers", httpServer("mine"));
    expectStatus(await member.call("PATCH", `/servers/${mine.id}`, { timeout: 1000 }), 200);
    expectStatus(await member.call("POST", `/servers/${mine.id}/refresh`), 200);
    expectError(await member.call("POST", "/servers", memoryServer("nope")), 403);
    expectError(
      await member.call("PATCH", `/servers/${mine.id}`, {
        transport: "stdio",
        command: "/bin/true",
      }),
      403,
    );
    for (
      const [method, path, body] of [
        ["PATCH", `/servers/${stdio.id}`, { timeout: 100 }],
        ["PUT", `/servers/${stdio.id}`, memoryServer("m")],
        ["POST", `/servers/${stdio.id}/refresh`],
        ["DELETE", `/servers/${stdio.id}`],
      ] as [string, string, unknown?][]
    ) {
      const res = await member.call(method, path, body);
      expectError(res, 403);
      assert.match(res.body.error.message, /admin role/);
    }
    expectStatus(await member.call("GET", `/servers/${stdio.id}`), 200);
    expectStatus(await member.call("DELETE", `/servers/${mine.id}`), 204);

    const admin = await memberWithKey(s, "admin");
    expectStatus(await admin.call("PATCH", `/servers/${stdio.id}`, { timeout: 20000 }), 200);
    expectStatus(await admin.call("DELETE", `/servers/${stdio.id}`), 204);
  });
});

Deno.test("another org's server is 404 on every route, and a revoked key is 401", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const srv = await create(owner, "/servers", httpServer("h"));
    const other = await separateOrg(s, "other");
    for (
      const [method, path, body] of [
        ["GET", `/servers/${srv.id}`],
        ["GET", `/servers/${srv.id}/logs`],
        ["GET", `/servers/${srv.id}/items`],
        ["PATCH", `/servers/${srv.id}`, { timeout: 100 }],
        ["PUT", `/servers/${srv.id}`, httpServer("h")],
        ["POST", `/servers/${srv.id}/refresh`],
        ["DELETE", `/servers/${srv.id}`],
      ] as [string, string, unknown?][]
    ) {
      expectError(await other.call(method, path, body), 404);
    }
    assert.deepEqual((await other.call("GET", "/servers")).body.servers, []);
    // The same name is free in another org.
    await create(other.call, "/servers", httpServer("h"));

    const key = await create(owner, "/keys", { name: "temp" });
    expectStatus(await client(s, key.key)("GET", "/servers"), 200);
    expectStatus(await owner("DELETE", `/keys/${key.id}`), 200);
    expectError(await client(s, key.key)("GET", "/servers"), 401);
  });
});

Deno.test("GATEHOUSE_ALLOW_STDIO=0: creating a stdio server is a 403 that says so", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const res = await owner("POST", "/servers", memoryServer("m"));
    expectError(res, 403);
    assert.match(res.body.error.message, /GATEHOUSE_ALLOW_STDIO=0/);
    const http = await create(owner, "/servers", httpServer("h"));
    const change = await owner("PATCH", `/servers/${http.id}`, {
      transport: "stdio",
      command: "/bin/true",
    });
    expectError(change, 403);
    assert.match(change.body.error.message, /GATEHOUSE_ALLOW_STDIO=0/);
    assert.deepEqual((await owner("GET", "/servers")).body.servers.map((x: Json) => x.name), ["h"]);
  }, { allowStdio: false });
});

Deno.test("bad server bodies are 400s naming the field", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const cases: [unknown, string][] = [
      [{ transport: "stdio", command: "x" }, "name"],
      [{ name: "a b", transport: "stdio", command: "x" }, "name"],
      [{ name: "a", transport: "tcp" }, "transport"],
      [{ name: "a", transport: "sse" }, "url"],
      [{ name: "a", transport: "sse", url: "ftp://x" }, "url"],
      [{ name: "a", transport: "sse", url: "http://u:p@x/" }, "url"],
      [{ name: "a", transport: "sse", url: "http://x/", command: "x" }, "command"],
      [{ name: "a", transport: "sse", url: "http://x/", headers: { "a b": "c" } }, "headers.a b"],
      [{ name: "a", transport: "sse", url: "http://x/", headers: { a: 1 } }, "headers.a"],
      [{ name: "a", transport: "sse", url: "http://x/", auth: {} }, "auth.secret"],
      [{ name: "a", transport: "sse", url: "http://x/", auth: { secret: "1x" } }, "auth.secret"],
      [{ name: "a", transport: "sse", url: "http://x/", timeout: 0 }, "timeout"],
      [{ name: "a", transport: "sse", url: "http://x/", extra: 1 }, "extra"],
      [{ name: "a", transport: "stdio" }, "command"],
      [{ name: "a", transport: "stdio", command: "x", url: "http://x/" }, "url"],
      [{ name: "a", transport: "stdio", command: "x", args: "y" }, "args"],
      [{ name: "a", transport: "stdio", command: "x", args: [1] }, "args.0"],
      [{ name: "a", transport: "stdio", command: "x", env: { "1A": "b" } }, "env.1A"],
      [{ name: "a", transport: "stdio", command: "x", cwd: "rel" }, "cwd"],
    ];
    for (const [body, field] of cases) {
      expectError(await owner("POST", "/servers", body), 400, field);
    }
    await create(owner, "/servers", httpServer("dup"));
    expectError(await owner("POST", "/servers", httpServer("dup")), 409, "name");
    expectError(await owner("POST", "/servers", "not json"), 400);
  });
});

/**
 * Asserts that a refreshed stdio server is ready. When it is not, the message
 * carries what its process wrote to stderr: a child that ends at once says why
 * only there.
 */
async function assertReady(owner: Call, id: string, status: Json): Promise<void> {
  if (status.state === "ready") return;
  const logs = (await owner("GET", `/servers/${id}/logs`)).body;
  assert.fail(
    `state ${status.state}: ${status.lastError}\nstderr: ${JSON.stringify(logs?.lines ?? logs)}`,
  );
}

Deno.test("a stdio server over the API: ready, refreshed, logs, a vault secret in env never shown, delete ends it", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    await create(owner, "/secrets", { name: "MEM_TOKEN", type: "bearer_token", value: SECRET });
    const marker = `sleep 2000${Math.floor(Math.random() * 1e9)}`;
    const srv = await create(owner, "/servers", {
      name: "memory",
      transport: "stdio",
      ...shellThen(
        `echo "starting with $MEM_TOKEN" >&2; (trap '' TERM; exec ${marker}) & exec "$@"`,
        MEMORY,
      ),
      env: {
        MEM_TOKEN: "{{secrets.MEM_TOKEN}}",
        MEMORY_FILE_PATH: `${SCRATCH}/memory-${crypto.randomUUID()}.jsonl`,
      },
    });
    assert.equal(srv.transport, "stdio");
    assert.equal(srv.env.MEM_TOKEN, "{{secrets.MEM_TOKEN}}");
    const answers: unknown[] = [srv];
    const refreshed = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body;
    answers.push(refreshed);
    await assertReady(owner, srv.id, refreshed.status);
    assert.deepEqual(
      {
        tools: refreshed.status.tools,
        resources: refreshed.status.resources,
        prompts: refreshed.status.prompts,
      },
      MEMORY_COUNTS,
    );
    const logs = expectStatus(await owner("GET", `/servers/${srv.id}/logs`), 200).body;
    answers.push(logs);
    assert.ok(logs.lines.includes("starting with [REDACTED]"), JSON.stringify(logs.lines));
    answers.push((await owner("GET", `/servers/${srv.id}`)).body);
    answers.push((await owner("GET", "/servers")).body);
    for (const a of answers) assert.ok(!JSON.stringify(a).includes(SECRET));
    assert.equal(livePids(marker).length, 1);

    expectStatus(await owner("DELETE", `/servers/${srv.id}`), 204);
    await until(() => livePids(marker).length === 0, 5000, "the process group to end");
    expectError(await owner("GET", `/servers/${srv.id}`), 404);
  });
});

Deno.test("stopping Gatehouse ends its stdio servers' processes", async () => {
  const marker = `sleep 3000${Math.floor(Math.random() * 1e9)}`;
  const leader = `gatehouse-leader-${crypto.randomUUID()}`;
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const srv = await create(owner, "/servers", {
      name: "memory",
      transport: "stdio",
      ...shellThen(`(trap '' TERM; exec ${marker}) & exec "$@" ${leader}`, MEMORY),
    });
    const st = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body.status;
    await assertReady(owner, srv.id, st);
    assert.equal(livePids(marker).length, 1);
    assert.equal(livePids(leader).length, 1);
  });
  await until(() => livePids(marker).length + livePids(leader).length === 0, 5000, "no process");
});

Deno.test("server-everything over Streamable HTTP through the API, with a header secret", async () => {
  const upstream = await everythingOverHttp();
  try {
    await withServer(async (s) => {
      const owner = client(s, s.adminKey);
      await create(owner, "/secrets", { name: "HDR", type: "api_key", value: { key: SECRET } });
      const srv = await create(owner, "/servers", {
        name: "everything",
        transport: "streamable-http",
        url: upstream.url,
        headers: { "X-Upstream-Key": "{{secrets.HDR}}" },
      });
      const st = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body;
      assert.equal(st.status.state, "ready", st.status.lastError);
      assert.equal(st.status.serverInfo.name, "mcp-servers/everything");
      assert.deepEqual(
        { tools: st.status.tools, resources: st.status.resources, prompts: st.status.prompts },
        EVERYTHING_COUNTS,
      );
      assert.ok(!JSON.stringify(st).includes(SECRET));
      // What it lists besides tools, by name, as the server described it.
      const items = expectStatus(await owner("GET", `/servers/${srv.id}/items`), 200).body;
      assert.equal(items.resources.length, EVERYTHING_COUNTS.resources);
      assert.equal(items.prompts.length, EVERYTHING_COUNTS.prompts);
      for (const p of items.prompts) assert.equal(typeof p.name, "string");
      for (const r of items.resources) assert.match(r.uri, /^\w+:/);
      assert.ok(items.resourceTemplates.length > 0);
      // PATCH reconnects with the new settings: a dead URL now.
      const dead = `http://127.0.0.1:${freePort()}/mcp`;
      expectStatus(await owner("PATCH", `/servers/${srv.id}`, { url: dead }), 200);
      const after = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body;
      assert.equal(after.status.state, "failed");
      assert.match(after.status.lastError, /connection refused by 127\.0\.0\.1:\d+/);
      assert.ok(!JSON.stringify(after).includes(SECRET));
    });
  } finally {
    await upstream.stop();
  }
});

Deno.test("the org's outbound policy applies to upstream URLs", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    expectStatus(
      await owner("PATCH", "/orgs/default", { settings: { outbound: { allowLoopback: false } } }),
      200,
    );
    const srv = await create(owner, "/servers", httpServer("h"));
    const st = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body.status;
    assert.equal(st.state, "failed");
    assert.match(st.lastError, /outbound policy does not allow/);
    assert.match(st.lastError, /allowLoopback/);
  });
});

Deno.test("server-everything over stdio through the API lists its real counts", async () => {
  await withServer(async (s) => {
    const owner = client(s, s.adminKey);
    const srv = await create(owner, "/servers", {
      name: "everything",
      transport: "stdio",
      ...denoServer(EVERYTHING, "stdio"),
    });
    assert.equal(srv.status.state, "connecting");
    const st = expectStatus(await owner("POST", `/servers/${srv.id}/refresh`), 200).body.status;
    assert.deepEqual(
      { state: st.state, tools: st.tools, resources: st.resources, prompts: st.prompts },
      { state: "ready", ...EVERYTHING_COUNTS },
    );
    const listed = (await owner("GET", "/servers")).body.servers;
    assert.equal(listed[0].status.state, "ready");
  });
});

Deno.test("servers stored before a restart are connected again at start-up", async () => {
  const upstream = await everythingOverHttp();
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-test-" });
  const adminKey = `gha_test_${crypto.randomUUID()}`;
  try {
    const first = await startTestServer({ dataDir, adminKey });
    const srv = await create(client(first, adminKey), "/servers", {
      name: "everything",
      transport: "streamable-http",
      url: upstream.url,
    });
    await first.shutdown();
    const second = await startTestServer({ dataDir, adminKey });
    try {
      const owner = client(second, adminKey);
      const st = await until(
        async () => {
          const st = (await owner("GET", `/servers/${srv.id}`)).body.status;
          return st.state === "ready" ? st : undefined;
        },
        20_000,
        "the stored server to connect",
      );
      assert.equal(st.tools, EVERYTHING_COUNTS.tools);
    } finally {
      await second.close();
    }
  } finally {
    await upstream.stop();
  }
});
