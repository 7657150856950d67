/**
 * An `http` tool's execution config compiled into a request recipe, and the
 * recipe filled with one call's arguments and secrets.
 *
 * URL safety lives here: every value substituted into the URL is
 * percent-encoded, so no argument can add a path segment, start a query or a
 * fragment, or climb with `..`.
 *
 * @module
 */
import { GATEHOUSE_VERSION } from "../version.ts";
import { DEFAULT_TIMEOUT_MS } from "./definition.ts";
import {
  BodyEncodingError,
  type BodyRules,
  compileBodyRules,
  compileParameters,
  cookiePair,
  encodeBody,
  headerValue,
  type HttpParameter,
  queryPairs,
} from "./http_parameters.ts";
import {
  ABSENT,
  type CompiledJson,
  type CompiledString,
  compileJson,
  compileString,
  isLiteral,
  lookup,
  missingParameter,
  renderJson,
  renderString,
  secretNames,
  stringsIn,
  type TemplateScope,
  textOf,
} from "./templates.ts";
import { isObject } from "../util/json.ts";

/** Methods safe to send twice: the only ones retried. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
]);

/** One query parameter: its key as sent (already encoded) and its value template. */
interface CompiledQuery {
  key: string;
  /** Undefined for a bare key (`?flag`). Literal parts are already URL-encoded. */
  value?: CompiledString;
}

/** An `http` tool ready to be filled per call. */
export interface CompiledHttpTool {
  method: string;
  idempotent: boolean;
  /** Scheme and authority (`https://host:port`). */
  origin: CompiledString;
  /** Path segments split on the template's own `/` (the first is empty for a leading `/`). */
  segments: readonly CompiledString[];
  query: readonly CompiledQuery[];
  headers: readonly (readonly [string, CompiledString])[];
  body?: CompiledJson;
  timeoutMs: number;
  retries: number;
  /** Every secret the tool refers to; resolved once per call before anything is built. */
  secrets: readonly string[];
  /** Lower-case names of headers carrying secrets, dropped on cross-origin redirects. */
  secretHeaders: readonly string[];
  /** Whether the URL itself carries a secret, so log lines need a masked copy. */
  urlHasSecret: boolean;
  /** The secret named by `executionConfig.auth`, which authenticates every request. */
  auth?: string;
  /** Query, header and cookie parameters serialised by style (`executionConfig.parameters`). */
  params: readonly HttpParameter[];
  /** How the rendered body is encoded; undefined keeps the template rule (strings raw, else JSON). */
  bodyRules?: BodyRules;
}

/** A request ready to send. */
export interface RequestPlan {
  method: string;
  url: URL;
  /** The URL with secret values masked, for log lines and error messages. */
  logUrl: string;
  headers: Headers;
  /** Text, or bytes (a multipart form, a decoded base64 body). */
  body?: string | Uint8Array<ArrayBuffer>;
  secretHeaders: readonly string[];
}

/**
 * Splits `s` at every `sep` outside `{{...}}`, so a template reference never
 * decides where a URL part ends.
 */
function splitOutside(s: string, sep: string): string[] {
  const masked = s.replace(/\{\{[^{}]*\}\}/g, (m) => "\0".repeat(m.length));
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] === sep) {
      out.push(s.slice(from, i));
      from = i + 1;
    }
  }
  out.push(s.slice(from));
  return out;
}

/** The first index at or after `from` of any of `chars` outside `{{...}}` (else the length). */
function indexOutside(s: string, chars: string, from: number): number {
  const masked = s.replace(/\{\{[^{}]*\}\}/g, (m) => "\0".repeat(m.length));
  for (let i = from; i < masked.length; i++) if (chars.includes(masked[i])) return i;
  return s.length;
}

/** `c` with its literal parts percent-encoded (for values the author wrote unencoded). */
function encodeLiterals(c: CompiledString): CompiledString {
  return { ...c, parts: c.parts.map((p) => typeof p === "string" ? encodeURIComponent(p) : p) };
}

/** Compiles `executionConfig` of an `http` tool (already validated on save). */
export function compileHttpTool(config: Record<string, unknown>): CompiledHttpTool {
  const method = String(config.method ?? "GET").toUpperCase();
  const url = String(config.url ?? "");
  const schemeEnd = url.indexOf("://") + 3;
  const authorityEnd = indexOutside(url, "/?#", schemeEnd);
  const pathEnd = indexOutside(url, "?#", authorityEnd);
  const queryEnd = indexOutside(url, "#", pathEnd);
  const path = url.slice(authorityEnd, pathEnd);
  const query: CompiledQuery[] = [];
  if (url[pathEnd] === "?") {
    // Pairs written in the URL are already in URL form: only values filled in get encoded.
    for (const pair of splitOutside(url.slice(pathEnd + 1, queryEnd), "&")) {
      if (pair === "") continue;
      const eq = indexOutside(pair, "=", 0);
      query.push(
        eq === pair.length
          ? { key: pair }
          : { key: pair.slice(0, eq), value: compileString(pair.slice(eq + 1)) },
      );
    }
  }
  if (isObject(config.queryParams)) {
    for (const [k, v] of Object.entries(config.queryParams)) {
      query.push({ key: encodeURIComponent(k), value: encodeLiterals(compileString(String(v))) });
    }
  }
  const headers = isObject(config.headers)
    ? Object.entries(config.headers).map(([k, v]) => [k, compileString(String(v))] as const)
    : [];
  const body = config.body === undefined ? undefined : compileJson(config.body);
  const origin = compileString(url.slice(0, authorityEnd));
  const segments = path === "" ? [] : splitOutside(path, "/").map(compileString);
  const urlStrings = [origin, ...segments, ...query.flatMap((q) => q.value ? [q.value] : [])];
  const all = [...urlStrings, ...headers.map(([, v]) => v), ...(body ? stringsIn(body) : [])];
  const auth = isObject(config.auth) && typeof config.auth.secret === "string"
    ? config.auth.secret
    : undefined;
  const bodyRules = compileBodyRules(config);
  return {
    method,
    idempotent: IDEMPOTENT_METHODS.has(method),
    origin,
    segments,
    query,
    headers,
    body,
    timeoutMs: typeof config.timeout === "number" ? config.timeout : DEFAULT_TIMEOUT_MS,
    retries: typeof config.retries === "number" ? config.retries : 0,
    secrets: secretNames(all),
    secretHeaders: headers.filter(([, v]) => v.hasSecret).map(([k]) => k.toLowerCase()),
    urlHasSecret: urlStrings.some((s) => s.hasSecret),
    ...(auth === undefined ? {} : { auth }),
    params: compileParameters(config.parameters),
    ...(bodyRules === undefined ? {} : { bodyRules }),
  };
}

const encodeValue = (v: unknown) => encodeURIComponent(textOf(v));
/** Arrays in a path segment are comma-joined (OpenAPI's default `simple` style). */
const encodeSegment = (v: unknown) =>
  Array.isArray(v) ? v.map(encodeValue).join(",") : encodeValue(v);
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** Why a request could not be built, worded for the model. */
export class BuildError extends Error {}

function buildUrl(t: CompiledHttpTool, scope: TemplateScope): string {
  const origin = renderString(t.origin, scope, encodeValue);
  if (origin === undefined) {
    throw new BuildError(
      `parameter '${missingParameter(t.origin, scope)}' is required to build the URL`,
    );
  }
  let path = "";
  for (let i = 0; i < t.segments.length; i++) {
    const seg = t.segments[i];
    const text = renderString(seg, scope, encodeSegment);
    if (text === undefined) {
      throw new BuildError(
        `parameter '${missingParameter(seg, scope)}' is required to build the URL path`,
      );
    }
    if (!isLiteral(seg)) {
      // Encoding keeps `/` inside the segment, but a segment that is only `.`
      // or `..` (even as %2e) is still resolved by URL parsers: refuse it, and
      // an empty one, which would address a different resource.
      if (DOT_SEGMENT.test(text)) {
        throw new BuildError("a path parameter may not be '.' or '..'");
      }
      if (text === "") throw new BuildError("a path parameter may not be empty");
    }
    path += i === 0 ? text : `/${text}`;
  }
  const pairs: string[] = [];
  for (const q of t.query) {
    if (!q.value) {
      pairs.push(q.key);
      continue;
    }
    const whole = q.value.whole;
    const v = whole ? lookup(whole, scope) : undefined;
    if (Array.isArray(v)) {
      // Repeated keys (`tag=a&tag=b`): the form most APIs read lists in.
      for (const item of v) if (item !== null) pairs.push(`${q.key}=${encodeValue(item)}`);
      continue;
    }
    const text = renderString(q.value, scope, encodeValue);
    if (text !== undefined) pairs.push(`${q.key}=${text}`);
  }
  for (const p of t.params) {
    if (p.in !== "query") continue;
    const v = argument(scope.args, p.arg);
    if (v !== undefined && v !== null) pairs.push(...queryPairs(p, v));
  }
  return origin + path + (pairs.length ? `?${pairs.join("&")}` : "");
}

/** The argument `name` of a call, if given (own properties only). */
function argument(args: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(args, name) ? args[name] : undefined;
}

/** Sets `plan`'s body to `value` encoded as the tool's body rules say. */
function encodeInto(plan: RequestPlan, rules: BodyRules, value: unknown): void {
  let encoded;
  try {
    encoded = encodeBody(rules, value);
  } catch (err) {
    if (err instanceof BodyEncodingError) throw new BuildError(err.message);
    throw err;
  }
  plan.body = encoded.body;
  // A multipart type without this body's boundary would be unreadable: it replaces any other.
  if (rules.encoding === "multipart" || !plan.headers.has("content-type")) {
    plan.headers.set("content-type", encoded.contentType);
  }
}

/** Fills `t` with one call's arguments and resolved secrets; throws {@link BuildError}. */
export function buildRequest(
  t: CompiledHttpTool,
  args: Record<string, unknown>,
  secrets: ReadonlyMap<string, string>,
): RequestPlan {
  const scope: TemplateScope = { args, secrets };
  const text = buildUrl(t, scope);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BuildError("the URL built from the arguments is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BuildError("the URL built from the arguments is not an http(s) URL");
  }
  const logUrl = t.urlHasSecret ? buildUrl(t, { ...scope, mask: true }) : url.href;
  const headers = new Headers();
  const setHeader = (name: string, v: string) => {
    // Refused, not stripped: a line break here is an injection attempt or a broken secret.
    if (/[\r\n\0]/.test(v)) throw new BuildError(`header '${name}' would contain a line break`);
    try {
      headers.set(name, v);
    } catch {
      throw new BuildError(`header '${name}' is not a valid HTTP header`);
    }
  };
  for (const [name, value] of t.headers) {
    const v = renderString(value, scope);
    if (v !== undefined) setHeader(name, v);
  }
  const cookies: string[] = [];
  for (const p of t.params) {
    const v = p.in === "query" ? undefined : argument(args, p.arg);
    if (v === undefined || v === null) continue;
    if (p.in === "header") {
      const text = headerValue(p, v);
      if (text !== undefined) setHeader(p.name, text);
    } else {
      const pair = cookiePair(p, v);
      if (pair !== undefined) cookies.push(pair);
    }
  }
  if (cookies.length > 0) {
    const own = headers.get("cookie");
    setHeader("cookie", [...(own ? [own] : []), ...cookies].join("; "));
  }
  if (!headers.has("user-agent")) headers.set("user-agent", `Gatehouse/${GATEHOUSE_VERSION}`);
  const plan: RequestPlan = {
    method: t.method,
    url,
    logUrl,
    headers,
    secretHeaders: t.secretHeaders,
  };
  // fetch refuses bodies on GET and HEAD; the definition allows one, so it is left out.
  if (t.body && t.method !== "GET" && t.method !== "HEAD") {
    const body = renderJson(t.body, scope);
    if (t.bodyRules) {
      if (body !== ABSENT) encodeInto(plan, t.bodyRules, body);
    } else if (typeof body === "string") plan.body = body;
    else if (body !== ABSENT) {
      plan.body = JSON.stringify(body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
  }
  return plan;
}

/** What {@link applyAuth} adds: headers to set and query parameters to append. */
export interface AuthParts {
  headers: readonly (readonly [string, string])[];
  query: readonly (readonly [string, string])[];
}

/**
 * `plan` with an auth secret's headers and query parameters added. Auth
 * headers replace the tool's own of the same name and, like secret-bearing
 * template headers, are dropped on a cross-origin redirect; query values are
 * masked in the log URL. Throws {@link BuildError} for a header fetch refuses.
 */
export function applyAuth(plan: RequestPlan, auth: AuthParts): RequestPlan {
  const headers = new Headers(plan.headers);
  for (const [name, value] of auth.headers) {
    // Refused, not stripped: a line break here would be header injection.
    if (/[\r\n\0]/.test(value)) throw new BuildError(`auth header '${name}' has a line break`);
    try {
      headers.set(name, value);
    } catch {
      throw new BuildError(`auth header '${name}' is not a valid HTTP header`);
    }
  }
  let url = plan.url;
  let logUrl = plan.logUrl;
  if (auth.query.length > 0) {
    const pairs = auth.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    const masked = auth.query.map(([k]) => `${encodeURIComponent(k)}=***`);
    // From href, not origin + path: a URL's user-info must survive the rebuild.
    const base = url.href.replace(/#.*$/, "");
    const sep = !base.includes("?") ? "?" : /[?&]$/.test(base) ? "" : "&";
    url = new URL(`${base}${sep}${pairs.join("&")}`);
    logUrl = `${logUrl}${logUrl.includes("?") ? "&" : "?"}${masked.join("&")}`;
  }
  return {
    ...plan,
    url,
    logUrl,
    headers,
    secretHeaders: [...plan.secretHeaders, ...auth.headers.map(([k]) => k.toLowerCase())],
  };
}
