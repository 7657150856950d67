/**
 * `deno task start` as an operator meets it: a child process of `src/main.ts`
 * on an empty data folder sets itself up and prints an admin key once;
 * flags and `GATEHOUSE_*` variables are honoured; a bad setting exits with a
 * clear message; SIGINT and SIGTERM stop it cleanly.
 */
import assert from "node:assert/strict";
import {
  apiCall,
  type ChildServer,
  freePort,
  spawnMain,
  startChildServer,
} from "../helpers/server.ts";

const KEY_LINE = /Admin access key \(shown once, store it now\): (\S+)/g;
/** Keeps a GATEHOUSE_ADMIN_KEY of the test runner's own environment out of the child. */
const NO_FIXED_KEY = { GATEHOUSE_ADMIN_KEY: "" };
/** Keeps a child on SQLite, the default, whose file in the data folder a test looks for. */
const ON_SQLITE = { GATEHOUSE_DATABASE_URL: "" };

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Waits until `output()` matches `pattern` (the pipes are read asynchronously). */
async function waitForOutput(output: () => string, pattern: RegExp, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) assert.fail(`output never matched ${pattern}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-first-run-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function stopCleanly(child: ChildServer, signal: Deno.Signal = "SIGTERM"): Promise<void> {
  const status = await child.stop(signal);
  assert.equal(status.code, 0, `exit after ${signal}:\n${child.output()}`);
}

Deno.test("first start on an empty data folder creates the database and prints a working admin key once", async () => {
  await withTempDir(async (tmp) => {
    const dataDir = `${tmp}/not/yet/there`;
    const first = await startChildServer(dataDir, { ...NO_FIXED_KEY, ...ON_SQLITE });
    let key: string;
    try {
      await waitForOutput(first.output, /Try it:\n.*curl .*\n/);
      assert.ok(await exists(`${dataDir}/gatehouse.db`), "no gatehouse.db in the data folder");
      const out = first.output();
      assert.match(out, new RegExp(`Gatehouse listening on ${first.url} `));
      assert.match(out, /First run: created organization 'default' and its owner\./);
      const keys = [...out.matchAll(KEY_LINE)].map((m) => m[1]);
      assert.equal(keys.length, 1, `the admin key line must appear once:\n${out}`);
      key = keys[0];
      assert.match(key, /^gha_[A-Za-z0-9_-]{40,}$/);
      assert.ok(
        out.includes(`curl -H "Authorization: Bearer ${key}" ${first.url}/gateways`),
        `no ready curl line with the key and base URL:\n${out}`,
      );

      const res = await apiCall(first.url, key, "GET", "/gateways");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { gateways: [], nextCursor: null });
      assert.equal((await apiCall(first.url, "gha_wrong_key", "GET", "/gateways")).status, 401);
    } finally {
      await stopCleanly(first);
    }

    const second = await startChildServer(dataDir, { ...NO_FIXED_KEY, ...ON_SQLITE });
    try {
      await waitForOutput(second.output, /Gatehouse listening on/);
      const res = await apiCall(second.url, key, "GET", "/gateways");
      assert.equal(res.status, 200, "the first key must survive a restart");
    } finally {
      await stopCleanly(second);
    }
    const out = second.output();
    assert.doesNotMatch(out, /gha_/, `a second start must print no key:\n${out}`);
    assert.doesNotMatch(out, /First run/);
  });
});

Deno.test("GATEHOUSE_ADMIN_KEY is the admin key, on the first start and later ones, and is never printed", async () => {
  await withTempDir(async (dataDir) => {
    const fixed = `gha_fixed_${crypto.randomUUID()}`;
    const first = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: fixed });
    try {
      await waitForOutput(first.output, /Try it:\n.*curl .*\n/);
      assert.equal((await apiCall(first.url, fixed, "GET", "/gateways")).status, 200);
      assert.ok(!first.output().includes(fixed), `the fixed key was printed:\n${first.output()}`);
      assert.match(first.output(), /\(the value of GATEHOUSE_ADMIN_KEY\)/);
      assert.match(first.output(), /Bearer \$GATEHOUSE_ADMIN_KEY/);
    } finally {
      await stopCleanly(first);
    }

    // A different value on an existing database is added as another admin key.
    const later = `gha_later_${crypto.randomUUID()}`;
    const second = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: later });
    try {
      assert.equal((await apiCall(second.url, later, "GET", "/gateways")).status, 200);
      await waitForOutput(second.output, /Gatehouse listening on/);
      assert.ok(!second.output().includes(later));
      assert.doesNotMatch(second.output(), /First run/);
    } finally {
      await stopCleanly(second);
    }
  });
});

Deno.test("GATEHOUSE_HOST, GATEHOUSE_PORT, GATEHOUSE_DATA and GATEHOUSE_PUBLIC_URL are honoured", async () => {
  await withTempDir(async (tmp) => {
    const port = freePort();
    const dataDir = `${tmp}/from-env`;
    const key = `gha_env_${crypto.randomUUID()}`;
    const child = spawnMain([], {
      ...NO_FIXED_KEY,
      GATEHOUSE_HOST: "127.0.0.1",
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_DATA: dataDir,
      GATEHOUSE_PUBLIC_URL: "https://gw.example.com/",
      GATEHOUSE_ADMIN_KEY: key,
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForOutput(child.output, /Try it:\n.*curl .*\n/);
      assert.match(
        child.stdout(),
        new RegExp(`Gatehouse listening on ${url} \\(data: ${dataDir}/gatehouse\\.db\\)`),
      );
      assert.ok(await exists(`${dataDir}/gatehouse.db`));
      assert.match(child.stdout(), /curl .* https:\/\/gw\.example\.com\/gateways/);
      const gw = await apiCall(url, key, "POST", "/gateways", {
        name: "My MCP Gateway",
        type: "mcp",
        endpoint: "/my-tools",
        configuration: { transport: "http" },
      });
      assert.equal(gw.status, 201, JSON.stringify(gw.body));
      assert.deepEqual(gw.body.urls, {
        http: "https://gw.example.com/mcp/default/my-tools",
        sse: "https://gw.example.com/mcp/default/my-tools/sse",
        websocket: "wss://gw.example.com/mcp/default/my-tools/ws",
      });
    } finally {
      const status = await child.stop("SIGTERM");
      assert.equal(status.code, 0, child.output());
    }
  });
});

Deno.test("--host, --port, --data and --public-url win over the GATEHOUSE_* variables", async () => {
  await withTempDir(async (tmp) => {
    const key = `gha_flags_${crypto.randomUUID()}`;
    const envDir = `${tmp}/env-data`;
    const flagDir = `${tmp}/flag-data`;
    const envPort = freePort();
    const child = await startChildServer(
      flagDir,
      {
        ...ON_SQLITE,
        GATEHOUSE_ADMIN_KEY: key,
        GATEHOUSE_HOST: "127.0.0.2",
        GATEHOUSE_PORT: String(envPort),
        GATEHOUSE_DATA: envDir,
        GATEHOUSE_PUBLIC_URL: "https://env.example.com",
      },
      ["--host", "127.0.0.1", "--public-url", "https://flag.example.com/base"],
    );
    try {
      // startChildServer passes --port and --data and reaches the server on 127.0.0.1.
      await waitForOutput(child.output, /Try it:\n.*curl .*\n/);
      assert.match(child.output(), new RegExp(`Gatehouse listening on ${child.url} `));
      assert.ok(await exists(`${flagDir}/gatehouse.db`));
      assert.ok(!(await exists(envDir)), "GATEHOUSE_DATA was used despite --data");
      const gw = await apiCall(child.url, key, "POST", "/gateways", {
        name: "g",
        type: "mcp",
        endpoint: "/g",
        configuration: { transport: "http" },
      });
      assert.equal(
        (gw.body.urls as Record<string, string>).http,
        "https://flag.example.com/base/mcp/default/g",
      );
    } finally {
      await stopCleanly(child);
    }
  });
});

Deno.test("--host binds the interface named", async () => {
  await withTempDir(async (dataDir) => {
    // Every 127/8 address is loopback on Linux; elsewhere 127.0.0.2 may not exist.
    try {
      Deno.listen({ hostname: "127.0.0.2", port: 0 }).close();
    } catch {
      console.log("127.0.0.2 is not available here; skipped");
      return;
    }
    const port = freePort();
    const child = spawnMain(
      ["--host", "127.0.0.2", "--port", String(port), "--data", dataDir],
      NO_FIXED_KEY,
    );
    try {
      await waitForOutput(child.output, /Gatehouse listening on/);
      assert.match(
        child.stdout(),
        new RegExp(`Gatehouse listening on http://127\\.0\\.0\\.2:${port} `),
      );
      const res = await fetch(`http://127.0.0.2:${port}/healthz`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    } finally {
      const status = await child.stop("SIGTERM");
      assert.equal(status.code, 0, child.output());
    }
  });
});

Deno.test("an invalid port or flag exits non-zero with a clear message and touches nothing", async () => {
  await withTempDir(async (tmp) => {
    const dataDir = `${tmp}/data`;
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--port", "99999"], {}, /port must be a number from 0 to 65535, got '99999'/],
      [["--port", "http"], {}, /port must be a number from 0 to 65535, got 'http'/],
      [[], { GATEHOUSE_PORT: "-1" }, /port must be a number from 0 to 65535, got '-1'/],
      [["--prot", "8787"], {}, /gatehouse: .*--prot/],
    ];
    for (const [args, env, message] of cases) {
      const child = spawnMain([...args, "--data", dataDir], { ...NO_FIXED_KEY, ...env });
      const status = await child.stop();
      const label = `${args.join(" ")} ${JSON.stringify(env)}`;
      assert.notEqual(status.code, 0, `${label} exited 0:\n${child.output()}`);
      assert.match(child.stderr(), message, label);
      assert.doesNotMatch(child.stderr(), /^\s+at /m, `${label} printed a stack trace`);
      assert.equal(child.stdout(), "", label);
    }
    assert.ok(!(await exists(dataDir)), "a refused start created the data folder");
  });
});

Deno.test("GET /healthz and /readyz answer 200", async () => {
  await withTempDir(async (dataDir) => {
    const child = await startChildServer(dataDir, NO_FIXED_KEY);
    try {
      const health = await fetch(`${child.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });
      const ready = await fetch(`${child.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal((await ready.json()).status, "ready");
    } finally {
      await stopCleanly(child);
    }
  });
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`${signal} stops the server cleanly with exit status 0`, async () => {
    await withTempDir(async (dataDir) => {
      const child = await startChildServer(dataDir, NO_FIXED_KEY);
      await waitForOutput(child.output, /Gatehouse listening on/);
      const status = await child.stop(signal);
      const out = child.output();
      assert.equal(status.code, 0, `exit after ${signal}:\n${out}`);
      assert.equal(status.signal, null, out);
      assert.match(out, /Shutting down: finishing in-flight requests\.\.\.\n/);
      assert.match(out, /Stopped\.\n/);
      assert.ok(out.indexOf("Shutting down") < out.indexOf("Stopped."));
      await assert.rejects(fetch(`${child.url}/healthz`), "still listening after exit");
    });
  });
}
