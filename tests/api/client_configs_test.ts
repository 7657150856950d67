/**
 * The `clients` object of gateway answers: ready-to-paste configurations of
 * Claude Code, Claude Desktop, Cursor, VS Code, Windsurf, the MCP Inspector
 * and the Python SDK, built from the gateway's own URL, transport and auth
 * methods, never carrying a real key. Where the real client runs here, it
 * runs as configured: the Claude Desktop configuration (`npx -y
 * mcp-remote@<pinned>` as a stdio child, driven by the MCP SDK's stdio
 * client) lists and calls the tools; the Claude Code command adds a server
 * that `claude mcp list` shows connected; the Inspector command lists the
 * tools. The clients come from the npm registry (the only network they need),
 * pinned so that a new release cannot change the outcome.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { KEY_PLACEHOLDER, MCP_REMOTE_VERSION } from "../../src/api/client_configs.ts";
import { client, create, expectStatus, gatewayBody, type Json, withServer } from "./fixtures.ts";
import { createGateway, type McpTestServer, withMcpServer } from "../helpers/mcp.ts";

/** Every URL that a client configuration in `clients` points at. */
function configuredUrls(clients: Json): string[] {
  const one = (servers: Json) => Object.values(servers) as Json[];
  return [
    clients.url,
    ...one(clients.cursor.config.mcpServers).map((s) => s.url),
    ...one(clients.windsurf.config.mcpServers).map((s) => s.serverUrl),
    ...one(clients.vscode.config.servers).map((s) => s.url),
    ...one(clients.claudeDesktop.config.mcpServers).map((s) => s.args[2]),
  ];
}

Deno.test("POST, GET and list answers carry client configurations for the gateway's own URL", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/my-tools"));
    const http = `${s.url}/mcp/default/my-tools`;
    const c = gw.clients;
    assert.equal(c.transport, "http");
    assert.equal(c.url, http);
    for (const url of configuredUrls(c)) assert.equal(url, http);
    assert.deepEqual(c.auth.header, `Authorization: Bearer ${KEY_PLACEHOLDER}`);
    assert.equal(c.auth.method, null);
    assert.match(c.auth.note, /no auth method yet/);
    assert.ok(c.auth.note.includes(`POST /gateways/${gw.id}/auth`), c.auth.note);

    assert.equal(
      c.claudeCode.command,
      `claude mcp add --transport http my-tools ${http} --header 'Authorization: Bearer <gateway key>'`,
    );
    assert.deepEqual(c.cursor, {
      file: "~/.cursor/mcp.json",
      config: {
        mcpServers: {
          "my-tools": { url: http, headers: { Authorization: "Bearer <gateway key>" } },
        },
      },
    });
    assert.deepEqual(c.windsurf, {
      file: "~/.codeium/windsurf/mcp_config.json",
      config: {
        mcpServers: {
          "my-tools": { serverUrl: http, headers: { Authorization: "Bearer <gateway key>" } },
        },
      },
    });
    assert.deepEqual(c.vscode, {
      file: ".vscode/mcp.json",
      config: {
        inputs: [{
          type: "promptString",
          id: "gatehouse-credential",
          description: "Credential for the my-tools gateway",
          password: true,
        }],
        servers: {
          "my-tools": {
            type: "http",
            url: http,
            headers: { Authorization: "Bearer ${input:gatehouse-credential}" },
          },
        },
      },
    });
    assert.deepEqual(c.claudeDesktop, {
      file: "claude_desktop_config.json",
      config: {
        mcpServers: {
          "my-tools": {
            command: "npx",
            args: [
              "-y",
              `mcp-remote@${MCP_REMOTE_VERSION}`,
              http,
              "--header",
              "Authorization:${AUTH_HEADER}",
            ],
            env: { AUTH_HEADER: "Bearer <gateway key>" },
          },
        },
      },
    });
    assert.equal(
      c.inspector.command,
      `npx -y @modelcontextprotocol/inspector --cli ${http} --transport http --method tools/list ` +
        "--header 'Authorization: Bearer <gateway key>'",
    );
    assert.ok(c.python.code.includes(`streamable_http_client(${JSON.stringify(http)}`));
    assert.ok(c.python.code.includes(`headers={"Authorization": "Bearer <gateway key>"}`));

    // The same object on every answer, and through a JSON round trip unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(c)), c);
    assert.deepEqual((await admin("GET", `/gateways/${gw.id}`)).body.clients, c);
    assert.deepEqual((await admin("GET", "/gateways")).body.gateways[0].clients, c);
  });
});

Deno.test("client configurations follow the gateway's auth methods and never hold a real key", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/team/tools"));
    const clientsNow = async () => (await admin("GET", `/gateways/${gw.id}`)).body.clients;

    const method = await create(admin, `/gateways/${gw.id}/auth`, { type: "api_key" });
    const key = await create(admin, `/gateways/${gw.id}/keys`, { name: "laptop" });
    const withKey = await clientsNow();
    assert.equal(withKey.auth.method, "api_key");
    assert.equal(withKey.auth.header, "Authorization: Bearer <gateway key>");
    assert.equal(withKey.auth.placeholder, "<gateway key>");
    assert.ok(withKey.auth.note.includes(`POST /gateways/${gw.id}/keys`));
    assert.deepEqual(Object.keys(withKey.cursor.config.mcpServers), ["team-tools"]);
    const everything = JSON.stringify((await admin("GET", "/gateways")).body);
    assert.ok(!everything.includes(key.key), "a gateway answer carries a real key");

    // oauth2 only: clients sign in, so nothing carries a header or a placeholder.
    expectStatus(await admin("DELETE", `/gateways/${gw.id}/auth/${method.id}`), 204);
    await create(admin, `/gateways/${gw.id}/auth`, { type: "oauth2" });
    const oauth = await clientsNow();
    assert.deepEqual(
      [oauth.auth.method, oauth.auth.header, oauth.auth.placeholder],
      ["oauth2", null, null],
    );
    assert.match(oauth.auth.note, /sign-in/);
    assert.deepEqual(oauth.cursor.config.mcpServers["team-tools"], { url: oauth.url });
    assert.equal(oauth.vscode.config.inputs, undefined);
    assert.deepEqual(oauth.vscode.config.servers["team-tools"], { type: "http", url: oauth.url });
    assert.deepEqual(oauth.claudeDesktop.config.mcpServers["team-tools"], {
      command: "npx",
      args: ["-y", `mcp-remote@${MCP_REMOTE_VERSION}`, oauth.url],
    });
    assert.ok(!oauth.claudeCode.command.includes("--header"));
    assert.ok(!oauth.inspector.command.includes("--header"));
    assert.ok(oauth.python.code.includes("headers={}"));
    assert.ok(!JSON.stringify(oauth).includes("<"), "a placeholder is left over");

    // Adding api_key beside oauth2: the key, which needs no sign-in, is what the snippets use.
    await create(admin, `/gateways/${gw.id}/auth`, { type: "api_key" });
    assert.equal((await clientsNow()).auth.header, "Authorization: Bearer <gateway key>");
  });
});

Deno.test("bearer gateways get the key header, basic gateways a member's credentials", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const bearer = await create(admin, "/gateways", gatewayBody("/bearer"));
    await create(admin, `/gateways/${bearer.id}/auth`, { type: "bearer" });
    const b = (await admin("GET", `/gateways/${bearer.id}`)).body.clients;
    assert.deepEqual([b.auth.method, b.auth.header], [
      "bearer",
      "Authorization: Bearer <gateway key>",
    ]);

    const basic = await create(admin, "/gateways", gatewayBody("/basic"));
    await create(admin, `/gateways/${basic.id}/auth`, { type: "basic" });
    const c = (await admin("GET", `/gateways/${basic.id}`)).body.clients;
    assert.equal(c.auth.method, "basic");
    assert.equal(c.auth.header, "Authorization: Basic <base64 of email:password>");
    assert.match(c.auth.note, /email and password/);
    assert.deepEqual(c.cursor.config.mcpServers.basic.headers, {
      Authorization: "Basic <base64 of email:password>",
    });
    assert.equal(
      c.vscode.config.servers.basic.headers.Authorization,
      "Basic ${input:gatehouse-credential}",
    );
  });
});

Deno.test("a gateway open to anyone gets configurations without a header", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", gatewayBody("/open"));
    await create(admin, `/gateways/${gw.id}/auth`, { type: "none" });
    const c = (await admin("GET", `/gateways/${gw.id}`)).body.clients;
    assert.deepEqual([c.auth.method, c.auth.header], ["none", null]);
    assert.match(c.auth.note, /without credentials/);
    assert.equal(c.claudeCode.command, `claude mcp add --transport http open ${c.url}`);
  });
});

Deno.test("SSE gateways get the SSE forms, WebSocket gateways the Streamable HTTP ones", async () => {
  await withServer(async (s) => {
    const admin = client(s, s.adminKey);
    const gw = await create(admin, "/gateways", {
      ...gatewayBody("/streams"),
      configuration: { transport: "sse" },
    });
    const sse = `${s.url}/mcp/default/streams/sse`;
    const c = gw.clients;
    assert.deepEqual([c.transport, c.url], ["sse", sse]);
    for (const url of configuredUrls(c)) assert.equal(url, sse);
    assert.ok(c.claudeCode.command.startsWith(`claude mcp add --transport sse streams ${sse} `));
    assert.equal(c.vscode.config.servers.streams.type, "sse");
    assert.deepEqual(c.claudeDesktop.config.mcpServers.streams.args.slice(2, 5), [
      sse,
      "--transport",
      "sse-only",
    ]);
    assert.ok(c.inspector.command.includes(`--cli ${sse} --transport sse `));
    assert.ok(c.python.code.includes(`sse_client(${JSON.stringify(sse)}, headers=`));

    const ws = expectStatus(
      await admin("PATCH", `/gateways/${gw.id}`, { configuration: { transport: "websocket" } }),
      200,
    ).body.clients;
    assert.deepEqual([ws.transport, ws.url], ["http", `${s.url}/mcp/default/streams`]);
  });
});

Deno.test("behind a public URL the configurations use it, and plain http elsewhere gets --allow-http", async () => {
  await withServer(async (s) => {
    const c = (await create(client(s, s.adminKey), "/gateways", gatewayBody("/t"))).clients;
    const url = "https://gw.example.com/base/mcp/default/t";
    for (const u of configuredUrls(c)) assert.equal(u, url);
    assert.ok(!c.claudeDesktop.config.mcpServers.t.args.includes("--allow-http"));
  }, { publicUrl: "https://gw.example.com/base" });
  await withServer(async (s) => {
    const c = (await create(client(s, s.adminKey), "/gateways", gatewayBody("/t"))).clients;
    assert.deepEqual(c.claudeDesktop.config.mcpServers.t.args.slice(2, 4), [
      "http://gatehouse.internal:8787/mcp/default/t",
      "--allow-http",
    ]);
  }, { publicUrl: "http://gatehouse.internal:8787" });
});

/**
 * Starts the Claude Desktop configuration's command exactly as the client
 * would (command, args, env), with `key` put in place of the placeholder,
 * and connects the SDK's stdio client to it.
 */
async function runClaudeDesktopConfig(
  server: Json,
  key: string,
  home: string,
): Promise<Client> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: home,
    // mcp-remote keeps its state here; a fresh folder per test keeps runs apart.
    MCP_REMOTE_CONFIG_DIR: `${home}/.mcp-auth`,
  };
  // npm's cache stays the machine's, as a user's own would: under the fresh HOME npx fetched
  // mcp-remote and its dependencies anew on every start, 30 s each on a busy machine.
  const cache = Deno.env.get("npm_config_cache") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.npm` : undefined);
  if (cache) env.npm_config_cache = cache;
  for (const [name, value] of Object.entries(server.env ?? {})) {
    env[name] = String(value).replace(KEY_PLACEHOLDER, key);
  }
  const transport = new StdioClientTransport({
    command: server.command,
    args: server.args,
    env,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const mcp = new Client({ name: "claude-desktop-config-test", version: "1.0.0" });
  try {
    await mcp.connect(transport);
  } catch (e) {
    throw new Error(`mcp-remote did not connect: ${e}\n--- its stderr\n${stderr}`);
  }
  return mcp;
}

async function haveNpx(): Promise<boolean> {
  const { code } = await new Deno.Command("bash", {
    args: ["-c", "command -v npx"],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/** Lists and calls the gateway's `echo` tool through its Claude Desktop configuration. */
async function claudeDesktopRoundTrip(s: McpTestServer, transport: "http" | "sse") {
  const gw = await createGateway(s, { tools: [{ name: "echo", description: "Echoes" }] });
  const admin = client(s, s.adminKey);
  if (transport === "sse") {
    expectStatus(
      await admin("PATCH", `/gateways/${gw.id}`, { configuration: { transport: "sse" } }),
      200,
    );
  }
  const clients = (await admin("GET", `/gateways/${gw.id}`)).body.clients;
  const [server] = Object.values(clients.claudeDesktop.config.mcpServers) as Json[];
  const home = await Deno.makeTempDir({ prefix: "gatehouse-claude-desktop-" });
  try {
    const mcp = await runClaudeDesktopConfig(server, gw.key, home);
    try {
      const { tools } = await mcp.listTools();
      assert.deepEqual(tools.map((t: { name: string }) => t.name), ["echo"]);
      const result = await mcp.callTool({ name: "echo", arguments: { text: "hi" } });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.deepEqual(s.executor.calls.map((c) => c.args), [{ text: "hi" }]);
    } finally {
      await mcp.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    `the Claude Desktop configuration runs as written: mcp-remote ${MCP_REMOTE_VERSION} lists and calls tools`,
  // npx may fetch mcp-remote from the npm registry on a first run.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert.ok(await haveNpx(), "this test runs mcp-remote with npx: install Node.js");
    await withMcpServer((s) => claudeDesktopRoundTrip(s, "http"));
    await withMcpServer((s) => claudeDesktopRoundTrip(s, "sse"));
  },
});

/** The Claude Code release the test runs as `claude` (the newest that runs on Node.js 20). */
const CLAUDE_CODE_VERSION = "2.1.197";
/** The Inspector release the test runs, and the Node.js it needs (22.19 or later), from npm. */
const INSPECTOR_VERSION = "2.12.0";
const NODE_22 = "22.23.3";

/** Runs `command` with bash in `cwd` with `env`; fails with its output unless it exits 0. */
async function sh(command: string, cwd: string, env: Record<string, string>): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", command],
    cwd,
    env,
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(
    code,
    0,
    `${command}\n--- stdout\n${out}\n--- stderr\n${new TextDecoder().decode(stderr)}`,
  );
  return out;
}

Deno.test({
  name: `the Claude Code command adds a server that claude ${CLAUDE_CODE_VERSION} connects to`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert.ok(await haveNpx(), "this test runs Claude Code with npx: install Node.js");
    await withMcpServer(async (s) => {
      const admin = client(s, s.adminKey);
      const gw = await createGateway(s, { tools: [{ name: "echo" }] });
      const sse = await createGateway(s, { tools: [{ id: gw.toolIds.echo, name: "echo" }] });
      expectStatus(
        await admin("PATCH", `/gateways/${sse.id}`, { configuration: { transport: "sse" } }),
        200,
      );
      const home = await Deno.makeTempDir({ prefix: "gatehouse-claude-code-" });
      try {
        // `claude` on PATH is the pinned release; nothing but the MCP servers is contacted.
        await Deno.mkdir(`${home}/bin`);
        await Deno.writeTextFile(
          `${home}/bin/claude`,
          `#!/bin/sh\nexec npx -y @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} "$@"\n`,
          { mode: 0o755 },
        );
        const env = {
          PATH: `${home}/bin:${Deno.env.get("PATH") ?? ""}`,
          HOME: home,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          DISABLE_AUTOUPDATER: "1",
          DISABLE_TELEMETRY: "1",
          DISABLE_ERROR_REPORTING: "1",
        };
        const rows: string[] = [];
        for (const [g, kind] of [[gw, "HTTP"], [sse, "SSE"]] as const) {
          const clients = (await admin("GET", `/gateways/${g.id}`)).body.clients;
          await sh(clients.claudeCode.command.replace(KEY_PLACEHOLDER, g.key), home, env);
          rows.push(`${g.endpoint.slice(1)}: ${clients.url} (${kind}) - ✔ Connected`);
        }
        const listed = await sh("claude mcp list", home, env);
        for (const row of rows) assert.ok(listed.includes(row), `no '${row}' in:\n${listed}`);

        // With its key revoked, the same configuration no longer connects.
        expectStatus(await admin("DELETE", `/gateways/${gw.id}/keys/${gw.keyId}`), 200);
        const after = await sh("claude mcp list", home, env);
        assert.ok(after.includes(`${gw.endpoint.slice(1)}: `) && after.includes("✘"), after);
        assert.ok(after.includes(rows[1]), after);
      } finally {
        await Deno.remove(home, { recursive: true }).catch(() => {});
      }
    });
  },
});

Deno.test({
  name:
    `the Inspector command lists the tools (Inspector ${INSPECTOR_VERSION}, Node.js ${NODE_22})`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert.ok(await haveNpx(), "this test runs the Inspector with npx: install Node.js");
    const home = await Deno.makeTempDir({ prefix: "gatehouse-inspector-" });
    try {
      const env = { PATH: Deno.env.get("PATH") ?? "", HOME: home };
      // Node.js 22 comes from npm's `node` package, which ships the binary.
      const node = (await sh(
        `npx -y node@${NODE_22} -e 'console.log(process.execPath)'`,
        home,
        env,
      )).trim();
      const node22 = { ...env, PATH: `${node.slice(0, node.lastIndexOf("/"))}:${env.PATH}` };
      await withMcpServer(async (s) => {
        const gw = await createGateway(s, { tools: [{ name: "echo" }] });
        const clients = (await client(s, s.adminKey)("GET", `/gateways/${gw.id}`)).body.clients;
        const command = clients.inspector.command
          .replace(
            "@modelcontextprotocol/inspector ",
            `@modelcontextprotocol/inspector@${INSPECTOR_VERSION} `,
          )
          .replace(KEY_PLACEHOLDER, gw.key);
        const listed = JSON.parse(await sh(command, home, node22));
        assert.deepEqual(listed.tools.map((t: { name: string }) => t.name), ["echo"]);
      });
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
