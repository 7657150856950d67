/**
 * The README's five-minute walkthrough, run as written: its `sh` blocks
 * between the walkthrough markers go through `bash -euo pipefail` against a
 * real child server, with curl and jq, as a reader would paste them.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { startChildServer } from "../helpers/server.ts";

const README = new URL("../../README.md", import.meta.url);
const START = "<!-- walkthrough:start -->";
const END = "<!-- walkthrough:end -->";

/** The `sh` blocks between the walkthrough markers, joined in order. */
function walkthroughScript(markdown: string): string {
  const from = markdown.indexOf(START);
  const to = markdown.indexOf(END);
  assert.ok(from >= 0 && to > from, `README.md must mark the walkthrough with ${START} ... ${END}`);
  const section = markdown.slice(from + START.length, to);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length > 0, "the walkthrough has no ```sh blocks");
  return blocks.join("\n");
}

/** The last JSON object in `text` that is a JSON-RPC message. */
function lastJsonRpc(text: string): Record<string, unknown> | undefined {
  for (let i = text.lastIndexOf("{"); i >= 0; i = i > 0 ? text.lastIndexOf("{", i - 1) : -1) {
    try {
      const value = JSON.parse(text.slice(i));
      if (value && typeof value === "object" && value.jsonrpc === "2.0") return value;
    } catch {
      // Not a whole JSON value from here; look further back.
    }
  }
  return undefined;
}

async function have(tool: string): Promise<boolean> {
  const { code } = await new Deno.Command("bash", {
    args: ["-c", `command -v ${tool}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

const SEED_INPUT_SCHEMA = {
  type: "object",
  properties: {
    page: { type: "integer", description: "Page number" },
    limit: { type: "integer", description: "Items per page" },
  },
  required: [],
};

Deno.test("README walkthrough runs as written and lists get_users over MCP", async () => {
  for (const tool of ["curl", "jq"]) {
    assert.ok(await have(tool), `the README walkthrough needs ${tool} on PATH`);
  }
  const script = walkthroughScript(await Deno.readTextFile(README));
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-readme-" });
  const adminKey = `gha_readme_${crypto.randomUUID()}`;
  const server = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: adminKey });
  try {
    const run = await new Deno.Command("bash", {
      args: ["-euo", "pipefail", "-c", script],
      env: { GATEHOUSE: server.url, ADMIN_KEY: adminKey },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    const context =
      `exit ${run.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n--- server\n${server.output()}`;
    assert.equal(run.code, 0, `the walkthrough failed:\n${context}`);

    const response = lastJsonRpc(stdout);
    assert.ok(response, `the last command printed no JSON-RPC response:\n${context}`);
    assert.equal(response.id, 1, context);
    assert.equal(response.error, undefined, context);
    const tools = (response.result as { tools?: Record<string, unknown>[] } | undefined)?.tools;
    assert.ok(Array.isArray(tools), `result.tools is not a list:\n${context}`);
    const getUsers = tools.find((t) => t.name === "get_users");
    assert.ok(getUsers, `get_users is not listed:\n${context}`);
    assert.equal(getUsers.description, "Retrieve a list of users with pagination");
    assert.deepEqual(getUsers.inputSchema, SEED_INPUT_SCHEMA);
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("README walkthrough's variable lines keep values already set", async () => {
  const script = walkthroughScript(await Deno.readTextFile(README));
  const lines = script.split("\n");
  for (const name of ["GATEHOUSE", "ADMIN_KEY"]) {
    const line = lines.find((l) => l.startsWith(`${name}=`));
    assert.ok(line, `the walkthrough does not set ${name}`);
    assert.match(line, new RegExp(`^${name}=\\$\\{${name}:-[^}]+\\}$`));
  }
  assert.ok(script.includes("GATEHOUSE=${GATEHOUSE:-http://127.0.0.1:8787}"));
});

Deno.test("README names the real tasks and default settings", async () => {
  const readme = await Deno.readTextFile(README);
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const tasks = Object.keys(denoJson.tasks);
  for (const [, name] of readme.matchAll(/deno task ([a-z]+)/g)) {
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
