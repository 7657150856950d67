/**
 * What every OAuth endpoint of a gateway works with: the gateway, its
 * `oauth2` settings and URLs, and the shared services (store, client
 * documents, rate limiters, login sessions).
 *
 * @module
 */
import type { Context } from "hono";
import type { ResolvedGateway } from "../mcp/service.ts";
import type { Store } from "../store/store.ts";
import type { ClientMetadataDocuments } from "./clients.ts";
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
  /** Failed logins per IP address. */
  loginsPerIp: RateLimiter;
  /** Failed logins per account (email). */
  loginsPerAccount: RateLimiter;
  /** Client metadata document fetches (cache misses) per IP address. */
  documentFetches: RateLimiter;
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
 * The caller's IP address as the socket saw it (Hono passes Deno's serve
 * info as the env). Behind a reverse proxy this is the proxy's, so limits per
 * IP then apply to all clients together; forwarded headers are not trusted
 * because any client can set them.
 */
export function clientAddress(c: Context): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

/** Reads a request body of at most `cap` bytes as text; undefined when over the cap. */
export async function readText(req: Request, cap: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > cap) return undefined;
  const reader = req.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Reads a form-encoded request body of at most `cap` bytes; undefined when over the cap. */
export async function readForm(req: Request, cap: number): Promise<URLSearchParams | undefined> {
  const text = await readText(req, cap);
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

/** A `mayFetch` for client metadata documents: one fetch per call, within the caller's limit. */
export function documentFetchAllowed(o: OAuthRequest): () => boolean {
  return () => o.services.documentFetches.take(clientAddress(o.c)) === 0;
}
