/**
 * Ready-to-paste configurations of the popular MCP clients for one gateway,
 * in the shape each client documents today: Claude Code's `claude mcp add`,
 * Claude Desktop through `mcp-remote` (its config file runs stdio servers
 * only), Cursor, VS Code, Windsurf, the MCP Inspector CLI and the Python SDK.
 * Built from the gateway's real URL and transport, with the credential its
 * auth methods accept written as a placeholder: never a real key.
 *
 * @module
 */

/** The `mcp-remote` release the Claude Desktop configuration runs (and the tests drive). */
export const MCP_REMOTE_VERSION = "0.15.1";

/** What the snippets send where the user's gateway key goes. */
export const KEY_PLACEHOLDER = "<gateway key>";

/** The transport the snippets use: clients speak Streamable HTTP or SSE, not WebSocket. */
export type ClientTransport = "http" | "sse";

/** The credential the snippets are written for. */
export interface ClientAuth {
  /** The auth method the snippets follow; null while the gateway has none. */
  method: string | null;
  /** The header line to send, with a placeholder; null when the client sends none. */
  header: string | null;
  /** The part of `header` the user replaces; null without a header. */
  placeholder: string | null;
  /** What to put in place of the placeholder, or how the client signs in. */
  note: string;
}

/** The gateway facts the snippets are built from. */
export interface ClientTarget {
  /** The gateway's id (the notes name its key and auth routes). */
  id: string;
  /** The server's name in client configurations, e.g. `my-tools`. */
  name: string;
  /** The gateway's Streamable HTTP and SSE URLs. */
  urls: { http: string; sse: string };
  /** The gateway's configured transport. */
  transport: string;
  /** The types of the gateway's auth methods, in the order they are tried. */
  methodTypes: readonly string[];
}

/** How to get a key for gateway `id`. */
const keyNote = (id: string) =>
  `replace ${KEY_PLACEHOLDER} with a gateway key (ghk_...) from POST /gateways/${id}/keys; ` +
  "it is shown once, when it is made";

/**
 * The credential for a gateway with these auth methods. A gateway key is
 * preferred where one is accepted (the fewest steps for a user); OAuth and
 * `none` need no header, since the client signs in or needs nothing.
 */
export function clientAuth(gatewayId: string, methodTypes: readonly string[]): ClientAuth {
  const has = (type: string) => methodTypes.includes(type);
  const header = (method: string, value: string, placeholder: string, note: string) => ({
    method,
    header: `Authorization: ${value}`,
    placeholder,
    note,
  });
  if (methodTypes.length === 0) {
    return {
      ...header("api_key", `Bearer ${KEY_PLACEHOLDER}`, KEY_PLACEHOLDER, keyNote(gatewayId)),
      method: null,
      note: "the gateway has no auth method yet, so it refuses every MCP request: add one " +
        `with POST /gateways/${gatewayId}/auth (e.g. {"type": "api_key"}), then ` +
        keyNote(gatewayId),
    };
  }
  for (const type of ["api_key", "bearer"]) {
    if (has(type)) {
      return header(type, `Bearer ${KEY_PLACEHOLDER}`, KEY_PLACEHOLDER, keyNote(gatewayId));
    }
  }
  if (has("basic")) {
    const placeholder = "<base64 of email:password>";
    return header(
      "basic",
      `Basic ${placeholder}`,
      placeholder,
      `replace ${placeholder} with the base64 encoding of a member's email and password, ` +
        "joined by ':' (printf '%s' 'email:password' | base64)",
    );
  }
  if (has("jwt")) {
    const placeholder = "<token>";
    return header(
      "jwt",
      `Bearer ${placeholder}`,
      placeholder,
      `replace ${placeholder} with a token (JWT) from your identity provider`,
    );
  }
  if (has("oauth2")) {
    return {
      method: "oauth2",
      header: null,
      placeholder: null,
      note: "no header: the client finds the gateway's authorization server and opens a " +
        "sign-in page for a member of the organization",
    };
  }
  return {
    method: methodTypes[0],
    header: null,
    placeholder: null,
    note: "no header: the gateway accepts requests without credentials",
  };
}

/** `value` quoted for a POSIX shell: single quotes, with embedded ones escaped. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Whether `url` is plain http to somewhere other than this machine (mcp-remote wants a flag). */
function remotePlainHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && !["localhost", "127.0.0.1"].includes(hostname);
}

/** A header line's name and value. */
function splitHeader(line: string): [string, string] {
  const colon = line.indexOf(":");
  return [line.slice(0, colon), line.slice(colon + 1).trim()];
}

/** The `headers` member of a JSON configuration, or nothing without a header. */
function headersOf(line: string | null) {
  if (!line) return {};
  const [name, value] = splitHeader(line);
  return { headers: { [name]: value } };
}

/** The environment variable Claude Desktop hands to mcp-remote (spaces stay out of `args`). */
const AUTH_ENV = "AUTH_HEADER";
/** The VS Code input that prompts for the credential instead of storing it in the file. */
const VSCODE_INPUT = "gatehouse-credential";

function claudeDesktop(t: ClientTarget, transport: ClientTransport, url: string, auth: ClientAuth) {
  const args = ["-y", `mcp-remote@${MCP_REMOTE_VERSION}`, url];
  if (remotePlainHttp(url)) args.push("--allow-http");
  if (transport === "sse") args.push("--transport", "sse-only");
  const server: Record<string, unknown> = { command: "npx", args };
  if (auth.header) {
    // mcp-remote expands ${AUTH_HEADER} itself; no space in args, which some clients split on.
    const [name, value] = splitHeader(auth.header);
    args.push("--header", `${name}:\${${AUTH_ENV}}`);
    server.env = { [AUTH_ENV]: value };
  }
  return { mcpServers: { [t.name]: server } };
}

function pythonCode(transport: ClientTransport, url: string, auth: ClientAuth): string {
  const [name, value] = auth.header ? splitHeader(auth.header) : [];
  const headers = name ? `{${JSON.stringify(name)}: ${JSON.stringify(value)}}` : "{}";
  if (transport === "sse") {
    return [
      "# pip install 'mcp>=2'",
      "import asyncio",
      "from mcp import Client",
      "from mcp.client.sse import sse_client",
      "",
      "async def main() -> None:",
      `    async with Client(sse_client(${JSON.stringify(url)}, headers=${headers})) as client:`,
      "        print([tool.name for tool in (await client.list_tools()).tools])",
      "",
      "asyncio.run(main())",
      "",
    ].join("\n");
  }
  return [
    "# pip install 'mcp>=2'",
    "import asyncio",
    "import httpx2",
    "from mcp import Client",
    "from mcp.client.streamable_http import streamable_http_client",
    "",
    "async def main() -> None:",
    "    async with httpx2.AsyncClient(",
    `        headers=${headers},`,
    "        timeout=httpx2.Timeout(30.0, read=300.0),",
    "        follow_redirects=True,",
    "    ) as http:",
    `        transport = streamable_http_client(${JSON.stringify(url)}, http_client=http)`,
    "        async with Client(transport) as client:",
    "            print([tool.name for tool in (await client.list_tools()).tools])",
    "",
    "asyncio.run(main())",
    "",
  ].join("\n");
}

/**
 * Every client's configuration for `t`. SSE gateways get the SSE forms;
 * HTTP and WebSocket gateways the Streamable HTTP ones (every transport is
 * served, and none of these clients speaks WebSocket).
 */
export function clientConfigs(t: ClientTarget) {
  const transport: ClientTransport = t.transport === "sse" ? "sse" : "http";
  const url = transport === "sse" ? t.urls.sse : t.urls.http;
  const auth = clientAuth(t.id, t.methodTypes);
  const headerFlag = (flag: string) => auth.header ? ` ${flag} ${shellQuote(auth.header)}` : "";
  const vscodeHeader = auth.header && auth.placeholder
    ? auth.header.replace(auth.placeholder, `\${input:${VSCODE_INPUT}}`)
    : null;
  return {
    transport,
    url,
    auth,
    claudeCode: {
      command: `claude mcp add --transport ${transport} ${shellQuote(t.name)} ${shellQuote(url)}` +
        headerFlag("--header"),
    },
    claudeDesktop: {
      file: "claude_desktop_config.json",
      config: claudeDesktop(t, transport, url, auth),
    },
    cursor: {
      file: "~/.cursor/mcp.json",
      config: { mcpServers: { [t.name]: { url, ...headersOf(auth.header) } } },
    },
    vscode: {
      file: ".vscode/mcp.json",
      config: {
        ...(vscodeHeader
          ? {
            inputs: [{
              type: "promptString",
              id: VSCODE_INPUT,
              description: `Credential for the ${t.name} gateway`,
              password: true,
            }],
          }
          : {}),
        servers: { [t.name]: { type: transport, url, ...headersOf(vscodeHeader) } },
      },
    },
    windsurf: {
      file: "~/.codeium/windsurf/mcp_config.json",
      config: { mcpServers: { [t.name]: { serverUrl: url, ...headersOf(auth.header) } } },
    },
    inspector: {
      command: `npx -y @modelcontextprotocol/inspector --cli ${shellQuote(url)} ` +
        `--transport ${transport} --method tools/list` + headerFlag("--header"),
    },
    python: { code: pythonCode(transport, url, auth) },
  };
}

/** A gateway's client configurations as the API returns them. */
export type ClientConfigs = ReturnType<typeof clientConfigs>;
