/**
 * The README's five-minute walkthrough, run as written: its `sh` blocks
 * between the walkthrough markers go through `bash -euo pipefail` against a
 * real child server, with curl, jq and the sample API (`deno task demo-api`)
 * the walkthrough starts itself, as a reader would paste them. The last
 * command is the `tools/call`, which must bring back real users. It runs
 * twice on one server with the README's undo step after each run, and the
 * client configurations and first-start output the README shows are the
 * ones the server gives.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { demoApiHandler, demoApiPort, usersPage } from "../../scripts/demo_api.ts";
import { freePort, spawnMain, startChildServer } from "../helpers/server.ts";

const ROOT = new URL("../../", import.meta.url);
const README = new URL("README.md", ROOT);
const START = "<!-- walkthrough:start -->";
const END = "<!-- walkthrough:end -->";
const UNDO_START = "<!-- walkthrough-undo:start -->";
const UNDO_END = "<!-- walkthrough-undo:end -->";
/** The base URL the README's samples show. */
const README_BASE = "http://127.0.0.1:8787";
/** How long the whole walkthrough may take before the test gives up on it. */
const WALKTHROUGH_TIMEOUT_MS = 90_000;

/** The `sh` blocks between the walkthrough markers (or `start` ... `end`), joined in order. */
function walkthroughScript(markdown: string, start = START, end = END): string {
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  assert.ok(from >= 0 && to > from, `README.md must mark a section with ${start} ... ${end}`);
  const section = markdown.slice(from + start.length, to);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length > 0, "the walkthrough has no ```sh blocks");
  return blocks.join("\n");
}

/**
 * The sample outputs the walkthrough shows (its `text` blocks), each cut at
 * its first `...`: what the commands print must begin the same way.
 */
function shownOutputs(markdown: string): string[] {
  const section = markdown.slice(markdown.indexOf(START), markdown.indexOf(END));
  return [...section.matchAll(/^```text\n([\s\S]*?)^```$/gm)].map((m) => m[1].split("...")[0]);
}

/** The end of the JSON object starting at `from` (string-aware brace matching), or -1. */
function objectEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

/** Every JSON-RPC message printed in `text` (compact, as the MCP endpoint answers), in order. */
function jsonRpcMessages(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of text.matchAll(/\{"jsonrpc":"2\.0"/g)) {
    const end = objectEnd(text, m.index);
    if (end < 0) continue;
    try {
      out.push(JSON.parse(text.slice(m.index, end)));
    } catch {
      // Not a whole JSON value; skip it.
    }
  }
  return out;
}

async function have(tool: string): Promise<boolean> {
  const { code } = await new Deno.Command("bash", {
    args: ["-c", `command -v ${tool}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A folder holding `deno` (a link to the Deno running this test), for the
 * front of the walkthrough's PATH: its `deno task demo-api` then runs even
 * where Deno itself came through `npx` and is not on PATH.
 */
async function denoBinDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "gatehouse-readme-bin-" });
  await Deno.symlink(Deno.execPath(), `${dir}/deno`);
  return dir;
}

/** What a walkthrough run printed and how it ended. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `bash -euo pipefail` in its own process group (session),
 * from the repository folder, and kills whatever of that group is still
 * running when bash ends or the time is up: the sample API never outlives
 * the test, whatever the walkthrough did.
 */
async function runWalkthrough(
  script: string,
  env: Record<string, string>,
  afterExit: () => Promise<void>,
): Promise<Run> {
  const child = new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    cwd: ROOT.pathname,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  let stdout = "";
  let stderr = "";
  const pump = (stream: ReadableStream<Uint8Array>, add: (t: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: add }));
  const pumps = Promise.all([
    pump(child.stdout, (t) => void (stdout += t)),
    pump(child.stderr, (t) => void (stderr += t)),
  ]);
  const killGroup = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), WALKTHROUGH_TIMEOUT_MS);
  });
  try {
    const ended = await Promise.race([child.status, timedOut]);
    if (ended === "timeout") {
      killGroup();
      await child.status;
      stderr += `\n[test] the walkthrough did not finish within ${WALKTHROUGH_TIMEOUT_MS} ms`;
      return { code: -1, stdout, stderr };
    }
    await afterExit();
    return { code: ended.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    killGroup();
    // The pipes close once every process of the group that held them is gone.
    await pumps;
  }
}

const SEED_INPUT_SCHEMA = {
  type: "object",
  properties: {
    page: { type: "integer", description: "Page number" },
    limit: { type: "integer", description: "Items per page" },
  },
  required: [],
};

/** The sample API's token as the walkthrough sets it (and stores it as a secret). */
function walkthroughToken(script: string): string {
  const m = /DEMO_API_TOKEN=(\S+) deno task demo-api/.exec(script);
  assert.ok(m, "the walkthrough does not start the sample API with DEMO_API_TOKEN=... ");
  return m[1];
}

/** Fails unless `run` printed the walkthrough's tools/list and tools/call answers, as shown. */
function checkWalkthroughOutput(run: Run, context: string, token: string, shown: string[]) {
  const messages = jsonRpcMessages(run.stdout);
  const list = messages.find((m) => m.id === 1);
  assert.ok(list, `no tools/list response (id 1) in the output:\n${context}`);
  assert.equal(list.error, undefined, context);
  const tools = (list.result as { tools?: Record<string, unknown>[] } | undefined)?.tools;
  assert.ok(Array.isArray(tools), `result.tools is not a list:\n${context}`);
  const getUsers = tools.find((t) => t.name === "get_users");
  assert.ok(getUsers, `get_users is not listed:\n${context}`);
  assert.equal(getUsers.description, "Retrieve a list of users with pagination");
  assert.deepEqual(getUsers.inputSchema, SEED_INPUT_SCHEMA);

  // The last JSON-RPC answer printed is the tools/call, with the sample API's data.
  const call = messages.at(-1);
  assert.ok(call, `no JSON-RPC response in the output:\n${context}`);
  assert.equal(call.id, 2, `the walkthrough does not end with the tools/call (id 2):\n${context}`);
  assert.equal(call.error, undefined, context);
  const result = call.result as { content?: { type: string; text?: string }[]; isError?: boolean };
  assert.notEqual(result.isError, true, `tools/call returned an error result:\n${context}`);
  assert.equal(result.content?.length, 1, context);
  assert.equal(result.content[0].type, "text", context);
  const data = JSON.parse(result.content[0].text ?? "");
  assert.deepEqual(data, usersPage(1, 10), "the result is not page 1 of the sample API's users");
  assert.equal(data.users.length, 10);
  assert.equal(data.users[0].name, "Alice Smith");

  // The answers shown in the README are the ones the commands print.
  assert.ok(shown.length >= 2, "the walkthrough shows no sample answers");
  for (const sample of shown) {
    assert.ok(
      run.stdout.split("\n").some((line) => line.startsWith(sample.trim())),
      `the README shows an answer the walkthrough did not print:\n${sample}\n${context}`,
    );
  }
  // The token went in as a secret and never came back out.
  assert.ok(!run.stdout.includes(token), `the token was printed:\n${context}`);
}

/** The client configurations the README shows, by `clients` path (`cursor.config`, ...). */
function readmeClientBlocks(markdown: string): Map<string, { lang: string; text: string }> {
  const out = new Map<string, { lang: string; text: string }>();
  const blocks = markdown.matchAll(/<!-- clients\.(\w+\.\w+) -->\n\n```(\w+)\n([\s\S]*?)^```$/gm);
  for (const [, path, lang, text] of blocks) out.set(path, { lang, text });
  return out;
}

/** Fails unless every client configuration in the README is the one the API gives the gateway. */
async function checkReadmeClients(markdown: string, base: string, adminKey: string) {
  const res = await fetch(`${base}/gateways`, { headers: { authorization: `Bearer ${adminKey}` } });
  const { gateways } = await res.json();
  const gateway = gateways.find((g: { endpoint: string }) => g.endpoint === "/my-tools");
  assert.ok(gateway, "the walkthrough's gateway is not there");
  // The API answers with this server's URL; the README shows the default one.
  const clients = JSON.parse(JSON.stringify(gateway.clients).replaceAll(base, README_BASE));
  const shown = readmeClientBlocks(markdown);
  const expected = Object.keys(clients).filter((k) => !["transport", "url", "auth"].includes(k));
  assert.deepEqual([...shown.keys()].map((p) => p.split(".")[0]).sort(), expected.sort());
  for (const [path, { lang, text }] of shown) {
    const [name, field] = path.split(".");
    const actual = clients[name][field];
    if (lang === "json") {
      assert.deepEqual(JSON.parse(text), actual, `README's ${path} is not the API's`);
    } else {
      assert.equal(text.trimEnd(), String(actual).trimEnd(), `README's ${path} is not the API's`);
    }
  }
}

/** What the server holds of the walkthrough's objects (by the names the walkthrough uses). */
async function walkthroughLeftovers(base: string, adminKey: string): Promise<string[]> {
  const get = async (path: string) =>
    await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminKey}` } }))
      .json();
  return [
    ...(await get("/gateways")).gateways.map((g: { endpoint: string }) => `gateway ${g.endpoint}`),
    ...(await get("/tools")).tools.map((t: { name: string }) => `tool ${t.name}`),
    ...(await get("/secrets")).secrets.map((x: { name: string }) => `secret ${x.name}`),
  ];
}

Deno.test("README walkthrough runs as written twice on one server, undone after each run", async () => {
  for (const tool of ["curl", "jq"]) {
    assert.ok(await have(tool), `the README walkthrough needs ${tool} on PATH`);
  }
  const markdown = await Deno.readTextFile(README);
  const script = walkthroughScript(markdown);
  const undo = walkthroughScript(markdown, UNDO_START, UNDO_END);
  const token = walkthroughToken(script);
  const shown = shownOutputs(markdown);
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-readme-" });
  const binDir = await denoBinDir();
  const adminKey = `gha_readme_${crypto.randomUUID()}`;
  // The README's default is 8788; a free port keeps parallel runs and a reader's own copy apart.
  const demoPort = freePort();
  const server = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: adminKey });
  const env = {
    GATEHOUSE: server.url,
    ADMIN_KEY: adminKey,
    DEMO_API_PORT: String(demoPort),
    PATH: `${binDir}:${Deno.env.get("PATH") ?? ""}`,
    NO_COLOR: "1",
  };
  const run = async (what: string, text: string) => {
    let stoppedByReadme = false;
    const result = await runWalkthrough(text, env, async () => {
      // The walkthrough's last step stops the sample API; give the process a moment to go.
      const deadline = Date.now() + 5000;
      while (await listening(demoPort) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      stoppedByReadme = !await listening(demoPort);
    });
    const context = `${what}: exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n` +
      `${result.stderr}\n--- server\n${server.output()}`;
    assert.equal(result.code, 0, `${what} failed:\n${context}`);
    assert.ok(stoppedByReadme, `${what} left the sample API running:\n${context}`);
    return { result, context };
  };
  try {
    // First run; then the undo from a new shell, as a reader coming back later would paste it.
    const first = await run("the first walkthrough run", script);
    checkWalkthroughOutput(first.result, first.context, token, shown);
    await checkReadmeClients(markdown, server.url, adminKey);
    await run("the undo step", undo);
    assert.deepEqual(await walkthroughLeftovers(server.url, adminKey), [], "the undo left these");

    // Second run on the same server, with the undo in the same shell.
    const second = await run("the second walkthrough run", `${script}\n${undo}`);
    checkWalkthroughOutput(second.result, second.context, token, shown);
    assert.match(second.result.stdout, /removed: gateway [\w-]+, tool [\w-]+, secret [\w-]+/);
    assert.deepEqual(await walkthroughLeftovers(server.url, adminKey), [], "the undo left these");

    assert.ok(!await listening(demoPort), "the sample API outlived the test");
    assert.ok(!server.output().includes(token), "the server printed the token");
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(binDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("README's first-start output is what a first start prints", async () => {
  const markdown = await Deno.readTextFile(README);
  const m = /The first start prints:\n\n```text\n([\s\S]*?)^```$/m.exec(markdown);
  assert.ok(m, "README.md shows no first-start output after 'The first start prints:'");
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-readme-first-" });
  const child = spawnMain(["--data", dataDir, "--port", "0"], { GATEHOUSE_ADMIN_KEY: "" });
  try {
    const deadline = Date.now() + 20_000;
    while (!/Try it:\n.*curl .*\n/.test(child.stdout()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // A terminal shows the vault notice (stderr) first: it is printed before listening.
    const printed = (child.stderr() + child.stdout())
      .replaceAll(dataDir, "./data")
      .replace(/http:\/\/127\.0\.0\.1:\d+/g, README_BASE)
      .replace(/gha_[A-Za-z0-9_-]+/g, "gha_...");
    assert.equal(printed.trimEnd(), m[1].trimEnd(), "the README's first-start output differs");
  } finally {
    await child.stop("SIGTERM");
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("README walkthrough's variable lines keep values already set", async () => {
  const script = walkthroughScript(await Deno.readTextFile(README));
  const lines = script.split("\n");
  for (const name of ["GATEHOUSE", "ADMIN_KEY", "DEMO_API_PORT"]) {
    const line = lines.find((l) => l.startsWith(`${name}=`));
    assert.ok(line, `the walkthrough does not set ${name}`);
    assert.match(line, new RegExp(`^${name}=\\$\\{${name}:-[^}]+\\}$`));
  }
  assert.ok(script.includes("GATEHOUSE=${GATEHOUSE:-http://127.0.0.1:8787}"));
  assert.ok(script.includes("DEMO_API_PORT=${DEMO_API_PORT:-8788}"));
});

Deno.test("README walkthrough ends with the get_users tools/call and stops the sample API", async () => {
  const script = walkthroughScript(await Deno.readTextFile(README));
  const seedCall =
    `'{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_users","arguments":{"page":1,"limit":10}},"id":2}'`;
  assert.ok(script.includes(seedCall), "the walkthrough does not send the get_users tools/call");
  assert.ok(script.includes("deno task demo-api"), "the walkthrough does not start the sample API");
  assert.match(script, /"url": "http:\/\/127\.0\.0\.1:\$DEMO_API_PORT\/users"/);
  assert.match(script, /"auth": \{ "secret": "DEMO_TOKEN" \}/);
  assert.ok(
    script.indexOf("tools/call") < script.lastIndexOf("kill "),
    "the sample API must be stopped after the tools/call",
  );
});

Deno.test("the sample API pages its users and wants its token", async () => {
  const handler = demoApiHandler("t0ken");
  const get = (path: string, token?: string) =>
    handler(
      new Request(`http://127.0.0.1${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      }),
    );
  const ok = await get("/users?page=2&limit=3", "t0ken");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {
    page: 2,
    limit: 3,
    total: 50,
    users: [
      { id: 4, name: "Dave Smith", email: "dave.smith@example.com" },
      { id: 5, name: "Erin Smith", email: "erin.smith@example.com" },
      { id: 6, name: "Frank Smith", email: "frank.smith@example.com" },
    ],
  });
  const defaults = await (await get("/users", "t0ken")).json();
  assert.equal(defaults.page, 1);
  assert.equal(defaults.limit, 10);
  const last = await (await get("/users?page=5&limit=12", "t0ken")).json();
  assert.deepEqual(last.users.map((u: { id: number }) => u.id), [49, 50]);
  assert.equal(new Set(usersPage(1, 50).users.map((u) => u.email)).size, 50);
  assert.deepEqual(await (await get("/users/50", "t0ken")).json(), {
    id: 50,
    name: "Judy Okafor",
    email: "judy.okafor@example.com",
  });

  for (const token of [undefined, "wrong"]) {
    const refused = await get("/users", token);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer/);
    await refused.body?.cancel();
  }
  for (const query of ["page=0", "page=x", "limit=0", "limit=101", "limit=1.5"]) {
    const bad = await get(`/users?${query}`, "t0ken");
    assert.equal(bad.status, 400, query);
    await bad.body?.cancel();
  }
  const missing = await get("/nothing", "t0ken");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const open = await demoApiHandler()(new Request("http://127.0.0.1/users?limit=1"));
  assert.equal(open.status, 200, "without DEMO_API_TOKEN the API is open");
  await open.body?.cancel();

  assert.equal(demoApiPort([], undefined), 8788);
  assert.equal(demoApiPort([], "9001"), 9001);
  assert.equal(demoApiPort(["--port", "9002"], "9001"), 9002);
  assert.equal(demoApiPort(["--port=0"], undefined), 0);
  assert.throws(() => demoApiPort(["--port", "99999"], undefined), /port/);
  assert.throws(() => demoApiPort(["--verbose"], undefined), /unknown argument/);
});

Deno.test("README names the real tasks and default settings", async () => {
  const readme = await Deno.readTextFile(README);
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const tasks = Object.keys(denoJson.tasks);
  assert.ok(tasks.includes("demo-api"), "deno.json has no demo-api task");
  for (const [, name] of readme.matchAll(/deno task ([a-z]+(?:-[a-z]+)*)/g)) {
    assert.ok(tasks.includes(name), `README mentions 'deno task ${name}', not in deno.json`);
  }
  for (const name of ["start", "test"]) {
    assert.ok(readme.includes(`npx -y deno@2.9.6 task ${name}`), `no npx form of ${name}`);
  }
  const defaults = loadConfig([], () => undefined);
  for (
    const [flag, env, value] of [
      ["--host", "GATEHOUSE_HOST", defaults.host],
      ["--port", "GATEHOUSE_PORT", String(defaults.port)],
      ["--data", "GATEHOUSE_DATA", defaults.dataDir],
    ]
  ) {
    const row = readme.split("\n").find((l) => l.includes(`\`${flag}\``) && l.includes(env));
    assert.ok(row, `no settings row for ${flag} / ${env}`);
    assert.ok(row.includes(`\`${value}\``), `the ${flag} row does not give the default ${value}`);
  }
  assert.ok(readme.includes("GATEHOUSE_PUBLIC_URL") && readme.includes("GATEHOUSE_ADMIN_KEY"));
});
