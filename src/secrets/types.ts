/**
 * The kinds of secret and the shape of each decrypted value, and what a
 * value becomes as a `{{secrets.NAME}}` template or as a tool's `auth`.
 *
 * @module
 */

/** The secret types. */
export const SECRET_TYPES = [
  "api_key",
  "bearer_token",
  "basic_auth",
  "oauth2_client_credentials",
  "custom_headers",
] as const;
/** One secret type. */
export type SecretType = typeof SECRET_TYPES[number];

/** The header an `api_key` secret is sent in when none is named. */
export const DEFAULT_API_KEY_HEADER = "X-API-Key";

/** An API key, sent in a header or a query parameter. */
export interface ApiKeyValue {
  type: "api_key";
  key: string;
  in: "header" | "query";
  /** The header or query parameter name. */
  name: string;
}

/** A bearer token. */
export interface BearerValue {
  type: "bearer_token";
  token: string;
}

/** HTTP Basic credentials. */
export interface BasicValue {
  type: "basic_auth";
  username: string;
  password: string;
}

/** OAuth2 client credentials: tokens are fetched from `tokenUrl` on use. */
export interface OAuth2Value {
  type: "oauth2_client_credentials";
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[];
  audience?: string;
}

/** Headers sent as they are. */
export interface CustomHeadersValue {
  type: "custom_headers";
  headers: Record<string, string>;
}

/** A decrypted secret value, normalised (defaults filled in) when it was saved. */
export type SecretValue =
  | ApiKeyValue
  | BearerValue
  | BasicValue
  | OAuth2Value
  | CustomHeadersValue;

/** UTF-8-safe base64. */
export function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Strings a value consists of that must never be shown: every credential part
 * and the forms it is sent in (`user:pass`, its base64). Names (header names,
 * a username, a client id, a token URL) are not secret and not listed, so
 * redaction does not garble ordinary text.
 */
export function sensitiveParts(v: SecretValue): string[] {
  switch (v.type) {
    case "api_key":
      return [v.key];
    case "bearer_token":
      return [v.token];
    case "basic_auth": {
      const pair = `${v.username}:${v.password}`;
      return [v.password, pair, base64(pair)];
    }
    case "oauth2_client_credentials":
      return [v.clientSecret, base64(`${v.clientId}:${v.clientSecret}`)];
    case "custom_headers":
      return Object.values(v.headers);
  }
}
