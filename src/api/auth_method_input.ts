/**
 * Parsing of `POST /gateways/:id/auth` bodies: the method type and its
 * configuration, checked field by field so every refusal names the field
 * (`configuration.jwksUrl`, ...). What is stored is the configuration with
 * its defaults filled in, so `GET` shows what is in effect.
 *
 * @module
 */
import { AUTH_METHOD_TYPE_NAMES } from "../auth/gateway_auth.ts";
import {
  GATEHOUSE_SCOPES,
  HMAC_SECRET_TYPES,
  JwtConfigError,
  MIN_HMAC_SECRET_BYTES,
  parseJwtConfig,
} from "../auth/jwt_config.ts";
import type { Store } from "../store/store.ts";
import { invalid } from "./errors.ts";
import { type Body, oneOf, onlyFields, optionalObject } from "./validate.ts";

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

/** A parsed `POST /gateways/:id/auth` body. */
export interface AuthMethodInput {
  type: AuthMethodType;
  /** The configuration to store: checked, with defaults filled in where the method has them. */
  configuration: Record<string, unknown>;
  /** For `jwt` with `hs256Secret`: the vault secret to check before storing. */
  hmacSecret?: string;
}

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
    if (
      !Array.isArray(s) || s.length === 0 ||
      s.some((x) => !(GATEHOUSE_SCOPES as readonly unknown[]).includes(x))
    ) {
      throw invalid(
        "configuration.scopes",
        `configuration.scopes must be a non-empty list of: ${GATEHOUSE_SCOPES.join(", ")}`,
      );
    }
    out.scopes = [...new Set(s as string[])];
  }
  return out;
}

/**
 * Reads an auth method request. `api_key` and `none` take no settings;
 * `oauth2` and `jwt` take the ones documented in the OpenAPI description.
 */
export function parseAuthMethodInput(body: Body, options: AuthMethodOptions): AuthMethodInput {
  onlyFields(body, ["type", "configuration"]);
  const type = oneOf(body, "type", AUTH_METHOD_TYPES);
  const configuration = optionalObject(body, "configuration") ?? {};
  switch (type) {
    case "api_key":
    case "none": {
      const first = Object.keys(configuration)[0];
      // Refused rather than stored: a setting we ignore would look like it took effect.
      if (first !== undefined) {
        throw invalid(
          `configuration.${first}`,
          `configuration.${first}: the '${type}' method takes no configuration`,
        );
      }
      return { type, configuration };
    }
    case "oauth2":
      return { type, configuration: parseOAuth2Config(configuration) };
    case "jwt": {
      try {
        const config = parseJwtConfig(configuration, options);
        return {
          type,
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
  input: AuthMethodInput,
  orgId: string,
  store: Store,
  vault: SecretValues,
): Promise<void> {
  const name = input.hmacSecret;
  if (name === undefined) return;
  const field = "configuration.hs256Secret";
  const record = store.secrets.byName(orgId, name);
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
