/**
 * Authentication of MCP requests against a gateway's configured methods:
 * `api_key` and `bearer` (gateway keys), `basic` (a member's email and
 * password), `oauth2` (tokens of the gateway's own authorization server,
 * `src/oauth/`), `jwt` (tokens of a team's identity provider) and `none`.
 * Default deny: a gateway with no method refuses everyone; `none` must be
 * chosen explicitly.
 *
 * Methods are tried by their `order`; the first that accepts the request
 * names the principal. A `required` method must accept the request as well,
 * whichever method names the principal (two factors: say a gateway key in
 * `X-API-Key` and a JWT in `Authorization`). A method's `validationRules`
 * (client address ranges, required headers) are part of accepting: a method
 * whose rules the request breaks refuses it. When every method refuses, the
 * answer is the most specific refusal: the one from the method the credential
 * was meant for, else what is wrong with the form it was sent in, else
 * "missing credentials", each followed by what this gateway accepts.
 *
 * This runs on every MCP request, so nothing here queries the database for
 * the method list: each gateway's methods (with their JWT verifiers, which
 * hold fetched JWKS and imported keys, and their parsed address ranges) are
 * compiled once and cached until the store announces a change to that
 * gateway; valid gateway keys are cached by their value (the store's hash
 * is computed only on a miss: it was a twentieth of a tools/list's CPU time)
 * until any key is created or revoked (`GatewayKeys.version`), so a
 * revocation applies to the very next request; and Basic sign-ins are cached briefly by a hash of the credential
 * until any password or membership changes, so a session does not pay the
 * password hash on every request. A request served from these caches awaits
 * nothing; what a cache lacks is read from the store, and kept only if no
 * change (or version step) came while it was read, so an answer that a
 * revocation overtook is never cached after it.
 *
 * @module
 */
import type { RateLimit } from "../limits/request_limits.ts";
import { ACCESS_TOKEN_PREFIX, verifyOAuthToken } from "../oauth/verify.ts";
import type { AuthMethod } from "../store/auth_methods.ts";
import type { Role } from "../store/orgs.ts";
import type { Store } from "../store/store.ts";
import { userPrincipalId } from "../store/changes.ts";
import { type Presented, presentsNothing } from "./credentials.ts";
import {
  HMAC_SECRET_TYPES,
  JwtConfigError,
  MIN_HMAC_SECRET_BYTES,
  parseJwtConfig,
} from "./jwt_config.ts";
import { type JwksOptions, JwtVerifier, looksLikeJwt } from "./jwt_verifier.ts";
import { ALL_SCOPES, VIEWER_SCOPES } from "./scopes.ts";
import { GATEWAY_KEY_PREFIX, hashToken } from "./tokens.ts";
import { type CompiledRules, compileRules, ruleViolation } from "./validation_rules.ts";

/** Who an accepted MCP request comes from. */
export interface GatewayPrincipal {
  /**
   * Stable id of the credential: a gateway key id, an OAuth grant id,
   * `jwt:<iss>:<sub>`, `user:<id>` (Basic), or `anonymous`.
   */
  id: string;
  /** Which method accepted it. */
  method: string;
  scopes: ReadonlySet<string>;
  /** The gateway key's name, for key callers (kept in the key cache: no query per request). */
  keyName?: string;
  /** The OAuth client the token was issued to, for `oauth2` callers. */
  clientId?: string;
  /** The token's `sub` claim, for `jwt` callers. */
  subject?: string;
  /** The credential's own rate limit (a gateway key's `rateLimit`), if it has one. */
  rateLimit?: RateLimit;
}

/** Why a request was refused (said in the 401 body; never echoes the credential). */
export interface AuthRefusal {
  reason: string;
}

/** One MCP request, as authentication sees it. */
export interface AuthRequest {
  /** What it presents (`presentedCredentials`). */
  presented: Presented;
  headers: Headers;
  /** The client's address after trusted-proxy resolution; asked only when a method needs it. */
  clientAddress(): string;
}

/** The auth method types a gateway can have. */
export const AUTH_METHOD_TYPE_NAMES = [
  "api_key",
  "bearer",
  "basic",
  "oauth2",
  "jwt",
  "none",
] as const;

const ANONYMOUS: GatewayPrincipal = Object.freeze({
  id: "anonymous",
  method: "none",
  scopes: ALL_SCOPES,
});

/** How long a successful Basic sign-in is reused without checking the password again. */
export const BASIC_CACHE_MS = 60_000;

/** The one password check with failed-attempt limits (`src/auth/sign_in.ts`). */
export interface PasswordChecker {
  check(input: { email: string; password: string; orgId: string; clientAddress: string }): Promise<
    | { ok: true; user: { id: string }; role: Role }
    | { ok: false; retryAfterSeconds?: number; reason: string }
  >;
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
  /** The password check for `basic`; without one, `basic` methods refuse everyone. */
  passwords?: PasswordChecker;
  /** Gateway keys kept in memory (default 10,000); the oldest go first. */
  maxCachedKeys?: number;
}

/** How a method checks its credential, decided when the method list is (re)loaded. */
type Check =
  | { kind: "none" | "api_key" | "bearer" | "oauth2" | "basic" }
  | { kind: "jwt"; verifier: JwtVerifier }
  | { kind: "broken"; reason: string };

/** A method ready to run. */
interface Compiled {
  id: string;
  type: string;
  required: boolean;
  rules?: CompiledRules;
  check: Check;
}

/** A gateway's methods ready to run, and what its refusals tell clients to send. */
interface CompiledGateway {
  methods: Compiled[];
  /** Index of the last required method; -1 when none is required. */
  lastRequired: number;
  /** What this gateway accepts, for refusals ("send a gateway key as ..."). */
  hint: string;
  /** Which places some method reads a credential from. */
  accepts: {
    basic: boolean;
    bearer: boolean;
    xApiKey: boolean;
    query: boolean;
    wsProtocol: boolean;
  };
}

/** A gateway key as cached: what a request needs, with the expiry as a number. */
interface CachedKey {
  gatewayId: string;
  /** Epoch ms; `Infinity` for keys that never expire. */
  expiresAt: number;
  principal: GatewayPrincipal;
}

/** A Basic sign-in as cached, until `expiresAt` (epoch ms). */
interface CachedSignIn {
  expiresAt: number;
  principal: GatewayPrincipal;
}

/** A refusal and whether it is about this kind of credential (so it is the one worth reporting). */
interface Outcome {
  reason: string;
  specific: boolean;
}

/** What the methods run so far decided: who was accepted, and the refusals worth reporting. */
interface AuthState {
  principal?: GatewayPrincipal;
  first?: Outcome;
  best?: Outcome;
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

const NO_METHOD =
  "this gateway has no authentication method configured, so it refuses every request";

/** What a client sends for each method type, for refusals. */
function hintOf(m: AuthMethod): string | undefined {
  switch (m.type) {
    case "api_key":
      return "a gateway key as 'Authorization: Bearer ghk_...', as 'X-API-Key: ghk_...' or in " +
        "the api_key query parameter";
    case "bearer":
      return "a gateway key as 'Authorization: Bearer ghk_...'";
    case "basic":
      return "a member's email and password as 'Authorization: Basic'";
    case "jwt": {
      const issuer = typeof m.configuration.issuer === "string" ? m.configuration.issuer : "";
      return `a JWT from ${issuer || "the configured issuer"} as 'Authorization: Bearer'`;
    }
    case "oauth2":
      return "an access token of this gateway's OAuth sign-in as 'Authorization: Bearer' " +
        "(OAuth-capable MCP clients get one by themselves)";
    default:
      return undefined;
  }
}

/** The credential `kind` would check, from the places that kind reads; undefined when none. */
function claimedToken(kind: Check["kind"], p: Presented): string | undefined {
  const bearer = p.authorization?.scheme === "bearer" ? p.authorization.token : undefined;
  switch (kind) {
    case "api_key": {
      if (bearer?.startsWith(GATEWAY_KEY_PREFIX)) return bearer;
      // A gateway key wherever it is, so a JWT beside it in Authorization does not hide it.
      const all = [bearer, p.apiKey, p.query, p.wsProtocol];
      return all.find((t) => t?.startsWith(GATEWAY_KEY_PREFIX)) ?? all.find((t) => t);
    }
    case "bearer":
      // Browsers cannot set headers on a WebSocket: the subprotocol entry stands in for one.
      return bearer ?? p.wsProtocol;
    case "oauth2":
    case "jwt":
      // RFC 6750 section 2.1: header only (query strings end up in logs), except where
      // browsers can set no header.
      return bearer ?? (p.transport === "ws" ? p.wsProtocol ?? p.query : undefined);
    default:
      return undefined;
  }
}

/** Authenticates MCP requests for every gateway of a store, with the caches described above. */
export class GatewayAuthenticator {
  readonly #store: Store;
  readonly #options: GatewayAuthOptions;
  readonly #maxKeys: number;
  readonly #gateways = new Map<string, CompiledGateway>();
  /** Increments on every change, so a method list read before one is not kept after it. */
  #generation = 0;
  readonly #verifiers = new Map<string, VerifierEntry>();
  /** Valid keys by their raw value. */
  readonly #keys = new Map<string, CachedKey>();
  #keysVersion = -1;
  readonly #signIns = new Map<string, CachedSignIn>();
  #signInsVersion = "";
  readonly #hmac = new Map<string, HmacEntry>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribeResync: () => void;

  /** An authenticator over `store`, invalidated by its change feed. */
  constructor(store: Store, options: GatewayAuthOptions) {
    this.#store = store;
    this.#options = options;
    this.#maxKeys = options.maxCachedKeys ?? 10_000;
    this.#unsubscribe = store.changes.subscribe(({ gatewayIds }) => this.#changed(gatewayIds));
    // Notices may have been missed: everything compiled or cached is dropped.
    this.#unsubscribeResync = store.changes.onResync(() => {
      const verified = [...this.#verifiers.values()].map((v) => v.gatewayId);
      this.#changed([...new Set([...this.#gateways.keys(), ...verified])]);
      this.#signIns.clear();
    });
  }

  /** Stops listening to the store. */
  dispose(): void {
    this.#unsubscribe();
    this.#unsubscribeResync();
    this.#gateways.clear();
    this.#verifiers.clear();
    this.#keys.clear();
    this.#signIns.clear();
  }

  /** Whether `gateway` has a `basic` method (its 401 then also challenges for Basic). */
  async acceptsBasic(gateway: GatewayRef): Promise<boolean> {
    const g = this.#compiled(gateway);
    return (g instanceof Promise ? await g : g).accepts.basic;
  }

  /**
   * Checks what `request` presents against the methods of `gateway`, in
   * order. Answered without a promise when every step is in the caches (the
   * hot path: each await costs on every request).
   */
  authenticate(
    gateway: GatewayRef,
    request: AuthRequest,
  ): GatewayPrincipal | AuthRefusal | Promise<GatewayPrincipal | AuthRefusal> {
    const compiled = this.#compiled(gateway);
    const state: AuthState = {};
    if (compiled instanceof Promise) {
      return compiled.then((g) => this.#continue(g, gateway, request, 0, state));
    }
    return this.#continue(compiled, gateway, request, 0, state);
  }

  /** Runs the methods from index `from` on; a promise from the first one that awaits. */
  #continue(
    g: CompiledGateway,
    gateway: GatewayRef,
    request: AuthRequest,
    from: number,
    state: AuthState,
  ): GatewayPrincipal | AuthRefusal | Promise<GatewayPrincipal | AuthRefusal> {
    if (g.methods.length === 0) return { reason: NO_METHOD };
    for (let i = from; i < g.methods.length; i++) {
      const m = g.methods[i];
      if (state.principal && i > g.lastRequired) break;
      // Once someone is accepted, only the required methods still have a say.
      if (state.principal && !m.required) continue;
      // Cached keys skip the await (hot path): jwt, basic, oauth2 and uncached keys take one.
      const pending = this.#run(m, gateway, request);
      if (pending instanceof Promise) {
        return pending.then((r) =>
          this.#settle(g, m, r, request, state) ??
            this.#continue(g, gateway, request, i + 1, state)
        );
      }
      const refused = this.#settle(g, m, pending, request, state);
      if (refused) return refused;
    }
    if (state.principal) return state.principal;
    const best = state.best?.reason ?? this.#formProblem(g, request.presented);
    return { reason: best ?? state.first!.reason };
  }

  /** Takes method `m`'s answer `r` into `state`; the refusal when a required method refused. */
  #settle(
    g: CompiledGateway,
    m: Compiled,
    r: GatewayPrincipal | Outcome,
    request: AuthRequest,
    state: AuthState,
  ): AuthRefusal | undefined {
    if ("id" in r) {
      state.principal ??= r;
      return undefined;
    }
    if (m.required) {
      const why = r.specific ? r.reason : this.#formProblem(g, request.presented) ?? r.reason;
      return { reason: `the required '${m.type}' method refused the request: ${why}` };
    }
    state.first ??= r;
    if (r.specific) state.best ??= r;
    return undefined;
  }

  /**
   * What is wrong with how the credential was sent, when no method took it
   * up: absent, an unusable `Authorization` header, or a place this gateway
   * reads nothing from. Undefined when it was sent in a usable form.
   */
  #formProblem(g: CompiledGateway, p: Presented): string | undefined {
    const send = `; send ${g.hint}`;
    if (presentsNothing(p)) return `missing credentials${send}`;
    const auth = p.authorization;
    if (auth?.scheme === "unusable") return `${auth.problem}${send}`;
    if (auth?.scheme === "basic" && !g.accepts.basic) {
      return `this gateway does not accept 'Authorization: Basic'${send}`;
    }
    if (auth?.scheme === "bearer") {
      return g.accepts.bearer
        ? undefined
        : `this gateway does not accept 'Authorization: Bearer'${send}`;
    }
    if (p.apiKey !== undefined && !g.accepts.xApiKey) {
      return `this gateway does not accept credentials in the X-API-Key header${send}`;
    }
    if (p.query !== undefined && !g.accepts.query) {
      return `this gateway does not accept credentials in the api_key query parameter${send}`;
    }
    if (p.wsProtocol !== undefined && !g.accepts.wsProtocol) {
      return `this gateway does not accept a 'bearer.<token>' subprotocol entry${send}`;
    }
    return undefined;
  }

  #run(
    m: Compiled,
    gateway: GatewayRef,
    request: AuthRequest,
  ): GatewayPrincipal | Outcome | Promise<GatewayPrincipal | Outcome> {
    const check = m.check;
    if (check.kind === "broken") return { reason: check.reason, specific: false };
    const p = request.presented;
    if (check.kind === "none") {
      const violation = m.rules && ruleViolation(m.rules, request);
      return violation ? { reason: violation, specific: true } : ANONYMOUS;
    }
    if (check.kind === "basic") {
      const auth = p.authorization;
      if (auth?.scheme !== "basic") return { reason: "missing Basic credentials", specific: false };
      const violation = m.rules && ruleViolation(m.rules, request);
      if (violation) return { reason: violation, specific: true };
      return this.#basic(gateway, auth.user, auth.password, request);
    }
    const token = claimedToken(check.kind, p);
    if (token === undefined) return { reason: `missing ${noun(check.kind)}`, specific: false };
    const specific = check.kind === "jwt"
      ? looksLikeJwt(token)
      : check.kind === "oauth2"
      ? token.startsWith(ACCESS_TOKEN_PREFIX)
      : token.startsWith(GATEWAY_KEY_PREFIX);
    const violation = m.rules && ruleViolation(m.rules, request);
    if (violation) return { reason: violation, specific };
    switch (check.kind) {
      case "api_key":
      case "bearer": {
        const accept = (key: CachedKey | undefined): GatewayPrincipal | Outcome => {
          // Expiry compared as a number: no date formatting on the hot path.
          if (key && key.gatewayId === gateway.id && key.expiresAt > Date.now()) {
            return check.kind === "api_key"
              ? key.principal
              : { ...key.principal, method: "bearer" };
          }
          return { reason: "invalid, revoked or expired gateway key", specific };
        };
        const key = this.#key(token);
        return key instanceof Promise ? key.then(accept) : accept(key);
      }
      case "oauth2": {
        if (!specific) return { reason: "invalid, revoked or expired access token", specific };
        return verifyOAuthToken(this.#store, gateway.id, token).then((found) =>
          found
            ? { id: found.id, method: "oauth2", scopes: found.scopes, clientId: found.clientId }
            : { reason: "invalid, revoked or expired access token", specific }
        );
      }
      case "jwt":
        if (!specific) return { reason: "not a JWT", specific };
        return check.verifier.verify(token).then((r) =>
          r.ok
            ? { id: r.id, method: "jwt", scopes: r.scopes, subject: r.subject }
            : { reason: r.reason, specific }
        );
    }
  }

  async #basic(
    gateway: GatewayRef,
    email: string,
    password: string,
    request: AuthRequest,
  ): Promise<GatewayPrincipal | Outcome> {
    const checker = this.#options.passwords;
    if (!checker) {
      return { reason: "Basic sign-in is not available on this server", specific: true };
    }
    const version = `${this.#store.users.passwordsVersion}:${this.#store.orgs.membersVersion}`;
    if (version !== this.#signInsVersion) {
      // A password or a membership changed somewhere: every cached sign-in may be stale.
      this.#signIns.clear();
      this.#signInsVersion = version;
    }
    // Keyed by a hash of the whole credential: the password itself is never kept.
    const cacheKey = hashToken(`${gateway.orgId}\n${email.trim().toLowerCase()}\n${password}`);
    const hit = this.#signIns.get(cacheKey);
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    const r = await checker.check({
      email,
      password,
      orgId: gateway.orgId,
      clientAddress: request.clientAddress(),
    });
    if (!r.ok) return { reason: r.reason, specific: true };
    const principal: GatewayPrincipal = {
      id: userPrincipalId(r.user.id),
      method: "basic",
      scopes: r.role === "viewer" ? VIEWER_SCOPES : ALL_SCOPES,
    };
    // Stored only if nothing changed while the hash ran, so a stale answer is never cached.
    if (version === `${this.#store.users.passwordsVersion}:${this.#store.orgs.membersVersion}`) {
      if (this.#signIns.size >= this.#maxKeys) {
        this.#signIns.delete(this.#signIns.keys().next().value!);
      }
      this.#signIns.set(cacheKey, { expiresAt: Date.now() + BASIC_CACHE_MS, principal });
    }
    return principal;
  }

  /**
   * The gateway key `raw`: from the cache, or (as a promise) from the store
   * by its hash, then cached if usable.
   */
  #key(raw: string): CachedKey | undefined | Promise<CachedKey | undefined> {
    const version = this.#store.gatewayKeys.version;
    if (version !== this.#keysVersion) {
      // Any key created or revoked anywhere: cheaper to start over than to track which.
      this.#keys.clear();
      this.#keysVersion = version;
    }
    return this.#keys.get(raw) ?? this.#loadKey(raw, version, this.#generation);
  }

  async #loadKey(
    raw: string,
    version: number,
    generation: number,
  ): Promise<CachedKey | undefined> {
    const stored = await this.#store.gatewayKeys.byHash(hashToken(raw));
    // Unknown and revoked keys are not cached: a flood of made-up keys must not evict real ones.
    if (!stored || stored.revokedAt !== null) return undefined;
    const entry: CachedKey = {
      gatewayId: stored.gatewayId,
      expiresAt: stored.expiresAt === null ? Infinity : Date.parse(stored.expiresAt),
      principal: {
        id: stored.id,
        method: "api_key",
        scopes: new Set(stored.scopes),
        keyName: stored.name,
        ...(stored.rateLimit ? { rateLimit: stored.rateLimit } : {}),
      },
    };
    // Kept only if no key was created or revoked, and nothing changed, while it was read: the
    // answer may predate a revocation. It still answers this request, which came before.
    if (version !== this.#store.gatewayKeys.version || generation !== this.#generation) {
      return entry;
    }
    if (this.#keys.size >= this.#maxKeys) {
      this.#keys.delete(this.#keys.keys().next().value!);
    }
    this.#keys.set(raw, entry);
    return entry;
  }

  /** The methods of `gateway` compiled: from the cache, or (as a promise) read and compiled. */
  #compiled(gateway: GatewayRef): CompiledGateway | Promise<CompiledGateway> {
    return this.#gateways.get(gateway.id) ?? this.#compileGateway(gateway);
  }

  async #compileGateway(gateway: GatewayRef): Promise<CompiledGateway> {
    const generation = this.#generation;
    const stored = await this.#store.authMethods.list(gateway.id);
    const methods = stored.map((m) => this.#compile(gateway, m));
    const types = new Set(stored.map((m) => m.type));
    const tokenTypes = ["api_key", "bearer", "oauth2", "jwt"].some((t) => types.has(t));
    const g: CompiledGateway = {
      methods,
      lastRequired: methods.findLastIndex((m) => m.required),
      hint: [...new Set(stored.map(hintOf).filter((h) => h !== undefined))].join(", or "),
      accepts: {
        basic: types.has("basic"),
        bearer: tokenTypes,
        xApiKey: types.has("api_key"),
        // The WebSocket path takes OAuth and JWT tokens in the query too (browsers).
        query: types.has("api_key"),
        wsProtocol: tokenTypes,
      },
    };
    // A list a change overtook may be the old one: it answers this request but is not kept.
    if (generation === this.#generation) this.#gateways.set(gateway.id, g);
    return g;
  }

  #compile(gateway: GatewayRef, m: AuthMethod): Compiled {
    const base = { id: m.id, type: m.type, required: m.required };
    const rules = compileRules(m.validationRules);
    const compiled = (check: Check): Compiled =>
      rules ? { ...base, rules, check } : { ...base, check };
    switch (m.type) {
      case "none":
      case "api_key":
      case "bearer":
      case "basic":
      case "oauth2":
        return compiled({ kind: m.type });
      case "jwt":
        return compiled(this.#compileJwt(gateway, m));
      default:
        return compiled({ kind: "broken", reason: `unknown auth method type '${m.type}'` });
    }
  }

  #compileJwt(gateway: GatewayRef, m: AuthMethod): Check {
    const configuration = JSON.stringify(m.configuration);
    const cached = this.#verifiers.get(m.id);
    if (cached && cached.configuration === configuration) {
      return { kind: "jwt", verifier: cached.verifier };
    }
    try {
      const config = parseJwtConfig(m.configuration, this.#options.jwt);
      const verifier = new JwtVerifier(
        config,
        this.#options.jwt,
        (name) => this.#hmacKey(gateway.orgId, name),
      );
      this.#verifiers.set(m.id, { gatewayId: gateway.id, configuration, verifier });
      return { kind: "jwt", verifier };
    } catch (err) {
      if (!(err instanceof JwtConfigError)) throw err;
      // Stored by a server with looser settings (e.g. an http JWKS URL): refuse, never guess.
      return {
        kind: "broken",
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
    const record = await this.#store.secrets.byName(orgId, name);
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
    this.#generation++;
    for (const id of gatewayIds) {
      this.#gateways.delete(id);
      if ([...this.#verifiers.values()].some((v) => v.gatewayId === id)) {
        void this.#dropVerifiers(id).catch((err) =>
          console.error("dropping the JWT verifiers of removed auth methods failed:", err)
        );
      }
    }
  }

  /**
   * Drops the verifiers of `gatewayId`'s methods that no longer exist. Those
   * of methods that still do stay: their fetched JWKS stay warm across
   * unrelated changes (a tool edit must not cost the identity provider a refetch).
   */
  async #dropVerifiers(gatewayId: string): Promise<void> {
    const live = new Set((await this.#store.authMethods.list(gatewayId)).map((m) => m.id));
    for (const [methodId, entry] of this.#verifiers) {
      if (entry.gatewayId === gatewayId && !live.has(methodId)) this.#verifiers.delete(methodId);
    }
  }
}

function noun(kind: Check["kind"]): string {
  return kind === "jwt" ? "JWT" : kind === "oauth2" ? "access token" : "gateway key";
}
