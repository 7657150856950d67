/**
 * The management API: body limits, authentication, role checks and the
 * resource routes, mounted on the server's Hono app.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { accessKeyRoutes } from "./access_keys.ts";
import { apiRoutes } from "./apis.ts";
import { auditRoutes } from "./audit.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { BODY_TIMEOUT_VAR } from "./body.ts";
import { errorBody } from "./errors.ts";
import { gatewayRoutes } from "./gateways.ts";
import { invitationRoutes } from "./invitations.ts";
import { loginRoutes } from "./login.ts";
import { logRoutes } from "./logs.ts";
import { meRoutes } from "./me.ts";
import { orgRoutes } from "./orgs.ts";
import { authenticate, writesNeedMember } from "./principal.ts";
import { secretRoutes } from "./secrets.ts";
import { serverRoutes } from "./servers.ts";
import { statsRoutes } from "./stats.ts";
import { toolCallRoutes } from "./tool_calls.ts";
import { toolRoutes } from "./tools.ts";

/**
 * A path holding U+0000 names nothing: no id, slug or token can hold one
 * (PostgreSQL cannot even store it), so it is an unknown resource on either
 * engine, answered without a lookup.
 */
const namesNothingWithNul: MiddlewareHandler = async (c, next) => {
  if (/%00/i.test(new URL(c.req.url).pathname)) {
    return c.json(errorBody("not_found", "not found: no resource is named with U+0000"), 404);
  }
  await next();
};

/** Mounts the management API on `app`. */
export function mountApi(app: Hono, deps: ApiDeps): void {
  // Every route reads bodies within the size limit and, by `readJson`, the time limit.
  const limitOf = (maxSize: number): MiddlewareHandler => {
    const size = bodyLimit({
      maxSize,
      onError: (c) =>
        c.json(errorBody("payload_too_large", `request body is larger than ${maxSize} bytes`), 413),
    });
    return (c, next) => {
      c.set(BODY_TIMEOUT_VAR, deps.config.bodyTimeoutMs);
      return size(c, next);
    };
  };
  const limit = limitOf(deps.config.maxBodyBytes);
  const auth = authenticate(deps.store);
  const guarded = (routes: Hono<ApiEnv>, ...extra: MiddlewareHandler<ApiEnv>[]) => {
    const sub = new Hono<ApiEnv>();
    sub.use(limit, auth, namesNothingWithNul, ...extra);
    return sub.route("/", routes);
  };
  // Signing in and accepting an invitation need no access key: they are how people get one.
  const open = (routes: Hono) => new Hono().use(limit, namesNothingWithNul).route("/", routes);
  app.route("/login", open(loginRoutes(deps)));
  app.route("/invitations", open(invitationRoutes(deps)));
  // Creating an org is a user's act, not an org's; the org routes check roles per org.
  app.route("/orgs", guarded(orgRoutes(deps)));
  // The caller's own account: any role, since it changes nothing of the org.
  app.route("/me", guarded(meRoutes(deps)));
  app.route("/keys", guarded(accessKeyRoutes(deps), writesNeedMember()));
  // Usage statistics and members' tool calls sit under each gateway; one mount, so
  // authentication runs once.
  const gateways = new Hono<ApiEnv>().route("/", gatewayRoutes(deps)).route("/", statsRoutes(deps))
    .route("/", toolCallRoutes(deps));
  app.route("/gateways", guarded(gateways, writesNeedMember()));
  app.route("/tools", guarded(toolRoutes(deps), writesNeedMember()));
  // Viewers may list secrets' metadata; values are never returned to anyone.
  app.route("/secrets", guarded(secretRoutes(deps), writesNeedMember()));
  // Stdio servers need more than a member: the routes check it per server.
  app.route("/servers", guarded(serverRoutes(deps), writesNeedMember()));
  // Read-only, and for owners and admins (the route checks): no route changes an event.
  app.route("/audit", guarded(auditRoutes(deps)));
  // Read-only, and for owners and admins (the route checks): rows can hold users' data.
  app.route("/logs", guarded(logRoutes(deps)));
  // OpenAPI documents run to tens of megabytes: imports have their own, larger body limit
  // (each sub-app applies only its own limit, so the 1 MiB one never sees these requests).
  const imports = new Hono<ApiEnv>();
  imports.use(
    limitOf(deps.config.maxImportBodyBytes),
    auth,
    namesNothingWithNul,
    writesNeedMember(),
  );
  app.route("/apis", imports.route("/", apiRoutes(deps)));
}
