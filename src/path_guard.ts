/**
 * One guard for every route: a request path whose percent-encoding is
 * malformed (`/mcp/%ZZ/x`) is refused with 400 before any route decodes it,
 * in the error shape of the surface it was addressed to.
 *
 * @module
 */
import { errorBody } from "./api/errors.ts";
import { ErrorCode } from "./mcp/jsonrpc.ts";
import { errorPage } from "./oauth/html.ts";
import { oauthError } from "./oauth/token.ts";
import { rpcErrorResponse } from "./transports/responses.ts";

const MESSAGE = "the request path has malformed percent-encoding";

/** True when `pathname` (still encoded) cannot be percent-decoded. */
export function malformedPath(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return false;
  } catch {
    return true;
  }
}

/** The 400 for a malformed path, shaped for the surface `pathname` belongs to. */
export function malformedPathResponse(pathname: string): Response {
  if (/\/oauth\/authorize$/.test(pathname)) return errorPage(400, "Bad request", `${MESSAGE}.`);
  if (/\/oauth\/(token|register|revoke)$/.test(pathname) || pathname.includes("/.well-known/")) {
    return oauthError(400, "invalid_request", MESSAGE);
  }
  if (pathname.startsWith("/mcp/")) {
    return rpcErrorResponse(400, ErrorCode.InvalidRequest, `Bad Request: ${MESSAGE}`);
  }
  return Response.json(errorBody("invalid_request", MESSAGE, "path"), { status: 400 });
}

/**
 * The refusal for a request whose path is malformed, or undefined to serve
 * it; run before the app so no route ever decodes such a path.
 */
export function refuseMalformedPath(req: Request): Response | undefined {
  // Most URLs hold no escape at all: then there is nothing to parse or check.
  if (!req.url.includes("%")) return undefined;
  const pathname = new URL(req.url).pathname;
  return malformedPath(pathname) ? malformedPathResponse(pathname) : undefined;
}
