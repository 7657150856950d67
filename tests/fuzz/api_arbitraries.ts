/**
 * fast-check arbitraries for management API requests, derived from the
 * server's own `/openapi.json`: bodies generated from each operation's
 * request schema (then mutated, or replaced by any JSON, or not JSON at all),
 * path parameters from real ids to malformed percent-encoding, and headers.
 *
 * @module
 */
import fc from "fast-check";
import {
  type Body,
  brokenBody,
  type Json,
  jsonValue,
  mutated,
  nastyString,
  orRaw,
  writeJson,
} from "./json_arbitraries.ts";

/** One operation of the OpenAPI description. */
export interface Operation {
  method: string;
  /** The path template, e.g. `/gateways/{id}/tools/{toolId}`. */
  path: string;
  /** The JSON request body's schema, when the operation takes one. */
  bodySchema?: Json;
}

const METHODS = ["get", "put", "post", "delete", "patch"];

/** Every operation `doc` describes. */
export function operationsOf(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
      out.push({ method: method.toUpperCase(), path, bodySchema });
    }
  }
  return out;
}

/** How deep generated bodies follow a schema before any JSON will do. */
const MAX_DEPTH = 6;

/** Values that fit `schema` (a JSON Schema of `doc`), as far as a generator can tell. */
export function fromSchema(schema: Json, doc: Json, depth = 0): fc.Arbitrary<Json> {
  if (typeof schema !== "object" || schema === null || depth > MAX_DEPTH) return jsonValue;
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.replace(/^#\//, "").split("/")
      .reduce((node: Json, part: string) => node?.[part], doc);
    return fromSchema(target, doc, depth + 1);
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alternatives)) {
    return fc.oneof(
      ...alternatives.map((s: Json) =>
        fromSchema({ ...schema, oneOf: undefined, anyOf: undefined, ...s }, doc, depth + 1)
      ),
    );
  }
  if (Array.isArray(schema.type)) {
    return fc.oneof(
      ...schema.type.map((type: string) => fromSchema({ ...schema, type }, doc, depth)),
    );
  }
  switch (schema.type) {
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, Json>;
      const names = Object.keys(props);
      if (names.length === 0) {
        const values = typeof schema.additionalProperties === "object"
          ? fromSchema(schema.additionalProperties, doc, depth + 1)
          : jsonValue;
        return fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), values, { maxKeys: 3 });
      }
      const shape = Object.fromEntries(names.map((n) => [n, fromSchema(props[n], doc, depth + 1)]));
      return fc.record(shape, {
        requiredKeys: (schema.required ?? []).filter((n: string) => names.includes(n)),
      });
    }
    case "array":
      return fc.array(fromSchema(schema.items, doc, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)),
      });
    case "string":
      return stringFor(schema);
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1_000_000 });
    case "number":
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    default:
      return jsonValue;
  }
}

function stringFor(schema: Json): fc.Arbitrary<string> {
  if (schema.format === "date-time") {
    return fc.date({ min: new Date(2000, 0), max: new Date(2100, 0), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (schema.format === "email") return fc.emailAddress();
  if (schema.format === "uri") return fc.webUrl();
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 24, 24));
  if (typeof schema.pattern === "string") {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) =>
        s.length >= min && s.length <= (schema.maxLength ?? Infinity)
      );
    } catch {
      // A pattern the generator cannot read: plain strings below.
    }
  }
  return fc.string({ minLength: min, maxLength: max });
}

/** A body for `op`: one that fits its schema, a mutation of one, any JSON, or not JSON. */
export function bodyFor(op: Operation, doc: Json): fc.Arbitrary<Body | undefined> {
  if (!op.bodySchema) {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      orRaw(jsonValue).map((v) => ({ json: writeJson(v) })),
    );
  }
  const fitting = fromSchema(op.bodySchema, doc);
  return fc.oneof(
    { weight: 5, arbitrary: fitting.map((v) => ({ json: writeJson(v) })) },
    { weight: 3, arbitrary: mutated(fitting).map((v) => ({ json: writeJson(v) })) },
    { weight: 2, arbitrary: orRaw(jsonValue, 2).map((v) => ({ json: writeJson(v) })) },
    brokenBody(fitting.map(writeJson)),
    fc.constant(undefined),
  );
}

/** Path segments no well-behaved client sends: malformed percent-encoding, dot segments, huge. */
const hostileSegment = fc.constantFrom(
  "%",
  "%Z",
  "%ZZ",
  "a%",
  "%E0%A4%A",
  "%C0%AF",
  "%ED%A0%80",
  "%FF%FE",
  "%00",
  "%2F",
  "%2e%2e%2f",
  "..",
  ".",
  "%20",
  "x".repeat(3000),
);

/** A path segment: a real value from `pool`, another string (encoded), or a hostile one. */
export function segmentArb(pool: string[]): fc.Arbitrary<string> {
  const encoded = nastyString.map((s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      // A lone surrogate has no UTF-8 form: send the bytes a careless encoder would.
      return "%ED%A0%80";
    }
  });
  return fc.oneof(
    { weight: 5, arbitrary: pool.length > 0 ? fc.constantFrom(...pool) : encoded },
    { weight: 2, arbitrary: encoded },
    { weight: 2, arbitrary: hostileSegment },
    fc.uuid(),
  );
}

/** The path of `op` with each `{param}` filled by `segments`. */
export function fillPath(op: Operation, segments: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name) => segments[name] ?? "x");
}
