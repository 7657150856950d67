/**
 * The Streamable HTTP transport to an upstream: the SDK's client transport
 * over the guarded fetch.
 *
 * @module
 */
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";

/**
 * A Streamable HTTP transport to `url`. A stream the server closes before
 * its answer (SEP-1699 polling) is resumed with `Last-Event-ID` a few times,
 * at the pace the server's `retry` asks; a connection that is really lost
 * is the supervisor's to reconnect, with backoff and a status to show.
 */
export function streamableHttpTransport(url: URL, fetch: FetchLike): Transport {
  return new StreamableHTTPClientTransport(url, {
    fetch,
    reconnectionOptions: {
      maxRetries: 3,
      initialReconnectionDelay: 500,
      maxReconnectionDelay: 5000,
      reconnectionDelayGrowFactor: 2,
    },
  });
}
