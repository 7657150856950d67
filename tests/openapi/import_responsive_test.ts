/**
 * Large imports do not stall the server: while a 10 MB document imports,
 * `/healthz` and an MCP `tools/list` keep answering with no gap over 50 ms
 * (the import, its store write included, runs in a worker thread at a lower
 * priority). And a 10 MB document that cannot be
 * imported is refused before the expensive steps, fast, with its reason.
 */
import assert from "node:assert/strict";
import { apiCall, type ApiResponse, startChildServer, startTestServer } from "../helpers/server.ts";
import { expectFail, expectOk, type Json, OK } from "./helpers.ts";
import { largeDocument } from "./large_document.ts";

/** Longest time between two answers allowed while a document imports. */
const MAX_GAP_MS = 50;
/**
 * Tries at measuring it; the best counts. The machine is shared (other test
 * files, other people's runs): an idle server on it can lose the CPU for
 * longer than 50 ms (76 ms seen in 20 s of polling at a load of 4), and even
 * on a quiet one, one try in six or so saw a gap of 50 to 65 ms that no
 * stretch of the server's main thread explains (its profile's longest was
 * under 30 ms): four threads (client, server, import, request log) share two
 * cores. The import's own stalls, which this test is for, are in every try.
 */
const TRIES = 3;
/**
 * A gap no pause of the machine explains: what a document parsed and
 * converted on the main thread causes (600 to 1,400 ms for this one).
 */
const NEVER_MS = 250;

/** Answers of `/healthz` and `tools/list`, one after the other, until `stop`; the longest gap. */
async function poll(health: string, mcp: string, stop: () => boolean) {
  const list = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  let last = performance.now();
  let maxGap = 0;
  let answers = 0;
  while (!stop()) {
    const res = await fetch(health);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const listed = await fetch(mcp, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: list,
    });
    const reply: Json = await listed.json();
    assert.equal(reply.result.tools[0].name, "probe");
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    answers += 2;
  }
  return { maxGap, answers };
}

Deno.test("while a 10 MB document imports, /healthz and tools/list answer with no gap over 50 ms", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gatehouse-gap-" });
  const key = `gha_gap_${crypto.randomUUID()}`;
  const server = await startChildServer(dataDir, { GATEHOUSE_ADMIN_KEY: key });
  try {
    const api = (method: string, path: string, body?: unknown) =>
      apiCall(server.url, key, method, path, body);
    const tool = expectOk(
      await api("POST", "/tools", {
        name: "probe",
        description: "A tool to list.",
        inputSchema: { type: "object", properties: {} },
        type: "http",
        executionConfig: { method: "GET", url: "https://api.example.com/probe" },
      }),
      201,
    );
    const gw = expectOk(
      await api("POST", "/gateways", {
        name: "Gap",
        type: "mcp",
        endpoint: "/gap",
        configuration: { transport: "http" },
      }),
      201,
    );
    expectOk(await api("POST", `/gateways/${gw.id}/tools`, { toolId: tool.id }), 201);
    expectOk(await api("POST", `/gateways/${gw.id}/auth`, { type: "none" }), 201);
    const health = `${server.url}/healthz`;
    const mcp = `${server.url}/mcp/default/gap`;

    // 1,000 operations: written on the main thread, their tools' one transaction (40 to 100
    // µs a tool, and the sync) would hold up the server for 50 to 100 ms.
    const doc = largeDocument(10e6, 200);
    const tries: string[] = [];
    let best = Infinity;
    let quietest = Infinity;
    for (let t = 0; t < TRIES && best >= MAX_GAP_MS; t++) {
      // Made before the clock starts: the client's own work must not count as a gap.
      const body = new TextEncoder().encode(JSON.stringify({ name: `large${t}`, spec: doc.text }));
      let done = false;
      const started = performance.now();
      const importing = fetch(`${server.url}/apis`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
      }).then(async (res) => {
        const answer: Json = await res.json();
        done = true;
        return { status: res.status, answer };
      });
      const during = await poll(health, mcp, () => done);
      const { status, answer } = await importing;
      assert.equal(status, 201, JSON.stringify(answer).slice(0, 500));
      assert.equal(answer.tools.length, doc.operations);
      const took = performance.now() - started;
      // A measurement needs the import to have lasted many answers' time.
      assert.ok(during.answers > 50, `only ${during.answers} answers during the import`);
      best = Math.min(best, during.maxGap);
      let line = `${(body.length / 1e6).toFixed(1)} MB imported in ${took.toFixed(0)} ms, ` +
        `${during.answers} answers meanwhile, longest gap ${during.maxGap.toFixed(1)} ms`;
      if (during.maxGap >= MAX_GAP_MS) {
        // Over: the import's doing, or the machine's? The same server idle as long says.
        const until = performance.now() + Math.min(took, 10_000);
        const idle = await poll(health, mcp, () => performance.now() > until);
        line += `; idle for ${Math.min(took, 10_000).toFixed(0)} ms after, longest gap ` +
          `${idle.maxGap.toFixed(1)} ms`;
        quietest = Math.min(quietest, idle.maxGap);
      }
      tries.push(line);
    }
    if (best >= MAX_GAP_MS) {
      // A quiet machine (the idle server well under the bound) and yet a gap in every try: the
      // import's.
      assert.ok(
        quietest >= MAX_GAP_MS / 2,
        `the import caused a gap the idle server does not have:\n${tries.join("\n")}`,
      );
      // Every try caught the machine pausing the idle server too: nothing is shown but this.
      console.warn(`the machine was too busy to measure a 50 ms gap:\n${tries.join("\n")}`);
      assert.ok(best < NEVER_MS, tries.join("\n"));
    }
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a 10 MB document that cannot be imported is refused fast, with its reason", async () => {
  const s = await startTestServer();
  try {
    const doc = largeDocument(10e6, 100);
    const spec: Json = JSON.parse(doc.text);
    /** The fastest of `times` answers to importing `body`, and the last answer. */
    const fastest = async (body: Json, times: number) => {
      let ms = Infinity;
      let res: ApiResponse | undefined;
      for (let i = 0; i < times; i++) {
        const started = performance.now();
        res = await s.api("POST", "/apis", { ...body, name: `${body.name}${i}` });
        ms = Math.min(ms, performance.now() - started);
      }
      return { res: res!, ms };
    };
    // The whole import, for scale (the machine is shared: the fastest of a few is the cost).
    const whole = await fastest({ name: "whole", spec: doc.text }, 2);
    expectOk(whole.res, 201);

    const { servers: _, ...serverless } = spec;
    const tooMany = Object.fromEntries(
      Array.from({ length: 5001 }, (_, i) => [`/op${i}`, { get: { responses: OK } }]),
    );
    const refusals: [string, Json, string, RegExp][] = [
      ["no server", serverless, "baseUrl", /names no server to call; give baseUrl/],
      [
        "5,001 operations",
        { ...spec, paths: { ...spec.paths, ...tooMany } },
        "spec",
        /more than 5000 operations/,
      ],
      [
        "OpenAPI 4.0.0",
        { ...spec, openapi: "4.0.0" },
        "spec",
        /declares openapi version '4\.0\.0'/,
      ],
    ];
    for (const [label, document, field, reason] of refusals) {
      const text = JSON.stringify(document);
      assert.ok(text.length > 9e6, `${label}: ${text.length} bytes`);
      // A third of the whole import when the machine is quiet. Under the whole suite's parallel
      // load one measurement can be far off (0.36, and once 0.71): up to three rounds, each
      // measuring the whole import again beside the refusal, so both see the same machine.
      const rounds: string[] = [];
      let scale = whole.ms;
      let fast = false;
      for (let round = 0; round < 3 && !fast; round++) {
        if (round > 0) scale = (await fastest({ name: `whole${round}-`, spec: doc.text }, 1)).ms;
        const refused = await fastest({ name: label, spec: text }, 3);
        assert.match(expectFail(refused.res, 400, field), reason);
        rounds.push(
          `refused in ${refused.ms.toFixed(0)} ms, the whole import ${scale.toFixed(0)} ms`,
        );
        fast = refused.ms < scale / 2;
      }
      assert.ok(fast, `${label}: ${rounds.join("; ")}`);
    }

    // Refused by the pre-check: the job never got past parsing to the expensive steps.
    for (const document of [serverless, { ...spec, paths: { ...spec.paths, ...tooMany } }]) {
      const res = await apiCall(s.url, s.adminKey, "POST", "/apis?async=true", {
        name: "early",
        spec: JSON.stringify(document),
      });
      const id = expectOk(res, 202).id;
      let job: Json;
      do {
        await new Promise((r) => setTimeout(r, 20));
        job = expectOk(await s.api("GET", `/apis/imports/${id}`));
      } while (job.state !== "failed");
      assert.equal(job.progress.phase, "parsing", JSON.stringify(job));
    }
  } finally {
    await s.close();
  }
});
