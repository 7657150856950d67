/**
 * JSON Schema vocabulary shared by the schema checker and the OpenAPI
 * schema converter, so both agree on what each keyword holds.
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
