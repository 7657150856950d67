/**
 * The SQL statements a TypeScript source file holds, read from its text:
 * every string or template literal that starts with a statement keyword,
 * with its `${...}` parts filled in the ways the code can fill them.
 *
 * A part is evaluated against the file's top-level constants (a column
 * list, an array of column names, a number) and those it imports from the
 * files beside it; a local constant chosen by a
 * condition (`const after = req.after ? "AND ..." : ""`) gives one
 * statement per literal it can be; `where.join(" AND ")` joins every
 * condition the file pushes onto `where` (or adds with `add(...)`), so each
 * condition is checked. A part none of these explain is an error naming it:
 * give its value in `extras`.
 *
 * @module
 */

/** A literal of the source: its quote, its text (raw, for templates the parts between). */
interface Literal {
  quote: "'" | '"' | "`";
  start: number;
  end: number;
  /** For quotes: the decoded value. For templates: the texts around each `${}` part. */
  strings: string[];
  /** The source text of each `${}` part of a template. */
  parts: string[];
}

/** A statement found in a file. */
export interface SourceStatement {
  file: string;
  /** The line its literal starts on. */
  line: number;
  sql: string;
}

const STATEMENT =
  /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE|PRAGMA|BEGIN|COMMIT|ROLLBACK)(\s|$)/;
/** A character after which `/` starts a regular expression, not a division. */
const BEFORE_REGEX = /[(,=:[!&|?{};+\-*%<>~^]/;

/** Every literal of `source` outside comments and regular expressions, nested ones included. */
function literalsOf(source: string): Literal[] {
  const out: Literal[] = [];
  scan(source, 0, source.length, out);
  return out.sort((a, b) => a.start - b.start);
}

/** Scans `source` from `from` to `to` (or to an unmatched `}`); answers where it stopped. */
function scan(source: string, from: number, to: number, out: Literal[], inPart = false): number {
  let depth = 0;
  let i = from;
  let last = "";
  while (i < to) {
    const c = source[i];
    if (c === "/" && source[i + 1] === "/") {
      i = source.indexOf("\n", i);
      if (i === -1) return to;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      i = source.indexOf("*/", i + 2) + 2;
      continue;
    }
    if (c === "/" && (last === "" || BEFORE_REGEX.test(last))) {
      i = skipRegex(source, i);
      last = "/";
      continue;
    }
    if (c === "'" || c === '"') {
      i = quoted(source, i, c, out);
      last = c;
      continue;
    }
    if (c === "`") {
      i = template(source, i, out);
      last = c;
      continue;
    }
    if (c === "{") depth++;
    if (c === "}") {
      if (inPart && depth === 0) return i;
      depth--;
    }
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return i;
}

function skipRegex(source: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < source.length && source[i] !== "\n") {
    const c = source[i];
    if (c === "\\") i++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) break;
    i++;
  }
  i++;
  while (/[a-z]/.test(source[i] ?? "")) i++;
  return i;
}

function quoted(source: string, start: number, quote: "'" | '"', out: Literal[]): number {
  let i = start + 1;
  while (source[i] !== quote) i += source[i] === "\\" ? 2 : 1;
  out.push({
    quote,
    start,
    end: i + 1,
    strings: [unescaped(source.slice(start + 1, i))],
    parts: [],
  });
  return i + 1;
}

const ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
};

/** The text a literal's body stands for, its escapes applied. */
function unescaped(body: string): string {
  return body.replace(
    /\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r?\n|.)/g,
    (_, e: string) => {
      if (e[0] === "u" || e[0] === "x") {
        return String.fromCodePoint(parseInt(e.replace(/[ux{}]/g, ""), 16));
      }
      if (e.startsWith("\n") || e.startsWith("\r")) return "";
      return ESCAPES[e] ?? e;
    },
  );
}

function template(source: string, start: number, out: Literal[]): number {
  const strings: string[] = [];
  const parts: string[] = [];
  let text = "";
  let i = start + 1;
  while (source[i] !== "`") {
    if (source[i] === "\\") {
      text += source.slice(i, i + 2);
      i += 2;
    } else if (source[i] === "$" && source[i + 1] === "{") {
      strings.push(unescaped(text));
      text = "";
      const end = scan(source, i + 2, source.length, out, true);
      parts.push(source.slice(i + 2, end));
      i = end + 1;
    } else {
      text += source[i++];
    }
  }
  strings.push(unescaped(text));
  out.push({ quote: "`", start, end: i + 1, strings, parts });
  return i + 1;
}

/**
 * The top-level `const NAME = value;` of the file at `path` that evaluate
 * without anything local, with the values it imports from files beside it.
 */
function topLevelConstants(
  path: string,
  extras: Record<string, unknown>,
  seen = new Set<string>(),
): Record<string, unknown> {
  seen.add(path);
  const source = Deno.readTextFileSync(path);
  const scope: Record<string, unknown> = {};
  for (const m of source.matchAll(/^import \{([^}]*)\} from "(\.[^"]+)";/gm)) {
    const from = new URL(m[2], `file://${path}`).pathname;
    if (seen.has(from)) continue;
    const theirs = topLevelConstants(from, {}, seen);
    for (const item of m[1].split(",").map((x) => x.trim()).filter((x) => x !== "")) {
      const [name, as = name] = item.replace(/^type /, "").split(/\s+as\s+/);
      if (name in theirs) scope[as] = theirs[name];
    }
  }
  Object.assign(scope, extras);
  const declaration = /^(?:export )?const (\w+)(?::[^=\n]+)? =\s+/gm;
  for (const m of source.matchAll(declaration)) {
    const value = initializer(source, m.index + m[0].length);
    try {
      scope[m[1]] = evaluate(value.replace(/ as const$/, ""), scope);
    } catch {
      // Not a value (a function, a class, TypeScript syntax): not needed for SQL.
    }
  }
  return scope;
}

/** The initializer starting at `from`: up to the `;` that ends it. */
function initializer(source: string, from: number): string {
  const literals = literalsOf(source.slice(from));
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const inside = literals.find((l) => l.start <= i - from && i - from < l.end);
    if (inside) {
      i = from + inside.end - 1;
      continue;
    }
    const c = source[i];
    if ("([{".includes(c)) depth++;
    if (")]}".includes(c)) depth--;
    if (c === ";" && depth === 0) return source.slice(from, i).trim();
  }
  return source.slice(from).trim();
}

function evaluate(expression: string, scope: Record<string, unknown>): unknown {
  const names = Object.keys(scope);
  return new Function(...names, `"use strict"; return (${expression});`)(
    ...names.map((n) => scope[n]),
  );
}

/** Every text a literal can take, its parts filled from `scope` and the file's local choices. */
function renderings(
  literal: Literal,
  source: string,
  scope: Record<string, unknown>,
  file: string,
): string[] {
  let texts = [literal.strings[0]];
  literal.parts.forEach((part, k) => {
    const values = partValues(part.trim(), source, scope, file);
    texts = texts.flatMap((t) => values.map((v) => t + v + literal.strings[k + 1]));
  });
  return texts;
}

function partValues(
  part: string,
  source: string,
  scope: Record<string, unknown>,
  file: string,
): string[] {
  try {
    return [String(evaluate(part, scope))];
  } catch {
    // Not a top-level value: a local choice or the conditions of a WHERE.
  }
  const join = /^(\w+)\.join\((["'])(.*)\2\)$/.exec(part);
  if (join) {
    const conditions = conditionsOf(join[1], source, scope, file);
    if (conditions.length > 0) return [conditions.join(join[3])];
  }
  if (/^\w+$/.test(part)) {
    const choices = [];
    for (const local of source.matchAll(new RegExp(`\\bconst ${part} = `, "g"))) {
      const value = initializer(source, local.index + local[0].length);
      choices.push(...literalsOf(value).flatMap((l) => renderings(l, value, scope, file)));
    }
    if (choices.length > 0) return [...new Set(choices)];
  }
  throw new Error(`${file}: cannot tell what \${${part}} holds; give it in extras`);
}

/** The conditions pushed onto array `name` (or added with `add(...)`), each with a `?`. */
function conditionsOf(
  name: string,
  source: string,
  scope: Record<string, unknown>,
  file: string,
): string[] {
  const out: string[] = [];
  const starts = new RegExp(`(?:\\b${name}\\.push\\(|\\badd\\(|\\bconst ${name} = \\[)`, "g");
  for (const m of source.matchAll(starts)) {
    const rest = source.slice(m.index + m[0].length);
    const argument = rest.slice(0, balancedEnd(rest));
    const literals = literalsOf(argument);
    // Only the outermost: a literal inside a template's part is a piece of that template.
    const outermost = literals.filter((l) =>
      !literals.some((o) => o !== l && o.start <= l.start && l.end <= o.end)
    );
    for (const l of outermost) {
      for (const text of renderings(l, argument, scope, file)) {
        if (text.includes("?")) out.push(text);
      }
    }
  }
  return [...new Set(out)];
}

/** Where the call or array opened just before `text` closes. */
function balancedEnd(text: string): number {
  const literals = literalsOf(text);
  let depth = 1;
  for (let i = 0; i < text.length; i++) {
    const inside = literals.find((l) => l.start <= i && i < l.end);
    if (inside) {
      i = inside.end - 1;
      continue;
    }
    if ("([{".includes(text[i])) depth++;
    if (")]}".includes(text[i])) depth--;
    if (depth === 0) return i;
  }
  return text.length;
}

/**
 * The statements of the file at `path` (named `file` in what is answered),
 * with `extras` giving the values of names the file does not define itself
 * (imports, function parameters).
 */
export function statementsOf(
  path: string,
  file: string,
  extras: Record<string, unknown> = {},
): SourceStatement[] {
  const source = Deno.readTextFileSync(path);
  const scope = topLevelConstants(path, extras);
  const out: SourceStatement[] = [];
  for (const literal of literalsOf(source)) {
    if (!STATEMENT.test(literal.strings[0])) continue;
    const line = source.slice(0, literal.start).split("\n").length;
    for (const sql of renderings(literal, source, scope, file)) out.push({ file, line, sql });
  }
  return out;
}
