/**
 * Authentication of MCP requests against a gateway's configured methods:
 * `api_key` (gateway keys), `oauth2` (tokens of the gateway's own
 * authorization server, `src/oauth/`), `jwt` (tokens of a team's identity
 * provider) and `none`. Default deny: a gateway with no method refuses
 * everyone; `none` must be chosen explicitly. Methods are tried in the order
 * they were added and the first that accepts the request wins, so two can be
 * active during a migration.
 *
 * This runs on every MCP request, so nothing here queries the database for
 * the method list: each gateway's methods (with their JWT verifiers, which
 * hold fetched JWKS and imported keys) are cached until the store announces a
 * change to that gateway, and gateway keys are cached by hash until any key
 * is created or revoked (`GatewayKeys.version`), so a revocation applies to
 * the very next request.
 *
 * @module
 */
import { verifyOAuthToken } from "../oauth/verify.ts";
import type { AuthMethod } from "../store/auth_methods.ts";
import type { Store } from "../store/store.ts";
import {
  GATEHOUSE_SCOPES,
  HMAC_SECRET_TYPES,
  JwtConfigError,
  MIN_HMAC_SECRET_BYTES,
  parseJwtConfig,
} from "./jwt_config.ts";
import { type JwksOptions, JwtVerifier, looksLikeJwt } from "./jwt_verifier.ts";
import { GATEWAY_KEY_PREFIX, hashToken } from "./tokens.ts";

/** Who an accepted MCP request comes from. */
export interface GatewayPrincipal {
  /**
   * Stable id of the credential: a gateway key id, an OAuth grant id,
   * `jwt:<iss>:<sub>`, or `anonymous`.
   */
  id: string;
  /** Which method accepted it. */
  method: string;
  scopes: ReadonlySet<string>;
}

/** Why a request was refused (said in the 401 body; never echoes the credential). */
export interface AuthRefusal {
  reason: string;
}

/** Where a credential was found on the request. */
export type CredentialSource = "authorization" | "x-api-key" | "query" | "ws-protocol";

/** The MCP transport a request is for (the last path segment, or `http`). */
export type TransportKind = "http" | "sse" | "messages" | "ws";

/** A credential as presented: the value and where it came from. */
export interface PresentedCredential {
  token: string;
  source: CredentialSource;
  transport: TransportKind;
}

/** The auth method types a gateway can have. */
export const AUTH_METHOD_TYPE_NAMES = ["api_key", "oauth2", "jwt", "none"] as const;

const ALL_SCOPES: ReadonlySet<string> = new Set(GATEHOUSE_SCOPES);
const ANONYMOUS: GatewayPrincipal = Object.freeze({
  id: "anonymous",
  method: "none",
  scopes: ALL_SCOPES,
});

/** The subprotocol prefix that carries a credential for browsers, which cannot set headers. */
const WS_PROTOCOL_PREFIX = "bearer.";

/**
 * Where each method accepts its credential from. Gateway keys come from any
 * of the places clients have always sent them. OAuth and JWT bearer tokens
 * come from the `Authorization` header only (RFC 6750 section 2.1; query
 * strings end up in logs and browser history) except on the WebSocket path,
 * where browsers can set no header: there a `bearer.<token>` subprotocol
 * entry or the `api_key` query parameter is the documented alternative.
 */
export function sourceAccepted(
  type: string,
  source: CredentialSource,
  transport: TransportKind,
): boolean {
  if (type === "api_key") return true;
  if (type === "oauth2" || type === "jwt") {
    return source === "authorization" ||
      (transport === "ws" && (source === "ws-protocol" || source === "query"));
  }
  return false;
}

/**
 * The credential a client presented, first found of: `Authorization: Bearer`,
 * `X-API-Key`, the `api_key` query parameter, and on the WebSocket path a
 * `bearer.<token>` entry of `Sec-WebSocket-Protocol`.
 */
export function presentedCredential(
  req: Request,
  url: URL,
  transport: TransportKind,
): PresentedCredential | undefined {
  const found = (token: string, source: CredentialSource) => ({ token, source, transport });
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return found(m[1], "authorization");
  }
  const header = req.headers.get("x-api-key")?.trim();
  if (header) return found(header, "x-api-key");
  const query = url.searchParams.get("api_key");
  if (query) return found(query, "query");
  if (transport === "ws") {
    const entry = req.headers.get("sec-websocket-protocol")?.split(",").map((p) => p.trim())
      .find((p) => p.startsWith(WS_PROTOCOL_PREFIX));
    const token = entry?.slice(WS_PROTOCOL_PREFIX.length);
    if (token) return found(token, "ws-protocol");
  }
  return undefined;
}

/** Reads a vault secret's value (the vault's `resolve`). */
export interface SecretReader {
  resolve(orgId: string, name: string): Promise<{ value: string } | undefined>;
}

/** What the authenticator needs besides the store. */
export interface GatewayAuthOptions {
  /** JWKS fetching, and whether http loopback JWKS URLs are allowed. */
  jwt: JwksOptions & { allowInsecureJwks: boolean };
  /** The vault, for `jwt` methods verifying with an HMAC secret. */
  secrets?: SecretReader;
  /** Gateway keys kept in memory (default 10,000); the oldest go first. */
  maxCachedKeys?: number;
}

/** A method ready to run: parsed once, when the gateway's method list is (re)loaded. */
type Compiled =
  | { type: "none" | "api_key" | "oauth2" }
  | { type: "jwt"; id: string; verifier: JwtVerifier }
  | { type: "broken"; id: string; reason: string };

/** A gateway key as cached: what a request needs, with the expiry as a number. */
interface CachedKey {
  gatewayId: string;
  /** Epoch ms; `Infinity` for keys that never expire. */
  expiresAt: number;
  principal: GatewayPrincipal;
}

/** A refusal and whether it is about this kind of credential (so it is the one worth reporting). */
interface Outcome {
  reason: string;
  specific: boolean;
}

/** A cached JWT verifier and what it was built from, so it is reused only for the same method. */
interface VerifierEntry {
  gatewayId: string;
  configuration: string;
  verifier: JwtVerifier;
}

/** HMAC key bytes cached per secret version (its id and IV change whenever its value does). */
interface HmacEntry {
  version: string;
  bytes: Uint8Array;
}

/** The gateway an authenticated request is for. */
export interface GatewayRef {
  id: string;
  orgId: string;
}

/** Authenticates MCP requests for every gateway of a store, with the caches described above. */
export class GatewayAuthenticator {
  readonly #store: Store;
  readonly #options: GatewayAuthOptions;
  readonly #maxKeys: number;
  readonly #methods = new Map<string, Compiled[]>();
  readonly #verifiers = new Map<string, VerifierEntry>();
  readonly #keys = new Map<string, CachedKey>();
  #keysVersion = -1;
  readonly #hmac = new Map<string, HmacEntry>();
  readonly #unsubscribe: () => void;

  /** An authenticator over `store`, invalidated by its change feed. */
  constructor(store: Store, options: GatewayAuthOptions) {
    this.#store = store;
    this.#options = options;
    this.#maxKeys = options.maxCachedKeys ?? 10_000;
    this.#unsubscribe = store.changes.subscribe(({ gatewayIds }) => this.#changed(gatewayIds));
  }

  /** Stops listening to the store. */
  dispose(): void {
    this.#unsubscribe();
    this.#methods.clear();
    this.#verifiers.clear();
    this.#keys.clear();
  }

  /** Checks `credential` (possibly absent) against the methods of `gateway`, in order. */
  async authenticate(
    gateway: GatewayRef,
    credential: PresentedCredential | undefined,
  ): Promise<GatewayPrincipal | AuthRefusal> {
    const methods = this.#methodsOf(gateway);
    if (methods.length === 0) {
      return {
        reason: "this gateway has no authentication method configured, so it refuses every request",
      };
    }
    let first: Outcome | undefined;
    let best: Outcome | undefined;
    for (const m of methods) {
      const r = m.type === "jwt"
        ? await this.#jwt(m.verifier, credential)
        : this.#check(m, gateway, credential);
      if ("id" in r) return r;
      first ??= r;
      if (r.specific) best ??= r;
    }
    if (credential === undefined) {
      return {
        reason: "missing credentials: send them as 'Authorization: Bearer <token>'",
      };
    }
    return { reason: (best ?? first)!.reason };
  }

  #check(
    m: Exclude<Compiled, { type: "jwt" }>,
    gateway: GatewayRef,
    cred: PresentedCredential | undefined,
  ): GatewayPrincipal | Outcome {
    switch (m.type) {
      case "none":
        return ANONYMOUS;
      case "api_key": {
        const specific = cred?.token.startsWith(GATEWAY_KEY_PREFIX) ?? false;
        if (cred === undefined) return { reason: "missing gateway key", specific };
        const key = this.#key(cred.token);
        // Expiry compared as a number: no date formatting on the hot path.
        if (key && key.gatewayId === gateway.id && key.expiresAt > Date.now()) {
          return key.principal;
        }
        return { reason: "invalid, revoked or expired gateway key", specific };
      }
      case "oauth2": {
        if (cred === undefined) return { reason: "missing access token", specific: false };
        // Only `verifyOAuthToken` is shared with the authorization server, not its token
        // format: anything that is neither a JWT nor a gateway key is taken to be meant here.
        const specific = !looksLikeJwt(cred.token) && !cred.token.startsWith(GATEWAY_KEY_PREFIX);
        if (!sourceAccepted("oauth2", cred.source, cred.transport)) {
          return { reason: onlyInHeader("access tokens"), specific };
        }
        const found = verifyOAuthToken(this.#store, gateway.id, cred.token);
        if (found) return { id: found.id, method: "oauth2", scopes: found.scopes };
        return { reason: "invalid, revoked or expired access token", specific };
      }
      case "broken":
        return { reason: m.reason, specific: false };
    }
  }

  async #jwt(
    verifier: JwtVerifier,
    cred: PresentedCredential | undefined,
  ): Promise<GatewayPrincipal | Outcome> {
    if (cred === undefined) return { reason: "missing token", specific: false };
    const specific = looksLikeJwt(cred.token);
    if (!specific) return { reason: "not a JWT", specific };
    if (!sourceAccepted("jwt", cred.source, cred.transport)) {
      return { reason: onlyInHeader("JWTs"), specific };
    }
    const r = await verifier.verify(cred.token);
    return r.ok ? { id: r.id, method: "jwt", scopes: r.scopes } : { reason: r.reason, specific };
  }

  /** The gateway key with `raw`'s hash, from the cache or the store (then cached if usable). */
  #key(raw: string): CachedKey | undefined {
    const version = this.#store.gatewayKeys.version;
    if (version !== this.#keysVersion) {
      // Any key created or revoked anywhere: cheaper to start over than to track which.
      this.#keys.clear();
      this.#keysVersion = version;
    }
    const hash = hashToken(raw);
    const hit = this.#keys.get(hash);
    if (hit) return hit;
    const stored = this.#store.gatewayKeys.byHash(hash);
    // Unknown and revoked keys are not cached: a flood of made-up keys must not evict real ones.
    if (!stored || stored.revokedAt !== null) return undefined;
    const entry: CachedKey = {
      gatewayId: stored.gatewayId,
      expiresAt: stored.expiresAt === null ? Infinity : Date.parse(stored.expiresAt),
      principal: { id: stored.id, method: "api_key", scopes: new Set(stored.scopes) },
    };
    if (this.#keys.size >= this.#maxKeys) {
      this.#keys.delete(this.#keys.keys().next().value!);
    }
    this.#keys.set(hash, entry);
    return entry;
  }

  #methodsOf(gateway: GatewayRef): Compiled[] {
    let list = this.#methods.get(gateway.id);
    if (!list) {
      list = this.#store.authMethods.list(gateway.id).map((m) => this.#compile(gateway, m));
      this.#methods.set(gateway.id, list);
    }
    return list;
  }

  #compile(gateway: GatewayRef, m: AuthMethod): Compiled {
    switch (m.type) {
      case "none":
      case "api_key":
      case "oauth2":
        return { type: m.type };
      case "jwt":
        return this.#compileJwt(gateway, m);
      default:
        return { type: "broken", id: m.id, reason: `unknown auth method type '${m.type}'` };
    }
  }

  #compileJwt(gateway: GatewayRef, m: AuthMethod): Compiled {
    const configuration = JSON.stringify(m.configuration);
    const cached = this.#verifiers.get(m.id);
    if (cached && cached.configuration === configuration) {
      return { type: "jwt", id: m.id, verifier: cached.verifier };
    }
    try {
      const config = parseJwtConfig(m.configuration, this.#options.jwt);
      const verifier = new JwtVerifier(
        config,
        this.#options.jwt,
        (name) => this.#hmacKey(gateway.orgId, name),
      );
      this.#verifiers.set(m.id, { gatewayId: gateway.id, configuration, verifier });
      return { type: "jwt", id: m.id, verifier };
    } catch (err) {
      if (!(err instanceof JwtConfigError)) throw err;
      // Stored by a server with looser settings (e.g. an http JWKS URL): refuse, never guess.
      return {
        type: "broken",
        id: m.id,
        reason: `this gateway's jwt method is not usable on this server: ${err.message}`,
      };
    }
  }

  /**
   * The bytes of HMAC secret `name` of `orgId`. The record is read on every
   * call (one indexed SELECT, no decryption) so that a rotated or deleted
   * secret applies to the next token; the decrypted value is reused while the
   * record's IV (fresh on every save) is unchanged.
   */
  async #hmacKey(orgId: string, name: string): Promise<Uint8Array | { reason: string }> {
    const record = this.#store.secrets.byName(orgId, name);
    if (!record) return { reason: "its HMAC secret no longer exists" };
    if (!(HMAC_SECRET_TYPES as readonly string[]).includes(record.type)) {
      return { reason: "its HMAC secret is not an api_key or bearer_token secret" };
    }
    const cacheKey = `${orgId}\n${name}`;
    const version = `${record.id}:${Array.from(record.iv).join(",")}`;
    const hit = this.#hmac.get(cacheKey);
    if (hit && hit.version === version) return hit.bytes;
    const resolved = await this.#options.secrets?.resolve(orgId, name).catch(() => undefined);
    if (!resolved) return { reason: "its HMAC secret could not be read" };
    const bytes = new TextEncoder().encode(resolved.value);
    if (bytes.byteLength < MIN_HMAC_SECRET_BYTES) {
      return { reason: `its HMAC secret is shorter than ${MIN_HMAC_SECRET_BYTES} bytes` };
    }
    this.#hmac.set(cacheKey, { version, bytes });
    return bytes;
  }

  #changed(gatewayIds: string[]): void {
    // Tool edits announce the gateway too; the key cache is cheap to refill, so start over.
    this.#keys.clear();
    for (const id of gatewayIds) {
      this.#methods.delete(id);
      let live: Set<string> | undefined;
      for (const [methodId, entry] of this.#verifiers) {
        if (entry.gatewayId !== id) continue;
        // Keep verifiers of methods that still exist: their fetched JWKS stay warm across
        // unrelated changes (a tool edit must not cost the identity provider a refetch).
        live ??= new Set(this.#store.authMethods.list(id).map((m) => m.id));
        if (!live.has(methodId)) this.#verifiers.delete(methodId);
      }
    }
  }
}

function onlyInHeader(what: string): string {
  return `${what} are accepted only in the 'Authorization: Bearer' header (on the WebSocket ` +
    "path also as a 'bearer.<token>' Sec-WebSocket-Protocol entry or the api_key query parameter)";
}
