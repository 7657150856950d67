/**
 * Reading the Prometheus text format back in tests, and scraping a
 * running server's `/metrics` into samples.
 *
 * @module
 */
import assert from "node:assert/strict";

/** One sample line: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;

/** The samples of exposition `text` (comment lines skipped), label values unescaped. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(LABEL)) {
      labels[k] = v.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** The samples named `name` whose labels include `match`. */
export function samples(all: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return all.filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
  );
}

/** The sum of the samples named `name` whose labels include `match` (0 when none). */
export function total(all: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples(all, name, match).reduce((n, s) => n + s.value, 0);
}

/** `GET /metrics` of `base` with `Authorization: Bearer <key>`; the raw response. */
export function fetchMetrics(base: string, key?: string): Promise<Response> {
  return fetch(`${base}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
}

/** The text of `GET /metrics` with `key`, after checking it answered 200 in the text format. */
export async function scrapeText(base: string, key: string): Promise<string> {
  const res = await fetchMetrics(base, key);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return text;
}

/** The samples of `GET /metrics` with `key`. */
export async function scrape(base: string, key: string): Promise<Sample[]> {
  return parseSamples(await scrapeText(base, key));
}

/** Runs `promtool check metrics` on `text`; fails with a clear message when it is not installed. */
export async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string }> {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new Error(
      "promtool is not installed: install Debian's prometheus package (apt-get install -y " +
        "prometheus), as .ci/run does",
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  const dec = new TextDecoder();
  return { ok: success, output: dec.decode(stdout) + dec.decode(stderr) };
}
