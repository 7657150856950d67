/**
 * The Streamable HTTP transport to an upstream: the SDK's client transport
 * over the guarded fetch.
 *
 * @module
 */
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";

/**
 * A Streamable HTTP transport to `url`. The SDK's own stream reconnection
 * is off: the supervisor reconnects, with backoff and a status to show.
 */
export function streamableHttpTransport(url: URL, fetch: FetchLike): Transport {
  return new StreamableHTTPClientTransport(url, {
    fetch,
    reconnectionOptions: {
      maxRetries: 0,
      initialReconnectionDelay: 1000,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1,
    },
  });
}
