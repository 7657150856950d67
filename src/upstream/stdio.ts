/**
 * The stdio transport: Gatehouse starts the server's command and speaks
 * newline-delimited JSON-RPC over its stdin and stdout; stderr goes to a
 * log sink. The process runs in its own process group (via `setsid` when
 * the host has it) so that ending it ends every child it started too.
 *
 * Written here rather than taken from the SDK, whose stdio transport
 * spawns through Node's `child_process` and kills only the direct child.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** What to start. */
export interface StdioCommand {
  command: string;
  args: readonly string[];
  /** The whole environment of the process (Gatehouse's own is not inherited). */
  env: Record<string, string>;
  cwd?: string;
}

/** How long a process gets to exit after SIGTERM before its group is killed. */
const TERM_GRACE_MS = 2000;
/** A stdout line longer than this ends the process: no JSON-RPC message is that large. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

let setsidPath: string | undefined | null = null;

/** Where `setsid` is, or undefined when the host has none (looked up once). */
function findSetsid(): string | undefined {
  if (setsidPath !== null) return setsidPath;
  setsidPath = undefined;
  for (const dir of ["/usr/bin", "/bin", "/usr/local/bin"]) {
    try {
      if (Deno.statSync(`${dir}/setsid`).isFile) return setsidPath = `${dir}/setsid`;
    } catch {
      // Not in this folder.
    }
  }
  return setsidPath;
}

function signalGroup(pid: number, grouped: boolean, signal: Deno.Signal): void {
  try {
    // A negative pid signals the whole process group the server leads.
    Deno.kill(grouped ? -pid : pid, signal);
  } catch {
    // Already gone.
  }
}

/** A stdio server process as an SDK transport. */
export class StdioTransport implements Transport {
  readonly #cmd: StdioCommand;
  readonly #stderr: (text: string) => void;
  #child?: Deno.ChildProcess;
  #grouped = false;
  #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #closing = false;
  #closed = false;
  #exited?: Promise<void>;
  /** How the process ended, once it has. */
  #exitReason?: string;

  /** Called with each message the server writes. */
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called when the server writes something that is not JSON-RPC, or exits. */
  onerror?: (error: Error) => void;
  /** Called once when the process has ended. */
  onclose?: () => void;

  /** A transport that will run `cmd`, passing its stderr text to `stderr`. */
  constructor(cmd: StdioCommand, stderr: (text: string) => void) {
    this.#cmd = cmd;
    this.#stderr = stderr;
  }

  /** The process id, once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the process; rejects when the command cannot be run at all. */
  start(): Promise<void> {
    const setsid = findSetsid();
    this.#grouped = setsid !== undefined;
    const command = new Deno.Command(setsid ?? this.#cmd.command, {
      args: setsid ? [this.#cmd.command, ...this.#cmd.args] : [...this.#cmd.args],
      env: this.#cmd.env,
      clearEnv: true,
      ...(this.#cmd.cwd ? { cwd: this.#cmd.cwd } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
    try {
      this.#child = command.spawn();
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? `command '${this.#cmd.command}' or folder '${this.#cmd.cwd ?? "."}' not found`
        : `could not start '${this.#cmd.command}': ${(err as Error).message}`;
      return Promise.reject(new Error(why));
    }
    const child = this.#child;
    this.#writer = child.stdin.getWriter();
    const out = this.#readStdout(child.stdout);
    const err = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (text) => this.#stderr(text) }),
    ).catch(() => {});
    this.#exited = child.status.then(async (status) => {
      // Children that outlived the leader (it may have been killed alone) go with it, and
      // before the pipes are drained: a child holding them open would keep them so.
      signalGroup(child.pid, this.#grouped, "SIGKILL");
      await Promise.all([out, err]);
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      this.#exitReason = `the server process ${how}`;
      if (!this.#closing) this.onerror?.(new Error(this.#exitReason));
      this.#closed = true;
      this.onclose?.();
    });
    return Promise.resolve();
  }

  async #readStdout(stdout: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    try {
      for await (const text of stdout.pipeThrough(new TextDecoderStream())) {
        buffer += text;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== "") this.#deliver(line);
        }
        if (buffer.length > MAX_LINE_CHARS) {
          this.onerror?.(new Error("the server wrote a line of more than 16 MiB to stdout"));
          void this.close();
          return;
        }
      }
    } catch {
      // The pipe closed with the process; the exit is reported by `status`.
    }
  }

  #deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.onerror?.(new Error("the server wrote a line to stdout that is not JSON"));
      return;
    }
    if (typeof message === "object" && message !== null && !Array.isArray(message)) {
      this.onmessage?.(message as JSONRPCMessage);
    }
  }

  /** Writes one message as a line to the server's stdin. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#writer || this.#closed) {
      throw new Error(this.#exitReason ?? "the server process is not running");
    }
    try {
      await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
    } catch (err) {
      // A broken pipe means the process is gone: say how it ended, which a user can act on.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => timer = setTimeout(resolve, 1000));
      await Promise.race([this.#exited, grace]);
      clearTimeout(timer);
      throw new Error(
        this.#exitReason ?? `could not write to the server: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Ends the process and its children: stdin closed and SIGTERM to the
   * group, then SIGKILL to the group if it has not exited within a grace period.
   */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || this.#closing) {
      await this.#exited;
      return;
    }
    this.#closing = true;
    await this.#writer?.close().catch(() => {});
    signalGroup(child.pid, this.#grouped, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signalGroup(child.pid, this.#grouped, "SIGKILL");
        resolve();
      }, TERM_GRACE_MS);
    });
    await Promise.race([this.#exited, grace]);
    clearTimeout(timer);
    await this.#exited;
  }
}
