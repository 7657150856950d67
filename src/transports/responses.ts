/**
 * Small helpers the HTTP-based MCP transports share: JSON-RPC error
 * responses at the HTTP level and bounded body reading.
 *
 * @module
 */
import { encodeMessage, ErrorCode, type RequestId } from "../mcp/jsonrpc.ts";
import { STORE_RETRY_AFTER_SECONDS } from "../store/sql.ts";
import { BodyTimeoutError, BodyTooLargeError, declaredLength, readBodyText } from "../util/body.ts";
import type { TransportLimits } from "./call.ts";
import { isJsonType } from "./guards.ts";

/** A JSON response (JSON-RPC messages are encoded with their cached parts). */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(encodeMessage(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** An HTTP error whose body is a JSON-RPC error, so MCP clients can read it. */
export function rpcErrorResponse(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  id: RequestId | null = null,
  data?: unknown,
): Response {
  const error = data === undefined ? { code, message } : { code, message, data };
  return jsonResponse({ jsonrpc: "2.0", id, error }, status, headers);
}

/**
 * The answer to a request that needed the database while it cannot be
 * reached: a 503 JSON-RPC error with `Retry-After` (served from memory, other
 * requests carry on).
 */
export function storeUnavailableResponse(): Response {
  return rpcErrorResponse(
    503,
    ErrorCode.InternalError,
    "Service Unavailable: the database cannot be reached; try again shortly",
    { "retry-after": String(STORE_RETRY_AFTER_SECONDS) },
  );
}

/** A client message body read off a POST: the parsed JSON, or why it could not be. */
export type MessageBody =
  | { value: unknown; bytes: number }
  | { refusal: Response }
  | { parseError: true };

/**
 * Reads the JSON body of a message POST: 415 for a non-JSON content type, 413
 * past `maxBodyBytes`, 408 when it is not all there within `bodyTimeoutMs`;
 * malformed JSON is reported separately because transports answer it
 * differently (in the response, or down the session's stream).
 */
export function readMessageBody(
  req: Request,
  limits: Pick<TransportLimits, "maxBodyBytes" | "bodyTimeoutMs">,
): Promise<MessageBody> {
  const maxBytes = limits.maxBodyBytes;
  if (!isJsonType(req.headers.get("content-type"))) {
    return Promise.resolve({
      refusal: rpcErrorResponse(
        415,
        ErrorCode.InvalidRequest,
        "Unsupported Media Type: Content-Type must be application/json",
      ),
    });
  }
  const declared = declaredLength(req);
  return readBodyText(req, maxBytes, limits.bodyTimeoutMs, declared).then(
    (text): MessageBody => {
      try {
        // The declared length is the bytes read; without one, the text's length is close enough.
        return {
          value: JSON.parse(text),
          bytes: Number.isInteger(declared) ? declared : text.length,
        };
      } catch {
        return { parseError: true };
      }
    },
    (err): MessageBody => {
      if (err instanceof BodyTimeoutError) {
        return {
          refusal: rpcErrorResponse(
            408,
            ErrorCode.InvalidRequest,
            `Request Timeout: ${err.message}`,
          ),
        };
      }
      if (!(err instanceof BodyTooLargeError)) return { parseError: true };
      return {
        refusal: rpcErrorResponse(
          413,
          ErrorCode.InvalidRequest,
          `Payload Too Large: the body exceeds ${maxBytes} bytes`,
        ),
      };
    },
  );
}
