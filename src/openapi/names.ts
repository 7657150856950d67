/**
 * Names generated for imported operations: tool names (from the operationId,
 * else method and path) and argument names, made valid, short and unique.
 *
 * @module
 */

/**
 * Longest generated tool name. MCP allows 128 characters, but several model
 * APIs refuse function names over 64, so imported tools stay within that.
 */
export const MAX_TOOL_NAME = 64;

/** Longest argument (inputSchema property) name; model APIs refuse longer ones. */
export const MAX_ARG_NAME = 64;

/** FNV-1a, 32 bits, as 8 hex digits: a short stable tag that keeps truncated names apart. */
function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** `s` cut to `max` characters; a cut one ends in a hash of the whole, so two long names stay distinct. */
function fit(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max - 9).replace(/[_.-]+$/, "")}_${shortHash(s)}`;
}

/**
 * The tool name an operation asks for before uniqueness: its operationId
 * with characters outside `[A-Za-z0-9_.-]` replaced, else `method_path`
 * (`get_pets_petId`), at most {@link MAX_TOOL_NAME} characters.
 */
export function baseToolName(
  operationId: string | undefined,
  method: string,
  path: string,
): string {
  const source = operationId?.trim() ? operationId.trim() : `${method.toLowerCase()}_${path}`;
  const cleaned = source.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/_{2,}/g, "_")
    .replace(/^[_.-]+|[_.-]+$/g, "");
  return fit(cleaned || `${method.toLowerCase()}_root`, MAX_TOOL_NAME);
}

/** True when `name` is `base` or `base` with a numeric suffix this module would have added. */
export function isNameFor(name: string, base: string): boolean {
  if (name === base) return true;
  const m = /^(.*)_(\d+)$/.exec(name);
  return m !== null && base.startsWith(m[1]) && uniqueName(base, new Set(), Number(m[2])) === name;
}

/**
 * `base`, or `base_2`, `base_3`... (the base shortened to keep within
 * {@link MAX_TOOL_NAME}), whichever is not in `taken`. With `from`, starts at
 * that suffix.
 */
export function uniqueName(base: string, taken: ReadonlySet<string>, from = 1): string {
  for (let n = from;; n++) {
    const suffix = n === 1 ? "" : `_${n}`;
    const name = base.length + suffix.length <= MAX_TOOL_NAME
      ? base + suffix
      : base.slice(0, MAX_TOOL_NAME - suffix.length) + suffix;
    if (!taken.has(name)) return name;
  }
}

/** Symbols that name a comparison in query parameters (`StartTime<` in Twilio's API). */
const COMPARISONS: [RegExp, string][] = [
  [/<=/g, "_lte"],
  [/>=/g, "_gte"],
  [/</g, "_lt"],
  [/>/g, "_gt"],
];

/**
 * An argument name for a parameter called `wire` on the wire: letters,
 * digits, `_` and `-`, starting with a letter or `_` (so it can appear in a
 * `{{parameters.NAME}}` template), unique among `taken` (which it joins).
 */
export function argName(wire: string, taken: Set<string>): string {
  let s = wire;
  for (const [re, word] of COMPARISONS) s = s.replace(re, word);
  let t = s.replace(/[^A-Za-z0-9_-]+/g, "_");
  // Underscores that only stand for dropped characters at either end are noise.
  if (!s.startsWith("_")) t = t.replace(/^_+/, "");
  if (!s.endsWith("_")) t = t.replace(/_+$/, "");
  s = t === "" ? "param" : t;
  if (!/^[A-Za-z_]/.test(s)) s = `_${s}`;
  s = fit(s, MAX_ARG_NAME);
  let name = s;
  for (let n = 2; taken.has(name); n++) {
    const suffix = `_${n}`;
    name = s.slice(0, MAX_ARG_NAME - suffix.length) + suffix;
  }
  taken.add(name);
  return name;
}
