/**
 * Request checks every MCP transport applies before anything else: Host and
 * Origin validation (DNS-rebinding protection) and content negotiation.
 *
 * @module
 */

/** Who may call the MCP endpoints from a browser, and under which Host names. */
export interface OriginPolicy {
  /** Origins allowed besides the server's own (`*` allows any). */
  allowedOrigins: readonly string[];
  /** When set, the Host header's name must be one of these (loopback-bound servers). */
  allowedHosts?: ReadonlySet<string>;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"];

/** True when `host` (a listen address) only accepts local connections. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\./.test(host);
}

/**
 * The policy for a server listening on `listenHost`: loopback-bound servers
 * accept only local Host names (plus the public URL's), so a DNS-rebinding
 * page cannot reach them.
 */
export function originPolicy(
  listenHost: string,
  allowedOrigins: readonly string[],
  publicUrl?: string,
): OriginPolicy {
  if (!isLoopbackHost(listenHost)) return { allowedOrigins };
  const hosts = new Set(LOOPBACK_NAMES);
  if (/^127\./.test(listenHost)) hosts.add(listenHost);
  if (publicUrl) hosts.add(new URL(publicUrl).hostname);
  return { allowedOrigins, allowedHosts: hosts };
}

/** Host header values seen, parsed once: a server sees very few distinct ones. */
const hostnames = new Map<string, string | undefined>();

function hostnameOf(hostHeader: string): string | undefined {
  let name = hostnames.get(hostHeader);
  if (name === undefined && !hostnames.has(hostHeader)) {
    try {
      name = new URL(`http://${hostHeader}`).hostname;
    } catch {
      name = undefined;
    }
    // Bounded: arbitrary Host values must not grow memory without end.
    if (hostnames.size >= 1024) hostnames.clear();
    hostnames.set(hostHeader, name);
  }
  return name;
}

/**
 * Why a request with these `Host` and `Origin` headers must be refused with
 * 403, or undefined when they are acceptable.
 */
export function checkOrigin(
  host: string | null,
  origin: string | null,
  policy: OriginPolicy,
): string | undefined {
  if (policy.allowedHosts) {
    const name = host ? hostnameOf(host) : undefined;
    if (!name || !policy.allowedHosts.has(name)) {
      return `Forbidden: Host '${host ?? ""}' is not allowed for this server`;
    }
  }
  if (origin === null) return undefined;
  if (policy.allowedOrigins.includes("*") || policy.allowedOrigins.includes(origin)) {
    return undefined;
  }
  try {
    if (host !== null && new URL(origin).host === host) return undefined;
  } catch {
    // A malformed Origin is refused below.
  }
  return `Forbidden: Origin '${origin}' is not allowed`;
}

/** What a request's Accept header allows. */
export interface Accepts {
  json: boolean;
  /** `text/event-stream` named explicitly: the client is ready for a streamed answer. */
  sse: boolean;
  /** A wildcard type was accepted: anything may be sent, streams included. */
  any: boolean;
  /**
   * The client ranks `text/event-stream` above JSON: it gave it a higher q,
   * or the same q and named it first (equal q-values leave the choice to the
   * server, which then follows the client's order, as common negotiators
   * do), or it does not take JSON at all.
   */
  prefersSse: boolean;
}

const ACCEPT_ANYTHING: Accepts = Object.freeze({
  json: true,
  sse: false,
  any: true,
  prefersSse: false,
});
/** Accept header values seen, parsed once: clients send very few distinct ones. */
const accepts = new Map<string, Accepts>();

/** Reads an Accept header; a missing one accepts anything (plain HTTP clients send none). */
export function parseAccept(header: string | null): Accepts {
  if (header === null) return ACCEPT_ANYTHING;
  let parsed = accepts.get(header);
  if (parsed === undefined) {
    parsed = Object.freeze(parseAcceptValue(header));
    // Bounded: arbitrary header values must not grow memory without end.
    if (accepts.size >= 1024) accepts.clear();
    accepts.set(header, parsed);
  }
  return parsed;
}

const JSON_TYPES = ["application/json", "application/*", "*/*"];
const SSE_TYPES = ["text/event-stream", "text/*"];

function parseAcceptValue(header: string): Accepts {
  if (header.trim() === "") return ACCEPT_ANYTHING;
  const types = header.split(",").map((part, index) => {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return { type: type.trim(), q: q ? Number(q.slice(2)) : 1, index };
  }).filter((t) => t.q > 0);
  // The best-ranked range that covers each kind: highest q, then first named.
  const best = (names: string[]) =>
    types.filter((t) => names.includes(t.type))
      .reduce<{ q: number; index: number } | undefined>(
        (b, t) => (!b || t.q > b.q ? t : b),
        undefined,
      );
  const json = best(JSON_TYPES);
  const sse = best(SSE_TYPES);
  return {
    json: json !== undefined,
    sse: sse !== undefined,
    any: types.some((t) => t.type === "*/*"),
    prefersSse: sse !== undefined &&
      (json === undefined || sse.q > json.q || (sse.q === json.q && sse.index < json.index)),
  };
}

/** True when a Content-Type header names JSON. */
export function isJsonType(header: string | null): boolean {
  const type = (header ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[\w.-]+\+json$/.test(type);
}
