/**
 * Which regular expressions may take exponential time. JSON Schema
 * `pattern`s run on the server's only thread against caller-chosen strings,
 * and V8 cannot interrupt a match: one `(a+)+$` against thirty `a`s and a `!`
 * stops every request for seconds. (V8's linear-time fallback engine does not
 * take the Unicode-mode patterns JSON Schema validators compile.)
 *
 * The check looks for a group that repeats without bound while one of its
 * alternatives holds an unbounded repeat and nothing it must match besides
 * (`(a+)+`, `(\\w+\\s?)*`, `(?:x|y+)*`, `(x+x+)+`): then a near-miss can be split
 * between the repeats in exponentially many ways. Alternatives with a required
 * character (`([a-z0-9]+-)*`, `(\\.\\d+)*`) stay allowed: each round must match
 * it. It is a heuristic, not a proof: overlapping alternatives such as
 * `(a|a)*` or `(a+a)+` get through.
 *
 * @module
 */

const RISK = "a repeated group can match its inner repeats in many ways (like (a+)+), which can " +
  "take exponential time on a string that almost matches";

/** One alternative being read: whether it holds an unbounded repeat, and only loose atoms. */
interface Alternative {
  repeats: boolean;
  loose: boolean;
}

/** Why `pattern` may backtrack exponentially, or undefined when it looks safe. */
export function backtrackRisk(pattern: string): string | undefined {
  /** Per open group: whether a finished alternative is ambiguous, and the enclosing alternative. */
  const open: { ambiguous: boolean; outer: Alternative }[] = [];
  let alt: Alternative = { repeats: false, loose: true };
  const ambiguous = (a: Alternative) => a.repeats && a.loose;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    /** For a group just closed: whether its inside is ambiguous. */
    let group: boolean | undefined;
    if (c === "(") {
      open.push({ ambiguous: false, outer: alt });
      alt = { repeats: false, loose: true };
      // `?:`, `?=`, `?!`, `?<=`, `?<!` and `?<name>` are not atoms.
      const m = /^\?(?:<[A-Za-z_$][\w$]*>|<[=!]|[:=!])/.exec(pattern.slice(i + 1));
      if (m) i += m[0].length;
      continue;
    } else if (c === "|") {
      if (open.length > 0) open[open.length - 1].ambiguous ||= ambiguous(alt);
      alt = { repeats: false, loose: true };
      continue;
    } else if (c === ")") {
      const closed = open.pop();
      group = (closed?.ambiguous ?? false) || ambiguous(alt);
      alt = closed?.outer ?? { repeats: false, loose: true };
    } else if (c === "^" || c === "$") {
      continue;
    } else if (c === "\\") {
      i++;
    } else if (c === "[") {
      // Skip the class; a `]` right after `[` or `[^` is a literal.
      let j = i + 1;
      if (pattern[j] === "^") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j += pattern[j] === "\\" ? 2 : 1;
      i = j;
    }
    // What follows the atom decides what it adds to the alternative.
    const rest = pattern.slice(i + 1);
    const unbounded = /^(?:[*+]|\{\d*,\})\??/.exec(rest);
    const optional = unbounded ? null : /^(?:\?|\{0(?:,\d*)?\})\??/.exec(rest);
    if (unbounded) {
      if (group) return RISK;
      alt.repeats = true;
      i += unbounded[0].length;
    } else if (optional) {
      i += optional[0].length;
    } else if (group) {
      // An ambiguous group matched once is like a loose repeat of the alternative around it.
      alt.repeats = true;
    } else {
      alt.loose = false;
    }
  }
  return undefined;
}
