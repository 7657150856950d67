/**
 * Matching URIs against RFC 6570 URI templates, to route `resources/read` of
 * a URI no server listed to the server whose template it fits.
 *
 * @module
 */

/** Characters a simple `{var}` expansion never produces (it percent-encodes them). */
const SIMPLE_VALUE = "[^/?#&=,]*";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A pattern that matches the URIs `template` can expand to. Simple
 * expansions (`{id}`) match one path segment; reserved and fragment
 * expansions (`{+path}`, `{#frag}`) match anything; label, path, parameter
 * and query expansions (`{.x}`, `{/x}`, `{;x}`, `{?x}`, `{&x}`) match an
 * optional run starting with their operator.
 */
export function compileUriTemplate(template: string): RegExp {
  let pattern = "";
  let last = 0;
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    pattern += escapeRegExp(template.slice(last, m.index));
    const op = m[1][0];
    if (op === "+" || op === "#") pattern += op === "#" ? "(?:#.*)?" : ".*";
    else if (op === "." || op === "/" || op === ";" || op === "?" || op === "&") {
      pattern += `(?:${escapeRegExp(op)}[^#]*)?`;
    } else pattern += SIMPLE_VALUE;
    last = m.index + m[0].length;
  }
  pattern += escapeRegExp(template.slice(last));
  return new RegExp(`^${pattern}$`);
}
