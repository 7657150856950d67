/**
 * The connection kinds built on the MCP SDK's client, in one module that the
 * supervisor loads when it opens its first upstream connection. The SDK's
 * client and its schemas take about 28 MiB of memory once loaded, which a
 * Gatehouse without upstream MCP servers has no use for.
 *
 * @module
 */
export { SdkConnection } from "./connection.ts";
export { sseTransport } from "./sse.ts";
export { StatelessConnection } from "./stateless.ts";
export { streamableHttpTransport } from "./streamable_http.ts";
