/**
 * The configuration of a gateway's `jwt` auth method: tokens minted by a
 * team's own identity provider. One parser serves both the management API
 * (which refuses a bad configuration, naming the field) and the MCP hot path
 * (which re-reads stored configurations, so a server started with stricter
 * settings than the one that stored them still enforces its own).
 *
 * @module
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { GATEHOUSE_SCOPES, isScope } from "./scopes.ts";

/** Asymmetric JWS algorithms a JWKS or PEM key may be used with. */
export const JWT_ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
/** HMAC algorithms a vault secret may be used with. */
export const JWT_HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
/** Every algorithm a `jwt` method may list; `none` is never one of them. */
export const JWT_ALGORITHMS = [...JWT_ASYMMETRIC_ALGORITHMS, ...JWT_HMAC_ALGORITHMS] as const;

/** Clock skew allowed on `exp` and `nbf` when none is configured, in seconds. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;
/** Largest clock skew that may be configured, in seconds. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** The claim scopes are read from when none is configured (RFC 8693 `scope`). */
export const DEFAULT_SCOPES_CLAIM = "scope";
/** Shortest HMAC secret accepted, in bytes (RFC 7518 section 3.2: at least the hash size). */
export const MIN_HMAC_SECRET_BYTES = 32;
/** Vault secret types whose value is one string that can serve as an HMAC key. */
export const HMAC_SECRET_TYPES = ["api_key", "bearer_token"] as const;

/** The fields a `jwt` configuration may have. */
export const JWT_CONFIG_FIELDS = [
  "issuer",
  "audience",
  "jwksUrl",
  "publicKeyPem",
  "hs256Secret",
  "algorithms",
  "scopesClaim",
  "scopeMap",
  "defaultScopes",
  "clockSkewSeconds",
] as const;

/** The pattern of vault secret names (as in `src/tools/definition.ts`). */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_AUDIENCES = 20;
const MAX_SCOPE_MAP_ENTRIES = 200;
const MAX_PEM_CHARS = 16_384;
const MAX_URL_CHARS = 2048;

/** Where the verification key comes from. */
export type JwtKeySource =
  | { kind: "jwks"; url: URL }
  | { kind: "pem"; pem: string; key: KeyObject }
  | { kind: "secret"; name: string };

/** A parsed, checked `jwt` configuration. */
export interface JwtMethodConfig {
  issuer: string;
  /** Accepted `aud` values: a token must name at least one. */
  audience: string[];
  key: JwtKeySource;
  /** Exactly the algorithms a token may be signed with. */
  algorithms: string[];
  scopesClaim: string;
  /** Claim value to Gatehouse scopes; a Map so claim values like `__proto__` are plain keys. */
  scopeMap: ReadonlyMap<string, readonly string[]>;
  /** Granted to every valid token, besides what the claim maps to. */
  defaultScopes: readonly string[];
  clockSkewSeconds: number;
  /** The configuration as stored and shown: the input with defaults filled in. */
  stored: Record<string, unknown>;
}

/** A configuration problem, named by its field under `configuration.`. */
export class JwtConfigError extends Error {
  override name = "JwtConfigError";
  /** A problem with `field` (the full dotted path, e.g. `configuration.jwksUrl`). */
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** What parsing depends on besides the configuration itself. */
export interface JwtConfigOptions {
  /** Accept `http://` JWKS URLs on loopback hosts (tests, local identity providers). */
  allowInsecureJwks: boolean;
}

const F = (name: string) => `configuration.${name}`;

function fail(name: string, message: string): never {
  throw new JwtConfigError(F(name), `${F(name)} ${message}`);
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function nonEmptyString(v: unknown, name: string, max: number): string {
  if (typeof v !== "string") fail(name, v === undefined ? "is required" : "must be a string");
  if (v.length === 0) fail(name, "must not be empty");
  if (v.length > max) fail(name, `must be at most ${max} characters`);
  return v;
}

function scopeList(v: unknown, name: string, allowEmpty: boolean): string[] {
  const ok = Array.isArray(v) && (allowEmpty || v.length > 0) &&
    v.every(isScope);
  if (!ok) {
    fail(
      name,
      `must be a ${allowEmpty ? "" : "non-empty "}list of: ${GATEHOUSE_SCOPES.join(", ")}`,
    );
  }
  return [...new Set(v as string[])];
}

function parseJwksUrl(v: unknown, options: JwtConfigOptions): URL {
  const text = nonEmptyString(v, "jwksUrl", MAX_URL_CHARS);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail("jwksUrl", "must be an absolute https URL");
  }
  if (url.username || url.password) fail("jwksUrl", "must not carry credentials");
  if (url.protocol === "http:") {
    if (!options.allowInsecureJwks || !isLoopback(url.hostname)) {
      // Keys fetched in the clear could be replaced in transit, which forges every token.
      fail(
        "jwksUrl",
        "must be https (plain http is accepted only for loopback hosts, and only when the " +
          "server runs with GATEHOUSE_JWT_ALLOW_INSECURE_JWKS=1)",
      );
    }
  } else if (url.protocol !== "https:") {
    fail("jwksUrl", "must be https");
  }
  url.hash = "";
  return url;
}

/** The algorithms a PEM public key can verify, by its type and curve. */
function algorithmsForKey(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"];
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1" || curve === "P-256") return ["ES256"];
      if (curve === "secp384r1" || curve === "P-384") return ["ES384"];
      if (curve === "secp521r1" || curve === "P-521") return ["ES512"];
      return [];
    }
    case "ed25519":
      return ["EdDSA", "Ed25519"];
    default:
      return [];
  }
}

/** Defaults when `algorithms` is not given: the usual one per key type. */
function defaultAlgorithms(source: JwtKeySource): string[] {
  switch (source.kind) {
    case "jwks":
      // The key type is only known per key; each JWK's own `kty`, `crv` and `alg` then
      // decide which of these it can verify. All are asymmetric, so none confuses with HMAC.
      return [...JWT_ASYMMETRIC_ALGORITHMS];
    case "pem": {
      const fit = algorithmsForKey(source.key);
      return fit[0] === "RS256" ? ["RS256", "PS256"] : fit.length ? [fit[0]] : [];
    }
    case "secret":
      return ["HS256"];
  }
}

function parsePem(v: unknown): { pem: string; key: KeyObject } {
  const pem = nonEmptyString(v, "publicKeyPem", MAX_PEM_CHARS).trim();
  if (/PRIVATE KEY-----/.test(pem)) {
    // Refused loudly: a private key stored here would be shown back by GET.
    fail("publicKeyPem", "is a private key; give the public key (BEGIN PUBLIC KEY)");
  }
  if (!/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/.test(pem)) {
    fail("publicKeyPem", "must be a PEM public key (-----BEGIN PUBLIC KEY----- ...)");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    fail("publicKeyPem", "is not a readable public key");
  }
  if (algorithmsForKey(key).length === 0) {
    fail("publicKeyPem", "must be an RSA, EC (P-256, P-384, P-521) or Ed25519 public key");
  }
  return { pem, key };
}

function parseKeySource(raw: Record<string, unknown>, options: JwtConfigOptions): JwtKeySource {
  const given = (["jwksUrl", "publicKeyPem", "hs256Secret"] as const).filter((k) =>
    raw[k] !== undefined
  );
  if (given.length !== 1) {
    throw new JwtConfigError(
      given.length === 0 ? F("jwksUrl") : F(given[1]),
      "configuration needs exactly one of jwksUrl, publicKeyPem, hs256Secret" +
        (given.length > 1 ? ` (got ${given.join(" and ")})` : ""),
    );
  }
  switch (given[0]) {
    case "jwksUrl":
      return { kind: "jwks", url: parseJwksUrl(raw.jwksUrl, options) };
    case "publicKeyPem":
      return { kind: "pem", ...parsePem(raw.publicKeyPem) };
    case "hs256Secret": {
      const name = raw.hs256Secret;
      if (typeof name !== "string" || !SECRET_NAME.test(name)) {
        // The value must never sit in the configuration, which GET shows to every member.
        fail(
          "hs256Secret",
          "must be the name of a secret in the vault (create it under /secrets; a letter or " +
            "'_', then letters, digits or '_'), not the secret itself",
        );
      }
      return { kind: "secret", name };
    }
  }
}

function parseAlgorithms(v: unknown, source: JwtKeySource): string[] {
  if (v === undefined) return defaultAlgorithms(source);
  if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== "string")) {
    fail("algorithms", "must be a non-empty list of JWS algorithm names");
  }
  const list = [...new Set(v as string[])];
  if (list.some((a) => a.toLowerCase() === "none")) {
    fail("algorithms", "must not include 'none': unsigned tokens are never accepted");
  }
  const fit: readonly string[] = source.kind === "secret"
    ? JWT_HMAC_ALGORITHMS
    : source.kind === "pem"
    ? algorithmsForKey(source.key)
    : JWT_ASYMMETRIC_ALGORITHMS;
  const bad = list.find((a) => !fit.includes(a));
  if (bad !== undefined) {
    // Mixing families is how algorithm confusion starts: an HMAC "secret" that is a public key.
    const what = source.kind === "secret"
      ? "an HMAC secret (hs256Secret)"
      : source.kind === "pem"
      ? "this public key"
      : "a JWKS";
    fail("algorithms", `'${bad}' cannot be used with ${what}; allowed: ${fit.join(", ")}`);
  }
  return list;
}

function parseAudience(v: unknown): string[] {
  if (typeof v === "string") return [nonEmptyString(v, "audience", 1000)];
  if (Array.isArray(v) && v.length > 0 && v.length <= MAX_AUDIENCES) {
    return v.map((a, i) => nonEmptyString(a, `audience[${i}]`, 1000));
  }
  return fail(
    "audience",
    v === undefined
      ? "is required (a string or a list of up to 20 strings the token's aud must name)"
      : `must be a string or a non-empty list of up to ${MAX_AUDIENCES} strings`,
  );
}

function parseScopeMap(v: unknown): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (v === undefined) return map;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail("scopeMap", "must be an object mapping claim values to lists of Gatehouse scopes");
  }
  const entries = Object.entries(v);
  if (entries.length > MAX_SCOPE_MAP_ENTRIES) {
    fail("scopeMap", `must have at most ${MAX_SCOPE_MAP_ENTRIES} entries`);
  }
  for (const [claimValue, scopes] of entries) {
    if (claimValue.length === 0 || claimValue.length > 500) {
      fail("scopeMap", "keys must be 1 to 500 characters");
    }
    map.set(claimValue, scopeList(scopes, `scopeMap.${claimValue}`, true));
  }
  return map;
}

/**
 * Parses and checks a `jwt` configuration; throws {@link JwtConfigError}
 * naming the first bad field. The secret named by `hs256Secret` is not
 * looked up here (that needs the vault; see the API's check).
 */
export function parseJwtConfig(
  raw: Record<string, unknown>,
  options: JwtConfigOptions,
): JwtMethodConfig {
  const unknown = Object.keys(raw).find((k) =>
    !(JWT_CONFIG_FIELDS as readonly string[]).includes(k)
  );
  if (unknown !== undefined) {
    fail(unknown, `is not a jwt setting; known: ${JWT_CONFIG_FIELDS.join(", ")}`);
  }
  const issuer = nonEmptyString(raw.issuer, "issuer", 1000);
  const audience = parseAudience(raw.audience);
  const key = parseKeySource(raw, options);
  const algorithms = parseAlgorithms(raw.algorithms, key);
  const scopesClaim = raw.scopesClaim === undefined
    ? DEFAULT_SCOPES_CLAIM
    : nonEmptyString(raw.scopesClaim, "scopesClaim", 200);
  const scopeMap = parseScopeMap(raw.scopeMap);
  const defaultScopes = raw.defaultScopes === undefined
    ? []
    : scopeList(raw.defaultScopes, "defaultScopes", true);
  let clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS;
  if (raw.clockSkewSeconds !== undefined) {
    const v = raw.clockSkewSeconds;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_CLOCK_SKEW_SECONDS) {
      fail("clockSkewSeconds", `must be an integer from 0 to ${MAX_CLOCK_SKEW_SECONDS}`);
    }
    clockSkewSeconds = v;
  }
  const stored: Record<string, unknown> = {
    issuer,
    audience: raw.audience,
    ...(key.kind === "jwks"
      ? { jwksUrl: key.url.href }
      : key.kind === "pem"
      ? { publicKeyPem: key.pem }
      : { hs256Secret: key.name }),
    algorithms,
    scopesClaim,
    ...(raw.scopeMap === undefined ? {} : { scopeMap: Object.fromEntries(scopeMap) }),
    defaultScopes,
    clockSkewSeconds,
  };
  return {
    issuer,
    audience,
    key,
    algorithms,
    scopesClaim,
    scopeMap,
    defaultScopes,
    clockSkewSeconds,
    stored,
  };
}

/** The values of claim `name` in `payload`: a space-separated string or a list of strings. */
export function claimValues(payload: Record<string, unknown>, name: string): string[] {
  let v: unknown = payload[name];
  if (v === undefined && name.includes(".")) {
    // Nested claims such as Keycloak's `realm_access.roles`; an exact (dotted, namespaced)
    // top-level claim name wins, so Auth0-style `https://example.com/roles` still works.
    v = payload;
    for (const part of name.split(".")) {
      v = typeof v === "object" && v !== null && !Array.isArray(v)
        ? (v as Record<string, unknown>)[part]
        : undefined;
    }
  }
  if (typeof v === "string") return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

/**
 * The Gatehouse scopes a verified token holds: `defaultScopes`, plus for each
 * claim value its `scopeMap` entry, or the value itself when it is a
 * Gatehouse scope name. Nothing but {@link GATEHOUSE_SCOPES} survives.
 */
export function mapScopes(
  config: Pick<JwtMethodConfig, "scopesClaim" | "scopeMap" | "defaultScopes">,
  payload: Record<string, unknown>,
): Set<string> {
  const out = new Set<string>(config.defaultScopes);
  for (const value of claimValues(payload, config.scopesClaim)) {
    const mapped = config.scopeMap.get(value);
    if (mapped) { for (const s of mapped) out.add(s); }
    else if (isScope(value)) out.add(value);
  }
  return out;
}
