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
 * [--connections 32] [--only name,name]`. Needs `wrk` and Linux.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { headerRecord } from "../src/tools/outbound.ts";

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

/** Spawns `script` with `args` and resolves with its port once it listens. */
async function spawn(args: string[]): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args, "--port", "0"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${args.join(" ")} ended before listening`);
    seen += value;
    const m = /LISTENING (\d+)/.exec(seen);
    if (m) {
      reader.releaseLock();
      void child.stdout.cancel().catch(() => {});
      return { child, port: Number(m[1]) };
    }
  }
}

/** Clock ticks of CPU time (user + system, all threads) `pid` has used. */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function wrk(port: number, seconds: number, connections: string): Promise<number> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`],
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /(\d+) requests in/.exec(text);
  if (!m || /Non-2xx|Socket errors/.test(text)) throw new Error(`wrk failed:\n${text}`);
  return Number(m[1]);
}

async function measure(): Promise<void> {
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const only = values.only?.split(",");
  const steps = only ? STEPS.filter((s) => only.includes(s.name)) : STEPS;
  const self = new URL(import.meta.url).pathname;
  const up = await spawn([new URL("./bench_upstream.ts", import.meta.url).pathname]);
  const upstream = `http://127.0.0.1:${up.port}`;
  const servers = [];
  for (const step of steps) {
    const s = await spawn([self, "--serve", step.name, "--upstream", upstream]);
    servers.push({ step, ...s, ticks: 0, requests: 0 });
  }
  try {
    for (const s of servers) await wrk(s.port, 1, values.connections!);
    for (let r = 0; r < rounds; r++) {
      // Alternating order, so that neither end of a round is always the same server.
      for (const s of r % 2 ? [...servers].reverse() : servers) {
        const before = cpuTicks(s.child.pid);
        s.requests += await wrk(s.port, seconds, values.connections!);
        s.ticks += cpuTicks(s.child.pid) - before;
      }
    }
  } finally {
    for (const s of [...servers, up]) s.child.kill();
  }
  const tick = 1e6 / 100;
  console.log(`${rounds} rounds of ${seconds} s each, ${values.connections} connections\n`);
  console.log("| step | what | requests/s | µs CPU a request |\n| --- | --- | --- | --- |");
  for (const s of servers) {
    const rate = Math.round(s.requests / (rounds * seconds)).toLocaleString("en-US");
    const cpu = (s.ticks * tick / s.requests).toFixed(1);
    console.log(`| ${s.step.name} | ${s.step.what} | ${rate} | ${cpu} |`);
  }
}
