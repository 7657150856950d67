/**
 * Small helpers the HTTP-based MCP transports share: JSON-RPC error
 * responses at the HTTP level and bounded body reading.
 *
 * @module
 */
import { encodeMessage, type RequestId } from "../mcp/jsonrpc.ts";

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

/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** Reads `req`'s body as text, refusing more than `limit` bytes without buffering them. */
export async function readBodyText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new BodyTooLargeError();
  if (!req.body) return "";
  // A declared length within the limit is enforced by the HTTP layer itself, so
  // read it whole: streaming it chunk by chunk costs far more on small bodies.
  if (Number.isInteger(declared)) return await req.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
