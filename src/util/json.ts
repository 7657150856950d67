/**
 * Small facts about parsed JSON values that many modules need.
 *
 * @module
 */

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * True when `value` nests objects or lists more than `max` levels deep.
 * Iterative on purpose: the point is to refuse input that would overflow
 * the stack of recursive walks.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Deepest nesting of objects and lists a request may carry, on the management
 * API and the MCP transports alike. Validation, storage and schema checks
 * recurse through values; far deeper input would overflow the stack there.
 * Real tool schemas and arguments stay far below this.
 */
export const MAX_JSON_DEPTH = 64;

/** Why a parsed JSON value cannot be used, naming where: too deep, or invalid Unicode. */
export type JsonProblem =
  | { kind: "deep"; max: number }
  | { kind: "unicode"; path: string };

/**
 * The first problem of `value`: nesting past `max` levels, or a string or key
 * that is not well-formed Unicode (a lone surrogate such as `"\ud800"`, which
 * JSON allows but no URL, header or UTF-8 body can carry). `path` names the
 * spot from `root`, e.g. `arguments.a[2]`. Iterative, like {@link nestedDeeperThan}.
 */
export function jsonProblem(value: unknown, max: number, root = ""): JsonProblem | undefined {
  const stack: [unknown, number, string][] = [[value, 1, root]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v === "string") {
      if (!v.isWellFormed()) return { kind: "unicode", path };
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth > max) return { kind: "deep", max };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], depth + 1, `${path}[${i}]`]);
      continue;
    }
    for (const [k, child] of Object.entries(v)) {
      const at = path ? `${path}.${k}` : k;
      if (!k.isWellFormed()) return { kind: "unicode", path: at.toWellFormed() };
      stack.push([child, depth + 1, at]);
    }
  }
  return undefined;
}

/**
 * `value` as JSON with object keys sorted at every level, so that two equal
 * values give the same text whatever order their keys came in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (!isObject(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = v[k];
    return sorted;
  });
}

const encoder = new TextEncoder();

/** Up to this many UTF-16 units a count in JS beats encoding (which allocates the bytes). */
const COUNTED = 256;

/** The length of `text` in UTF-8, the bytes it takes on the wire (JSON sizes are counted so). */
export function utf8Length(text: string): number {
  if (text.length > COUNTED) return encoder.encode(text).byteLength;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
      continue;
    }
    bytes += 2;
    // A surrogate pair is one code point of 4 bytes; a lone surrogate becomes U+FFFD, 3 bytes.
    const low = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) i++;
  }
  return bytes;
}
