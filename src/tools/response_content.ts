/**
 * Upstream HTTP responses as MCP tool results: JSON, text, images, audio and
 * other binary content, error excerpts, truncation notes, and redaction of
 * secret values the upstream echoed back.
 *
 * @module
 */
import { domainToASCII, domainToUnicode } from "node:url";
import type { CallToolResult, ContentBlock } from "./executor.ts";

/** A response body read up to the cap, with what is needed to present it. */
export interface ReadResponse {
  status: number;
  statusText: string;
  headers: Headers;
  bytes: Uint8Array;
  truncated: boolean;
}

/** How results are presented. */
export interface PresentOptions {
  /** The byte cap the body was read with (named in the truncation note). */
  cap: number;
  /** Whether the tool declares an `outputSchema` (then JSON also goes to `structuredContent`). */
  structured: boolean;
  /** Identifies binary resources; must not carry secrets. */
  uri: string;
  redact: Redactor;
  /** Characters of an error body quoted in error results. */
  excerptChars: number;
}

/**
 * Removes secret values from text. `cut` says the text was cut at the cap,
 * so a secret's beginning at the very end is removed too.
 */
export type Redactor = (text: string, cut?: boolean) => string;

/** What a secret value becomes when an upstream echoes it. */
export const REDACTED = "[REDACTED]";

/** The identity redactor, for calls that used no secret. */
export const NO_REDACTION: Redactor = (s) => s;

/**
 * Every spelling of `v` a URL can give it back in: as sent, lower-cased (host
 * names come back lower-cased in "refused to connect" and DNS errors),
 * percent-encoded as a component, a form value, a path or a query (either hex
 * case), and as an IDNA host name (punycode).
 */
function spellings(v: string): string[] {
  const out = [v, v.toLowerCase()];
  const add = (make: () => string) => {
    try {
      const f = make();
      if (f !== "") out.push(f, f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
    } catch {
      // Not encodable that way (a lone surrogate, or not a host name): nothing to find.
    }
  };
  add(() => encodeURIComponent(v));
  add(() => encodeURIComponent(v).toLowerCase());
  add(() => new URLSearchParams({ v }).toString().slice(2));
  add(() => encodeURI(v));
  // Characters that end a path segment or a query would cut the spelling short.
  if (!/[/?#\\]/.test(v) && v !== "." && v !== "..") {
    add(() => new URL(`http://h/${v}`).pathname.slice(1));
  }
  if (!v.includes("#")) add(() => new URL(`http://h/?${v}`).search.slice(1));
  add(() => domainToASCII(v));
  return out;
}

/** Host names holding a punycode (`xn--`) label. */
const PUNYCODE_HOST = /[a-z0-9.-]*xn--[a-z0-9.-]*/gi;

/**
 * A redactor for `values` and the spellings URLs give them (upstreams and
 * connection errors echo request URLs). Longest first, so a secret containing
 * another is removed whole. A non-ASCII secret inside a longer host label is
 * punycoded together with the label, so such host names are decoded and
 * removed whole when they hold a secret.
 */
export function redactorFor(values: Iterable<string>): Redactor {
  const forms = new Set<string>();
  const unicode: string[] = [];
  for (const v of values) {
    if (v === "") continue;
    for (const f of spellings(v)) forms.add(f);
    if (/[^\p{ASCII}]/u.test(v)) unicode.push(v.toLowerCase());
  }
  if (forms.size === 0) return NO_REDACTION;
  const list = [...forms].sort((a, b) => b.length - a.length);
  const inPunycode = (host: string) => {
    const decoded = domainToUnicode(host);
    return unicode.some((u) => decoded.includes(u)) ? REDACTED : host;
  };
  return (text, cut = false) => {
    for (const f of list) if (text.includes(f)) text = text.split(f).join(REDACTED);
    if (unicode.length > 0 && text.includes("xn--")) text = text.replace(PUNYCODE_HOST, inPunycode);
    if (cut) {
      for (const f of list) {
        for (let k = Math.min(f.length - 1, text.length); k > 0; k--) {
          if (text.endsWith(f.slice(0, k))) {
            text = text.slice(0, -k);
            break;
          }
        }
      }
    }
    return text;
  };
}

/** `value` with `redact` applied to every string and key inside it. */
export function redactJson(value: unknown, redact: Redactor): unknown {
  if (redact === NO_REDACTION) return value;
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactJson(v, redact));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, redact(k), {
        value: redactJson(v, redact),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** The note appended to content cut at the cap. */
export function truncationNote(cap: number): string {
  return `[truncated: response exceeded ${cap} bytes]`;
}

/** How a media type is presented. */
export type BodyKind = "json" | "text" | "image" | "audio" | "binary";

const TEXTUAL_APPLICATION = new Set([
  "application/xml",
  "application/javascript",
  "application/ecmascript",
  "application/x-www-form-urlencoded",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/graphql",
  "application/sql",
  "application/x-ndjson",
  "application/csv",
]);

/** The media type (lower-case, no parameters) and charset of a content-type header. */
export function parseContentType(header: string | null): { type: string; charset?: string } {
  if (!header) return { type: "" };
  const [type, ...params] = header.split(";");
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p);
    if (m) charset = m[1];
  }
  return { type: type.trim().toLowerCase(), charset };
}

/** How a body of media type `type` is presented (SVG is XML text models can read, not a raster). */
export function kindOf(type: string): BodyKind {
  if (type === "application/json" || type === "text/json" || type.endsWith("+json")) return "json";
  if (type.startsWith("text/") || type.endsWith("+xml") || TEXTUAL_APPLICATION.has(type)) {
    return "text";
  }
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("audio/")) return "audio";
  return "binary";
}

// Shared for whole bodies only: a streaming decode (a cut body) keeps state between calls.
const UTF8 = new TextDecoder();

function decode(bytes: Uint8Array, charset: string | undefined, truncated: boolean): string {
  if (!truncated && (charset === undefined || /^utf-?8$/i.test(charset))) return UTF8.decode(bytes);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset ?? "utf-8");
  } catch {
    decoder = new TextDecoder();
  }
  // stream: true when cut, so a character split at the cap is dropped rather than garbled.
  return decoder.decode(bytes, { stream: truncated });
}

function looksLikeText(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, 4096), { stream: true });
    return !bytes.subarray(0, 4096).includes(0);
  } catch {
    return false;
  }
}

function textBlock(text: string): ContentBlock {
  return { type: "text", text };
}

function withNote(text: string, r: ReadResponse, cap: number): string {
  return r.truncated ? `${text}\n\n${truncationNote(cap)}` : text;
}

// HTTP/2 has no reason phrases; the common ones are filled in so the model still reads one.
const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The status line as the model should read it: `HTTP 404 Not Found`. */
export function statusLine(status: number, statusText: string): string {
  const reason = statusText || REASONS[status];
  return `HTTP ${status}${reason ? ` ${reason}` : ""}`;
}

/**
 * The result of a 2xx response. A tool with an `outputSchema` promises
 * structured content; when the body cannot provide it (not JSON, cut at the
 * cap, empty) the result is an error so that clients which check the promise
 * do not reject the whole call.
 */
export function successResult(r: ReadResponse, opts: PresentOptions): CallToolResult {
  const { type, charset } = parseContentType(r.headers.get("content-type"));
  if (r.bytes.byteLength === 0) {
    const text = `${statusLine(r.status, r.statusText)} (empty body)`;
    return opts.structured ? errorOf(`${text}; expected a JSON result`) : okText(text);
  }
  let kind = type ? kindOf(type) : (looksLikeText(r.bytes) ? "text" : "binary");
  if (kind === "text" && !type) {
    // No content type: JSON is common enough among untyped APIs to try.
    const first = r.bytes.find((b) => b > 0x20);
    if (first === 0x7b || first === 0x5b) kind = "json";
  }
  if (kind === "json") {
    const text = opts.redact(decode(r.bytes, charset, r.truncated), r.truncated);
    if (!r.truncated) {
      let value: unknown;
      let parsed = true;
      try {
        // Re-checked after parsing: JSON escapes (\u0041, \/) can hide a secret from the text pass.
        value = redactJson(JSON.parse(text), opts.redact);
      } catch {
        parsed = false;
      }
      if (parsed) {
        const result: CallToolResult = { content: [textBlock(JSON.stringify(value))] };
        if (opts.structured) {
          result.structuredContent = typeof value === "object" && value !== null &&
              !Array.isArray(value)
            ? value as Record<string, unknown>
            : { result: value };
        }
        return result;
      }
    }
    if (opts.structured) {
      return errorOf(
        withNote(
          r.truncated
            ? `the JSON response was cut at ${opts.cap} bytes, so no structured result could be built:\n${text}`
            : `the response is not valid JSON, so no structured result could be built:\n${text}`,
          r,
          opts.cap,
        ),
      );
    }
    return okText(withNote(text, r, opts.cap));
  }
  if (kind === "text") {
    const text = withNote(
      opts.redact(decode(r.bytes, charset, r.truncated), r.truncated),
      r,
      opts.cap,
    );
    if (opts.structured) {
      return errorOf(`expected a JSON result but the upstream sent ${type || "text"}:\n${text}`);
    }
    return okText(text);
  }
  const mimeType = type || "application/octet-stream";
  if (r.truncated) {
    // A cut image or file is useless to the model; say so instead of sending broken data.
    const text = `${truncationNote(opts.cap)} The ${mimeType} content was not returned.`;
    return opts.structured ? errorOf(text) : okText(text);
  }
  if (opts.structured) {
    return errorOf(`expected a JSON result but the upstream sent ${mimeType}`);
  }
  const data = r.bytes.toBase64();
  if (kind === "image") return { content: [{ type: "image", data, mimeType }] };
  if (kind === "audio") return { content: [{ type: "audio", data, mimeType }] };
  return { content: [{ type: "resource", resource: { uri: opts.uri, mimeType, blob: data } }] };
}

function okText(text: string): CallToolResult {
  return { content: [textBlock(text)] };
}

function errorOf(text: string): CallToolResult {
  return { content: [textBlock(text)], isError: true };
}

/** The first `max` characters of `text` on one line, marked when cut. */
export function excerpt(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The error result of a non-2xx response: status, reason and an excerpt of the body. */
export function httpErrorResult(r: ReadResponse, opts: PresentOptions, note = ""): CallToolResult {
  const { type, charset } = parseContentType(r.headers.get("content-type"));
  let detail = "";
  if (r.bytes.byteLength > 0) {
    const kind = type ? kindOf(type) : (looksLikeText(r.bytes) ? "text" : "binary");
    detail = kind === "json" || kind === "text"
      ? excerpt(opts.redact(decode(r.bytes, charset, r.truncated), r.truncated), opts.excerptChars)
      : `(${r.truncated ? "more than " : ""}${r.bytes.byteLength} bytes of ${
        type || "binary data"
      })`;
  }
  const head = statusLine(r.status, r.statusText);
  return errorOf(`${head}${note}${detail ? `: ${detail}` : ""}`);
}
