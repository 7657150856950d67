/**
 * `deno compile` embeds only the modules imported from `src/main.ts` and
 * those named with `--include`. A worker module is loaded by URL when the
 * worker starts, so a compiled binary without it fails on its first use: every
 * module `src/` starts that way must be in `WORKERS` of `scripts/compile.ts`.
 */
import assert from "node:assert/strict";
import { WORKERS } from "../../scripts/compile.ts";

const ROOT = new URL("../../", import.meta.url);

async function* sources(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* sources(url);
    else if (e.name.endsWith(".ts")) yield url;
  }
}

Deno.test("every module src/ loads by URL is embedded by deno task compile", async () => {
  const loaded: string[] = [];
  for await (const file of sources(new URL("src/", ROOT))) {
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/new URL\("(\.{1,2}\/[^"]+\.ts)", import\.meta\.url\)/g)) {
      loaded.push(new URL(m[1], file).pathname.slice(ROOT.pathname.length));
    }
  }
  assert.ok(loaded.includes("src/openapi/import_worker.ts"), loaded.join(", "));
  assert.deepEqual(loaded.filter((m) => !WORKERS.includes(m)), []);
});
