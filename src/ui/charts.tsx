/**
 * Charts drawn on the server as SVG: no chart library, no script, and they
 * follow the page's colours (dark mode included) through CSS classes. Each
 * chart is an image with a text alternative that says what it shows.
 *
 * @module
 */

/** One step of a series: where it starts (ms) and its value (null: nothing to say). */
export interface Point {
  at: number;
  value: number | null;
}

const W = 300, H = 90, PAD_L = 34, PAD_B = 14, PAD_T = 6;

/** A step of the API's series (`GET /gateways/{id}/stats?interval=`). */
export interface SeriesStep {
  at: string;
  calls: number;
  errorRate: number;
  p95Ms: number | null;
}

/**
 * Every step from `from` to `to` (ms) with `key`'s value where the sparse
 * series has one, else `empty` (0 calls; no error rate or latency).
 */
export function filled(
  sparse: readonly SeriesStep[],
  key: "calls" | "errorRate" | "p95Ms",
  from: number,
  to: number,
  step: number,
  empty: number | null,
): Point[] {
  const by = new Map(sparse.map((p) => [Date.parse(p.at), p[key]]));
  const out: Point[] = [];
  for (let at = from - (from % step); at < to; at += step) {
    out.push({ at, value: by.has(at) ? by.get(at)! : empty });
  }
  return out;
}

/** A round number at or above `n`, for the top of an axis. */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= n)!;
}

const label = (v: number, unit: string) =>
  unit === "%" ? `${Math.round(v * 100)}%` : `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;

function hhmm(at: number): string {
  return new Date(at).toISOString().slice(11, 16);
}

/**
 * A chart of `points`: bars (counts) or a line (rates, latencies). `unit`
 * is `""`, `" ms"` or `"%"` (values 0 to 1).
 */
export function Chart(
  { points, kind, unit, title, tone }: {
    points: Point[];
    kind: "bars" | "line";
    unit: string;
    title: string;
    tone: 1 | 2 | 3;
  },
) {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null);
  const top = unit === "%" ? 1 : niceMax(Math.max(0, ...values));
  const n = Math.max(points.length, 1);
  const x = (i: number) => PAD_L + ((W - PAD_L - 2) * i) / n;
  const y = (v: number) => PAD_T + (H - PAD_T - PAD_B) * (1 - v / top);
  const bw = Math.max(1, (W - PAD_L - 2) / n - 1);
  const summary = values.length === 0
    ? `${title}: nothing in this range`
    : `${title}: highest ${label(Math.max(...values), unit)}, latest ${
      label(values[values.length - 1], unit)
    }`;
  const segments: string[] = [];
  let run: string[] = [];
  points.forEach((p, i) => {
    if (p.value === null) {
      if (run.length) segments.push(run.join(" "));
      run = [];
    } else run.push(`${(x(i) + bw / 2).toFixed(1)},${y(p.value).toFixed(1)}`);
  });
  if (run.length) segments.push(run.join(" "));
  return (
    <figure class="card">
      <figcaption>{title}</figcaption>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <title>{summary}</title>
        <line class="axis" x1={PAD_L} y1={y(0)} x2={W} y2={y(0)} />
        <line class="axis" x1={PAD_L} y1={y(top)} x2={W} y2={y(top)} />
        <text x={PAD_L - 4} y={y(top) + 4} text-anchor="end">{label(top, unit)}</text>
        <text x={PAD_L - 4} y={y(0)} text-anchor="end">{label(0, unit)}</text>
        {points.length > 0
          ? (
            <>
              <text x={PAD_L} y={H - 2}>{hhmm(points[0].at)}</text>
              <text x={W} y={H - 2} text-anchor="end">{hhmm(points[points.length - 1].at)}</text>
            </>
          )
          : null}
        {kind === "bars"
          ? points.map((p, i) =>
            p.value
              ? (
                <rect
                  class={`s${tone}`}
                  x={x(i).toFixed(1)}
                  y={y(p.value).toFixed(1)}
                  width={bw.toFixed(1)}
                  height={(y(0) - y(p.value)).toFixed(1)}
                />
              )
              : null
          )
          : segments.map((s) =>
            s.includes(" ")
              ? <polyline class={`s${tone} line`} points={s} />
              : <circle class={`s${tone}`} cx={s.split(",")[0]} cy={s.split(",")[1]} r="1.5" />
          )}
      </svg>
    </figure>
  );
}

/** A small line of `points` without axes, for tables. */
export function Sparkline({ points, title }: { points: Point[]; title: string }) {
  const values = points.map((p) => p.value ?? 0);
  const top = niceMax(Math.max(0, ...values));
  const n = Math.max(points.length - 1, 1);
  const line = values.map((v, i) =>
    `${((120 * i) / n).toFixed(1)},${(26 - (24 * v) / top).toFixed(1)}`
  )
    .join(" ");
  return (
    <svg class="spark chart" viewBox="0 0 120 28" role="img" aria-label={title}>
      <title>{title}</title>
      <polyline class="s3 line" points={line} />
    </svg>
  );
}
