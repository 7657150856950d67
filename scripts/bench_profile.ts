/**
 * Reads a V8 `.cpuprofile` (as written by `deno run --cpu-prof`, which
 * `deno task bench --profile 1` turns on for every Gatehouse server under
 * load) and prints where the time went: the time by source (Gatehouse's own
 * code, Hono, other npm packages, Deno's runtime, GC, idle), the time charged
 * to each Gatehouse file (its own and the runtime and library work it called,
 * so the files add up to the busy time), the top frames by self time, and
 * Gatehouse's own functions by inclusive time. Given the number of requests
 * the profile saw, every figure is also per request.
 *
 * Usage: `deno run -A scripts/bench_profile.ts FILE.cpuprofile [--top 25] [--requests N]`
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A node of a V8 CPU profile. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A V8 CPU profile (`.cpuprofile`). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from. */
export function sourceOf(url: string, name: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(idle)") return "idle";
  if (name === "(program)" || name === "(root)") return "V8 / native (program)";
  if (isOwn(url)) return "Gatehouse src/";
  if (url.includes("/hono/")) return "hono";
  if (isNpm(url)) return "other npm";
  if (url.startsWith("ext:") || url.startsWith("node:")) return "Deno runtime (ext:)";
  if (url === "") return "V8 builtins / native";
  return "other";
}

function isNpm(url: string): boolean {
  return url.includes("registry.npmjs.org") || url.includes("node_modules");
}

/** True for Gatehouse's own code (npm packages have `src/` folders too). */
export function isOwn(url: string): boolean {
  return url.includes("/src/") && !isNpm(url);
}

function shortUrl(url: string): string {
  const npm = url.indexOf("registry.npmjs.org/");
  if (npm >= 0) return url.slice(npm + "registry.npmjs.org/".length);
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  return url;
}

/** Self time per node id, in microseconds. */
export function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // Each delta is the time before sample i; attribute it to the sample it precedes.
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  return self;
}

/** Where busy samples with no Gatehouse frame on their stack are charged. */
export const OUTSIDE = "(no Gatehouse frame: the runtime serving, I/O callbacks, timers)";

/** One printed row. */
export interface Row {
  key: string;
  us: number;
}

/** The profile's analysis: frames by self time, sources, and src/ functions by inclusive time. */
export function analyze(p: CpuProfile): {
  busyUs: number;
  totalUs: number;
  frames: Row[];
  sources: Row[];
  inclusive: Row[];
  charged: Row[];
} {
  const self = selfTimes(p);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const keyOf = (n: ProfileNode) => {
    const f = n.callFrame;
    return `${f.functionName || "(anonymous)"}  ${shortUrl(f.url)}${
      f.url ? `:${f.lineNumber + 1}` : ""
    }`;
  };
  const frames = new Map<string, number>();
  const sources = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    totalUs += us;
    if (n.callFrame.functionName === "(idle)") idleUs += us;
    frames.set(keyOf(n), (frames.get(keyOf(n)) ?? 0) + us);
    const src = sourceOf(n.callFrame.url, n.callFrame.functionName);
    sources.set(src, (sources.get(src) ?? 0) + us);
  }
  // Inclusive time of src/ functions: each sample counts once per distinct src/ frame on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      if (!isOwn(n.callFrame.url)) continue;
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  // Each busy sample is charged to the innermost Gatehouse file on its stack: the runtime and
  // library work that file asked for counts as its own, so the files' shares add up to the total.
  const charged = new Map<string, number>();
  for (const [id, us] of self) {
    const name = byId.get(id)!.callFrame.functionName;
    if (name === "(idle)") continue;
    let key = name === "(garbage collector)" ? "(garbage collector)" : OUTSIDE;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at)!.callFrame.url;
      if (isOwn(url)) {
        key = shortUrl(url);
        break;
      }
    }
    charged.set(key, (charged.get(key) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([key, us]) => ({ key, us })).sort((a, b) => b.us - a.us);
  return {
    busyUs: totalUs - idleUs,
    totalUs,
    frames: sorted(frames).filter((r) => !r.key.startsWith("(idle)")),
    sources: sorted(sources),
    inclusive: sorted(inclusive),
    charged: sorted(charged),
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string" }, requests: { type: "string" } },
    allowPositionals: true,
  });
  const top = Number(values.top ?? 25);
  // With the number of requests the profile saw, each row also says its µs per request.
  const requests = Number(values.requests ?? 0);
  for (const file of positionals) {
    const a = analyze(JSON.parse(await Deno.readTextFile(file)));
    const share = (us: number) => `${((us / a.busyUs) * 100).toFixed(1).padStart(5)}%`;
    const ms = (us: number) =>
      `${(us / 1000).toFixed(0).padStart(7)} ms${
        requests > 0 ? ` ${(us / requests).toFixed(1).padStart(6)} µs/req` : ""
      }`;
    console.log(
      `${file}\n  busy ${ms(a.busyUs)} of ${
        ms(a.totalUs)
      } sampled (shares below are of busy time)\n`,
    );
    console.log("  by source (self time):");
    for (const r of a.sources) console.log(`  ${ms(r.us)} ${share(r.us)}  ${r.key}`);
    console.log("\n  by Gatehouse file, with the runtime and library work it called:");
    for (const r of a.charged.slice(0, top)) console.log(`  ${ms(r.us)} ${share(r.us)}  ${r.key}`);
    console.log(`\n  top ${top} frames by self time:`);
    for (const r of a.frames.slice(0, top)) console.log(`  ${ms(r.us)} ${share(r.us)}  ${r.key}`);
    console.log(`\n  top ${top} Gatehouse src/ functions by inclusive time:`);
    for (const r of a.inclusive.slice(0, top)) {
      console.log(`  ${ms(r.us)} ${share(r.us)}  ${r.key}`);
    }
    console.log();
  }
}
