/**
 * Prometheus metrics of MCP traffic: a {@link RecordSink} that counts every
 * request record, and the text exposition format (version 0.0.4) that
 * `GET /metrics` answers.
 *
 * Per record the sink does a few map lookups and increments on series made
 * the first time a label set is seen: label text is escaped once, then, not
 * per request. Every label is bounded, whatever callers send:
 *
 * - `gateway`: the gateway's id (records exist only for gateways that
 *   exist; ids never change, names may);
 * - `method`: one of {@link MCP_METHODS}, anything else is `other`;
 * - `status` and `outcome`: one of {@link REQUEST_STATUSES};
 * - `tool`: at most {@link MAX_TOOL_LABELS} names per gateway, then
 *   `other`; a call refused as invalid (an unknown tool) never takes a name;
 * - `upstream`: at most {@link MAX_UPSTREAM_LABELS} targets, then `other`;
 * - `kind`: caller, gateway or tool; `transport`: http, sse or ws.
 *
 * @module
 */
import {
  type LimitKind,
  type RecordSink,
  REQUEST_STATUSES,
  type RequestRecord,
  type RequestStatus,
  type TransportName,
  type UpstreamReport,
} from "./requests.ts";

/** The `Content-Type` of the Prometheus text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The JSON-RPC request methods of MCP that get a `method` label of their own. */
export const MCP_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "logging/setLevel",
  "server/discover",
  "subscriptions/listen",
]);

/** Tool names that get a label of their own per gateway; later ones count as `other`. */
export const MAX_TOOL_LABELS = 100;
/** Upstream targets that get a label of their own; later ones count as `other`. */
export const MAX_UPSTREAM_LABELS = 100;

/** Histogram bucket bounds, in seconds: a gateway answers in well under 1 ms, upstreams in up to minutes. */
export const DURATION_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
] as const;
// Compared in ms, as records carry them, so an observation divides nothing.
const BOUNDS_MS = DURATION_BUCKETS.map((s) => s * 1000);
const LE = [...DURATION_BUCKETS.map(String), "+Inf"];

/** JSON-RPC `Invalid params`: a call refused before any tool ran (such as an unknown name). */
const INVALID_PARAMS = -32602;
const LIMIT_KINDS: readonly LimitKind[] = ["caller", "gateway", "tool"];
const TRANSPORTS: readonly TransportName[] = ["http", "sse", "ws"];
const STATUS_INDEX = Object.fromEntries(REQUEST_STATUSES.map((s, i) => [s, i])) as Record<
  RequestStatus,
  number
>;
const LIMIT_INDEX = Object.fromEntries(LIMIT_KINDS.map((k, i) => [k, i])) as Record<
  LimitKind,
  number
>;

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** Escapes HELP text for the text format: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** A sample value as the text format spells it. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Observations of durations in {@link DURATION_BUCKETS}; each bucket counts only its own. */
class Histogram {
  readonly counts = new Float64Array(BOUNDS_MS.length + 1);
  sumMs = 0;
  count = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]) i++;
    this.counts[i]++;
    this.sumMs += ms;
    this.count++;
  }

  /** Appends the `_bucket` (cumulative), `_sum` and `_count` lines under `labels`. */
  write(out: string[], name: string, labels: string): void {
    let cumulative = 0;
    for (let i = 0; i < LE.length; i++) {
      cumulative += this.counts[i];
      out.push(`${name}_bucket{${labels},le="${LE[i]}"} ${cumulative}`);
    }
    out.push(`${name}_sum{${labels}} ${formatValue(this.sumMs / 1000)}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
  }
}

/** One gateway's requests of one method: counts by status and their durations. */
interface MethodSeries {
  /** `gateway="…",method="…"`, escaped once. */
  labels: string;
  byStatus: Float64Array;
  duration: Histogram;
}

/** One gateway's calls of one tool, by outcome. */
interface ToolSeries {
  /** `gateway="…",tool="…"`, escaped once. */
  labels: string;
  byOutcome: Float64Array;
}

/** Everything counted of one gateway. */
interface GatewaySeries {
  orgId: string;
  label: string;
  /** By method as recorded: only known methods and `other` are ever keys. */
  methods: Map<string, MethodSeries>;
  /** By tool name as called: at most {@link MAX_TOOL_LABELS} names and `other`. */
  tools: Map<string, ToolSeries>;
  /** Names of {@link GatewaySeries.tools} other than `other`. */
  toolNames: number;
}

/** An upstream report with the target another part may name (a server's name, an HTTP host). */
interface NamedUpstream extends UpstreamReport {
  target?: string;
}

/** Whose metrics a scrape shows. */
export type MetricsView =
  /** Everything: an instance admin or the metrics token. */
  | { all: true }
  /** One org's gateways only, and none of the instance-wide series. */
  | { all: false; orgId: string };

/** What {@link Metrics} reads at scrape time. */
export interface MetricsSources {
  /** Open MCP sessions by transport. */
  sessions(): Readonly<Record<TransportName, number>>;
  /** The instance's own lines (process, runtime, build), appended to a full view. */
  process?(): Promise<string[]>;
}

/** The MCP traffic counters and the text format of them. */
export class Metrics implements RecordSink {
  readonly #gateways = new Map<string, GatewaySeries>();
  readonly #upstreams = new Map<string, { labels: string; duration: Histogram }>();
  readonly #rateLimited = new Float64Array(LIMIT_KINDS.length);

  /** Counts records from now on; reads `sources` when scraped. */
  constructor(private readonly sources: MetricsSources) {}

  /** Counts one request (the hot path: lookups and increments only, once its series exist). */
  add(record: RequestRecord): void {
    const gateway = this.#gateways.get(record.gatewayId) ?? this.#newGateway(record);
    const status = STATUS_INDEX[record.status];
    const method = gateway.methods.get(record.method) ?? this.#method(gateway, record.method);
    method.byStatus[status]++;
    method.duration.observe(record.durationMs);
    if (record.method === "tools/call") {
      const tool = (record.name === null ? undefined : gateway.tools.get(record.name)) ??
        this.#tool(gateway, record);
      tool.byOutcome[status]++;
    }
    const upstream = record.upstream as NamedUpstream | null;
    if (upstream) {
      const target = upstream.target ?? "unknown";
      const series = this.#upstreams.get(target) ?? this.#upstream(target);
      series.duration.observe(upstream.durationMs);
    }
    if (record.limit) this.#rateLimited[LIMIT_INDEX[record.limit]]++;
  }

  #newGateway(record: RequestRecord): GatewaySeries {
    const series: GatewaySeries = {
      orgId: record.orgId,
      label: `gateway="${escapeLabel(record.gatewayId)}"`,
      methods: new Map(),
      tools: new Map(),
      toolNames: 0,
    };
    this.#gateways.set(record.gatewayId, series);
    return series;
  }

  /** The series of `method` (made now), or of `other` for a method MCP does not have. */
  #method(gateway: GatewaySeries, method: string): MethodSeries {
    const name = MCP_METHODS.has(method) ? method : "other";
    let series = gateway.methods.get(name);
    if (!series) {
      series = {
        labels: `${gateway.label},method="${escapeLabel(name)}"`,
        byStatus: new Float64Array(REQUEST_STATUSES.length),
        duration: new Histogram(),
      };
      gateway.methods.set(name, series);
    }
    return series;
  }

  /**
   * The series of the tool `record` called, made now while the gateway has
   * room for another name; otherwise, and for calls refused as invalid
   * (unknown tools among them, which callers may make up endlessly), `other`.
   */
  #tool(gateway: GatewaySeries, record: RequestRecord): ToolSeries {
    const named = record.name !== null && record.errorCode !== INVALID_PARAMS &&
      gateway.toolNames < MAX_TOOL_LABELS;
    const name = named ? record.name! : "other";
    let series = gateway.tools.get(name);
    if (!series) {
      series = {
        labels: `${gateway.label},tool="${escapeLabel(name)}"`,
        byOutcome: new Float64Array(REQUEST_STATUSES.length),
      };
      gateway.tools.set(name, series);
      if (named) gateway.toolNames++;
    }
    return series;
  }

  #upstream(target: string): { labels: string; duration: Histogram } {
    const name = this.#upstreams.size < MAX_UPSTREAM_LABELS ? target : "other";
    let series = this.#upstreams.get(name);
    if (!series) {
      series = { labels: `upstream="${escapeLabel(name)}"`, duration: new Histogram() };
      this.#upstreams.set(name, series);
    }
    return series;
  }

  /** The text exposition of what `view` may see. */
  async render(view: MetricsView): Promise<string> {
    const out: string[] = [];
    const gateways = [...this.#gateways.values()].filter((g) => view.all || g.orgId === view.orgId);
    header(out, "gatehouse_mcp_requests_total", "counter", "MCP JSON-RPC requests answered.");
    for (const g of gateways) {
      for (const m of g.methods.values()) {
        for (let i = 0; i < REQUEST_STATUSES.length; i++) {
          if (m.byStatus[i] === 0) continue;
          out.push(
            `gatehouse_mcp_requests_total{${m.labels},status="${REQUEST_STATUSES[i]}"} ${
              m.byStatus[i]
            }`,
          );
        }
      }
    }
    header(
      out,
      "gatehouse_mcp_request_duration_seconds",
      "histogram",
      "Time from reading an MCP request to its answer.",
    );
    for (const g of gateways) {
      for (const m of g.methods.values()) {
        m.duration.write(out, "gatehouse_mcp_request_duration_seconds", m.labels);
      }
    }
    header(out, "gatehouse_tool_calls_total", "counter", "tools/call requests, by outcome.");
    for (const g of gateways) {
      for (const t of g.tools.values()) {
        for (let i = 0; i < REQUEST_STATUSES.length; i++) {
          if (t.byOutcome[i] === 0) continue;
          out.push(
            `gatehouse_tool_calls_total{${t.labels},outcome="${REQUEST_STATUSES[i]}"} ${
              t.byOutcome[i]
            }`,
          );
        }
      }
    }
    if (view.all) await this.#instance(out);
    out.push("");
    return out.join("\n");
  }

  /** The series no single org owns: upstreams, sessions, limits, the process. */
  async #instance(out: string[]): Promise<void> {
    header(
      out,
      "gatehouse_upstream_request_duration_seconds",
      "histogram",
      "Time of the last upstream call (HTTP tool request, upstream MCP server) made for an MCP request.",
    );
    for (const u of this.#upstreams.values()) {
      u.duration.write(out, "gatehouse_upstream_request_duration_seconds", u.labels);
    }
    header(out, "gatehouse_sessions_active", "gauge", "Open MCP sessions, by transport.");
    const sessions = this.sources.sessions();
    for (const t of TRANSPORTS) {
      out.push(`gatehouse_sessions_active{transport="${t}"} ${sessions[t]}`);
    }
    header(
      out,
      "gatehouse_rate_limited_total",
      "counter",
      "MCP requests refused by a rate limit, by the limit's kind.",
    );
    for (let i = 0; i < LIMIT_KINDS.length; i++) {
      out.push(`gatehouse_rate_limited_total{kind="${LIMIT_KINDS[i]}"} ${this.#rateLimited[i]}`);
    }
    if (this.sources.process) out.push(...await this.sources.process());
  }
}

/** Appends the HELP and TYPE lines of metric `name`. */
export function header(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}
