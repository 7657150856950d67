/**
 * The OpenAPI 3.1 description of the management API, served at `/openapi.json`.
 *
 * @module
 */

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "Gatehouse management API", version: "0.1.0" },
    paths: {},
  };
}
