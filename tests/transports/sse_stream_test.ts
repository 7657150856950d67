/**
 * SSE response bodies on their own: idle streams get keep-alive comments
 * from one timer they all share (a timer each held about 0.7 KB, and every
 * idle session holds a stream), which stops once the last stream ends.
 */
import assert from "node:assert/strict";
import { SseStream } from "../../src/transports/sse.ts";

/** Counts the intervals started and cleared until the returned function is called. */
function watchIntervals(): () => { started: number; cleared: number } {
  const original = { set: globalThis.setInterval, clear: globalThis.clearInterval };
  const seen = { started: 0, cleared: 0 };
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    seen.started++;
    return original.set(...args);
  }) as typeof setInterval;
  globalThis.clearInterval = ((id?: number) => {
    seen.cleared++;
    original.clear(id);
  }) as typeof clearInterval;
  return () => {
    globalThis.setInterval = original.set;
    globalThis.clearInterval = original.clear;
    return seen;
  };
}

async function nextText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

Deno.test("idle SSE streams share one keep-alive timer, which ends with the last stream", async () => {
  const stop = watchIntervals();
  const streams = [1, 2, 3].map(() => new SseStream({ keepAliveMs: 60, maxBufferedBytes: 1024 }));
  try {
    const started = Date.now();
    // A stream that was written to gets its comment later than the idle ones: it was not idle.
    await new Promise((r) => setTimeout(r, 40));
    streams[2].send({ event: "message", data: "{}" });
    const readers = streams.map((s) => s.readable.getReader());
    assert.equal(await nextText(readers[2]), "event: message\ndata: {}\n\n");
    for (const r of readers) assert.equal(await nextText(r), ": keepalive\n\n");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 60, `the keep-alives came after ${elapsed} ms, before the interval`);
    for (const s of streams.slice(0, 2)) s.close();
    assert.equal(await nextText(readers[2]), ": keepalive\n\n", "the last stream is still kept");
  } finally {
    for (const s of streams) s.close();
  }
  assert.deepEqual(stop(), { started: 1, cleared: 1 });
});
