/**
 * OpenAPI imports off the main thread: asynchronous imports as jobs
 * (`POST /apis?async=true`, `Prefer: respond-async`, `GET
 * /apis/imports/{id}`), their bounds, and import workers that fail, stall
 * or outgrow their memory, which must end as clear errors.
 */
import assert from "node:assert/strict";
import { apiCall, keyIn, startTestServer, type TestServer } from "../helpers/server.ts";
import { ImportPool } from "../../src/openapi/import_pool.ts";
import { ApiError } from "../../src/api/errors.ts";
import { MAX_PENDING_PER_ORG } from "../../src/api/import_jobs.ts";
import { doc31, expectFail, expectOk, fixture, type Json, OK } from "./helpers.ts";
import { largeDocument } from "./large_document.ts";

const SMALL = doc31({
  "/things/{id}": {
    get: {
      operationId: "getThing",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: OK,
    },
  },
  "/things": { post: { operationId: "addThing", responses: OK } },
});

async function withServer(fn: (s: TestServer) => Promise<void>, concurrency = 2): Promise<void> {
  const s = await startTestServer({
    imports: { concurrency, timeoutMs: 60_000, memoryMb: 1024 },
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** The job `id`, read until it has ended. */
async function finished(s: TestServer, id: string, key?: string): Promise<Json> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const job = expectOk(await s.api("GET", `/apis/imports/${id}`, undefined, key));
    if (job.state === "succeeded" || job.state === "failed") return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

/** `POST /apis?async=true` with `body`; returns the answer (202 expected by the caller). */
function startAsync(s: TestServer, body: unknown, key = s.adminKey) {
  return apiCall(s.url, key, "POST", "/apis?async=true", body);
}

Deno.test("async=true answers 202 with a job whose result is the synchronous answer", async () => {
  await withServer(async (s) => {
    const res = await startAsync(s, { name: "things", spec: SMALL });
    const job = expectOk(res, 202);
    assert.equal(res.headers.get("location"), `/apis/imports/${job.id}`);
    assert.ok(["queued", "running"].includes(job.state), job.state);
    assert.equal(job.finishedAt, null);
    const done = await finished(s, job.id);
    assert.equal(done.state, "succeeded");
    assert.equal(done.status, 201);
    assert.deepEqual(done.progress, { phase: "storing", operations: 2, done: 2 });
    assert.equal(done.result.name, "things");
    assert.deepEqual(done.result.tools.map((t: Json) => t.operationId).sort(), [
      "addThing",
      "getThing",
    ]);
    assert.ok(Date.parse(done.expiresAt) > Date.parse(done.finishedAt));
    // The API is there, as after a synchronous import.
    const api = expectOk(await s.api("GET", `/apis/${done.result.id}`));
    assert.equal(api.toolCount, 2);
  });
});

Deno.test("Prefer: respond-async does the same; the synchronous answer stays the default", async () => {
  await withServer(async (s) => {
    const res = await apiCall(s.url, s.adminKey, "POST", "/apis", { name: "a", spec: SMALL }, {
      prefer: "respond-async, wait=10",
    });
    const job = expectOk(res, 202);
    assert.equal(res.headers.get("preference-applied"), "respond-async");
    assert.equal((await finished(s, job.id)).state, "succeeded");
    const sync = expectOk(await s.api("POST", "/apis", { name: "b", spec: SMALL }), 201);
    assert.equal(sync.tools.length, 2);
    // async=false wins over the header.
    const plain = await apiCall(s.url, s.adminKey, "POST", "/apis?async=false", {
      name: "c",
      spec: SMALL,
    }, { prefer: "respond-async" });
    expectOk(plain, 201);
    expectFail(await s.api("POST", "/apis?async=yes", { name: "d", spec: SMALL }), 400, "async");
  });
});

Deno.test("a failed async import keeps its error, naming the field, in the job", async () => {
  await withServer(async (s) => {
    const cases: [Json, number, string][] = [
      [{ spec: SMALL }, 400, "name"],
      [{ name: "x", spec: { ...SMALL, servers: undefined } }, 400, "baseUrl"],
      [{ name: "x", spec: SMALL, secret: "NO_SUCH_SECRET" }, 400, "secret"],
      [{ name: "x", spec: { openapi: "4.0.0", info: {}, paths: {} } }, 400, "spec"],
    ];
    for (const [body, status, field] of cases) {
      const job = await finished(s, expectOk(await startAsync(s, body), 202).id);
      assert.equal(job.state, "failed", JSON.stringify(job));
      assert.equal(job.status, status);
      assert.equal(job.error.field, field, job.error.message);
      assert.equal(job.result, undefined);
    }
    // A conflict found at the store write is the job's too.
    expectOk(await s.api("POST", "/apis", { name: "taken", spec: SMALL }), 201);
    const clash = await finished(
      s,
      expectOk(await startAsync(s, { name: "taken", spec: SMALL }), 202).id,
    );
    assert.equal(clash.status, 409);
    assert.equal(clash.error.code, "conflict");
  });
});

Deno.test("jobs are their organization's: another one gets 404", async () => {
  await withServer(async (s) => {
    expectOk(await s.api("POST", "/orgs", { name: "Other", slug: "other" }), 201);
    const job = expectOk(await startAsync(s, { name: "mine", spec: SMALL }), 202);
    const other = await keyIn(s, "other");
    expectFail(await s.api("GET", `/apis/imports/${job.id}`, undefined, other), 404);
    await finished(s, job.id);
    expectFail(await s.api("GET", `/apis/imports/${job.id}`, undefined, other), 404);
    // The other org's own job is its own.
    const theirs = expectOk(await startAsync(s, { name: "theirs", spec: SMALL }, other), 202);
    assert.equal((await finished(s, theirs.id, other)).state, "succeeded");
    expectFail(await s.api("GET", `/apis/imports/${theirs.id}`), 404);
  });
});

Deno.test("an organization has a bounded number of imports in progress", async () => {
  // One worker: the imports queue behind the first, which takes a while (Twilio, 1.4 MB).
  await withServer(async (s) => {
    const spec = fixture("twilio-api-v2010.json");
    const jobs: Json[] = [];
    for (let i = 0; i < MAX_PENDING_PER_ORG; i++) {
      jobs.push(expectOk(await startAsync(s, { name: `twilio${i}`, spec }), 202));
    }
    assert.ok(jobs.slice(1).every((j) => j.state === "queued"), JSON.stringify(jobs));
    const refused = await startAsync(s, { name: "one too many", spec });
    expectFail(refused, 429);
    assert.equal(refused.headers.get("retry-after"), "5");
    // A synchronous import counts too, and runs once the queue has room.
    expectFail(await s.api("POST", "/apis", { name: "sync", spec: SMALL }), 429);
    for (const j of jobs) assert.equal((await finished(s, j.id)).state, "succeeded");
    expectOk(await s.api("POST", "/apis", { name: "sync", spec: SMALL }), 201);
  }, 1);
});

Deno.test("an import worker that exits is a clear 500, and the next import still runs", async () => {
  const pool = new ImportPool({
    concurrency: 1,
    timeoutMs: 30_000,
    memoryMb: 256,
    workerUrl: new URL("./workers/exits.ts", import.meta.url),
  });
  try {
    const err = await pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 500);
    assert.equal(err.code, "import_failed");
    assert.match(err.message, /worker exited with code 7/);
    const again = await pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
    assert.equal(again.code, "import_failed");
  } finally {
    await pool.close();
  }
});

Deno.test("an import that outlasts its time is ended and answered 422 naming spec", async () => {
  const pool = new ImportPool({
    concurrency: 1,
    timeoutMs: 1_000,
    memoryMb: 256,
    workerUrl: new URL("./workers/stalls.ts", import.meta.url),
  });
  try {
    const started = performance.now();
    const err = await pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 422);
    assert.equal(err.field, "spec");
    assert.match(err.message, /did not import within 1 s/);
    assert.ok(performance.now() - started < 10_000);
  } finally {
    await pool.close();
  }
});

Deno.test("an import that outgrows its memory stops, and its deadline answers", async () => {
  // 10 MB of document cannot be parsed within a 64 MiB heap; the worker stops at the
  // limit (it does not take the process down) and the deadline reports it.
  const pool = new ImportPool({ concurrency: 1, timeoutMs: 5_000, memoryMb: 64 });
  try {
    const { text } = largeDocument(10e6);
    const body = new TextEncoder().encode(`{"name":"big","spec":${text}}`);
    const err = await pool.prepare(body).catch((e) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 422);
    assert.match(err.message, /at most 64 MiB of memory/);
    // The process is fine, and so is the pool.
    const small = new TextEncoder().encode(JSON.stringify({ name: "s", spec: SMALL }));
    assert.equal((await pool.prepare(small)).ops.length, 2);
  } finally {
    await pool.close();
  }
});

Deno.test("closing the pool ends imports running and waiting with 503", async () => {
  const pool = new ImportPool({
    concurrency: 1,
    timeoutMs: 30_000,
    memoryMb: 256,
    workerUrl: new URL("./workers/stalls.ts", import.meta.url),
  });
  const running = pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
  const waiting = pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
  await new Promise((r) => setTimeout(r, 200));
  await pool.close();
  for (const err of [await running, await waiting]) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 503);
  }
  const late = await pool.prepare(new TextEncoder().encode("{}")).catch((e) => e);
  assert.equal(late.status, 503);
});
