/**
 * The management API: body limits, authentication, role checks and the
 * resource routes, mounted on the server's Hono app.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { accessKeyRoutes } from "./access_keys.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { errorBody } from "./errors.ts";
import { gatewayRoutes } from "./gateways.ts";
import { orgRoutes } from "./orgs.ts";
import { authenticate, writesNeedMember } from "./principal.ts";
import { toolRoutes } from "./tools.ts";

/** Mounts the management API on `app`. */
export function mountApi(app: Hono, deps: ApiDeps): void {
  const limit = bodyLimit({
    maxSize: deps.config.maxBodyBytes,
    onError: (c) =>
      c.json(
        errorBody(
          "payload_too_large",
          `request body is larger than ${deps.config.maxBodyBytes} bytes`,
        ),
        413,
      ),
  });
  const auth = authenticate(deps.store);
  const guarded = (routes: Hono<ApiEnv>, ...extra: MiddlewareHandler<ApiEnv>[]) => {
    const sub = new Hono<ApiEnv>();
    sub.use(limit, auth, ...extra);
    return sub.route("/", routes);
  };
  // Creating an org is a user's act, not an org's; the org routes check roles per org.
  app.route("/orgs", guarded(orgRoutes(deps)));
  app.route("/keys", guarded(accessKeyRoutes(deps), writesNeedMember()));
  app.route("/gateways", guarded(gatewayRoutes(deps), writesNeedMember()));
  app.route("/tools", guarded(toolRoutes(deps), writesNeedMember()));
}
