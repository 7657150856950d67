/**
 * Parsing of secret bodies: the name, the type, and the value's shape for
 * that type, every problem reported against its field (`value.tokenUrl`).
 * Error messages describe what was expected and never repeat what was sent:
 * the value being validated is a secret.
 *
 * @module
 */
import {
  DEFAULT_API_KEY_HEADER,
  SECRET_TYPES,
  type SecretType,
  type SecretValue,
} from "../secrets/types.ts";
import { SECRET_NAME } from "../tools/definition.ts";
import { classifyAddress } from "../tools/outbound_policy.ts";
import { invalid } from "./errors.ts";
import { type Body, isObject, oneOf, onlyFields, optionalString, string } from "./validate.ts";

/** The body fields of a secret. */
export const SECRET_FIELDS = ["name", "type", "value", "description"] as const;

/** HTTP header names (RFC 9110 tokens). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/** Headers a secret may not set: the HTTP client owns them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "te",
  "trailer",
  "keep-alive",
]);

/** Longest credential string accepted (keys, tokens, passwords, header values). */
const MAX_CREDENTIAL = 16_384;
/** Custom headers per secret. */
const MAX_HEADERS = 50;

const SECRET_NAME_RULE = {
  max: 128,
  pattern: SECRET_NAME,
  patternHint: "must start with a letter or '_' and hold only letters, digits and '_' " +
    "(it is used as {{secrets.NAME}})",
};

/** A credential string: non-empty, bounded, and free of characters that break a header. */
function credential(body: Body, field: string, path: string): string {
  const v = string(body, field, { max: MAX_CREDENTIAL }, path);
  // Said without quoting the value: it is a secret even when it is malformed.
  if (/[\r\n\0]/.test(v)) throw invalid(path, `${path} must not contain line breaks or NUL`);
  return v;
}

function headerName(v: unknown, path: string): string {
  if (typeof v !== "string" || !HEADER_NAME.test(v)) {
    throw invalid(path, `${path} must be an HTTP header name (letters, digits, '-', ...)`);
  }
  if (RESERVED_HEADERS.has(v.toLowerCase())) {
    throw invalid(path, `${path} names a header the HTTP client sets itself`);
  }
  return v;
}

/** True for the loopback hosts an `http:` token URL may use (local test servers). */
function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || classifyAddress(h) === "loopback";
}

function tokenUrl(body: Body): string {
  const path = "value.tokenUrl";
  const text = string(body, "tokenUrl", { max: 2048 }, path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(path, `${path} must be an absolute URL`);
  }
  const ok = url.protocol === "https:" ||
    (url.protocol === "http:" && isLoopbackHost(url.hostname));
  if (!ok) {
    throw invalid(path, `${path} must be an https URL (http only to a loopback address)`);
  }
  if (url.username || url.password) {
    throw invalid(path, `${path} must not carry credentials; use clientId and clientSecret`);
  }
  return url.href;
}

function apiKey(v: unknown): SecretValue {
  if (typeof v === "string") {
    const key = credential({ value: v }, "value", "value");
    return { type: "api_key", key, in: "header", name: DEFAULT_API_KEY_HEADER };
  }
  if (!isObject(v)) {
    throw invalid("value", 'value must be the key as a string, or {"key", "in"?, "name"?}');
  }
  onlyFields(v, ["key", "in", "name"], "value.");
  const key = credential(v, "key", "value.key");
  const where = v.in === undefined ? "header" : oneOf(v, "in", ["header", "query"], "value.in");
  if (where === "header") {
    const name = v.name === undefined ? DEFAULT_API_KEY_HEADER : headerName(v.name, "value.name");
    return { type: "api_key", key, in: "header", name };
  }
  const name = optionalString(v, "name", { max: 128 }, "value.name") ?? "api_key";
  return { type: "api_key", key, in: "query", name };
}

function basicAuth(v: Body): SecretValue {
  onlyFields(v, ["username", "password"], "value.");
  const username = credential(v, "username", "value.username");
  // RFC 7617: the user-id cannot contain a colon, since the first colon ends it.
  if (username.includes(":")) {
    throw invalid("value.username", "value.username must not contain ':'");
  }
  return { type: "basic_auth", username, password: credential(v, "password", "value.password") };
}

function oauth2(v: Body): SecretValue {
  onlyFields(v, ["tokenUrl", "clientId", "clientSecret", "scopes", "audience"], "value.");
  const out: SecretValue = {
    type: "oauth2_client_credentials",
    tokenUrl: tokenUrl(v),
    clientId: credential(v, "clientId", "value.clientId"),
    clientSecret: credential(v, "clientSecret", "value.clientSecret"),
  };
  if (v.scopes !== undefined) {
    const scopes = v.scopes;
    if (
      !Array.isArray(scopes) || scopes.length > 100 ||
      scopes.some((s) => typeof s !== "string" || !/^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/.test(s))
    ) {
      throw invalid(
        "value.scopes",
        "value.scopes must be a list of scope names (no spaces or quotes), at most 100",
      );
    }
    out.scopes = scopes as string[];
  }
  const audience = optionalString(v, "audience", { max: 2048 }, "value.audience");
  if (audience !== undefined) out.audience = audience;
  return out;
}

function customHeaders(v: Body): SecretValue {
  onlyFields(v, ["headers"], "value.");
  const h = v.headers;
  if (!isObject(h) || Object.keys(h).length === 0) {
    throw invalid("value.headers", 'value.headers must be an object like {"X-Token": "..."}');
  }
  if (Object.keys(h).length > MAX_HEADERS) {
    throw invalid("value.headers", `value.headers may hold at most ${MAX_HEADERS} headers`);
  }
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const name of Object.keys(h)) {
    const path = `value.headers.${name}`;
    headerName(name, path);
    if (seen.has(name.toLowerCase())) throw invalid(path, `${path} is given twice`);
    seen.add(name.toLowerCase());
    headers[name] = credential(h, name, path);
  }
  return { type: "custom_headers", headers };
}

/** Validates `value` for `type` and returns it normalised (defaults filled in). */
export function parseSecretValue(type: SecretType, value: unknown): SecretValue {
  if (value === undefined || value === null) throw invalid("value", "value is required");
  switch (type) {
    case "api_key":
      return apiKey(value);
    case "bearer_token":
      if (typeof value !== "string") {
        throw invalid("value", "value must be the token as a string");
      }
      return { type, token: credential({ value }, "value", "value") };
    default: {
      if (!isObject(value)) throw invalid("value", `value must be an object for type ${type}`);
      if (type === "basic_auth") return basicAuth(value);
      if (type === "oauth2_client_credentials") return oauth2(value);
      return customHeaders(value);
    }
  }
}

/** A secret's name, checked. */
export function parseSecretName(body: Body): string {
  return string(body, "name", SECRET_NAME_RULE);
}

/** A secret's optional description, checked; undefined when absent. */
export function parseSecretDescription(body: Body): string | undefined {
  return optionalString(body, "description", { min: 0, max: 2000 });
}

/** A full secret body (create, replace). */
export function parseSecretInput(
  body: Body,
): { name: string; description: string; value: SecretValue } {
  onlyFields(body, SECRET_FIELDS);
  const name = parseSecretName(body);
  const type = oneOf(body, "type", SECRET_TYPES);
  const value = parseSecretValue(type, body.value);
  const description = parseSecretDescription(body) ?? "";
  return { name, description, value };
}
