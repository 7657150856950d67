/**
 * Parsing of upstream server bodies (`/servers`), with every problem
 * reported against the field that has it. Which fields apply depends on the
 * transport: `url` and `headers` for HTTP servers, `command`, `args`, `env`
 * and `cwd` for stdio ones.
 *
 * @module
 */
import { UPSTREAM_TRANSPORTS, type UpstreamServerInput } from "../store/servers.ts";
import { SECRET_NAME } from "../tools/definition.ts";
import { invalid } from "./errors.ts";
import { HEADER_NAME } from "./secret_input.ts";
import {
  type Body,
  isObject,
  oneOf,
  onlyFields,
  optionalInteger,
  optionalObject,
  optionalString,
  string,
} from "./validate.ts";

/** Every field of a server body. */
export const SERVER_FIELDS = [
  "name",
  "transport",
  "url",
  "headers",
  "auth",
  "command",
  "args",
  "env",
  "cwd",
  "timeout",
  "onChange",
  "isolation",
] as const;

const HTTP_ONLY = ["url", "headers"];
const STDIO_ONLY = ["command", "args", "env", "cwd", "isolation"];
const SERVER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ENTRIES = 100;
const MAX_VALUE_CHARS = 8192;

/** A map of string values whose keys match `key` (headers, env). */
function stringMap(body: Body, field: string, key: RegExp, what: string) {
  const map = optionalObject(body, field);
  if (!map) return undefined;
  const entries = Object.entries(map);
  if (entries.length > MAX_ENTRIES) {
    throw invalid(field, `${field} may have at most ${MAX_ENTRIES} entries`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!key.test(k)) throw invalid(`${field}.${k}`, `${field}.${k} is not a valid ${what}`);
    if (typeof v !== "string" || v.length > MAX_VALUE_CHARS) {
      throw invalid(`${field}.${k}`, `${field}.${k} must be a string of at most 8192 characters`);
    }
    out[k] = v;
  }
  return out;
}

function parseUrl(body: Body): string {
  const url = string(body, "url", { max: 2048 });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid("url", "url must be an absolute http(s) URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw invalid("url", "url must be an absolute http(s) URL");
  }
  if (parsed.username || parsed.password) {
    throw invalid("url", "url must not hold credentials: put them in a secret and use auth");
  }
  return parsed.href;
}

function parseArgs(body: Body): string[] | undefined {
  const v = body.args;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > MAX_ENTRIES) {
    throw invalid("args", `args must be an array of at most ${MAX_ENTRIES} strings`);
  }
  v.forEach((a, i) => {
    if (typeof a !== "string" || a.length > MAX_VALUE_CHARS) {
      throw invalid(`args.${i}`, `args.${i} must be a string of at most 8192 characters`);
    }
  });
  return v as string[];
}

function parseAuth(body: Body): { secret: string } | undefined {
  const auth = optionalObject(body, "auth");
  if (!auth) return undefined;
  onlyFields(auth, ["secret"], "auth.");
  return {
    secret: string(auth, "secret", {
      max: 128,
      pattern: SECRET_NAME,
      patternHint: "must name a secret (letters, digits and '_', not starting with a digit)",
    }, "auth.secret"),
  };
}

/** A full server body (create, PUT). */
export function parseServerInput(body: Body): UpstreamServerInput {
  onlyFields(body, SERVER_FIELDS);
  const name = string(body, "name", {
    max: 64,
    pattern: SERVER_NAME,
    patternHint: "must be 1-64 characters of letters, digits, '_', '-' and '.'",
  });
  const transport = oneOf(body, "transport", UPSTREAM_TRANSPORTS);
  const stdio = transport === "stdio";
  for (const f of stdio ? HTTP_ONLY : STDIO_ONLY) {
    if (body[f] !== undefined && body[f] !== null) {
      throw invalid(
        f,
        `${f} applies to ${stdio ? "HTTP (streamable-http, sse)" : "stdio"} servers only`,
      );
    }
  }
  const input: UpstreamServerInput = { name, transport };
  if (stdio) {
    input.command = string(body, "command", { max: 1024 });
    const args = parseArgs(body);
    if (args) input.args = args;
    const env = stringMap(body, "env", ENV_NAME, "environment variable name");
    if (env) input.env = env;
    const cwd = optionalString(body, "cwd", { max: 1024 });
    if (cwd !== undefined) {
      if (!cwd.startsWith("/")) throw invalid("cwd", "cwd must be an absolute path");
      input.cwd = cwd;
    }
  } else {
    input.url = parseUrl(body);
    const headers = stringMap(body, "headers", HEADER_NAME, "header name");
    if (headers) input.headers = headers;
  }
  const auth = parseAuth(body);
  if (auth) input.auth = auth;
  const timeout = optionalInteger(body, "timeout", 1, 300_000);
  if (timeout !== undefined) input.timeout = timeout;
  if (body.onChange !== undefined && body.onChange !== null) {
    input.onChange = oneOf(body, "onChange", ["hold", "accept"] as const);
  }
  if (stdio && body.isolation !== undefined && body.isolation !== null) {
    input.isolation = oneOf(body, "isolation", ["shared", "per-session"] as const);
  }
  return input;
}

/** A partial server body (PATCH) applied over `current`; null removes an optional field. */
export function mergeServerInput(current: UpstreamServerInput, body: Body): UpstreamServerInput {
  onlyFields(body, SERVER_FIELDS);
  const merged: Body = { ...current, ...body };
  for (const [k, v] of Object.entries(body)) if (v === null) delete merged[k];
  // A new transport drops the fields of the old one that the new one has no use for.
  if (isObject(body) && body.transport !== undefined && body.transport !== current.transport) {
    const dropped = body.transport === "stdio" ? HTTP_ONLY : STDIO_ONLY;
    for (const f of dropped) if (body[f] === undefined) delete merged[f];
  }
  return parseServerInput(merged);
}
