/**
 * `GET /metrics`: the Prometheus text exposition of MCP traffic, sessions,
 * rate limits and the process.
 *
 * Metrics are instance-wide, so who may read what:
 *
 * - the `GATEHOUSE_METRICS_TOKEN` (read-only; a scraper's credential), and
 *   owners' and admins' access keys of the `default` org, which first-run
 *   setup makes for the instance's operator (its owner holds the bootstrap
 *   admin key): everything;
 * - owners' and admins' access keys of any other org: that org's gateways
 *   only, without the instance-wide series (upstreams, sessions, rate
 *   limits, the process), which would tell one tenant of the others;
 * - members and viewers: 403; no credential, or an unknown, revoked or
 *   expired key: 401.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { parseAuthorization } from "../auth/credentials.ts";
import { DEFAULT_ORG } from "../bootstrap.ts";
import type { Store } from "../store/store.ts";
import { type Metrics, METRICS_CONTENT_TYPE, type MetricsView } from "../telemetry/metrics.ts";
import { forbidden } from "./errors.ts";
import { hasRole, principalOf } from "./principal.ts";

/** What the metrics route is built from. */
export interface MetricsRouteDeps {
  store: Store;
  metrics: Metrics;
  /** The dedicated scrape token (`GATEHOUSE_METRICS_TOKEN`), if one is set. */
  token?: string;
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/** The route, mounted at the app's root (outside the org-scoped management API). */
export function metricsRoutes(deps: MetricsRouteDeps): Hono {
  // Hashes have one length, so comparing them in constant time tells nothing of the token.
  const tokenHash = deps.token === undefined ? undefined : sha256(deps.token);
  const viewOf = async (authorization: string | undefined): Promise<MetricsView> => {
    const auth = parseAuthorization(authorization);
    if (tokenHash && auth?.scheme === "bearer" && timingSafeEqual(sha256(auth.token), tokenHash)) {
      return { all: true };
    }
    const p = await principalOf(deps.store, authorization);
    if (!hasRole(p.role, "admin")) {
      throw forbidden(
        `metrics need the admin role or higher, or the metrics token; you are ${p.role} in ` +
          `'${p.org.slug}'`,
      );
    }
    return p.org.slug === DEFAULT_ORG ? { all: true } : { all: false, orgId: p.org.id };
  };
  const app = new Hono();
  app.get("/metrics", async (c) => {
    const body = await deps.metrics.render(await viewOf(c.req.header("authorization")));
    // Every scrape must see current values, never a cached copy.
    return c.body(body, 200, { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" });
  });
  return app;
}
