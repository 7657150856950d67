/**
 * `deno task compile`: builds `./gatehouse`, one executable of the server
 * (`src/main.ts`) with the permissions it needs, and the modules it starts
 * as workers (which `deno compile` does not find by itself: they are loaded
 * by URL at run time, not imported).
 *
 * `deno compile` downloads the Deno runtime (`denort`) for the target on first
 * use. Offline, set `DENORT_BIN` to a `denort` binary of the same Deno
 * version; `deno compile` reads that variable itself, and this script passes
 * it through.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const OUTPUT = `${ROOT}gatehouse`;
/** What the server may do; `setPriority` lets the import worker lower its own priority. */
export const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys=setPriority",
];
/** Modules started as workers, relative to the repository (each `new URL(..., import.meta.url)` in `src/`). */
export const WORKERS = ["src/openapi/import_worker.ts", "src/telemetry/request_log_worker.ts"];

const denortHint = (version: string) =>
  [
    "",
    "gatehouse compile: deno compile could not get the Deno runtime (denort) it builds on.",
    "It downloads it from dl.deno.land the first time; without internet access, fetch",
    `denort-<target>.zip of Deno ${version} (https://dl.deno.land/release/v${version}/) on`,
    "another machine, unzip it, and run:",
    "",
    "  DENORT_BIN=/path/to/denort deno task compile",
  ].join("\n");

async function main(): Promise<number> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      if (!(await Deno.stat(denort)).isFile) throw new Error("not a file");
    } catch {
      console.error(`gatehouse compile: DENORT_BIN is '${denort}', which is not a file.`);
      return 1;
    }
    console.error(`gatehouse compile: using the runtime in DENORT_BIN (${denort})`);
  }
  const includes = WORKERS.flatMap((w) => ["--include", `${ROOT}${w}`]);
  // Only the npm packages the server reaches: the lockfile also holds test-only ones, among them
  // the APIs.guru directory (407 MB), which would otherwise be embedded too.
  const args = [
    "compile",
    ...PERMISSIONS,
    ...includes,
    "--exclude-unused-npm",
    "--output",
    OUTPUT,
    `${ROOT}src/main.ts`,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    // The whole environment is inherited; DENORT_BIN is named to make the hand-over explicit.
    env: denort ? { DENORT_BIN: denort } : {},
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  // Shown as it comes, and kept to recognise a failed runtime download.
  let errors = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    errors += decoder.decode(chunk, { stream: true });
    await Deno.stderr.write(chunk);
  }
  const { code } = await child.status;
  if (code !== 0) {
    if (!denort && /denort|dl\.deno\.land|download/i.test(errors)) {
      console.error(denortHint(Deno.version.deno));
    }
    return code;
  }
  console.log(`gatehouse compile: wrote ${OUTPUT} (run it with the same flags as deno task start)`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
