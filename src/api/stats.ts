/**
 * `GET /gateways/{id}/stats?since=`: a gateway's usage from the request
 * log's rollup (src/store/request_log.ts), for dashboards: all of its
 * requests, and per tool its calls, failures, error rate, estimated p50 and
 * p95 durations and last call.
 *
 * Every role may read it, viewers included: it holds counts and timings of
 * a gateway they may already read, nothing of what the calls carried or who
 * made them (that is `GET /logs`, for owners and admins).
 *
 * @module
 */
import { Hono } from "hono";
import type { UsageFigures } from "../store/request_log.ts";
import { isoTime } from "./audit.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";

/** The range statistics cover when the request names no `since`: the last 24 hours. */
export const DEFAULT_STATS_RANGE_MS = 86_400_000;

/** Figures as the API shows them. */
export function presentFigures(f: UsageFigures) {
  return {
    calls: f.calls,
    errors: f.errors,
    errorRate: f.calls === 0 ? 0 : Math.round((f.errors / f.calls) * 10_000) / 10_000,
    p50Ms: f.p50Ms,
    p95Ms: f.p95Ms,
    lastCalledAt: f.lastAt === null ? null : new Date(f.lastAt).toISOString(),
  };
}

/** The `/gateways/{id}/stats` route, mounted beside the gateway routes. */
export function statsRoutes({ store, requestLog }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get("/:id/stats", async (c) => {
    const p = c.get("principal");
    for (const name of Object.keys(c.req.queries())) {
      if (name !== "since") {
        throw invalid(name, `unknown query parameter ${name}; this route takes since`);
      }
    }
    const given = c.req.queries("since") ?? [];
    if (given.length > 1) throw invalid("since", "since may be given once");
    const now = Date.now();
    const since = given.length === 0
      ? now - DEFAULT_STATS_RANGE_MS
      : Date.parse(isoTime("since", given[0]));
    if (since > now) throw invalid("since", "since must not be in the future");
    const gw = await store.gateways.get(p.org.id, c.req.param("id"));
    if (!gw) throw notFound("gateway");
    // What was acknowledged is counted (the rollup is written with the log).
    await requestLog?.flush();
    const usage = await store.requestLog.usage(gw.id, since, now);
    return c.json({
      gatewayId: gw.id,
      since: new Date(usage.since).toISOString(),
      until: new Date(now).toISOString(),
      ...presentFigures(usage.total),
      tools: usage.tools.map((t) => ({ name: t.name, ...presentFigures(t) })),
    });
  });

  return app;
}
