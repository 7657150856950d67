/**
 * Real upstream MCP servers for tests: the reference servers from npm
 * (versions pinned), run by this Deno over stdio or Streamable HTTP, and a
 * look at `/proc` to tell whether any of their processes is left.
 *
 * @module
 */
import { freePort } from "../helpers/server.ts";

/** The pinned reference servers. */
export const EVERYTHING = "npm:@modelcontextprotocol/server-everything@2026.8.31";
export const MEMORY = "npm:@modelcontextprotocol/server-memory@2026.8.31";

/**
 * What server-everything 2026.8.31 lists over stdio and Streamable HTTP to a
 * client that declares sampling, elicitation and roots, as Gatehouse's own
 * connection does (13 tools, and 4 more that use those capabilities).
 */
export const EVERYTHING_COUNTS = { tools: 17, resources: 7, prompts: 4 };
/** What server-memory 2026.8.31 lists. */
export const MEMORY_COUNTS = { tools: 9, resources: 1, prompts: 0 };

/** A folder outside the project, so the servers' `deno run` never touches its lock file. */
export const SCRATCH = Deno.makeTempDirSync({ prefix: "gatehouse-upstream-" });

/** `deno run -A <pkg> ...args`: the command and args of a stdio server. */
export function denoServer(pkg: string, ...args: string[]) {
  return { command: Deno.execPath(), args: ["run", "-A", pkg, ...args], cwd: SCRATCH };
}

/**
 * `sh -c script` where the script may end with `exec "$@"` to become
 * `deno run -A pkg`: for servers that also write to stderr or start children.
 */
export function shellThen(script: string, pkg: string) {
  return {
    command: "/bin/sh",
    args: ["-c", script, "sh", Deno.execPath(), "run", "-A", pkg],
    cwd: SCRATCH,
  };
}

/** Pids of live (not zombie) processes whose command line contains `marker`. */
export function livePids(marker: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (!cmdline.includes(marker)) continue;
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") out.push(Number(e.name));
    } catch {
      // Gone while reading.
    }
  }
  return out;
}

/** Whether process `pid` is alive (a zombie counts as ended). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Waits until `fn` returns a truthy value (checked every 50 ms), or fails after `ms`. */
export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * server-everything serving `mode` (Streamable HTTP or SSE) on `port` (a free
 * loopback one by default), until `stop`; `log` is what it wrote to stderr.
 */
export async function everythingOverHttp(
  mode: "streamableHttp" | "sse" = "streamableHttp",
  port = freePort(),
): Promise<{ url: string; port: number; log(): string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EVERYTHING, mode],
    cwd: SCRATCH,
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const pump = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (log += t) }),
  );
  await until(
    () => new RegExp(`listening|running|${port}`, "i").test(log),
    30_000,
    "server-everything to listen",
  );
  return {
    url: `http://127.0.0.1:${port}/${mode === "sse" ? "sse" : "mcp"}`,
    port,
    log: () => log,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await pump.catch(() => {});
    },
  };
}
