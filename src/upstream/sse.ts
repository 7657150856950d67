/**
 * The legacy HTTP+SSE transport to an upstream: the SDK's client transport
 * over the guarded fetch (used for both the event stream and the POSTs).
 *
 * @module
 */
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";

/** An SSE transport to `url`. */
export function sseTransport(url: URL, fetch: FetchLike): Transport {
  return new SSEClientTransport(url, { fetch });
}
