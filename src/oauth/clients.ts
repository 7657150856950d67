/**
 * OAuth clients of a gateway's authorization server: dynamic registration
 * (RFC 7591) and Client ID Metadata Documents (a `client_id` that is an
 * https URL naming a JSON document about the client), resolved to one shape.
 *
 * @module
 */
import { generateToken, hashToken } from "../auth/tokens.ts";
import type { OAuthClient } from "../store/oauth.ts";
import type { Store } from "../store/store.ts";
import { type OutboundGuard, type OutboundPolicy } from "../tools/outbound_policy.ts";
import { readCapped } from "../tools/outbound.ts";

/** A client as the authorization endpoints see it, wherever it came from. */
export interface ResolvedClient {
  clientId: string;
  /** Name to show on the consent page (never trusted for anything else). */
  clientName: string | undefined;
  redirectUris: string[];
  tokenEndpointAuthMethod: string;
  secretHash: string | null;
  /** `registered` (RFC 7591) or `metadata_document` (CIMD). */
  source: "registered" | "metadata_document";
}

/** Client authentication methods at the token endpoint. */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  "none",
  "client_secret_post",
  "client_secret_basic",
] as const;
/** Grant types a client may register for. */
export const GRANT_TYPES = ["authorization_code", "refresh_token"] as const;

/** A refusal of client metadata, in RFC 7591's terms. */
export class ClientMetadataError extends Error {
  /** `error` is `invalid_redirect_uri` or `invalid_client_metadata`. */
  constructor(readonly error: string, message: string) {
    super(message);
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;

/**
 * Why `uri` cannot be a redirect URI, or undefined when it can: https, or
 * plain http only to a loopback host (native apps, RFC 8252 section 7.3),
 * and no fragment (RFC 6749 section 3.1.2).
 */
export function redirectUriProblem(uri: unknown): string | undefined {
  if (typeof uri !== "string" || uri.length === 0 || uri.length > MAX_URI_LENGTH) {
    return `redirect URIs must be strings of 1 to ${MAX_URI_LENGTH} characters`;
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `'${uri}' is not an absolute URL`;
  }
  if (url.hash !== "" || uri.includes("#")) return `'${uri}' must not contain a fragment`;
  if (url.username || url.password) return `'${uri}' must not contain credentials`;
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return `'${uri}' must use https, or http only to a loopback host (127.0.0.1, [::1] or localhost)`;
}

function checkRedirectUris(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ClientMetadataError(
      "invalid_redirect_uri",
      "redirect_uris must be a non-empty list of URLs",
    );
  }
  if (value.length > MAX_REDIRECT_URIS) {
    throw new ClientMetadataError(
      "invalid_redirect_uri",
      `at most ${MAX_REDIRECT_URIS} redirect_uris may be registered`,
    );
  }
  for (const uri of value) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new ClientMetadataError("invalid_redirect_uri", problem);
  }
  return [...new Set(value as string[])];
}

function optionalText(body: Record<string, unknown>, field: string, max: number) {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max) {
    throw new ClientMetadataError(
      "invalid_client_metadata",
      `${field} must be a string of at most ${max} characters`,
    );
  }
  return v;
}

function subsetOf(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly string[],
  fallback: string[],
): string[] {
  const v = body[field];
  if (v === undefined) return fallback;
  if (
    !Array.isArray(v) || v.length === 0 ||
    v.some((x) => typeof x !== "string" || !allowed.includes(x))
  ) {
    throw new ClientMetadataError(
      "invalid_client_metadata",
      `${field} must be a non-empty list of: ${allowed.join(", ")}`,
    );
  }
  return [...new Set(v as string[])];
}

/** What registration returns: the stored client and, for confidential clients, the one-time secret. */
export interface Registration {
  client: OAuthClient;
  secret?: string;
  /** The RFC 7591 response body. */
  response: Record<string, unknown>;
}

/**
 * Validates RFC 7591 metadata and registers the client on `gatewayId`.
 * `token_endpoint_auth_method` defaults to `client_secret_basic` as RFC 7591
 * says; MCP clients normally ask for `none` (public clients using PKCE).
 * `grant_types` defaults to both supported types rather than RFC 7591's
 * `authorization_code` alone: clients that leave it out still expect to refresh.
 */
export async function registerClient(
  store: Store,
  gatewayId: string,
  body: unknown,
): Promise<Registration> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ClientMetadataError("invalid_client_metadata", "the body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  const redirectUris = checkRedirectUris(b.redirect_uris);
  const authMethod = b.token_endpoint_auth_method ?? "client_secret_basic";
  if (!(TOKEN_ENDPOINT_AUTH_METHODS as readonly unknown[]).includes(authMethod)) {
    throw new ClientMetadataError(
      "invalid_client_metadata",
      `token_endpoint_auth_method must be one of: ${TOKEN_ENDPOINT_AUTH_METHODS.join(", ")}`,
    );
  }
  const grantTypes = subsetOf(b, "grant_types", GRANT_TYPES, [...GRANT_TYPES]);
  const responseTypes = subsetOf(b, "response_types", ["code"], ["code"]);
  const clientName = optionalText(b, "client_name", 200);
  const scope = optionalText(b, "scope", 500);
  const clientUri = optionalText(b, "client_uri", MAX_URI_LENGTH);
  const softwareId = optionalText(b, "software_id", 200);
  const softwareVersion = optionalText(b, "software_version", 100);
  const id = generateToken("ghc_");
  const secret = authMethod === "none" ? undefined : generateToken("ghcs_");
  const metadata: Record<string, unknown> = {
    redirect_uris: redirectUris,
    token_endpoint_auth_method: authMethod,
    grant_types: grantTypes,
    response_types: responseTypes,
  };
  if (clientName !== undefined) metadata.client_name = clientName;
  if (scope !== undefined) metadata.scope = scope;
  if (clientUri !== undefined) metadata.client_uri = clientUri;
  if (softwareId !== undefined) metadata.software_id = softwareId;
  if (softwareVersion !== undefined) metadata.software_version = softwareVersion;
  const client = await store.oauth.createClient({
    id,
    gatewayId,
    clientName: clientName ?? "",
    redirectUris,
    tokenEndpointAuthMethod: authMethod as string,
    secretHash: secret === undefined ? null : hashToken(secret),
    metadata,
  });
  const response: Record<string, unknown> = {
    client_id: id,
    client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1000),
    ...metadata,
  };
  if (secret !== undefined) {
    response.client_secret = secret;
    response.client_secret_expires_at = 0;
  }
  return { client, secret, response };
}

/** Why a client could not be resolved, said on an error page or in a token error. */
export class ClientLookupError extends Error {}

/** Settings of the Client ID Metadata Document fetcher. */
export interface CimdOptions {
  /** Allow `http://` client ids on loopback hosts (tests, local development). */
  allowInsecure: boolean;
  guard: OutboundGuard;
  /** Fetch timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Largest document in bytes (default 64 KiB). */
  maxBytes?: number;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

const DEFAULT_CACHE_SECONDS = 3600;
const MIN_CACHE_SECONDS = 60;
const MAX_CACHE_SECONDS = 24 * 3600;
const MAX_CACHED = 1000;

/**
 * Fetches and caches Client ID Metadata Documents. A document is fetched
 * with a timeout and a size cap, never through a redirect, and never from a
 * private, loopback or link-local address (the URL is chosen by whoever
 * starts an authorization, so the fetch must not become a way to probe the
 * network Gatehouse sits in); loopback is allowed only in insecure mode.
 */
export class ClientMetadataDocuments {
  readonly #cache = new Map<string, { client: ResolvedClient; expires: number }>();
  readonly #policy: OutboundPolicy;

  /** A fetcher with `options`. */
  constructor(private readonly options: CimdOptions) {
    this.#policy = {
      allowPrivateNetworks: false,
      allowLoopback: options.allowInsecure,
      allowLinkLocal: false,
    };
  }

  /** True when `clientId` has the shape of a metadata document URL (https, or http in insecure mode). */
  isDocumentUrl(clientId: string): boolean {
    return clientId.startsWith("https://") ||
      (this.options.allowInsecure && clientId.startsWith("http://"));
  }

  /**
   * The client the document at `clientId` describes; throws
   * {@link ClientLookupError}. `mayFetch` is asked before a fetch (not for a
   * cached document): the caller's rate limit, since anyone can make
   * Gatehouse fetch any public URL by naming it as a client id.
   */
  async resolve(clientId: string, mayFetch: () => boolean = () => true): Promise<ResolvedClient> {
    const hit = this.#cache.get(clientId);
    if (hit && hit.expires > Date.now()) return hit.client;
    this.#cache.delete(clientId);
    if (!mayFetch()) {
      throw new ClientLookupError(
        "too many client metadata documents were fetched for this address; try again in a minute",
      );
    }
    const { client, maxAge } = await this.#fetch(clientId);
    this.#cache.set(clientId, { client, expires: Date.now() + maxAge * 1000 });
    while (this.#cache.size > MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    return client;
  }

  async #fetch(clientId: string): Promise<{ client: ResolvedClient; maxAge: number }> {
    let url: URL;
    try {
      url = new URL(clientId);
    } catch {
      throw new ClientLookupError("the client_id is not a valid URL");
    }
    const insecureOk = this.options.allowInsecure && url.protocol === "http:" &&
      LOOPBACK_HOSTS.has(url.hostname);
    if (url.protocol !== "https:" && !insecureOk) {
      throw new ClientLookupError("a URL client_id must use https");
    }
    if (url.pathname === "/" || url.hash || url.username || url.password) {
      throw new ClientLookupError(
        "a URL client_id must have a path and no fragment or credentials",
      );
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? 5000);
    const decision = await this.options.guard.check(url, this.#policy, signal).catch(() => ({
      ok: false as const,
      cause: "dns" as const,
    }));
    if (!decision.ok) {
      throw new ClientLookupError(
        `the client metadata document cannot be fetched from ${url.host}: ${
          decision.cause === "dns"
            ? "the host name could not be resolved"
            : "it is not a public address"
        }`,
      );
    }
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch)(url, {
        headers: { accept: "application/json" },
        redirect: "manual",
        signal,
      });
    } catch (err) {
      throw new ClientLookupError(
        `the client metadata document could not be fetched (${
          signal.aborted ? "timed out" : (err as Error).name
        })`,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new ClientLookupError(
        `the client metadata document answered HTTP ${res.status} (redirects are not followed)`,
      );
    }
    const cap = this.options.maxBytes ?? 64 * 1024;
    let doc: unknown;
    try {
      const body = await readCapped(res, cap);
      if (body.truncated) {
        throw new ClientLookupError(`the client metadata document is larger than ${cap} bytes`);
      }
      doc = JSON.parse(new TextDecoder().decode(body.bytes));
    } catch (err) {
      if (err instanceof ClientLookupError) throw err;
      throw new ClientLookupError("the client metadata document is not valid JSON");
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      throw new ClientLookupError("the client metadata document is not a JSON object");
    }
    const d = doc as Record<string, unknown>;
    if (d.client_id !== clientId) {
      throw new ClientLookupError(
        "the client metadata document's client_id does not equal the URL it was fetched from",
      );
    }
    let redirectUris: string[];
    const authMethod = d.token_endpoint_auth_method ?? "none";
    try {
      redirectUris = checkRedirectUris(d.redirect_uris);
      if (authMethod !== "none") {
        // A document is public: it cannot carry a shared secret, and key-based
        // client authentication (private_key_jwt) is not supported.
        throw new ClientMetadataError(
          "invalid_client_metadata",
          "token_endpoint_auth_method must be 'none'",
        );
      }
    } catch (err) {
      throw new ClientLookupError(
        `the client metadata document is not acceptable: ${(err as Error).message}`,
      );
    }
    const name = typeof d.client_name === "string" ? d.client_name.slice(0, 200) : undefined;
    return {
      client: {
        clientId,
        clientName: name,
        redirectUris,
        tokenEndpointAuthMethod: "none",
        secretHash: null,
        source: "metadata_document",
      },
      maxAge: cacheSeconds(res.headers.get("cache-control")),
    };
  }
}

/**
 * How long to keep a document: its `max-age`, bounded to a minute .. a day;
 * `no-store`/`no-cache` get the minimum (every authorization would otherwise
 * refetch, which an attacker could use to make Gatehouse hammer a host);
 * an hour when the header says nothing.
 */
export function cacheSeconds(header: string | null): number {
  if (/(?:^|,)\s*no-(?:store|cache)\b/i.test(header ?? "")) return MIN_CACHE_SECONDS;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(header ?? "");
  const age = m ? Number(m[1]) : DEFAULT_CACHE_SECONDS;
  return Math.min(MAX_CACHE_SECONDS, Math.max(MIN_CACHE_SECONDS, age));
}

/**
 * The client `clientId` of `gatewayId`: a registered one, or the one a
 * metadata document describes (fetched only if `mayFetch` allows). Throws
 * {@link ClientLookupError}.
 */
export async function resolveClient(
  store: Store,
  documents: ClientMetadataDocuments,
  gatewayId: string,
  clientId: string,
  mayFetch?: () => boolean,
): Promise<ResolvedClient> {
  if (documents.isDocumentUrl(clientId)) return await documents.resolve(clientId, mayFetch);
  const c = await store.oauth.getClient(gatewayId, clientId);
  if (!c) throw new ClientLookupError("unknown client_id: the client is not registered here");
  return {
    clientId: c.id,
    clientName: c.clientName || undefined,
    redirectUris: c.redirectUris,
    tokenEndpointAuthMethod: c.tokenEndpointAuthMethod,
    secretHash: c.secretHash,
    source: "registered",
  };
}
