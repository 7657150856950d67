/**
 * Reading JSON request bodies: 415 for a non-JSON content type, 400 for
 * malformed JSON, a non-object body or one nested too deeply. The size limit
 * is applied before this by the body-limit middleware (413).
 *
 * @module
 */
import type { Context } from "hono";
import { ApiError, invalid } from "./errors.ts";
import { isObject, MAX_JSON_DEPTH, nestedDeeperThan } from "../util/json.ts";
import {
  BodyTimeoutError,
  DEFAULT_BODY_TIMEOUT_MS,
  readBodyBytes,
  readBodyText,
} from "../util/body.ts";
import type { Body } from "./validate.ts";

/** True when the request declares a JSON body (`application/json` or `+json`). */
export function isJsonContentType(contentType: string | undefined | null): boolean {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.-]+\+json$/.test(type);
}

/**
 * Deepest nesting of objects and lists a body may have: a 1 MB body of
 * `[[[[...` would overflow the stack of later recursive walks and answer 500,
 * so it is refused here (the MCP transports share the cap).
 */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH;

/** The context variable holding how long a body may take to arrive, in ms (set by the API app). */
export const BODY_TIMEOUT_VAR = "bodyTimeoutMs";

/** The request's JSON object body; 408 when it does not arrive in time. */
export async function readJson(c: Context): Promise<Body> {
  return parseJsonBody(await readJsonRaw(c, readBodyText));
}

/**
 * The request's JSON body as bytes, unparsed, with the same refusals as
 * {@link readJson} but those of parsing: for a body parsed elsewhere (an
 * import's, off the main thread) with {@link parseJsonBody}.
 */
export function readJsonBytes(c: Context): Promise<Uint8Array<ArrayBuffer>> {
  return readJsonRaw(c, readBodyBytes);
}

/** The body by `read`: 415 unless it is declared JSON, 408 when it does not arrive in time. */
async function readJsonRaw<T>(
  c: Context,
  read: (req: Request, limit: number, timeoutMs: number) => Promise<T>,
): Promise<T> {
  if (!isJsonContentType(c.req.header("content-type"))) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      "request body must be JSON: send Content-Type: application/json",
    );
  }
  try {
    const timeoutMs = c.get(BODY_TIMEOUT_VAR) as number | undefined;
    return await read(c.req.raw, Infinity, timeoutMs ?? DEFAULT_BODY_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof BodyTimeoutError) {
      throw new ApiError(408, "request_timeout", err.message);
    }
    // Not the client's JSON at fault: the connection broke, or the server is
    // stopping (Deno 2.9 cuts in-flight bodies on shutdown, denoland/deno#36809).
    // Nothing was written, so the client may safely send the request again.
    throw new ApiError(
      503,
      "unavailable",
      "the request body could not be read (connection closed or server stopping); retry",
    );
  }
}

/** `text` as a JSON object body: 400 for malformed JSON, a non-object or too deep a nesting. */
export function parseJsonBody(text: string): Body {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the fault, which on these routes may be a
    // password or a secret value: only the position is passed on.
    const at = /position (\d+)/.exec((err as Error).message);
    throw invalid("body", `request body is not valid JSON${at ? ` (at position ${at[1]})` : ""}`);
  }
  if (!isObject(parsed)) throw invalid("body", "request body must be a JSON object");
  if (nestedDeeperThan(parsed, MAX_BODY_DEPTH)) {
    throw invalid("body", `request body nests more than ${MAX_BODY_DEPTH} levels deep`);
  }
  return parsed;
}
