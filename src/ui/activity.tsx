/**
 * Activity: the dashboard (every role: requests per minute or hour, error
 * rate and p95 latency per gateway and per tool, over the last hour or day,
 * from `GET /gateways/{id}/stats?interval=`) and the request log with its
 * filters (`GET /logs`, owners and admins), exported whole as CSV or NDJSON
 * with the same filters (the API's export, streamed through).
 *
 * @module
 */
import { Hono } from "hono";
import type { ApiProblem, ApiResult, Json } from "./client.ts";
import { withQuery } from "./client.ts";
import { Chart, filled, Sparkline } from "./charts.tsx";
import { Badge, Empty, Field, millis, Pager, Select, Table, When } from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { statusOf, utcTime } from "./forms.ts";
import { Page } from "./layout.tsx";

const RANGES = {
  hour: { label: "Last hour", ms: 3_600_000, interval: "minute", step: 60_000, per: "minute" },
  day: { label: "Last day", ms: 86_400_000, interval: "hour", step: 3_600_000, per: "hour" },
} as const;
type Range = keyof typeof RANGES;
const STATUSES = ["ok", "error", "tool_error", "rate_limited", "denied"];

function Tabs({ current }: { current: "dashboard" | "log" }) {
  return (
    <nav class="tabs" aria-label="Activity">
      <a href="/ui/activity" aria-current={current === "dashboard" ? "page" : undefined}>
        Dashboard
      </a>
      <a href="/ui/activity/log" aria-current={current === "log" ? "page" : undefined}>
        Request log
      </a>
    </nav>
  );
}

async function dashboard(ui: UiRequest, range: Range, only?: string) {
  const r = RANGES[range];
  const now = Date.now();
  const since = now - r.ms;
  const list = await ui.api.get("/gateways?limit=100");
  const gateways: Json[] = (list.ok ? list.body.gateways : []).filter((g: Json) =>
    !only || g.id === only
  );
  const stats = await Promise.all(
    gateways.map((g) =>
      ui.api.get(withQuery(`/gateways/${g.id}/stats`, {
        since: new Date(since).toISOString(),
        interval: r.interval,
      }))
    ),
  );
  const series = (s: Json, key: "calls" | "errorRate" | "p95Ms", empty: number | null) =>
    filled(s.series ?? [], key, since, now, r.step, empty);
  return (
    <Page ui={ui} title="Activity" section="/ui/activity">
      <Tabs current="dashboard" />
      <nav class="tabs" aria-label="Range">
        {(Object.keys(RANGES) as Range[]).map((k) => (
          <a
            href={withQuery("/ui/activity", { range: k, gatewayId: only })}
            aria-current={k === range ? "page" : undefined}
          >
            {RANGES[k].label}
          </a>
        ))}
        {only ? <a href={withQuery("/ui/activity", { range })}>All gateways</a> : null}
      </nav>
      {gateways.length === 0
        ? <Empty>No gateways yet: their requests show here once clients call them.</Empty>
        : gateways.map((g, i) => {
          const s = stats[i].ok ? stats[i].body : { series: [], tools: [], calls: 0 };
          return (
            <section class="panel" aria-labelledby={`gw-${g.id}`}>
              <h2 id={`gw-${g.id}`}>
                <a href={`/ui/gateways/${g.id}`}>{g.name}</a>
              </h2>
              <p class="muted">
                {`${s.calls} requests, ${s.errors ?? 0} failed, p95 ${
                  millis(s.p95Ms)
                }, ${r.label.toLowerCase()}.`}
              </p>
              <div class="cards">
                <Chart
                  points={series(s, "calls", 0)}
                  kind="bars"
                  unit=""
                  title={`Requests per ${r.per}`}
                  tone={1}
                />
                <Chart
                  points={series(s, "errorRate", null)}
                  kind="line"
                  unit="%"
                  title="Error rate"
                  tone={2}
                />
                <Chart
                  points={series(s, "p95Ms", null)}
                  kind="line"
                  unit=" ms"
                  title="p95 latency"
                  tone={3}
                />
              </div>
              {(s.tools as Json[]).length === 0
                ? <p class="muted">No tool calls in this range.</p>
                : (
                  <Table
                    head={[
                      "Tool",
                      ["Calls", "num"],
                      ["Error rate", "num"],
                      ["p95", "num"],
                      `Calls per ${r.per}`,
                    ]}
                    caption={`Tools of ${g.name}`}
                  >
                    {(s.tools as Json[]).map((t) => (
                      <tr>
                        <td>{t.name}</td>
                        <td class="num">{t.calls}</td>
                        <td class="num">{`${Math.round(t.errorRate * 100)}%`}</td>
                        <td class="num">{millis(t.p95Ms)}</td>
                        <td>
                          <Sparkline
                            points={filled(t.series ?? [], "calls", since, now, r.step, 0)}
                            title={`${t.name}: ${t.calls} calls, ${r.label.toLowerCase()}`}
                          />
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
            </section>
          );
        })}
    </Page>
  );
}

/** The export formats of the request log, with what their links say. */
const EXPORTS = [["csv", "CSV"], ["ndjson", "NDJSON"]] as const;

/** The `datetime-local` value of an ISO time (UTC), for showing a filter again. */
const localOf = (iso: string | undefined) => iso ? iso.slice(0, 16) : "";

/** The API's filters of the log page's query (its times are UTC `datetime-local` values). */
function filtersOf(q: Record<string, string | undefined>) {
  return {
    gatewayId: q.gatewayId,
    tool: q.tool,
    caller: q.caller,
    status: q.status,
    since: utcTime(q.since),
    until: utcTime(q.until),
  };
}

async function requestLog(
  ui: UiRequest,
  q: Record<string, string | undefined>,
  refused?: ApiProblem,
) {
  const gatewayList = await ui.api.get("/gateways?limit=1000");
  const gateways: Json[] = gatewayList.ok ? gatewayList.body.gateways : [];
  const names = new Map(gateways.map((g) => [g.id, g.name]));
  const filters = filtersOf(q);
  const res = ui.isAdmin
    ? await ui.api.get(withQuery("/logs", { ...filters, limit: "50", cursor: q.cursor }))
    : undefined;
  const logs: Json[] = res?.ok ? res.body.logs : [];
  const next = res?.ok && res.body.nextCursor
    ? withQuery("/ui/activity/log", { ...q, cursor: res.body.nextCursor })
    : null;
  const error = refused ?? (res && !res.ok ? res.error : undefined);
  const { cursor: _cursor, ...kept } = q;
  const fieldError = (name: string) => error?.field === name ? error.message : undefined;
  return (
    <Page ui={ui} title="Activity" section="/ui/activity">
      <Tabs current="log" />
      {!ui.isAdmin
        ? (
          <p class="notice warn">
            The request log names every caller and can hold what calls carried: owners and admins
            read it. The dashboard shows everyone the counts and timings.
          </p>
        )
        : (
          <>
            <form method="get" action="/ui/activity/log" class="inline" role="search">
              <Select
                label="Gateway"
                name="gatewayId"
                value={q.gatewayId ?? ""}
                options={[
                  ["", "(any)"],
                  ...gateways.map((g) => [g.id, g.name] as [string, string]),
                ]}
                error={fieldError("gatewayId")}
              />
              <Field label="Tool" name="tool" value={q.tool ?? ""} error={fieldError("tool")} />
              <Field
                label="Caller"
                name="caller"
                value={q.caller ?? ""}
                error={fieldError("caller")}
              />
              <Select
                label="Status"
                name="status"
                value={q.status ?? ""}
                options={[["", "(any)"], ...STATUSES]}
                error={fieldError("status")}
              />
              <Field
                label="From (UTC)"
                name="since"
                type="datetime-local"
                value={localOf(filters.since)}
                error={fieldError("since")}
              />
              <Field
                label="Until (UTC)"
                name="until"
                type="datetime-local"
                value={localOf(filters.until)}
                error={fieldError("until")}
              />
              <button type="submit">Filter</button>
              <a href="/ui/activity/log">Clear</a>
            </form>
            {error && !error.field ? <p class="notice bad">{error.message}</p> : null}
            <p class="actions">
              <span>Export every request these filters match:</span>
              {EXPORTS.map(([format, label]) => (
                <a
                  class="button secondary small"
                  href={withQuery("/ui/activity/log/export", { ...kept, format })}
                  download
                >
                  {label}
                </a>
              ))}
            </p>
            {logs.length === 0
              ? (
                <Empty>
                  No requests match. Requests appear here as MCP clients call the gateways (try a
                  tool from a gateway's page).
                </Empty>
              )
              : (
                <Table
                  id="log-table"
                  head={[
                    "When",
                    "Gateway",
                    "Request",
                    "Caller",
                    "Status",
                    ["Time", "num"],
                    ["Bytes in/out", "num"],
                    "Upstream",
                  ]}
                  caption="Requests"
                >
                  {logs.map((l) => (
                    <tr>
                      <td>
                        <When at={l.at} />
                      </td>
                      <td>{names.get(l.gatewayId) ?? l.gatewayId}</td>
                      <td>
                        <code>{`${l.method}${l.name ? ` ${l.name}` : ""}`}</code>
                      </td>
                      <td>
                        {l.caller.keyName ?? l.caller.subject ?? l.caller.clientId ??
                          l.caller.address ?? l.caller.id}
                        <br />
                        <span class="muted">{l.caller.method}</span>
                      </td>
                      <td>
                        <Badge tone={l.status === "ok" ? "ok" : "bad"}>{l.status}</Badge>
                        {l.errorCode ? ` ${l.errorCode}` : ""}
                      </td>
                      <td class="num">{millis(l.durationMs)}</td>
                      <td class="num">{`${l.bytesIn} / ${l.bytesOut}`}</td>
                      <td>
                        {l.upstream
                          ? `${l.upstream.target ?? ""} ${l.upstream.status ?? ""} (${
                            millis(l.upstream.durationMs)
                          })`
                          : ""}
                      </td>
                    </tr>
                  ))}
                </Table>
              )}
            <Pager next={next} />
          </>
        )}
    </Page>
  );
}

/** The activity routes. */
export function activityRoutes(_deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", async (c) => {
    const range = c.req.query("range") === "day" ? "day" : "hour";
    return c.html(await dashboard(c.get("ui"), range, c.req.query("gatewayId") || undefined));
  });
  app.get("/log", async (c) => c.html(await requestLog(c.get("ui"), c.req.query())));
  // The whole export, streamed from the API as it reads it; a refusal shows on the log page.
  app.get("/log/export", async (c) => {
    const ui = c.get("ui");
    const q = c.req.query();
    const res = await ui.api.fetch(
      "GET",
      withQuery("/logs", { ...filtersOf(q), format: q.format }),
    );
    if (res.ok) {
      const headers = new Headers();
      for (const h of ["content-type", "content-disposition"]) {
        const v = res.headers.get(h);
        if (v !== null) headers.set(h, v);
      }
      return new Response(res.body, { status: 200, headers });
    }
    const body = await res.json().catch(() => ({}));
    const refused: ApiProblem = body.error ?? { code: "error", message: `HTTP ${res.status}` };
    return c.html(await requestLog(ui, q, refused), statusOf({ status: res.status } as ApiResult));
  });
  return app;
}
