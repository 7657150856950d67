/**
 * Parsing of `POST /gateways/:id/auth` and `PATCH /gateways/:id/auth/:methodId`
 * bodies: the method type, its configuration, its place in the order, whether
 * it is required, and its validation rules, checked field by field so every
 * refusal names the field (`configuration.jwksUrl`,
 * `validationRules.allowedIpRanges[2]`, ...). What is stored is the
 * configuration with its defaults filled in, so `GET` shows what is in effect.
 *
 * @module
 */
import { AUTH_METHOD_TYPE_NAMES } from "../auth/gateway_auth.ts";
import {
  HMAC_SECRET_TYPES,
  JwtConfigError,
  MIN_HMAC_SECRET_BYTES,
  parseJwtConfig,
} from "../auth/jwt_config.ts";
import { GATEHOUSE_SCOPES, isScope } from "../auth/scopes.ts";
import { parseCidr } from "../auth/validation_rules.ts";
import type { AuthMethod } from "../store/auth_methods.ts";
import type { Store } from "../store/store.ts";
import { isObject } from "../util/json.ts";
import { invalid } from "./errors.ts";
import {
  type Body,
  oneOf,
  onlyFields,
  optionalBoolean,
  optionalInteger,
  optionalObject,
} from "./validate.ts";

/** Auth method types that can be configured. */
export const AUTH_METHOD_TYPES = AUTH_METHOD_TYPE_NAMES;
/** One auth method type. */
export type AuthMethodType = typeof AUTH_METHOD_TYPES[number];

/** The settings an `oauth2` method may carry (read by the gateway's authorization server). */
export const OAUTH2_CONFIG_FIELDS = [
  "accessTokenTtlSeconds",
  "refreshTokenTtlSeconds",
  "scopes",
] as const;
/** Bounds of `oauth2` access token lifetimes, in seconds: one minute to one day. */
export const ACCESS_TOKEN_TTL_BOUNDS = [60, 86_400] as const;
/** Bounds of `oauth2` refresh token lifetimes, in seconds: five minutes to one year. */
export const REFRESH_TOKEN_TTL_BOUNDS = [300, 31_536_000] as const;

/** Largest `order` accepted. */
export const MAX_ORDER = 1_000_000;
/** Most CIDR blocks one method may list. */
export const MAX_IP_RANGES = 100;
/** Most headers one method may require. */
export const MAX_REQUIRED_HEADERS = 20;
/** Longest required header value. */
export const MAX_HEADER_VALUE = 1024;
/**
 * Headers that carry credentials: a required value there would be a secret
 * stored in plain sight (every member can read the method), so they are refused.
 */
const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization", "cookie", "x-api-key"];
/** RFC 9110 token characters, the only ones a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** Visible ASCII and spaces: a header value that cannot smuggle a line break. */
const HEADER_VALUE = /^[\x20-\x7e]*$/;

/** A parsed `POST /gateways/:id/auth` body. */
export interface AuthMethodInput {
  type: AuthMethodType;
  /** The configuration to store: checked, with defaults filled in where the method has them. */
  configuration: Record<string, unknown>;
  order?: number;
  required?: boolean;
  /** The rules to store; null removes them (PATCH). */
  validationRules?: Record<string, unknown> | null;
  /** For `jwt` with `hs256Secret`: the vault secret to check before storing. */
  hmacSecret?: string;
}

/** A parsed `PATCH /gateways/:id/auth/:methodId` body: only the fields given. */
export type AuthMethodPatch = Partial<Omit<AuthMethodInput, "type">>;

/** What parsing depends on besides the body. */
export interface AuthMethodOptions {
  /** Whether this server accepts http JWKS URLs on loopback hosts (`Config.jwt`). */
  allowInsecureJwks: boolean;
}

function integerIn(
  config: Record<string, unknown>,
  field: string,
  [min, max]: readonly [number, number],
): number | undefined {
  const v = config[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(
      `configuration.${field}`,
      `configuration.${field} must be an integer from ${min} to ${max} (seconds)`,
    );
  }
  return v;
}

function parseOAuth2Config(config: Record<string, unknown>): Record<string, unknown> {
  onlyFields(config, OAUTH2_CONFIG_FIELDS, "configuration.");
  const access = integerIn(config, "accessTokenTtlSeconds", ACCESS_TOKEN_TTL_BOUNDS);
  const refresh = integerIn(config, "refreshTokenTtlSeconds", REFRESH_TOKEN_TTL_BOUNDS);
  if (access !== undefined && refresh !== undefined && refresh < access) {
    throw invalid(
      "configuration.refreshTokenTtlSeconds",
      "configuration.refreshTokenTtlSeconds must not be shorter than accessTokenTtlSeconds",
    );
  }
  const out: Record<string, unknown> = {};
  if (access !== undefined) out.accessTokenTtlSeconds = access;
  if (refresh !== undefined) out.refreshTokenTtlSeconds = refresh;
  if (config.scopes !== undefined) {
    const s = config.scopes;
    if (!Array.isArray(s) || s.length === 0 || !s.every(isScope)) {
      throw invalid(
        "configuration.scopes",
        `configuration.scopes must be a non-empty list of: ${GATEHOUSE_SCOPES.join(", ")}`,
      );
    }
    out.scopes = [...new Set(s as string[])];
  }
  return out;
}

/** Checks `configuration` for a method of `type`; returns what to store. */
function parseConfiguration(
  type: AuthMethodType,
  configuration: Record<string, unknown>,
  options: AuthMethodOptions,
): Pick<AuthMethodInput, "configuration" | "hmacSecret"> {
  switch (type) {
    case "api_key":
    case "bearer":
    case "basic":
    case "none": {
      const first = Object.keys(configuration)[0];
      // Refused rather than stored: a setting we ignore would look like it took effect.
      if (first !== undefined) {
        throw invalid(
          `configuration.${first}`,
          `configuration.${first}: the '${type}' method takes no configuration`,
        );
      }
      return { configuration };
    }
    case "oauth2":
      return { configuration: parseOAuth2Config(configuration) };
    case "jwt": {
      try {
        const config = parseJwtConfig(configuration, options);
        return {
          configuration: config.stored,
          ...(config.key.kind === "secret" ? { hmacSecret: config.key.name } : {}),
        };
      } catch (err) {
        if (err instanceof JwtConfigError) throw invalid(err.field, err.message);
        throw err;
      }
    }
  }
}

/**
 * Reads `validationRules`: `allowedIpRanges`, a list of CIDR blocks (IPv4 or
 * IPv6; a bare address is that one address), and `requiredHeaders`, header
 * name to the exact value required, or `true` for "present with any value".
 * Names are stored lower-cased (headers are case-insensitive). Null or `{}`
 * means no rules.
 */
export function parseValidationRules(v: unknown): Record<string, unknown> | null {
  const F = "validationRules";
  if (v === null) return null;
  if (!isObject(v)) throw invalid(F, `${F} must be an object or null`);
  onlyFields(v, ["allowedIpRanges", "requiredHeaders"], `${F}.`);
  const out: Record<string, unknown> = {};
  if (v.allowedIpRanges !== undefined) {
    const f = `${F}.allowedIpRanges`;
    const list = v.allowedIpRanges;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_IP_RANGES) {
      throw invalid(f, `${f} must be a list of 1 to ${MAX_IP_RANGES} CIDR blocks`);
    }
    out.allowedIpRanges = list.map((item, i) => {
      const text = typeof item === "string" ? item.trim() : "";
      if (!parseCidr(text)) {
        throw invalid(
          `${f}[${i}]`,
          `${f}[${i}] must be a CIDR block such as 203.0.113.0/24 or 2001:db8::/32 (an address ` +
            "alone is that one address; no bits may be set past the prefix length)",
        );
      }
      return text;
    });
  }
  if (v.requiredHeaders !== undefined) {
    const f = `${F}.requiredHeaders`;
    const headers = v.requiredHeaders;
    if (!isObject(headers)) throw invalid(f, `${f} must be an object of header name to value`);
    const entries = Object.entries(headers);
    if (entries.length === 0 || entries.length > MAX_REQUIRED_HEADERS) {
      throw invalid(f, `${f} must name 1 to ${MAX_REQUIRED_HEADERS} headers`);
    }
    const map: Record<string, string | true> = {};
    for (const [name, value] of entries) {
      const at = `${f}.${name}`;
      if (!HEADER_NAME.test(name)) throw invalid(at, `${at}: not a valid header name`);
      const lower = name.toLowerCase();
      if (CREDENTIAL_HEADERS.includes(lower)) {
        throw invalid(
          at,
          `${at}: '${name}' carries credentials; authenticate with an auth method instead of ` +
            "requiring a fixed value",
        );
      }
      if (lower in map) throw invalid(at, `${at}: header named twice`);
      if (value === true) {
        map[lower] = true;
      } else if (
        typeof value === "string" && value.length <= MAX_HEADER_VALUE && HEADER_VALUE.test(value)
      ) {
        map[lower] = value;
      } else {
        throw invalid(
          at,
          `${at} must be true (present with any value) or the exact value, a string of at most ` +
            `${MAX_HEADER_VALUE} visible ASCII characters`,
        );
      }
    }
    out.requiredHeaders = map;
  }
  return Object.keys(out).length === 0 ? null : out;
}

function commonFields(body: Body): Omit<AuthMethodPatch, "configuration" | "hmacSecret"> {
  const out: Omit<AuthMethodPatch, "configuration" | "hmacSecret"> = {};
  const order = optionalInteger(body, "order", 0, MAX_ORDER);
  if (order !== undefined) out.order = order;
  const required = optionalBoolean(body, "required");
  if (required !== undefined) out.required = required;
  if (body.validationRules !== undefined) {
    out.validationRules = parseValidationRules(body.validationRules);
  }
  return out;
}

const FIELDS = ["type", "configuration", "order", "required", "validationRules"];

/**
 * Reads an auth method request. `api_key`, `bearer`, `basic` and `none` take
 * no settings; `oauth2` and `jwt` take the ones documented in the OpenAPI
 * description. Every type takes `order`, `required` and `validationRules`.
 */
export function parseAuthMethodInput(body: Body, options: AuthMethodOptions): AuthMethodInput {
  onlyFields(body, FIELDS);
  const type = oneOf(body, "type", AUTH_METHOD_TYPES);
  const configuration = optionalObject(body, "configuration") ?? {};
  return { type, ...parseConfiguration(type, configuration, options), ...commonFields(body) };
}

/**
 * Reads a change to `method`: any of `configuration` (checked for the
 * method's type, replacing the whole configuration), `order`, `required`,
 * `validationRules` (null removes them). The type cannot change.
 */
export function parseAuthMethodPatch(
  body: Body,
  method: AuthMethod,
  options: AuthMethodOptions,
): AuthMethodPatch {
  onlyFields(body, FIELDS);
  if (body.type !== undefined && body.type !== method.type) {
    throw invalid("type", "type cannot change; add a method of the new type and remove this one");
  }
  const out = commonFields(body);
  const configuration = optionalObject(body, "configuration");
  if (configuration === undefined) return out;
  const type = method.type as AuthMethodType;
  if (!(AUTH_METHOD_TYPES as readonly string[]).includes(type)) {
    throw invalid("type", `this method's type '${method.type}' is not known to this server`);
  }
  return { ...out, ...parseConfiguration(type, configuration, options) };
}

/** Reads a vault secret's value (the vault's `resolve`). */
export interface SecretValues {
  resolve(orgId: string, name: string): Promise<{ value: string } | undefined>;
}

/**
 * Checks what {@link parseAuthMethodInput} could not: that the HMAC secret a
 * `jwt` method names exists in the org, holds a single value, and is long
 * enough (a short HMAC key can be brute-forced offline from one token).
 */
export async function checkAuthMethodSecrets(
  input: Pick<AuthMethodInput, "hmacSecret">,
  orgId: string,
  store: Store,
  vault: SecretValues,
): Promise<void> {
  const name = input.hmacSecret;
  if (name === undefined) return;
  const field = "configuration.hs256Secret";
  const record = await store.secrets.byName(orgId, name);
  if (!record) {
    throw invalid(field, `${field} names no secret of this organization ('${name}')`);
  }
  if (!(HMAC_SECRET_TYPES as readonly string[]).includes(record.type)) {
    throw invalid(
      field,
      `${field} must name an ${HMAC_SECRET_TYPES.join(" or ")} secret; '${name}' is ` +
        `${record.type}`,
    );
  }
  const value = (await vault.resolve(orgId, name))?.value ?? "";
  if (new TextEncoder().encode(value).byteLength < MIN_HMAC_SECRET_BYTES) {
    throw invalid(
      field,
      `${field}: secret '${name}' is shorter than ${MIN_HMAC_SECRET_BYTES} bytes, too short ` +
        "for an HMAC key",
    );
  }
}
