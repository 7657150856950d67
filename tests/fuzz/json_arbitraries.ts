/**
 * fast-check arbitraries for hostile input: strings with lone surrogates and
 * control characters, awkward keys, values nested far past any sane depth,
 * numbers no double can hold, and bodies that are not JSON at all. Values are
 * written as JSON text with "raw" pieces spliced in where `JSON.stringify`
 * cannot produce them (`1e400`, 10,000 nested arrays). Also header values.
 *
 * @module
 */
import fc from "fast-check";

/** A JSON value as the fuzz tests build it. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings a careless parser, logger or database would choke on. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: codeUnit, maxLength: 12 }),
  fc.constantFrom(
    "",
    "\ud800",
    "a\udfffb",
    "\udc00\ud800",
    "\u0000",
    "\u2028\u2029",
    "\ufeff",
    "%ZZ",
    "../../etc/passwd",
    "{{parameters.q}}",
    "{{secrets.X}}",
    "'; DROP TABLE tools; --",
    "<script>alert(1)</script>",
    "__proto__",
    "constructor",
    "🙂".repeat(40),
    "x".repeat(5000),
  ),
);

/** Object keys, including ones that are special to JavaScript objects. */
export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "", "\ud800", "$ref"),
);

/** Header values: printable ASCII, as fetch allows. */
export const headerText: fc.Arbitrary<string> = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});

/** Numbers, including the edges of the safe integers and of doubles. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
    0.5,
  ),
);

/** Any JSON value, small, with nasty strings, keys and numbers. */
export const jsonValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    nastyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nastyKey, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/**
 * JSON text that `JSON.stringify` cannot write: numbers beyond doubles and
 * safe integers, odd number spellings, and nesting thousands deep.
 */
export const rawJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "9007199254740993",
    "-0",
    "1.0",
    "1E2",
    "0.0000000000000000000000001",
  ),
  fc.constantFrom(100, 1000, 10_000).chain((depth) =>
    fc.constantFrom(
      "[".repeat(depth) + "]".repeat(depth),
      '{"a":'.repeat(depth) + "1" + "}".repeat(depth),
    )
  ),
);

/** A value that is sometimes {@link rawJson} (spliced in by {@link writeJson}). */
export function orRaw(arb: fc.Arbitrary<Json>, rawWeight = 1): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 6, arbitrary: arb },
    { weight: rawWeight, arbitrary: rawJson.map((text) => new Raw(text)) },
  );
}

/** Objects of `arb` with one field replaced by any value, one removed, or one added. */
export function mutated(params: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc.tuple(params, fc.nat(), orRaw(jsonValue, 2), nastyString).map(
    ([p, i, value, key]) => {
      if (p === null || typeof p !== "object" || Array.isArray(p)) return p;
      const keys = Object.keys(p);
      const out = { ...p };
      // An own property even for "__proto__", as JSON.parse makes it.
      const set = (k: string) =>
        Object.defineProperty(out, k, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      if (keys.length === 0 || i % 3 === 0) set(key);
      else if (i % 3 === 1) set(keys[i % keys.length]);
      else delete out[keys[i % keys.length]];
      return out;
    },
  );
}

/** A piece of JSON text to splice in as is. */
export class Raw {
  /** Wraps `text`, which must be valid JSON. */
  constructor(readonly text: string) {}
}

/** JSON text of `value` with every {@link Raw} spliced in. */
export function writeJson(value: Json): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => {
    if (!(v instanceof Raw)) return v;
    raws.push(v.text);
    return `\u0000raw${raws.length - 1}\u0000`;
  });
  if (text === undefined) return "null";
  return raws.length === 0
    ? text
    : text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i) => raws[Number(i)]);
}

/** A request body: JSON text, or bytes that are not (valid) JSON. */
export type Body = { json: string } | { bytes: Uint8Array<ArrayBuffer>; note: string };

const encoder = new TextEncoder();

/** Bodies that are not JSON: empty, truncated, trailing garbage, a BOM, bad UTF-8. */
export function brokenBody(valid: fc.Arbitrary<string>): fc.Arbitrary<Body> {
  return fc.oneof(
    fc.constantFrom("", " ", "nul", "{", "[1,", '{"jsonrpc":"2.0",}', '"\\ud800', "{}{}").map(
      (t) => ({ bytes: encoder.encode(t), note: t }),
    ),
    valid.chain((t) =>
      fc.oneof(
        fc.nat({ max: Math.max(0, t.length - 1) }).map((n) => ({
          bytes: encoder.encode(t.slice(0, n)),
          note: `first ${n} chars of ${t.slice(0, 200)}`,
        })),
        fc.constant({ bytes: encoder.encode(t + "}"), note: `${t.slice(0, 200)} + "}"` }),
        fc.constant({
          bytes: new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(t)]),
          note: `BOM + ${t.slice(0, 200)}`,
        }),
        // A string holding bytes that are not UTF-8 (a lone continuation byte, an overlong form).
        fc.constant({
          bytes: new Uint8Array([
            ...encoder.encode('{"jsonrpc":"2.0","id":1,"method":"'),
            0x80,
            0xc0,
            0xaf,
            ...encoder.encode('"}'),
          ]),
          note: "method name with invalid UTF-8 bytes",
        }),
      )
    ),
  );
}

/** The bytes of `body`. */
export function bodyBytes(body: Body): Uint8Array<ArrayBuffer> {
  return "json" in body ? encoder.encode(body.json) : body.bytes;
}

/** A short description of `body` for failure messages. */
export function describeBody(body: Body): string {
  const text = "json" in body ? body.json : `<${body.note}>`;
  return text.length > 600 ? `${text.slice(0, 600)}... (${text.length} chars)` : text;
}
