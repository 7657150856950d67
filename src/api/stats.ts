/**
 * `GET /gateways/{id}/stats?since=&interval=`: a gateway's usage from the
 * request log's rollup (src/store/request_log.ts), for dashboards: all of
 * its requests, and per tool its calls, failures, error rate, estimated p50
 * and p95 durations and last call; with `interval` (`minute` or `hour`) the
 * same figures step by step, for charts.
 *
 * Every role may read it, viewers included: it holds counts and timings of
 * a gateway they may already read, nothing of what the calls carried or who
 * made them (that is `GET /logs`, for owners and admins).
 *
 * @module
 */
import { Hono } from "hono";
import { MINUTES_KEPT_MS, type UsageFigures, type UsagePoint } from "../store/request_log.ts";
import { isoTime } from "./audit.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound } from "./errors.ts";

/** The range statistics cover when the request names no `since`: the last 24 hours. */
export const DEFAULT_STATS_RANGE_MS = 86_400_000;

/** The steps `interval` may name, in ms. */
export const STATS_INTERVALS = { minute: 60_000, hour: 3_600_000 } as const;

/** Most steps one series may cover: a day of minutes. */
export const MAX_SERIES_STEPS = 1440;

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

/** A step of a series as the API shows it. */
function presentPoint(point: UsagePoint) {
  const { lastCalledAt: _l, ...figures } = presentFigures(point);
  return { at: new Date(point.start).toISOString(), ...figures };
}

/**
 * The `interval` asked for, checked against the range: minutes are kept for
 * two days, and a series has at most {@link MAX_SERIES_STEPS} steps.
 */
function intervalOf(
  given: string | undefined,
  since: number,
  now: number,
): keyof typeof STATS_INTERVALS | undefined {
  if (given === undefined) return undefined;
  if (given !== "minute" && given !== "hour") {
    throw invalid("interval", "interval must be minute or hour");
  }
  if (given === "minute" && since < now - MINUTES_KEPT_MS) {
    throw invalid("since", "minute steps are kept for two days: use interval=hour further back");
  }
  if ((now - since) / STATS_INTERVALS[given] > MAX_SERIES_STEPS) {
    throw invalid(
      "since",
      `a series has at most ${MAX_SERIES_STEPS} steps: start later, or use interval=hour`,
    );
  }
  return given;
}

/** The `/gateways/{id}/stats` route, mounted beside the gateway routes. */
export function statsRoutes({ store, requestLog }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get("/:id/stats", async (c) => {
    const p = c.get("principal");
    for (const [name, values] of Object.entries(c.req.queries())) {
      if (name !== "since" && name !== "interval") {
        throw invalid(name, `unknown query parameter ${name}; this route takes since and interval`);
      }
      if (values.length > 1) throw invalid(name, `${name} may be given once`);
    }
    const now = Date.now();
    const given = c.req.query("since");
    const since = given === undefined
      ? now - DEFAULT_STATS_RANGE_MS
      : Date.parse(isoTime("since", given));
    if (since > now) throw invalid("since", "since must not be in the future");
    const interval = intervalOf(c.req.query("interval"), since, now);
    const gw = await store.gateways.get(p.org.id, c.req.param("id"));
    if (!gw) throw notFound("gateway");
    // What was acknowledged is counted (the rollup is written with the log).
    await requestLog?.flush();
    const usage = await store.requestLog.usage(gw.id, since, now);
    const body = {
      gatewayId: gw.id,
      since: new Date(usage.since).toISOString(),
      until: new Date(now).toISOString(),
      ...presentFigures(usage.total),
      tools: usage.tools.map((t) => ({ name: t.name, ...presentFigures(t) })),
    };
    if (!interval) return c.json(body);
    const span = STATS_INTERVALS[interval];
    const series = await store.requestLog.series(gw.id, span, since - (since % span), now);
    const byTool = Map.groupBy(series.tools, (point) => point.name);
    return c.json({
      ...body,
      interval,
      series: series.total.map(presentPoint),
      tools: body.tools.map((t) => ({
        ...t,
        series: (byTool.get(t.name) ?? []).map(presentPoint),
      })),
    });
  });

  return app;
}
