/**
 * The upstream JSON API behind the `tools/call` benchmarks: a bare
 * `Deno.serve` that answers every request with the same small JSON document.
 * `scripts/bench.ts` runs it as its own process so that its work never
 * shares an event loop with the server under test.
 *
 * Usage: `deno run --allow-net scripts/bench_upstream.ts --port 0`; prints
 * `LISTENING <port>` once it accepts connections.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The document every request gets: compact JSON, so a gateway that re-serializes it keeps its bytes. */
export const UPSTREAM_BODY = JSON.stringify({
  page: 1,
  limit: 10,
  total: 3,
  users: [
    { id: 1, name: "Ada Lovelace", email: "ada@example.com", active: true },
    { id: 2, name: "Grace Hopper", email: "grace@example.com", active: true },
    { id: 3, name: "Alan Turing", email: "alan@example.com", active: false },
  ],
});

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { port: { type: "string" } } });
  const bytes = new TextEncoder().encode(UPSTREAM_BODY);
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    onListen: ({ port }) => console.log(`LISTENING ${port}`),
  }, () => new Response(bytes, { headers: { "content-type": "application/json" } }));
}
