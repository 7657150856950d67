/**
 * Answers at the server's origin for the OAuth endpoints MCP clients guess
 * when a gateway names no authorization server: `POST /register`,
 * `POST /token` and `GET /authorize`.
 *
 * An OAuth-capable client (the MCP SDKs, mcp-remote, the MCP Inspector) that
 * gets a 401 reads the gateway's protected-resource metadata; for a gateway
 * without an `oauth2` method it lists no authorization server, so the client
 * falls back to the MCP server's origin as one (the 2025-03-26 rule) and
 * tries to register there. Without these routes it would end on our
 * "no route for POST /register"; with them it ends on an OAuth error, which
 * the clients show, whose `error_description` says what to do instead.
 *
 * @module
 */
import type { Hono } from "hono";
import type { McpService } from "../mcp/service.ts";
import { errorPage } from "./html.ts";
import { oauthError, OPEN_CORS } from "./token.ts";

/** The origin paths answered here (not management API routes). */
export const FALLBACK_PATHS = ["/register", "/token", "/authorize"] as const;

/** What the client's user should do: said wherever a client lands when it tries OAuth in vain. */
export const SEND_THE_KEY = "This MCP gateway does not use OAuth sign-in (it has no oauth2 auth " +
  "method), so there is no authorization server to register with. Configure the MCP client " +
  "to send a valid gateway key as the header 'Authorization: Bearer ghk_...' (create one " +
  "with POST /gateways/{id}/keys), or add an oauth2 auth method to the gateway.";

/** Mounts the fallback answers on `app`. */
export function mountOAuthFallback(app: Hono, service: McpService): void {
  const preflight = () =>
    new Response(null, {
      status: 204,
      headers: {
        ...OPEN_CORS,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
        "access-control-max-age": "600",
      },
    });
  for (const path of ["/register", "/token"]) {
    app.options(path, preflight);
    // 404: nothing lives here; the body is an OAuth error so that clients show its description.
    app.post(path, () => oauthError(404, "invalid_request", SEND_THE_KEY));
  }
  app.get("/authorize", async (c) => {
    const resource = c.req.query("resource");
    let name: string | undefined;
    if (resource) {
      const m = /^\/mcp\/([^/]+)(\/.+)$/.exec(URL.parse(resource)?.pathname ?? "");
      try {
        name = m
          ? (await service.resolve(decodeURIComponent(m[1]), m[2]))?.gateway.name
          : undefined;
      } catch {
        name = undefined;
      }
    }
    const title = name ? `'${name}' does not use OAuth sign-in` : "No OAuth sign-in here";
    return errorPage(404, title, SEND_THE_KEY);
  });
}
