/**
 * Property-based fuzzing of the management API. The routes come from the
 * server's own `/openapi.json` (which documents every route); for each
 * operation fast-check generates bodies from its request schema (valid,
 * mutated, any JSON, not JSON), path parameters (real ids of this org and of
 * another, strings, malformed percent-encoding), headers and callers (owner,
 * viewer, another org's owner, revoked, none). Every answer must be
 * well-formed: no 5xx, errors as `{error: {code, message}}`, JSON for
 * successes, no secret value or admin key in any answer, no write by a
 * viewer and no access by another org to this org's resources. The seed is
 * fixed (printed; `FUZZ_SEED` picks another) and the count bounded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  client,
  create,
  gatewayBody,
  memberWithKey,
  separateOrg,
  toolBody,
} from "../api/fixtures.ts";
import { startTestServer } from "../helpers/server.ts";
import { bodyFor, fillPath, type Operation, operationsOf, segmentArb } from "./api_arbitraries.ts";
import { isApiError, show } from "./answers.ts";
import { bodyBytes, describeBody, headerText, type Json } from "./json_arbitraries.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261201);
const RUNS = 1500;
const SECRET_VALUE = "fuzz-secret-value-7c1e0b";
/** Path prefixes a viewer may only read. */
const RESOURCES = /^\/(gateways|tools|secrets|apis)(\/|$)/;

Deno.test("API fuzz: every documented route answers generated requests well-formed", async () => {
  const s = await startTestServer();
  try {
    const owner = client(s, s.adminKey);
    const gateway = await create(owner, "/gateways", gatewayBody("/fuzz"));
    const tool = await create(owner, "/tools", toolBody("fuzz_tool"));
    await create(owner, `/gateways/${gateway.id}/tools`, { toolId: tool.id });
    const method = await create(owner, `/gateways/${gateway.id}/auth`, { type: "api_key" });
    const gatewayKey = await create(owner, `/gateways/${gateway.id}/keys`, { name: "fuzz" });
    const secret = await create(owner, "/secrets", {
      name: "FUZZ_SECRET",
      type: "bearer_token",
      value: SECRET_VALUE,
    });
    const api = await create(owner, "/apis", {
      name: "fuzz",
      spec: {
        openapi: "3.1.0",
        info: { title: "Fuzz", version: "1" },
        servers: [{ url: "https://api.example.com" }],
        paths: {
          "/x": { get: { operationId: "getX", responses: { "200": { description: "ok" } } } },
        },
      },
    });
    const spareKey = await create(owner, "/keys", { name: "spare" });
    const revoked = await create(owner, "/keys", { name: "revoked" });
    assert.equal((await owner("DELETE", `/keys/${revoked.id}`)).status, 200);
    const viewer = await memberWithKey(s, "viewer");
    const member = await memberWithKey(s, "member");
    const outsider = await separateOrg(s, "elsewhere");

    const doc = (await owner("GET", "/openapi.json")).body;
    const operations = operationsOf(doc);
    assert.ok(operations.length >= 40, `only ${operations.length} operations documented`);
    const ours = [gateway.id, tool.id, secret.id, api.id];
    const pools: Record<string, string[]> = {
      id: [...ours, spareKey.id],
      toolId: [tool.id],
      keyId: [gatewayKey.id],
      methodId: [method.id],
      userId: [member.userId],
      slug: ["default", "elsewhere"],
    };
    const callers = {
      owner: s.adminKey,
      viewer: viewer.key,
      outsider: outsider.key,
      revoked: revoked.key,
      none: undefined,
      garbage: "gha_not_a_key",
    };
    type Caller = keyof typeof callers;
    const callerArb = fc.oneof(
      { weight: 10, arbitrary: fc.constant<Caller>("owner") },
      { weight: 3, arbitrary: fc.constantFrom<Caller>("viewer", "outsider") },
      fc.constantFrom<Caller>("revoked", "none", "garbage"),
    );
    const usually = <T>(usual: T, ...others: fc.Arbitrary<T>[]) =>
      fc.oneof({ weight: 10, arbitrary: fc.constant(usual) }, ...others);
    const requestArb = fc.constantFrom(...operations).chain((op) => {
      const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      return fc.record({
        op: fc.constant(op),
        segments: fc.record(Object.fromEntries(names.map((n) => [n, segmentArb(pools[n] ?? [])]))),
        body: bodyFor(op, doc),
        caller: callerArb,
        contentType: usually<string | undefined>(
          "application/json",
          fc.constantFrom("application/json; charset=utf-8", "text/plain", undefined),
          headerText,
        ),
        org: usually<string | undefined>(
          undefined,
          fc.constantFrom("default", "elsewhere"),
          headerText,
        ),
      });
    });

    const tried = new Set<Operation>();
    const statuses = new Map<number, number>();
    const start = performance.now();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        tried.add(r.op);
        const path = fillPath(r.op, r.segments);
        const headers = new Headers();
        const key = callers[r.caller];
        if (key) headers.set("authorization", `Bearer ${key}`);
        if (r.contentType) headers.set("content-type", r.contentType);
        if (r.org !== undefined) headers.set("x-organization", r.org);
        const body = r.body && r.op.method !== "GET" ? bodyBytes(r.body) : undefined;
        const what = `${r.caller}: ${r.op.method} ${path} ${show(Object.fromEntries(headers))} ${
          r.body ? describeBody(r.body) : "(no body)"
        }`;
        const res = await fetch(`${s.url}${path}`, { method: r.op.method, headers, body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const at = `${what}\n  -> HTTP ${res.status} ${text.slice(0, 500)}`;
        assert.ok(res.status < 500, `server error: ${at}`);
        assert.ok(res.status < 300 || res.status >= 400, `unexpected status: ${at}`);
        assert.ok(!text.includes(SECRET_VALUE), `a secret's value in the answer: ${at}`);
        assert.ok(!text.includes(s.adminKey), `the admin key in the answer: ${at}`);
        let parsed: Json;
        // GET /metrics answers the Prometheus text format; every other answer is JSON.
        const metricsText = res.ok && path === "/metrics" &&
          res.headers.get("content-type")?.startsWith("text/plain; version=0.0.4");
        if (text !== "" && !metricsText) {
          try {
            parsed = JSON.parse(text);
          } catch {
            assert.fail(`not JSON: ${at}`);
          }
        }
        if (res.status >= 400) {
          assert.ok(isApiError(parsed), `not the API's error shape: ${at}`);
          return;
        }
        if (r.caller === "viewer" && r.op.method !== "GET" && RESOURCES.test(path)) {
          assert.fail(`a viewer changed something: ${at}`);
        }
        if (r.caller === "outsider" && ours.some((id) => path.includes(id))) {
          assert.fail(`another org reached this org's resource: ${at}`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const ms = performance.now() - start;
    console.log(
      `api fuzz: ${RUNS} requests over ${operations.length} operations in ${ms.toFixed(0)} ms ` +
        `(seed ${SEED}); statuses ${show(Object.fromEntries([...statuses].sort()))}`,
    );
    const untried = operations.filter((op) => !tried.has(op)).map((op) =>
      `${op.method} ${op.path}`
    );
    assert.deepEqual(untried, [], "operations the fuzz never sent");
    // Generated bodies were good enough to get through, often.
    assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > RUNS / 10, show([...statuses]));

    const health = await fetch(`${s.url}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { status: "ok" }]);
  } finally {
    await s.close();
  }
});
