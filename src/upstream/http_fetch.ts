/**
 * The `fetch` the HTTP transports (Streamable HTTP, SSE) send through: every
 * request goes through the org's outbound policy like an `http` tool's,
 * carries the server's headers and credential, and fails with a short
 * message that never quotes the URL (which may hold a secret query value).
 *
 * @module
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { describeNetworkError, type HopDecision } from "../tools/outbound.ts";

/** Checks one destination against the org's outbound policy. */
export type DestinationGuard = (url: URL, signal: AbortSignal) => Promise<HopDecision>;

/** A failure reaching the upstream, worded for the server's `lastError`. */
export class UpstreamNetworkError extends Error {
  /** Creates the error; `message` names the host, never the full URL. */
  constructor(message: string) {
    super(message);
    this.name = "UpstreamNetworkError";
  }
}

/** What one request to the upstream carries: headers to set and query parameters to add. */
export interface RequestCredentials {
  headers: readonly (readonly [string, string])[];
  query: readonly (readonly [string, string])[];
}

/**
 * A fetch that adds the headers and query parameters `credentials` gives for
 * each request (set over whatever the SDK sends), checks each destination
 * with `guard` and does not follow redirects itself, so every hop the SDK
 * follows is checked again.
 */
export function guardedFetch(
  credentials: () => Promise<RequestCredentials>,
  guard: DestinationGuard,
): FetchLike {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const signal = init?.signal ?? new AbortController().signal;
    const decision = await guard(url, signal);
    if (!decision.ok) throw new UpstreamNetworkError(decision.message);
    const { headers, query } = await credentials();
    for (const [k, v] of query) url.searchParams.set(k, v);
    const h = new Headers(init?.headers);
    for (const [name, value] of headers) h.set(name, value);
    try {
      return await fetch(url, {
        ...init,
        headers: h,
        redirect: "manual",
        ...(decision.client ? { client: decision.client } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamNetworkError(describeNetworkError(err, url).message);
    }
  };
}
