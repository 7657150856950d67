/**
 * How a failed request to an upstream MCP server reads, without loading the
 * MCP SDK: the JSON-RPC error it ended with, and the codes the SDK's client
 * raises on its own side.
 *
 * @module
 */

/** The SDK client's code for a request it gave up waiting for (`data.timeout` says how long). */
export const REQUEST_TIMEOUT = -32001;

/** The SDK client's code for requests in flight when the connection ended. */
export const CONNECTION_CLOSED = -32000;

/** A JSON-RPC error a request failed with: answered by the upstream, or raised on this side. */
export interface UpstreamRpcFailure {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}
