/**
 * What every OAuth endpoint of a gateway works with: the gateway, its
 * `oauth2` settings and URLs, and the shared services (store, client
 * documents, rate limiters, login sessions).
 *
 * @module
 */
import type { Context } from "hono";
import type { PasswordSignIn } from "../auth/sign_in.ts";
import { BodyTooLargeError, readBodyText } from "../util/body.ts";
import type { ResolvedGateway } from "../mcp/service.ts";
import type { Store } from "../store/store.ts";
import { type ClientMetadataDocuments, resolveClient, type ResolvedClient } from "./clients.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { LoginSessions } from "./sessions.ts";
import type { GatewayUrls, OAuthSettings } from "./settings.ts";

/** The shared services of all gateways' authorization servers. */
export interface OAuthServices {
  store: Store;
  documents: ClientMetadataDocuments;
  sessions: LoginSessions;
  /** Client registrations per IP address. */
  registrations: RateLimiter;
  /** The password check with its failed-attempt limits, shared with the rest of Gatehouse. */
  signIn: PasswordSignIn;
  /** Client metadata document fetches (cache misses) per IP address. */
  documentFetches: RateLimiter;
  /** Addresses of reverse proxies whose `X-Forwarded-For` is believed. */
  trustedProxies: ReadonlySet<string>;
  /** How long a request body may take to arrive, in ms. */
  bodyTimeoutMs: number;
}

/** One request to one gateway's authorization server. */
export interface OAuthRequest {
  c: Context;
  req: Request;
  target: ResolvedGateway;
  settings: OAuthSettings;
  urls: GatewayUrls;
  services: OAuthServices;
}

/**
 * The caller's IP address, for limits per IP. It is the socket's peer (Hono
 * passes Deno's serve info as the env), unless that peer is one of the
 * `trusted` reverse proxies: then it is the nearest `X-Forwarded-For` entry
 * that is not a trusted proxy. Forwarded headers from anyone else are
 * ignored, because any client can set them.
 */
export function clientAddress(c: Context, trusted: ReadonlySet<string>): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return peerAddress(info?.remoteAddr?.hostname, c.req.raw.headers, trusted);
}

/**
 * The client's address from the connection's `peer` and the request's
 * headers: the last `X-Forwarded-For` hop not in `trusted`, when the peer
 * itself is a trusted proxy; else the peer.
 */
export function peerAddress(
  peer: string | undefined,
  headers: Headers,
  trusted: ReadonlySet<string>,
): string {
  peer ??= "unknown";
  if (!trusted.has(peer)) return peer;
  const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted.has(hops[i])) return hops[i];
  }
  return peer;
}

/**
 * Reads the request body of `o`, at most `cap` bytes, as text; undefined when
 * over the cap. A body that does not arrive in time throws `BodyTimeoutError`
 * (the routes answer it).
 */
export async function readText(o: OAuthRequest, cap: number): Promise<string | undefined> {
  try {
    return await readBodyText(o.req, cap, o.services.bodyTimeoutMs);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return undefined;
    throw err;
  }
}

/** Reads a form-encoded request body of at most `cap` bytes; undefined when over the cap. */
export async function readForm(
  o: OAuthRequest,
  cap: number,
): Promise<URLSearchParams | undefined> {
  const text = await readText(o, cap);
  return text === undefined ? undefined : new URLSearchParams(text);
}

/** The name of the first parameter given more than once among `names`, if any (RFC 6749 section 3.1). */
export function repeatedParam(
  params: URLSearchParams,
  names: readonly string[],
): string | undefined {
  return names.find((n) => params.getAll(n).length > 1);
}

/** True when the media type of `header` is `type`. */
export function isMediaType(header: string | null, type: string): boolean {
  return (header ?? "").split(";")[0].trim().toLowerCase() === type;
}

/**
 * The client `clientId` of the request's gateway: registered, or a client
 * metadata document fetched within the caller's per-address limit. Throws
 * `ClientLookupError` when there is no such client.
 */
export function clientOf(o: OAuthRequest, clientId: string): Promise<ResolvedClient> {
  const address = clientAddress(o.c, o.services.trustedProxies);
  return resolveClient(
    o.services.store,
    o.services.documents,
    o.target.gateway.id,
    clientId,
    () => o.services.documentFetches.take(address) === 0,
  );
}
