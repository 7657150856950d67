/**
 * Verification of tokens for one `jwt` auth method, built once per method and
 * kept by the gateway authenticator (so a JWKS is fetched once and cached,
 * and a PEM key is imported once). Every check is `jose`'s, with the
 * algorithms pinned to the configured list: `alg: none` and algorithm
 * confusion (an HMAC token "signed" with a public key's bytes) fail the
 * algorithm check before any key is looked at.
 *
 * @module
 */
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  importSPKI,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { type JwtMethodConfig, mapScopes } from "./jwt_config.ts";
import { hashToken } from "./tokens.ts";

/** How JWKS are fetched (see `JwtSettings` in `src/config.ts`). */
export interface JwksOptions {
  /** One fetch's deadline, in ms. */
  jwksTimeoutMs: number;
  /** Least time between a fetch and the next one an unknown `kid` may trigger, in ms. */
  jwksCooldownMs: number;
  /** How long fetched keys are trusted before a refetch, in ms. */
  jwksMaxAgeMs: number;
}

/**
 * The bytes of the HMAC secret named `name`, or why there are none. Supplied
 * by the authenticator, which reads the vault and knows the gateway's org.
 */
export type HmacKeySource = (name: string) => Promise<Uint8Array | { reason: string }>;

/** A verified token's principal, or why the token was refused (never echoing it). */
export type JwtResult =
  | {
    ok: true;
    id: string;
    /** The token's `sub` claim (for the request log). */
    subject: string;
    scopes: ReadonlySet<string>;
    /** The token's `exp`, in seconds since the epoch. */
    exp: number;
  }
  | { ok: false; reason: string };

/** Largest JWKS document read, in bytes: a key set is a few KB; anything far bigger is not one. */
export const MAX_JWKS_BYTES = 512 * 1024;
/** Longest token looked at, in characters (far beyond any real one; bounds the parsing work). */
export const MAX_TOKEN_CHARS = 16 * 1024;
/**
 * How long a verified public-key token is trusted without verifying it again,
 * in ms (never past its `exp`). An RSA verification costs about as much as
 * the rest of a `tools/list`; a client sends the same token for its whole
 * lifetime. Every JWKS refetch empties the cache, so a key the provider
 * withdraws stops its tokens as soon as the new key set is fetched.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Verified tokens remembered per method; the oldest go first. */
export const MAX_VERIFIED_TOKENS = 1000;

type KeyInput = CryptoKey | Uint8Array;

/** Fetch for `createRemoteJWKSet` that refuses bodies over {@link MAX_JWKS_BYTES}. */
const cappedFetch: FetchImplementation = async (url, init) => {
  const res = await fetch(url, init);
  if (res.status !== 200 || !res.body) return res;
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > MAX_JWKS_BYTES) {
    await res.body.cancel();
    throw new errors.JWKSInvalid("JWKS response is too large");
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_JWKS_BYTES) throw new errors.JWKSInvalid("JWKS response is too large");
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return new Response(body, { status: res.status, headers: res.headers });
};

/** Verifies tokens against one `jwt` method's configuration. */
export class JwtVerifier {
  readonly #config: JwtMethodConfig;
  readonly #key: (header: { alg?: string }) => Promise<KeyInput>;
  readonly #allowed: string;
  /** Successes by token hash, for public-key methods only (see {@link VERIFIED_TOKEN_TTL_MS}). */
  readonly #verified: Map<string, { until: number; result: JwtResult }> | undefined;
  /** Counts JWKS fetches, so a verification that raced one is not cached. */
  #generation = 0;

  /** A verifier for `config`; `hmacKey` is required for an `hs256Secret` configuration. */
  constructor(config: JwtMethodConfig, jwks: JwksOptions, hmacKey?: HmacKeySource) {
    this.#config = config;
    this.#allowed = config.algorithms.join(", ");
    const source = config.key;
    // Not for HMAC: that check is cheap, and a rotated secret must refuse the next request.
    this.#verified = source.kind === "secret" ? undefined : new Map();
    switch (source.kind) {
      case "jwks": {
        const set = createRemoteJWKSet(source.url, {
          timeoutDuration: jwks.jwksTimeoutMs,
          cooldownDuration: jwks.jwksCooldownMs,
          cacheMaxAge: jwks.jwksMaxAgeMs,
          // A refetch (a rotation, or keys withdrawn) also forgets verified tokens, so tokens
          // of a key the provider dropped stop at once, as they would with no token cache.
          [customFetch]: async (url, init) => {
            const res = await cappedFetch(url, init);
            this.#verified?.clear();
            this.#generation++;
            return res;
          },
        });
        this.#key = (header) => set(header);
        break;
      }
      case "pem": {
        // WebCrypto keys are bound to one algorithm (RS256 and PS256 differ), so one per alg.
        const imported = new Map<string, Promise<CryptoKey>>();
        this.#key = (header) => {
          const alg = header.alg!;
          let key = imported.get(alg);
          if (!key) imported.set(alg, key = importSPKI(source.pem, alg));
          return key;
        };
        break;
      }
      case "secret": {
        const name = source.name;
        this.#key = async () => {
          const got = hmacKey
            ? await hmacKey(name)
            : { reason: "no secrets vault is available to this server" };
          if (got instanceof Uint8Array) return got;
          throw new MisconfiguredError(got.reason);
        };
        break;
      }
    }
  }

  /** Checks signature, `iss`, `aud`, `exp` and `nbf` (with the skew) and maps the scopes. */
  async verify(token: string): Promise<JwtResult> {
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: "token is too long" };
    if (!this.#verified) return await this.#verify(token);
    const hash = hashToken(token);
    const hit = this.#verified.get(hash);
    const now = Date.now();
    if (hit && now < hit.until) return hit.result;
    const generation = this.#generation;
    const result = await this.#verify(token);
    if (result.ok && generation === this.#generation) {
      // Only successes: made-up tokens must not crowd real ones out, and a failure such as an
      // unreachable JWKS must be retried.
      const exp = (result.exp + this.#config.clockSkewSeconds) * 1000;
      if (this.#verified.size >= MAX_VERIFIED_TOKENS) {
        this.#verified.delete(this.#verified.keys().next().value!);
      }
      this.#verified.set(hash, { until: Math.min(now + VERIFIED_TOKEN_TTL_MS, exp), result });
    } else if (hit) {
      this.#verified.delete(hash);
    }
    return result;
  }

  async #verify(token: string): Promise<JwtResult> {
    const c = this.#config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        issuer: c.issuer,
        audience: c.audience,
        algorithms: c.algorithms,
        clockTolerance: c.clockSkewSeconds,
        // A token without an expiry would be a password that never changes.
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      return { ok: false, reason: this.#describe(err) };
    }
    if (typeof payload.sub !== "string" || payload.sub === "") {
      return { ok: false, reason: "token 'sub' claim must be a non-empty string" };
    }
    return {
      ok: true,
      id: `jwt:${payload.iss}:${payload.sub}`,
      subject: payload.sub,
      scopes: mapScopes(c, payload as Record<string, unknown>),
      exp: payload.exp!,
    };
  }

  /** A refusal's reason: what failed, never the token or its claims' values. */
  #describe(err: unknown): string {
    if (err instanceof MisconfiguredError) {
      return `this gateway's jwt method cannot verify tokens: ${err.message}`;
    }
    if (err instanceof errors.JWTExpired) return "token expired (exp is in the past)";
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.reason === "missing") return `token has no '${err.claim}' claim`;
      switch (err.claim) {
        case "iss":
          return "token issuer (iss) is not the one this gateway trusts";
        case "aud":
          return "token audience (aud) does not name this gateway's configured audience";
        case "nbf":
          return "token is not valid yet (nbf is in the future)";
        default:
          return `token claim '${err.claim}' is invalid`;
      }
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return `token algorithm (alg) is not allowed; this gateway accepts: ${this.#allowed}`;
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) return "token signature is invalid";
    if (err instanceof errors.JWKSNoMatchingKey) {
      return "no key in the identity provider's JWKS matches the token's kid and alg";
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      return "several keys in the identity provider's JWKS match; the token must name one (kid)";
    }
    if (err instanceof errors.JWKSTimeout) {
      return "the identity provider's JWKS did not answer in time";
    }
    if (err instanceof errors.JWKSInvalid || err instanceof TypeError) {
      return "the identity provider's JWKS could not be fetched or read";
    }
    if (err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid) {
      return "token algorithm or key type is not supported";
    }
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
      return "malformed token: not a signed JWT";
    }
    if (err instanceof errors.JOSEError) {
      // jose's generic error is what a JWKS fetch with a non-200 answer raises.
      return "the identity provider's JWKS could not be fetched or read";
    }
    return "token could not be verified";
  }
}

/** The method itself cannot verify anything (its secret is gone, too short, of the wrong type). */
class MisconfiguredError extends Error {
  override name = "MisconfiguredError";
}

/** True when `token` has the shape of a compact JWS (three base64url parts; `none` has no signature). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
