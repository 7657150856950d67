import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { UpstreamServer } from "../../src/store/servers.ts";
import type { SecretResolver } from "../../src/tools/secrets.ts";
import { staticSecrets } from "../../src/tools/secrets.ts";
import { type OrgDestinationCheck, Supervisor } from "../../src/upstream/supervisor.ts";
import { freePort } from "../helpers/server.ts";
import {
  alive,
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
} from "./fixtures.ts";
import { startScriptedUpstream } from "./scripted_upstream.ts";

const SECRET = "sk-upstream-7f3a9c51e2";
const secrets = staticSecrets({ org: { TOKEN: SECRET } });
const allowAll: OrgDestinationCheck = () => Promise.resolve({ ok: true });

function server(fields: Partial<UpstreamServer>): UpstreamServer {
  return {
    id: crypto.randomUUID(),
    orgId: "org",
    name: "s",
    transport: "stdio",
    createdAt: "",
    updatedAt: "",
    ...fields,
  };
}

async function withSupervisor(
  fn: (sup: Supervisor) => Promise<void>,
  check: OrgDestinationCheck = allowAll,
) {
  const sup = new Supervisor({ secrets, check, backoffBaseMs: 100, backoffMaxMs: 400 });
  try {
    await fn(sup);
  } finally {
    await sup.close();
  }
}

Deno.test("server-everything over stdio is ready with its real counts", async () => {
  await withSupervisor(async (sup) => {
    const s = server(denoServer(EVERYTHING, "stdio"));
    await sup.upsert(s);
    const status = await sup.refresh(s.id);
    assert.equal(status.state, "ready", status.lastError ?? "");
    assert.equal(status.protocolVersion, "2025-11-25");
    assert.equal(status.serverInfo?.name, "mcp-servers/everything");
    assert.deepEqual(
      { tools: status.tools, resources: status.resources, prompts: status.prompts },
      EVERYTHING_COUNTS,
    );
    assert.ok(status.capabilities?.tools);
    assert.ok(status.lastRefreshAt);
    assert.ok(sup.logs(s.id).lines.some((l) => l.includes("Starting default (STDIO) server")));
  });
});

Deno.test("server-memory over stdio is ready; refresh lists again", async () => {
  await withSupervisor(async (sup) => {
    const s = server({
      ...denoServer(MEMORY),
      env: { MEMORY_FILE_PATH: `${SCRATCH}/memory-${crypto.randomUUID()}.jsonl` },
    });
    await sup.upsert(s);
    const first = await sup.refresh(s.id);
    assert.equal(first.state, "ready", first.lastError ?? "");
    assert.deepEqual(
      { tools: first.tools, resources: first.resources, prompts: first.prompts },
      MEMORY_COUNTS,
    );
    await new Promise((r) => setTimeout(r, 5));
    const again = await sup.refresh(s.id);
    assert.equal(again.state, "ready");
    assert.ok(again.lastRefreshAt! > first.lastRefreshAt!);
  });
});

const HTTP_KINDS = [
  { transport: "streamable-http", mode: "streamableHttp", name: "Streamable HTTP" },
  { transport: "sse", mode: "sse", name: "SSE" },
] as const;
for (const { transport, mode, name } of HTTP_KINDS) {
  Deno.test(`server-everything over ${name} is ready with its real counts`, async () => {
    const upstream = await everythingOverHttp(mode);
    try {
      await withSupervisor(async (sup) => {
        const s = server({ transport, url: upstream.url });
        await sup.upsert(s);
        const status = await sup.refresh(s.id);
        assert.equal(status.state, "ready", status.lastError ?? "");
        assert.deepEqual(
          { tools: status.tools, resources: status.resources, prompts: status.prompts },
          EVERYTHING_COUNTS,
        );
        assert.deepEqual(sup.logs(s.id).lines, []);
      });
    } finally {
      await upstream.stop();
    }
  });
}

Deno.test("a killed stdio server is restarted with backoff and is ready again", async () => {
  await withSupervisor(async (sup) => {
    const s = server(denoServer(MEMORY));
    await sup.upsert(s);
    assert.equal((await sup.refresh(s.id)).state, "ready");
    const pid = sup.pid(s.id)!;
    Deno.kill(pid, "SIGKILL");
    const lost = await until(
      () => {
        const st = sup.status(s.id);
        return st.state !== "ready" ? st : undefined;
      },
      10_000,
      "the crash to show",
    );
    assert.equal(lost.state, "degraded");
    assert.match(lost.lastError ?? "", /killed by SIGKILL/);
    const back = await until(
      () => {
        const st = sup.status(s.id);
        return st.state === "ready" ? st : undefined;
      },
      30_000,
      "the restart",
    );
    assert.equal(back.restarts, 1);
    assert.deepEqual({ tools: back.tools, prompts: back.prompts }, { tools: 9, prompts: 0 });
    assert.notEqual(sup.pid(s.id), pid);
    assert.equal(alive(pid), false);
  });
});

Deno.test("a server that keeps exiting is retried with growing delays and counts as failed", async () => {
  await withSupervisor(async (sup) => {
    const s = server({ command: "/bin/sh", args: ["-c", "exit 3"] });
    await sup.upsert(s);
    const started = Date.now();
    const st = await until(
      () => {
        const st = sup.status(s.id);
        return st.restarts >= 3 ? st : undefined;
      },
      10_000,
      "three restarts",
    );
    // 100 + 200 + 400 ms of backoff at least before the third restart.
    assert.ok(Date.now() - started >= 700, `restarted too fast: ${Date.now() - started} ms`);
    assert.equal(st.state, "failed");
    assert.match(st.lastError ?? "", /exited with code 3|connection closed/i);
  });
});

Deno.test("stderr is kept, bounded to 500 lines, with secrets from env redacted", async () => {
  await withSupervisor(async (sup) => {
    const s = server({
      ...shellThen(
        'i=0; while [ $i -lt 2000 ]; do echo "line $i token=$TOKEN" >&2; i=$((i+1)); done; exec "$@"',
        MEMORY,
      ),
      env: { TOKEN: "{{secrets.TOKEN}}" },
    });
    await sup.upsert(s);
    assert.equal((await sup.refresh(s.id)).state, "ready");
    const logs = await until(
      () => {
        const l = sup.logs(s.id);
        return l.lines.some((x) => x.includes("line 1999")) ? l : undefined;
      },
      10_000,
      "the last line",
    );
    assert.ok(logs.lines.length <= 500, `${logs.lines.length} lines kept`);
    assert.ok(logs.dropped >= 1500);
    assert.ok(logs.lines.some((l) => l.includes("token=[REDACTED]")));
    assert.ok(!JSON.stringify(logs).includes(SECRET));
  });
});

Deno.test("a stdio server inherits the host's TLS roots and proxies, never a proxy's password in its logs, and nothing of Gatehouse's own", async () => {
  const password = "pr0xy-pass-5d1e9a";
  const host: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    SSL_CERT_DIR: "/etc/ssl/certs",
    NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
    HTTPS_PROXY: `http://ops:${password}@proxy.internal:3128`,
    no_proxy: "127.0.0.1,localhost",
    GATEHOUSE_SECRET_KEY: "not-for-children",
  };
  const sup = new Supervisor({ secrets, check: allowAll, environment: (name) => host[name] });
  try {
    const s = server({ command: "/bin/sh", args: ["-c", "env >&2; exit 1"] });
    await sup.upsert(s);
    assert.equal((await sup.refresh(s.id)).state, "failed");
    const lines = await until(
      () => {
        const l = sup.logs(s.id).lines;
        return l.some((x) => x.startsWith("PATH=")) ? l : undefined;
      },
      5000,
      "the environment on stderr",
    );
    for (const k of ["SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "no_proxy"]) {
      assert.ok(lines.includes(`${k}=${host[k]}`), k);
    }
    assert.ok(
      lines.includes("HTTPS_PROXY=http://ops:[REDACTED]@proxy.internal:3128"),
      lines.join("\n"),
    );
    assert.ok(!JSON.stringify(sup.logs(s.id)).includes(password));
    assert.ok(!lines.some((l) => l.startsWith("GATEHOUSE_")), lines.join("\n"));
  } finally {
    await sup.close();
  }
});

Deno.test("a secret in env never reaches lastError", async () => {
  await withSupervisor(async (sup) => {
    const s = server({
      command: "/bin/sh",
      args: ["-c", 'echo "{\\"oops\\": \\"$TOKEN\\"" ; echo "bad $TOKEN" >&2; exit 1'],
      env: { TOKEN: "{{secrets.TOKEN}}" },
    });
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "failed");
    assert.ok(!JSON.stringify(st).includes(SECRET));
    assert.ok(!JSON.stringify(sup.logs(s.id)).includes(SECRET));
  });
});

Deno.test("deleting a stdio server ends its process and its children", async () => {
  await withSupervisor(async (sup) => {
    const marker = `sleep 1000${Math.floor(Math.random() * 1e9)}`;
    // A child that ignores SIGTERM and outlives its parent unless the whole group is killed.
    const s = server(shellThen(`(trap '' TERM; exec ${marker}) & exec "$@"`, MEMORY));
    await sup.upsert(s);
    assert.equal((await sup.refresh(s.id)).state, "ready");
    const pid = sup.pid(s.id)!;
    await until(() => livePids(marker).length === 1, 5000, "the child to start");
    await sup.remove(s.id);
    assert.equal(alive(pid), false, "the server process is left");
    await until(() => livePids(marker).length === 0, 5000, "no child left");
  });
});

Deno.test("closing the supervisor (Gatehouse stopping) ends every process", async () => {
  const sup = new Supervisor({ secrets, check: allowAll });
  const a = server(denoServer(MEMORY));
  const b = server(denoServer(EVERYTHING, "stdio"));
  await sup.upsert(a);
  await sup.upsert(b);
  await Promise.all([sup.refresh(a.id), sup.refresh(b.id)]);
  const pids = [sup.pid(a.id)!, sup.pid(b.id)!];
  assert.ok(pids.every(alive));
  await sup.close();
  assert.deepEqual(pids.filter(alive), []);
});

Deno.test("a dead URL fails with a readable lastError", async () => {
  await withSupervisor(async (sup) => {
    const port = freePort();
    const s = server({ transport: "streamable-http", url: `http://127.0.0.1:${port}/mcp` });
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "failed");
    assert.equal(
      st.lastError,
      `connection refused by 127.0.0.1:${port}: nothing is accepting connections there`,
    );
  });
});

Deno.test("the outbound policy refusal is the lastError, and nothing is sent", async () => {
  const refuse: OrgDestinationCheck = (_org, url) =>
    Promise.resolve({
      ok: false,
      cause: "blocked",
      message: `refused to connect to ${url.hostname}: policy`,
    });
  await withSupervisor(async (sup) => {
    const s = server({ transport: "sse", url: "http://10.0.0.1/sse" });
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "failed");
    assert.match(st.lastError ?? "", /refused to connect to 10\.0\.0\.1: policy/);
  }, refuse);
});

Deno.test("header and auth secrets reach the upstream and never its error", async () => {
  const seen: Headers[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers);
    // An upstream that echoes what it got, as some do in their error pages.
    return new Response(
      `unauthorized: ${req.headers.get("x-api-token")} ${req.headers.get("authorization")}`,
      { status: 401 },
    );
  });
  try {
    await withSupervisor(async (sup) => {
      const s = server({
        transport: "streamable-http",
        url: `http://127.0.0.1:${upstream.addr.port}/mcp`,
        headers: { "X-Api-Token": "tok-{{secrets.TOKEN}}" },
        auth: { secret: "TOKEN" },
      });
      await sup.upsert(s);
      const st = await sup.refresh(s.id);
      assert.equal(st.state, "failed");
      assert.equal(seen[0].get("x-api-token"), `tok-${SECRET}`);
      assert.equal(seen[0].get("authorization"), `Bearer ${SECRET}`);
      assert.ok(st.lastError);
      assert.ok(!JSON.stringify(st).includes(SECRET), st.lastError ?? "");
    });
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("a missing secret fails the server with a message naming it", async () => {
  await withSupervisor(async (sup) => {
    const s = server({
      transport: "streamable-http",
      url: "http://127.0.0.1:9/mcp",
      auth: { secret: "NOPE" },
    });
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "failed");
    assert.match(st.lastError ?? "", /secret 'NOPE' not configured/);
  });
});

Deno.test("a list_changed notification from the upstream updates the counts", async () => {
  await withSupervisor(async (sup) => {
    const s = server({
      command: Deno.execPath(),
      args: ["run", "-A", new URL("./list_changed_server.ts", import.meta.url).pathname],
    });
    await sup.upsert(s);
    const first = await sup.refresh(s.id);
    assert.equal(first.state, "ready", first.lastError ?? "");
    assert.equal(first.tools, 1);
    await until(() => sup.status(s.id).tools === 2, 10_000, "the second tool to be counted");
    assert.ok(sup.status(s.id).lastRefreshAt! > first.lastRefreshAt!);
  });
});

Deno.test("with stdio turned off, a stored stdio server is not started and says why", async () => {
  const sup = new Supervisor({ secrets, check: allowAll, allowStdio: false });
  try {
    const s = server(denoServer(MEMORY));
    await sup.upsert(s);
    const st = await sup.refresh(s.id);
    assert.equal(st.state, "failed");
    assert.match(st.lastError ?? "", /GATEHOUSE_ALLOW_STDIO=0/);
    assert.equal(sup.pid(s.id), undefined);
  } finally {
    await sup.close();
  }
});

Deno.test("a changed secret applies to the next upstream request, without reconnecting", async () => {
  const mcp = new McpServer({ name: "recorder", version: "1.0.0" });
  mcp.registerTool("t", { description: "A tool." }, () => ({ content: [] }));
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
  });
  await mcp.connect(transport);
  const seen: (string | null)[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers.get("authorization"));
    return transport.handleRequest(req);
  });
  let value = "first-token-5d1e";
  const rotating: SecretResolver = {
    resolve: () => Promise.resolve(value),
    authenticate: () =>
      Promise.resolve({
        headers: [["authorization", `Bearer ${value}`]],
        query: [],
        sensitive: [value],
        refreshable: false,
      }),
  };
  const sup = new Supervisor({ secrets: rotating, check: allowAll });
  try {
    const s = server({
      transport: "streamable-http",
      url: `http://127.0.0.1:${upstream.addr.port}/mcp`,
      auth: { secret: "ROTATING" },
    });
    await sup.upsert(s);
    const first = await sup.refresh(s.id);
    assert.equal(first.state, "ready", first.lastError ?? "");
    assert.equal(first.tools, 1);
    assert.equal(seen.at(-1), "Bearer first-token-5d1e");
    value = "second-token-8a2f";
    const again = await sup.refresh(s.id);
    assert.equal(again.state, "ready");
    assert.equal(again.restarts, 0);
    assert.equal(seen.at(-1), "Bearer second-token-8a2f");
  } finally {
    await sup.close();
    await mcp.close();
    await upstream.shutdown();
  }
});

Deno.test("a server that changes without list_changed is caught up with at the refresh interval", async () => {
  const up = startScriptedUpstream();
  const listed: string[] = [];
  const sup = new Supervisor({
    secrets,
    check: allowAll,
    refreshIntervalMs: 100,
    onListed: (_server, listing) => {
      listed.push(String(listing.tools[0]?.description));
      return Promise.resolve();
    },
  });
  try {
    const s = server({ transport: "streamable-http", url: up.url });
    await sup.upsert(s);
    await until(() => listed.includes("Probes."), 10_000, "the first listing");
    await up.change({ description: "Quietly changed." }, true);
    await until(() => listed.includes("Quietly changed."), 5000, "a listing by the interval");
  } finally {
    await sup.close();
    await up.close();
  }
});
