/**
 * What single steps cost on this runtime, measured in turns: bare
 * `Deno.serve` servers that differ from a baseline by one habit of a gateway
 * (an option of the upstream `fetch`, a request header read), each its own
 * process, loaded one after the other by `wrk` for several rounds so that all
 * of them see the same machine. Prints a Markdown table of requests/s and
 * the process's CPU time a request (user + system, all threads, from
 * `/proc`). `bench/README.md` quotes its figures.
 *
 * Usage: `deno run -A scripts/bench_steps.ts [--rounds 6] [--seconds 3]
 * [--connections 32] [--only name,name]`. Needs `wrk` and Linux; servers and
 * wrk run as `scripts/bench.ts` runs them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { headerRecord } from "../src/tools/outbound.ts";
import type { Child } from "./bench.ts";

/** One server variant: what it does per request. */
interface Step {
  name: string;
  what: string;
  /** Answers one request; `upstream` is the upstream JSON API's URL. */
  handle(
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    upstream: string,
  ): Promise<Response>;
}

const JSON_TYPE = { "content-type": "application/json" };
// About the size of the bench's tools/list answer (20 tools).
const LIST = JSON.stringify({ tools: "x".repeat(5000) });
// What a warm tools/list of Gatehouse reads (tests/mcp/hot_path_test.ts counts them).
const LIST_HEADERS = [
  "origin",
  "host",
  "authorization",
  "traceparent",
  "accept",
  "content-type",
  "content-length",
  "mcp-protocol-version",
  "mcp-session-id",
];

function gatewayHeaders(): Headers {
  const h = new Headers();
  h.set("accept", "application/json");
  h.set("user-agent", "Gatehouse/1");
  return h;
}

/** Forwards to the upstream with `init`, answering its body. */
async function forward(req: Request, target: string | URL, init?: RequestInit) {
  await req.text();
  const res = await fetch(target, init);
  return new Response(await res.bytes(), { headers: JSON_TYPE });
}

/** Answers the list-sized body after reading `names` of the request's headers. */
async function answer(req: Request, names: readonly string[]) {
  for (const n of names) req.headers.get(n);
  await req.text();
  return new Response(LIST, { headers: JSON_TYPE });
}

const users = (upstream: string) => `${upstream}/users?page=1&limit=10`;

const STEPS: Step[] = [
  {
    name: "answer",
    what: "read the body, answer a 5 KB string",
    handle: (req) => answer(req, []),
  },
  {
    name: "answer+1h",
    what: "+ read one request header",
    handle: (req) => answer(req, LIST_HEADERS.slice(0, 1)),
  },
  {
    name: "answer+9h",
    what: "+ read the 9 headers a warm tools/list reads",
    handle: (req) => answer(req, LIST_HEADERS),
  },
  {
    name: "answer+peer",
    what: "+ read the peer's address (`info.remoteAddr`)",
    handle: (req, info) => {
      void info.remoteAddr.hostname;
      return answer(req, []);
    },
  },
  {
    name: "fetch",
    what: "read the body, `fetch(string)`, answer its bytes",
    handle: (req, _, up) => forward(req, users(up)),
  },
  {
    name: "fetch+URL",
    what: "+ a `URL` object instead of the string",
    handle: (req, _, up) => forward(req, new URL(users(up))),
  },
  {
    name: "fetch+Headers",
    what: "+ a `Headers` object with two headers",
    handle: (req, _, up) => forward(req, users(up), { headers: gatewayHeaders() }),
  },
  {
    name: "fetch+pairs",
    what: "+ the same two headers as an array of pairs",
    handle: (req, _, up) =>
      forward(req, users(up), {
        headers: [["accept", "application/json"], ["user-agent", "Gatehouse/1"]],
      }),
  },
  {
    name: "fetch+record",
    what: "+ the same two headers as a record",
    handle: (req, _, up) =>
      forward(req, users(up), {
        headers: { accept: "application/json", "user-agent": "Gatehouse/1" },
      }),
  },
  {
    name: "fetch+copied",
    what: "+ a `Headers` object copied into a record",
    handle: (req, _, up) => forward(req, users(up), { headers: headerRecord(gatewayHeaders()) }),
  },
  {
    name: "fetch+signal",
    what: "+ an `AbortController`'s signal of its own",
    handle: (req, _, up) => forward(req, users(up), { signal: new AbortController().signal }),
  },
  {
    name: "fetch+manual",
    what: '+ `redirect: "manual"`',
    handle: (req, _, up) => forward(req, users(up), { redirect: "manual" }),
  },
  {
    name: "fetch+method",
    what: '+ `method: "GET"`',
    handle: (req, _, up) => forward(req, users(up), { method: "GET" }),
  },
  {
    name: "fetch+gateway",
    what:
      "+ what `tools/outbound.ts` passes: a `URL`, the method, the headers copied, a signal, manual redirects",
    handle: (req, _, up) =>
      forward(req, new URL(users(up)), {
        method: "GET",
        headers: headerRecord(gatewayHeaders()),
        body: undefined,
        signal: new AbortController().signal,
        redirect: "manual",
      }),
  },
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    serve: { type: "string" },
    port: { type: "string" },
    upstream: { type: "string" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    only: { type: "string" },
  },
});

if (values.serve) {
  const step = STEPS.find((s) => s.name === values.serve);
  if (!step) throw new Error(`no step ${values.serve}`);
  const upstream = values.upstream ?? "http://127.0.0.1:1";
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    onListen: ({ port }) => console.log(`LISTENING ${port}`),
  }, (req, info) => step.handle(req, info, upstream));
} else {
  await measure();
}

async function measure(): Promise<void> {
  // Only here: the step servers stay bare processes that load nothing of the orchestrator.
  const { runWrk, startScript } = await import("./bench.ts");
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const load = { threads: 1, connections: Number(values.connections) };
  const only = values.only?.split(",");
  const steps = only ? STEPS.filter((s) => only.includes(s.name)) : STEPS;
  const tmp = await Deno.makeTempDir({ prefix: "bench-steps-" });
  const up = await startScript("upstream", "bench_upstream.ts", []);
  const servers: { step: Step; child: Child; url: string; cpuUs: number; requests: number }[] = [];
  try {
    for (const step of steps) {
      const s = await startScript(step.name, "bench_steps.ts", [
        "--serve",
        step.name,
        "--upstream",
        up.url,
      ]);
      servers.push({ step, ...s, cpuUs: 0, requests: 0 });
    }
    const run = async (s: (typeof servers)[number], secs: number) => {
      const m = await runWrk(
        { kind: "http", url: `${s.url}/`, headers: {}, body: "{}" },
        secs,
        load,
        tmp,
        s.child,
      );
      const failed = m.errors.socket + m.errors.status;
      if (failed > 0) throw new Error(`${s.step.name}: ${failed} failed requests`);
      return m;
    };
    for (const s of servers) await run(s, 1);
    for (let r = 0; r < rounds; r++) {
      // Alternating order, so that neither end of a round is always the same server.
      for (const s of r % 2 ? [...servers].reverse() : servers) {
        const m = await run(s, seconds);
        s.requests += m.requests;
        s.cpuUs += m.serverCpuUsPerRequest * m.requests;
      }
    }
  } finally {
    await Promise.all([...servers, up].map((s) => s.child.kill()));
    await Deno.remove(tmp, { recursive: true });
  }
  console.log(`${rounds} rounds of ${seconds} s each, ${load.connections} connections\n`);
  console.log("| step | what | requests/s | µs CPU a request |\n| --- | --- | --- | --- |");
  for (const s of servers) {
    const rate = Math.round(s.requests / (rounds * seconds)).toLocaleString("en-US");
    console.log(
      `| ${s.step.name} | ${s.step.what} | ${rate} | ${(s.cpuUs / s.requests).toFixed(1)} |`,
    );
  }
}
