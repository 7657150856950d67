/**
 * `{{parameters.x}}` and `{{secrets.NAME}}` templates of `http` tools,
 * compiled once per tool version and filled per call.
 *
 * Compiling splits every string into literal text and references, so a call
 * only walks a short list instead of running regular expressions over the
 * whole execution config again.
 *
 * @module
 */

/** A template reference: a (possibly dotted) parameter path, or a secret name. */
export type TemplateRef =
  | { kind: "parameters"; path: readonly string[]; name: string }
  | { kind: "secrets"; name: string };

/** One piece of a compiled string: literal text or a reference. */
export type TemplatePart = string | TemplateRef;

/** A string split into literal text and references. */
export interface CompiledString {
  parts: readonly TemplatePart[];
  /** Set when the whole string is exactly one template, so its value keeps its JSON type. */
  whole?: TemplateRef;
  /** Whether any reference is a secret (the string then needs masking in logs). */
  hasSecret: boolean;
}

/** A compiled JSON value (a request body). */
export type CompiledJson =
  | { k: "lit"; v: unknown }
  | { k: "str"; s: CompiledString }
  | { k: "arr"; items: readonly CompiledJson[] }
  | { k: "obj"; entries: readonly (readonly [string, CompiledJson])[] };

/** What templates are filled from on one call. */
export interface TemplateScope {
  args: Record<string, unknown>;
  /** Every secret the tool refers to, already resolved. */
  secrets: ReadonlyMap<string, string>;
  /** When true, secrets render as {@link SECRET_MASK} (for log lines). */
  mask?: boolean;
}

/** What a secret renders as in log lines. */
export const SECRET_MASK = "***";

// The same syntax definition.ts validates; kept local so validation and
// execution can evolve their error handling separately.
const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const TEMPLATE_REF = /^(parameters|secrets)\.([A-Za-z_][A-Za-z0-9_.-]*)$/;

function parseRef(inner: string): TemplateRef | undefined {
  const m = TEMPLATE_REF.exec(inner);
  if (!m) return undefined;
  if (m[1] === "secrets") return { kind: "secrets", name: m[2] };
  return { kind: "parameters", path: m[2].split("."), name: m[2] };
}

/** Splits `s` into literal text and references; unknown `{{...}}` stays literal. */
export function compileString(s: string): CompiledString {
  const parts: TemplatePart[] = [];
  let last = 0;
  let hasSecret = false;
  for (const m of s.matchAll(TEMPLATE)) {
    const ref = parseRef(m[1]);
    if (!ref) continue;
    if (m.index > last) parts.push(s.slice(last, m.index));
    parts.push(ref);
    if (ref.kind === "secrets") hasSecret = true;
    last = m.index + m[0].length;
  }
  if (last < s.length) parts.push(s.slice(last));
  const out: CompiledString = { parts, hasSecret };
  if (parts.length === 1 && typeof parts[0] !== "string") out.whole = parts[0];
  return out;
}

/** Whether `c` contains no references at all. */
export function isLiteral(c: CompiledString): boolean {
  return c.parts.every((p) => typeof p === "string");
}

/** Compiles a JSON value; subtrees without templates stay literal (no per-call copying). */
export function compileJson(value: unknown): CompiledJson {
  if (typeof value === "string") {
    const s = compileString(value);
    return isLiteral(s) ? { k: "lit", v: value } : { k: "str", s };
  }
  if (Array.isArray(value)) {
    const items = value.map(compileJson);
    return items.every((i) => i.k === "lit") ? { k: "lit", v: value } : { k: "arr", items };
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, compileJson(v)] as const);
    return entries.every(([, c]) => c.k === "lit") ? { k: "lit", v: value } : { k: "obj", entries };
  }
  return { k: "lit", v: value };
}

/** Every secret name referenced in `strings`, once each. */
export function secretNames(strings: Iterable<CompiledString>): string[] {
  const names = new Set<string>();
  for (const s of strings) {
    for (const p of s.parts) if (typeof p !== "string" && p.kind === "secrets") names.add(p.name);
  }
  return [...names];
}

/** Every compiled string inside a compiled JSON value. */
export function* stringsIn(c: CompiledJson): Generator<CompiledString> {
  if (c.k === "str") yield c.s;
  else if (c.k === "arr") { for (const i of c.items) yield* stringsIn(i); }
  else if (c.k === "obj") { for (const [, v] of c.entries) yield* stringsIn(v); }
}

/** The value `ref` stands for in `scope`; undefined when the argument is absent. */
export function lookup(ref: TemplateRef, scope: TemplateScope): unknown {
  if (ref.kind === "secrets") return scope.mask ? SECRET_MASK : scope.secrets.get(ref.name);
  let v: unknown = scope.args;
  for (const key of ref.path) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as text inside a longer string: strings as-is, everything else as JSON. */
export function textOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v) ?? "";
}

/**
 * Fills `c`. Each value is turned into text by `format` (URL parts
 * percent-encode there). Returns undefined when a referenced parameter is
 * absent or null, so callers can drop the header or query parameter instead
 * of sending an empty string the upstream would read as a real value.
 */
export function renderString(
  c: CompiledString,
  scope: TemplateScope,
  format: (v: unknown) => string = textOf,
): string | undefined {
  let out = "";
  for (const p of c.parts) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const v = lookup(p, scope);
    if (v === undefined || v === null) return undefined;
    // Masked secrets stay readable in logs rather than percent-encoded.
    out += p.kind === "secrets" && scope.mask ? SECRET_MASK : format(v);
  }
  return out;
}

/** Marks a body member whose template referred to an absent parameter. */
export const ABSENT: unique symbol = Symbol("absent");

/**
 * Fills a compiled JSON value. A whole-value template keeps the argument's
 * JSON type (a number stays a number); templates inside longer strings are
 * stringified. Members whose template refers to an absent parameter are left
 * out, rather than sent as empty strings.
 */
export function renderJson(c: CompiledJson, scope: TemplateScope): unknown {
  switch (c.k) {
    case "lit":
      return c.v;
    case "str": {
      if (c.s.whole) {
        const v = lookup(c.s.whole, scope);
        return v === undefined ? ABSENT : v;
      }
      return renderString(c.s, scope) ?? ABSENT;
    }
    case "arr": {
      const out: unknown[] = [];
      for (const item of c.items) {
        const v = renderJson(item, scope);
        if (v !== ABSENT) out.push(v);
      }
      return out;
    }
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, item] of c.entries) {
        const v = renderJson(item, scope);
        if (v === ABSENT) continue;
        // A plain assignment to "__proto__" would set the prototype and lose the member.
        if (k === "__proto__") {
          Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
        } else out[k] = v;
      }
      return out;
    }
  }
}

/** The first parameter `c` refers to that is absent in `scope`, for error messages. */
export function missingParameter(c: CompiledString, scope: TemplateScope): string | undefined {
  for (const p of c.parts) {
    if (typeof p === "string" || p.kind !== "parameters") continue;
    const v = lookup(p, scope);
    if (v === undefined || v === null) return p.name;
  }
  return undefined;
}
