/**
 * Reading JSON request bodies: 415 for a non-JSON content type, 400 for
 * malformed JSON or a non-object body. The size limit is applied before this
 * by the body-limit middleware (413).
 *
 * @module
 */
import type { Context } from "hono";
import { ApiError, invalid } from "./errors.ts";
import { type Body, isObject } from "./validate.ts";

/** True when the request declares a JSON body (`application/json` or `+json`). */
export function isJsonContentType(contentType: string | undefined | null): boolean {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.-]+\+json$/.test(type);
}

/** The request's JSON object body. */
export async function readJson(c: Context): Promise<Body> {
  if (!isJsonContentType(c.req.header("content-type"))) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      "request body must be JSON: send Content-Type: application/json",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await c.req.text());
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw invalid("body", `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw invalid("body", "request body must be a JSON object");
  return parsed;
}
