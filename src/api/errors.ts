/**
 * The management API's error shape, `{"error": {"code", "message", "field"?}}`,
 * and the one handler that turns anything thrown into it.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConflictError } from "../store/errors.ts";
import { STORE_RETRY_AFTER_SECONDS, StoreUnavailable, UnstorableText } from "../store/sql.ts";

/** An error a handler raises on purpose, with its HTTP status. */
export class ApiError extends Error {
  /**
   * Creates an error answered with `status`, a machine `code`, for bad input
   * the `field`, and any `headers` the answer needs (such as `Retry-After`).
   */
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** 400: the value of `field` is not acceptable. */
export function invalid(field: string, message: string): ApiError {
  return new ApiError(400, "invalid_request", message, field);
}

/** 404 for `what` (also used for resources of other orgs, so their existence never leaks). */
export function notFound(what: string): ApiError {
  return new ApiError(404, "not_found", `${what} not found`);
}

/** 403: the caller's role is too low for this. */
export function forbidden(message: string): ApiError {
  return new ApiError(403, "forbidden", message);
}

/** 401: no usable credential. */
export function unauthorized(message: string): ApiError {
  return new ApiError(401, "unauthorized", message);
}

/** The JSON body of an error response. */
export function errorBody(code: string, message: string, field?: string) {
  return { error: field ? { code, message, field } : { code, message } };
}

/** Hono `onError` handler: known errors keep their status, anything else is a logged 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    const res = c.json(errorBody(err.code, err.message, err.field), err.status);
    if (err.status === 401) res.headers.set("WWW-Authenticate", 'Bearer realm="gatehouse"');
    if (err.status === 503) res.headers.set("Retry-After", "1");
    for (const [name, value] of Object.entries(err.headers ?? {})) res.headers.set(name, value);
    return res;
  }
  if (err instanceof ConflictError) {
    return c.json(errorBody("conflict", err.message, err.field), 409);
  }
  if (err instanceof UnstorableText) return c.json(errorBody("invalid_request", err.message), 400);
  if (err instanceof StoreUnavailable) {
    // Nothing half-written: the write's transaction rolled back (or, cut in its commit, landed whole).
    const res = c.json(
      errorBody("store_unavailable", "the database cannot be reached; try again shortly"),
      503,
    );
    res.headers.set("Retry-After", String(STORE_RETRY_AFTER_SECONDS));
    return res;
  }
  console.error(`internal error on ${c.req.method} ${new URL(c.req.url).pathname}:`, err);
  return c.json(errorBody("internal_error", "internal server error"), 500);
}
