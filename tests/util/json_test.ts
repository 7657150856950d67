/**
 * `utf8Length` counts what the request log records as bytes in and out: it
 * must agree with the encoder for every string, lone surrogates included.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8Length } from "../../src/util/json.ts";

const encoder = new TextEncoder();

Deno.test("utf8Length agrees with TextEncoder on any text, short or long", () => {
  for (const text of ["", "tools/list", "é", "日本", "😀", "a\ud800b", "\udc00", "x😀y\ud83d"]) {
    assert.equal(utf8Length(text), encoder.encode(text).byteLength, JSON.stringify(text));
  }
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
      assert.equal(utf8Length(text), encoder.encode(text).byteLength);
    }),
    { numRuns: 2000, seed: 13 },
  );
});
