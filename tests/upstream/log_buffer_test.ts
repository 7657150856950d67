import assert from "node:assert/strict";
import { LogBuffer } from "../../src/upstream/log_buffer.ts";

Deno.test("the log buffer keeps the newest lines within its line and size bounds", () => {
  const b = new LogBuffer(3, 1000);
  b.write("a\nb\nc\nd\npart");
  assert.deepEqual(b.lines(), ["b", "c", "d", "part"]);
  b.write("ial\n");
  assert.deepEqual(b.lines(), ["c", "d", "partial"]);
  assert.equal(b.dropped, 2);

  const small = new LogBuffer(100, 10);
  small.write("12345\n67890\nabc\n");
  assert.deepEqual(small.lines(), ["67890", "abc"]);
  const long = new LogBuffer();
  long.write("x".repeat(100_000));
  assert.ok(long.lines().join("").length <= 64 * 1024);
});
