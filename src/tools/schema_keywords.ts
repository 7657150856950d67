/**
 * JSON Schema vocabulary shared by the schema checker, the OpenAPI schema
 * converter and the slimmer of imported schemas, so all agree on what each
 * keyword holds.
 *
 * @module
 */

/** The JSON Schema type names. */
export const JSON_TYPES: readonly string[] = [
  "string",
  "number",
  "integer",
  "boolean",
  "object",
  "array",
  "null",
];

/** Keywords whose value is a non-negative integer count. */
export const COUNT_KEYWORDS: readonly string[] = [
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "minContains",
  "maxContains",
];

/** Keywords whose value is a number bound. */
export const NUMBER_KEYWORDS: readonly string[] = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
];

/** Keywords whose value is an object of schemas, by name. */
export const SCHEMA_MAPS: readonly string[] = [
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
];

/** Keywords whose value is one schema (`items` may also be the draft-07 tuple list). */
export const SCHEMA_VALUES: readonly string[] = [
  "additionalProperties",
  "items",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames",
  "unevaluatedProperties",
  "unevaluatedItems",
  "additionalItems",
];

/** Keywords whose value is a non-empty list of schemas. */
export const SCHEMA_LISTS: readonly string[] = ["allOf", "anyOf", "oneOf", "prefixItems"];
