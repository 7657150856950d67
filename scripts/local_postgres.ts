/**
 * A throwaway PostgreSQL server on this machine, for the tests and the
 * bench: Debian's `postgresql` package (or `initdb` on PATH), started in a
 * temporary data folder (trust authentication, listening on 127.0.0.1 only,
 * its Unix socket in that folder) and stopped, its folder removed, when this
 * process ends, even if it dies without running its unload handlers.
 *
 * @module
 */
import postgres from "postgres";

/** A running local server. */
export interface LocalPostgres {
  /** Its TCP port on 127.0.0.1 (kept across {@link stop} and {@link start}). */
  readonly port: number;
  /** The `postgres://` URL of database `name`. */
  url(name: string): string;
  /** Creates an empty database (or a copy of database `template`) and answers its URL. */
  createDatabase(template?: string): Promise<string>;
  /** Stops the server (fast shutdown: open sessions are ended, as by an operator). */
  stop(): Promise<void>;
  /** Starts it again on the same data folder and port. */
  start(): Promise<void>;
}

/** Whether PostgreSQL's server programs are installed here. */
export function postgresInstalled(): boolean {
  try {
    binDir();
    return true;
  } catch {
    return false;
  }
}

/** The folder holding `initdb` and `pg_ctl`: the newest under Debian's layout, else PATH. */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  try {
    const versions = [...Deno.readDirSync(root)].map((e) => e.name).filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `${root}/${v}/bin`;
      if (isFile(`${dir}/initdb`)) return dir;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && isFile(`${dir}/initdb`)) return dir;
  }
  throw new Error("PostgreSQL is not installed: no initdb (apt-get install postgresql)");
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root: then its commands run as the `postgres` user. */
const AS_ROOT = Deno.uid() === 0;

function command(program: string, args: string[]): Deno.Command {
  return AS_ROOT
    ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", program, ...args] })
    : new Deno.Command(program, { args });
}

async function run(program: string, args: string[]): Promise<void> {
  const out = await command(program, args).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${program} ${args[0]} failed (${out.code}): ${text.trim()}`);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function ownerIds(): { uid: number; gid: number } {
  const id = (flag: string) => {
    const out = new Deno.Command("id", { args: [flag, "postgres"] }).outputSync();
    if (!out.success) throw new Error("running as root needs the 'postgres' user to exist");
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}

/** How a local server runs. */
export interface LocalPostgresOptions {
  /**
   * `false` turns off fsync and synchronous commits: nothing waits on the
   * disk, and a crash of the machine (not of a client) may lose the data.
   * For throwaway test databases; the default is PostgreSQL's own.
   */
  durable?: boolean;
}

/**
 * Creates a database on the server whose maintenance database `postgres` is
 * at `adminUrl`: empty, or a copy of database `template` (which nobody may be
 * connected to). Answers its URL; the name is random, as test modules running
 * in parallel share a process id.
 */
export async function createDatabase(adminUrl: string, template?: string): Promise<string> {
  const name = `t${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(
      `CREATE DATABASE ${name}${template ? ` TEMPLATE "${template}" STRATEGY FILE_COPY` : ""}`,
    );
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Initialises and starts a server of this process's own. */
export async function startLocalPostgres(
  options: LocalPostgresOptions = {},
): Promise<LocalPostgres> {
  const bin = binDir();
  const folder = await Deno.makeTempDir({ prefix: "gatehouse-pg-" });
  if (AS_ROOT) {
    const { uid, gid } = ownerIds();
    await Deno.chown(folder, uid, gid);
  }
  const data = `${folder}/data`;
  // ICU's root locale: lower() folds all of Unicode (as JavaScript does), and the default
  // collation sorts linguistically, so a column that forgets COLLATE "C" shows in the tests.
  await run(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "--locale-provider=icu",
    "--icu-locale=und",
    "--no-sync",
  ]);
  let port = 0;
  const start = async () =>
    await run(`${bin}/pg_ctl`, [
      "start",
      "-D",
      data,
      "-w",
      "-l",
      `${folder}/server.log`,
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${folder}${
        options.durable === false ? " -c fsync=off -c synchronous_commit=off" : ""
      }`,
    ]);
  const stopNow = (mode: string) =>
    command(`${bin}/pg_ctl`, ["stop", "-D", data, "-m", mode, "-w"]).outputSync();
  // A port taken between choosing and binding makes the start fail: choose again.
  for (let attempt = 1;; attempt++) {
    port = freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  watch(bin, data, folder);
  globalThis.addEventListener("unload", () => {
    stopNow("immediate");
    Deno.removeSync(folder, { recursive: true });
  });
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  return {
    port,
    url,
    createDatabase: (template) => createDatabase(url("postgres"), template),
    async stop() {
      await run(`${bin}/pg_ctl`, ["stop", "-D", data, "-m", "fast", "-w"]);
    },
    start,
  };
}

/**
 * Stops the server and removes its folder once this process is gone, even
 * if it died without running its unload handlers (a crash, a kill).
 */
function watch(bin: string, data: string, folder: string): void {
  const stop = AS_ROOT
    ? `runuser -u postgres -- ${bin}/pg_ctl stop -D ${data} -m immediate`
    : `${bin}/pg_ctl stop -D ${data} -m immediate`;
  // It also ends once the folder is gone (the unload handler got there first).
  const script = `while kill -0 ${Deno.pid} 2>/dev/null && [ -d ${folder} ]; do sleep 2; done; ` +
    `[ -d ${folder} ] && ${stop} >/dev/null 2>&1; rm -rf ${folder}`;
  // Detached by the shell: the watcher outlives this call, and no handle of it stays open here.
  new Deno.Command("sh", {
    args: ["-c", `(${script}) </dev/null >/dev/null 2>&1 &`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).outputSync();
}
