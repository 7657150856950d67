/**
 * JSON-RPC 2.0 message shapes, error codes and the classification of raw
 * input into requests, notifications and responses.
 *
 * @module
 */
import { isObject, utf8Length } from "../util/json.ts";

/** A request id: a string or an integer (never null). */
export type RequestId = string | number;

/** A JSON-RPC request. */
export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

/** A JSON-RPC notification (no id, no response). */
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}

/** A JSON-RPC error object. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** A JSON-RPC success or error response. */
export type JsonRpcResponse =
  | { jsonrpc: "2.0"; id: RequestId; result: Record<string, unknown> }
  | { jsonrpc: "2.0"; id: RequestId | null; error: JsonRpcErrorObject };

/** Anything that travels over an MCP connection. */
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/** Standard and MCP-defined error codes. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Until 2026-07-28: no resource has the URI asked for. */
  ResourceNotFound: -32002,
  /** 2026-07-28: HTTP headers disagree with the body, or a required header is missing. */
  HeaderMismatch: -32020,
  /** 2026-07-28: the request needs a client capability it did not declare. */
  MissingRequiredClientCapability: -32021,
  /** 2026-07-28: the requested protocol version is not supported. */
  UnsupportedProtocolVersion: -32022,
  /**
   * Gatehouse: a rate limit refused the request (implementation-defined
   * server range); `data` carries `retryAfterSeconds` and `limit`.
   */
  RateLimited: -32029,
} as const;

/** An error a handler raises to answer with a JSON-RPC error. */
export class RpcError extends Error {
  /** Creates an error with `code`, `message` and optional `data`. */
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = "RpcError";
  }

  /** The error object for a response. */
  toJSON(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** The result of classifying one raw message. */
export type Classified =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse }
  | { kind: "invalid"; id: RequestId | null; error: RpcError };

/** True for a usable request id: a string or a safe integer. */
export function isRequestId(v: unknown): v is RequestId {
  return typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v));
}

/** Sorts a parsed JSON value into a request, notification, response or invalid message. */
export function classify(raw: unknown): Classified {
  if (!isObject(raw)) {
    return { kind: "invalid", id: null, error: invalidRequest("message must be a JSON object") };
  }
  const id = isRequestId(raw.id) ? raw.id : null;
  if (raw.jsonrpc !== "2.0") {
    return { kind: "invalid", id, error: invalidRequest('jsonrpc must be "2.0"') };
  }
  if ("method" in raw) {
    if (typeof raw.method !== "string" || raw.method === "") {
      return { kind: "invalid", id, error: invalidRequest("method must be a non-empty string") };
    }
    if (raw.params !== undefined && !isObject(raw.params)) {
      // MCP only uses by-name params; positional params cannot be meant for us.
      return {
        kind: "invalid",
        id,
        error: new RpcError(ErrorCode.InvalidParams, "params must be an object"),
      };
    }
    if (!("id" in raw)) {
      return { kind: "notification", message: raw as unknown as JsonRpcNotification };
    }
    if (!isRequestId(raw.id)) {
      return {
        kind: "invalid",
        id: null,
        error: invalidRequest("id must be a string or an integer"),
      };
    }
    return { kind: "request", message: raw as unknown as JsonRpcRequest };
  }
  if (("result" in raw) !== ("error" in raw) && (isRequestId(raw.id) || raw.id === null)) {
    return { kind: "response", message: raw as unknown as JsonRpcResponse };
  }
  return { kind: "invalid", id, error: invalidRequest("not a request, notification or response") };
}

function invalidRequest(detail: string): RpcError {
  return new RpcError(ErrorCode.InvalidRequest, `Invalid request: ${detail}`);
}

/** A success response to `id`. */
export function success(id: RequestId, result: Record<string, unknown>): JsonRpcResponse {
  return { jsonrpc: "2.0", id, result };
}

/** An error response to `id` (null when the id could not be read). */
export function failure(id: RequestId | null, error: RpcError): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: error.toJSON() };
}

/** A notification message. */
export function notification(
  method: string,
  params?: Record<string, unknown>,
): JsonRpcNotification {
  return params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params };
}

/**
 * Marks a result object whose JSON text is already known, so encoding it
 * skips re-serialising (a gateway's tool list is the same bytes until it
 * changes). Non-enumerable: copies made with spread drop it, as they must.
 */
const PRESERIALIZED = Symbol("preserialized");

/** Attaches the JSON text of `result` to it; returns `result`. */
export function withJson<T extends Record<string, unknown>>(result: T, json: string): T {
  Object.defineProperty(result, PRESERIALIZED, { value: json, enumerable: false });
  return result;
}

/** A message's own JSON text, once {@link messageBytes} has encoded it. */
const ENCODED = Symbol("encoded");
/** The UTF-8 size of a preserialized result's text, measured once per result. */
const RESULT_BYTES = Symbol("result bytes");

/**
 * The UTF-8 size of `message`'s JSON text, for the request log. A result
 * with attached text is measured once (a cached list page is the same
 * bytes for every request); any other message is encoded here and keeps
 * its text, which {@link encodeMessage} then returns instead of encoding
 * it again.
 */
export function messageBytes(message: JsonRpcResponse): number {
  const result = (message as { result?: Record<PropertyKey, unknown> }).result;
  const json = result?.[PRESERIALIZED];
  if (typeof json === "string") {
    let bytes = result![RESULT_BYTES] as number | undefined;
    if (bytes === undefined) {
      bytes = utf8Length(json);
      Object.defineProperty(result, RESULT_BYTES, { value: bytes, enumerable: false });
    }
    // `{"jsonrpc":"2.0","id":` + id + `,"result":` + text + `}`.
    return 33 + utf8Length(JSON.stringify(message.id)) + bytes;
  }
  const text = JSON.stringify(message);
  Object.defineProperty(message, ENCODED, { value: text, enumerable: false });
  return utf8Length(text);
}

/** The JSON text of a message, reusing a result's attached text when there is one. */
export function encodeMessage(message: unknown): string {
  if (Array.isArray(message)) return `[${message.map(encodeMessage).join(",")}]`;
  const encoded = (message as Record<PropertyKey, unknown> | null)?.[ENCODED];
  if (typeof encoded === "string") return encoded;
  const result = (message as { result?: Record<PropertyKey, unknown> } | null)?.result;
  const json = result?.[PRESERIALIZED];
  if (typeof json !== "string") return JSON.stringify(message);
  const id = (message as { id: RequestId }).id;
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${json}}`;
}
