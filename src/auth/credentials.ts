/**
 * What a request presents as credentials, read one way for the whole server:
 * the management API and every MCP transport parse the `Authorization`
 * header, `X-API-Key`, the `api_key` query parameter and the WebSocket
 * `bearer.<token>` subprotocol entry here and nowhere else. Reading is cheap
 * and never judges a credential; the auth methods decide what they accept
 * from where (`gateway_auth.ts`).
 *
 * @module
 */

/** The MCP transport a request is for (the last path segment, or `http`). */
export type TransportKind = "http" | "sse" | "messages" | "ws";

/** What the `Authorization` header holds. */
export type AuthorizationValue =
  | { scheme: "bearer"; token: string }
  /** `Basic` (RFC 7617): for gateways an email and password, for OAuth clients an id and secret. */
  | { scheme: "basic"; user: string; password: string }
  /** A header this server cannot use: no scheme, an unknown scheme, or a broken value. */
  | { scheme: "unusable"; problem: string };

/** Everything a request presents, each where it was found. */
export interface Presented {
  /** The `Authorization` header, parsed; undefined when absent or empty. */
  authorization?: AuthorizationValue;
  /** The `X-API-Key` header. */
  apiKey?: string;
  /** The `api_key` query parameter. */
  query?: string;
  /** The token of a `bearer.<token>` `Sec-WebSocket-Protocol` entry, on the WebSocket path only. */
  wsProtocol?: string;
  transport: TransportKind;
}

/** The subprotocol prefix that carries a credential for browsers, which cannot set headers. */
export const WS_PROTOCOL_PREFIX = "bearer.";

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:[ \t]+(.*))?$/;

/**
 * Parses an `Authorization` header value. `Bearer` takes exactly one token
 * (RFC 6750 section 2.1); `Basic` is base64 of `user:password` in UTF-8
 * (RFC 7617). Anything else is `unusable`, with a problem that says what is
 * wrong with it and never repeats the value.
 */
export function parseAuthorization(
  header: string | null | undefined,
): AuthorizationValue | undefined {
  if (!header) return undefined;
  const bearer = BEARER.exec(header);
  if (bearer) return { scheme: "bearer", token: bearer[1] };
  const m = SCHEME.exec(header.trim());
  if (!m || m[2] === undefined || m[2].trim() === "") {
    const scheme = m?.[1].toLowerCase();
    if (scheme === "bearer" || scheme === "basic") {
      return {
        scheme: "unusable",
        problem: `'Authorization: ${m![1]}' has no credentials after it`,
      };
    }
    return {
      scheme: "unusable",
      problem: "the Authorization header has no scheme: put 'Bearer ' before the token",
    };
  }
  const scheme = m[1].toLowerCase();
  if (scheme === "bearer") {
    return {
      scheme: "unusable",
      problem: "'Authorization: Bearer' must be followed by exactly one token, without spaces",
    };
  }
  if (scheme !== "basic") {
    return { scheme: "unusable", problem: `the '${m[1]}' Authorization scheme is not supported` };
  }
  const decoded = decodeBasic(m[2].trim());
  return decoded ?? {
    scheme: "unusable",
    problem: "'Authorization: Basic' must carry base64 of 'email:password'",
  };
}

function decodeBasic(value: string): AuthorizationValue | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length > 4096) return undefined;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  return { scheme: "basic", user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const auth = parseAuthorization(header);
  return auth?.scheme === "bearer" ? auth.token : undefined;
}

/**
 * Everything `req` presents. The URL is only parsed when it names
 * `api_key`, the subprotocol only read on the WebSocket path, and
 * `X-API-Key` only when a method looks for it (a gateway key in
 * `Authorization` never does): this runs on every MCP request, and each
 * header read costs about a microsecond.
 */
export function presentedCredentials(req: Request, transport: TransportKind): Presented {
  return new RequestCredentials(req, transport);
}

/** What one request presents, its `X-API-Key` read when first asked for. */
class RequestCredentials implements Presented {
  readonly authorization?: AuthorizationValue;
  readonly query?: string;
  readonly wsProtocol?: string;
  #headers: Headers;
  #apiKey?: string | null;

  constructor(req: Request, readonly transport: TransportKind) {
    this.#headers = req.headers;
    const authorization = parseAuthorization(req.headers.get("authorization"));
    if (authorization) this.authorization = authorization;
    if (req.url.includes("api_key=")) {
      const query = new URL(req.url).searchParams.get("api_key");
      if (query) this.query = query;
    }
    if (transport === "ws") {
      const entry = req.headers.get("sec-websocket-protocol")?.split(",").map((p) => p.trim())
        .find((p) => p.startsWith(WS_PROTOCOL_PREFIX));
      const token = entry?.slice(WS_PROTOCOL_PREFIX.length);
      if (token) this.wsProtocol = token;
    }
  }

  get apiKey(): string | undefined {
    if (this.#apiKey === undefined) this.#apiKey = this.#headers.get("x-api-key")?.trim() || null;
    return this.#apiKey ?? undefined;
  }
}

/** True when `p` presents nothing at all. */
export function presentsNothing(p: Presented): boolean {
  return p.authorization === undefined && p.apiKey === undefined && p.query === undefined &&
    p.wsProtocol === undefined;
}
