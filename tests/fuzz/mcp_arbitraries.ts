/**
 * fast-check arbitraries for JSON-RPC messages to an MCP gateway: the real
 * methods with valid and mutated params (tool calls with generated
 * arguments), every field with the wrong type, unknown methods,
 * notifications, client responses, batches, huge ids and deep nesting.
 *
 * @module
 */
import { LOG_LEVELS } from "../../src/tools/executor.ts";
import fc from "fast-check";
import {
  type Body,
  brokenBody,
  type Json,
  jsonValue,
  mutated,
  nastyNumber,
  nastyString,
  orRaw,
  Raw,
  writeJson,
} from "./json_arbitraries.ts";

/** Protocol versions: every one served, plus ones that are not. */
export const VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];
const versionArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VERSIONS) },
  fc.constantFrom("2099-01-01", "", "1.0", "2025-3-26"),
  nastyString,
);

/** Request ids: mostly valid, then every other type and numbers no double holds. */
const idArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.nat(), fc.string({ maxLength: 10 })) },
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, ""),
  nastyString,
  nastyNumber,
  fc.constantFrom(null, true, false, [], {}, [1], { id: 1 }),
  fc.constantFrom("1e400", "123456789012345678901234567890", "-0", "1.0").map((t) => new Raw(t)),
);

/** Names of the gateway's tools (see the fuzz tests' set-up) and some that are not. */
export const TOOL_NAMES = ["lookup", "post_any", "item"];
const toolNameArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...TOOL_NAMES) },
  nastyString,
  jsonValue,
);

/** A call each tool accepts: arguments that fit its schema, with hostile values inside. */
const validCallArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({
    name: fc.constant("lookup"),
    arguments: fc.record({
      q: fc.oneof(nastyString, fc.string({ maxLength: 200 })).filter((q) => q.length <= 200),
      n: fc.integer({ min: 0, max: 100 }),
      tags: fc.array(nastyString, { maxLength: 3 }),
    }, { requiredKeys: ["q"] }),
  }),
  fc.record({ name: fc.constant("item"), arguments: fc.record({ id: nastyString }) }),
  fc.record({
    name: fc.constant("post_any"),
    arguments: fc.record({ payload: orRaw(jsonValue, 2) }, { requiredKeys: [] }),
  }),
);

/** Arguments shaped like the tools' input schemas, then anything. */
const argumentsArb: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      q: orRaw(fc.oneof(nastyString, jsonValue)),
      n: orRaw(fc.oneof(fc.integer({ min: 0, max: 100 }), nastyNumber, jsonValue)),
      tags: fc.array(nastyString, { maxLength: 3 }),
      id: orRaw(fc.oneof(nastyString, fc.nat())),
      payload: orRaw(jsonValue, 2),
    }, { requiredKeys: [] }),
  },
  orRaw(jsonValue, 2),
);

const metaArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({
    progressToken: fc.oneof(fc.nat(), nastyString, jsonValue),
    "io.modelcontextprotocol/protocolVersion": versionArb,
    "io.modelcontextprotocol/clientCapabilities": fc.oneof(fc.constant({}), jsonValue),
    "io.modelcontextprotocol/logLevel": fc.oneof(fc.constantFrom("debug", "error"), jsonValue),
  }, { requiredKeys: [] }),
  jsonValue,
);

const cursorArb = fc.oneof(
  nastyString,
  jsonValue,
  // Cursors of the shape the server issues, naming any tool.
  nastyString.map((after) => {
    try {
      return btoa(JSON.stringify({ after })).replace(/=+$/, "");
    } catch {
      return after;
    }
  }),
);

/** Valid-looking params of each method (with generated values inside). */
const paramsByMethod: Record<string, fc.Arbitrary<Json>> = {
  initialize: fc.record({
    protocolVersion: versionArb,
    capabilities: fc.oneof(fc.constant({}), jsonValue),
    clientInfo: fc.oneof(
      fc.record({ name: nastyString, version: nastyString }),
      jsonValue,
    ),
  }, { requiredKeys: ["protocolVersion"] }),
  ping: fc.constant({}),
  "tools/list": fc.record({ cursor: cursorArb, _meta: metaArb }, { requiredKeys: [] }),
  "tools/call": fc.oneof(
    { weight: 2, arbitrary: validCallArb },
    fc.record({ name: toolNameArb, arguments: argumentsArb, _meta: metaArb }, {
      requiredKeys: ["name"],
    }),
  ),
  "resources/list": fc.record({ cursor: cursorArb }, { requiredKeys: [] }),
  "prompts/list": fc.record({ cursor: cursorArb }, { requiredKeys: [] }),
  "logging/setLevel": fc.record({
    level: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...LOG_LEVELS) }, jsonValue),
  }),
  "server/discover": fc.record({ _meta: metaArb }, { requiredKeys: [] }),
};

const NOTIFICATIONS = [
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
  "notifications/unknown",
];

const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant("tools/call") },
  { weight: 8, arbitrary: fc.constantFrom(...Object.keys(paramsByMethod)) },
  fc.constantFrom("resources/read", "prompts/get", "completion/complete", "tools/List", "rpc.x"),
  nastyString,
);

/** A request: a method, params fitting it (or mutated, or any) and an id. */
const requestArb: fc.Arbitrary<Json> = methodArb.chain((method) => {
  // Own keys only: a method named "constructor" has no params of its own.
  const fitting = Object.hasOwn(paramsByMethod, method)
    ? paramsByMethod[method]
    : fc.dictionary(nastyString, jsonValue);
  return fc.record({
    jsonrpc: fc.constant("2.0"),
    id: idArb,
    method: fc.constant(method),
    params: fc.oneof({ weight: 5, arbitrary: fitting }, mutated(fitting), orRaw(jsonValue)),
  }, { requiredKeys: ["jsonrpc", "id", "method"] });
});

const notificationArb: fc.Arbitrary<Json> = fc.record({
  jsonrpc: fc.constant("2.0"),
  method: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NOTIFICATIONS) }, nastyString),
  params: fc.oneof(
    fc.record({
      requestId: idArb,
      reason: nastyString,
      progressToken: idArb,
      progress: nastyNumber,
    }, { requiredKeys: [] }),
    jsonValue,
  ),
}, { requiredKeys: ["jsonrpc", "method"] });

/** What a client sends back to a server request (Gatehouse sends none, so these answer nothing). */
const clientResponseArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ jsonrpc: fc.constant("2.0"), id: idArb, result: jsonValue }),
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: idArb,
    error: fc.record({ code: nastyNumber, message: nastyString }),
  }),
);

/** A message with one field of the wrong type (or `jsonrpc` wrong, or fields missing). */
const wrongTypesArb: fc.Arbitrary<Json> = fc.record({
  jsonrpc: fc.oneof(fc.constant("2.0"), fc.constantFrom("1.0", "2", 2, null), jsonValue),
  id: idArb,
  method: fc.oneof(fc.constantFrom(...Object.keys(paramsByMethod)), jsonValue),
  params: jsonValue,
  result: jsonValue,
}, { requiredKeys: [] });

/** One JSON-RPC message, valid or not. */
export const messageArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 8, arbitrary: requestArb },
  { weight: 2, arbitrary: notificationArb },
  { weight: 1, arbitrary: clientResponseArb },
  { weight: 2, arbitrary: wrongTypesArb },
  { weight: 1, arbitrary: orRaw(jsonValue, 1) },
);

/** A body: one message, a batch, or something that is not JSON. */
export const mcpBodyArb: fc.Arbitrary<Body> = fc.oneof(
  { weight: 12, arbitrary: messageArb.map((m) => ({ json: writeJson(m) })) },
  {
    weight: 3,
    arbitrary: fc.array(messageArb, { maxLength: 5 }).map((ms) => ({ json: writeJson(ms) })),
  },
  // More messages than a batch may hold.
  fc.integer({ min: 101, max: 130 }).map((n) => ({
    json: writeJson(
      Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" })),
    ),
  })),
  brokenBody(messageArb.map(writeJson)),
);
