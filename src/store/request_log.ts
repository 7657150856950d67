/**
 * The request log and its rollup: `request_log` holds one row per MCP
 * request, `request_stats` what `GET /gateways/{id}/stats` reads (calls,
 * failures, last call and a duration histogram per gateway, tool and minute
 * or hour). Both are written by {@link RequestLog.insert}, a batch at a
 * time in one transaction with one prepared statement each, so the rollup
 * always agrees with the log.
 *
 * Statistics come from the rollup, never from the log's rows: a gateway's
 * figures since any time are, per tool, at most 60 minute rows (up to the
 * first whole hour), 24 hour rows (up to the first whole day, UTC) and one
 * row per day after, however many requests there were. Percentiles are estimated from the histogram:
 * bucket `i` holds durations up to 0.25 ms * 2^(i/2) (a bucket is 41% wider
 * than the one before it), and an estimate interpolates within its bucket.
 *
 * @module
 */
import type {
  CallerIdentity,
  LimitKind,
  RequestRecord,
  RequestStatus,
  TransportName,
} from "../telemetry/requests.ts";
import type { Db } from "./db.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";

/** Buckets of the duration histogram. */
export const HISTOGRAM_BUCKETS = 40;
/** The upper bound of the first bucket, in ms; each next one's is √2 times larger. */
const FIRST_BOUND_MS = 0.25;
/** Rollup spans, in ms: minutes and hours for where a range starts, days for the rest. */
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SPANS = [MINUTE, HOUR, DAY];
/**
 * How long minute rows are kept, in ms: ranges starting earlier start on
 * the hour. Minutes of a busy month would outnumber the hours 60 to 1.
 */
export const MINUTES_KEPT_MS = 2 * DAY;

/** The upper bound of bucket `i`, in ms (Infinity for the last). */
function boundOf(i: number): number {
  return i >= HISTOGRAM_BUCKETS - 1 ? Infinity : FIRST_BOUND_MS * 2 ** (i / 2);
}

/** The bucket a duration of `ms` falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.ceil(2 * Math.log2(ms / FIRST_BOUND_MS)));
}

/** The `q` quantile (0 to 1) of the durations `histogram` counts, in ms; null when empty. */
export function quantileOf(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i];
    if (n === 0 || seen + n < rank) {
      seen += n;
      continue;
    }
    const low = i === 0 ? 0 : boundOf(i - 1);
    // The last bucket has no upper bound: its lower one is all that can be said.
    if (i === HISTOGRAM_BUCKETS - 1) return low;
    const estimate = low + (boundOf(i) - low) * ((rank - seen) / n);
    return Math.round(estimate * 100) / 100;
  }
  return boundOf(HISTOGRAM_BUCKETS - 2);
}

/** A logged request as read back: its record with the row's id. */
export interface LoggedRequest extends RequestRecord {
  /** The row's id (a decimal string), unique and increasing in the order rows were written. */
  id: string;
}

/** Which rows to list; every filter given must hold. */
export interface LogFilter {
  gatewayId?: string;
  /** The tool or prompt name, or the resource URI. */
  name?: string;
  /** The credential id, or the gateway key's name. */
  caller?: string;
  status?: RequestStatus;
  /** Rows at or after this time, ms since the epoch. */
  since?: number;
  /** Rows before this time. */
  until?: number;
}

/** Figures of a set of requests. */
export interface UsageFigures {
  calls: number;
  /** Requests that did not end `ok`. */
  errors: number;
  /** Estimated from the histogram, in ms; null without calls. */
  p50Ms: number | null;
  p95Ms: number | null;
  /** When the last one arrived, ms since the epoch; null without calls. */
  lastAt: number | null;
}

/** A gateway's figures: all of its requests, and each tool's calls. */
export interface GatewayUsage {
  /** Where the figures start: `since` rounded down to the minute (the hour, past two days). */
  since: number;
  total: UsageFigures;
  /** By tool name; only tools called in the range. */
  tools: (UsageFigures & { name: string })[];
}

/** One step of a gateway's figures over time: a tool's (`name`), or all requests' (`name` `""`). */
export interface UsagePoint extends UsageFigures {
  /** Where the step starts, ms since the epoch. */
  start: number;
  name: string;
}

const COLUMNS = [
  "at",
  "org_id",
  "gateway_id",
  "transport",
  "protocol_version",
  "method",
  "name",
  "caller_id",
  "caller_method",
  "caller_key_name",
  "caller_client_id",
  "caller_subject",
  "caller_address",
  "session_id",
  "status",
  "error_code",
  "rate_limit",
  "duration_ms",
  "bytes_in",
  "bytes_out",
  "upstream_status",
  "upstream_ms",
  "upstream_target",
  "payload",
];
/** Rows per INSERT statement: one call into SQLite for many rows costs less than one each. */
const ROWS_PER_INSERT = 32;
/** An INSERT of `n` rows. */
const insertRows = (n: number) =>
  `INSERT INTO request_log (${COLUMNS.join(", ")}) VALUES ${
    Array.from({ length: n }, () => `(${COLUMNS.map(() => "?").join(", ")})`).join(", ")
  }`;

const H = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}`);
const UPSERT_STATS =
  `INSERT INTO request_stats (gateway_id, span, start, name, calls, errors, last_at, ${
    H.join(", ")
  }) VALUES (?, ?, ?, ?, ?, ?, ?, ${H.map(() => "?").join(", ")})
  ON CONFLICT (gateway_id, span, start, name) DO UPDATE SET
    calls = calls + excluded.calls, errors = errors + excluded.errors,
    last_at = max(last_at, excluded.last_at), ${
    H.map((h) => `${h} = ${h} + excluded.${h}`).join(", ")
  }`;
const SUM_STATS = `SELECT name, SUM(calls) AS calls, SUM(errors) AS errors,
  MAX(last_at) AS last_at, ${H.map((h) => `SUM(${h}) AS ${h}`).join(", ")}
  FROM (SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${DAY} AND start >= ?
    UNION ALL
    SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${HOUR} AND start >= ?
      AND start < ?
    UNION ALL
    SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${MINUTE} AND start >= ?
      AND start < ?)
  GROUP BY name`;

/** One rollup row being built from a batch. */
interface Rollup {
  gatewayId: string;
  span: number;
  start: number;
  name: string;
  calls: number;
  errors: number;
  lastAt: number;
  histogram: number[];
}

type Row = Record<string, unknown>;
type Value = string | number | null;

function toLogged(r: Row): LoggedRequest {
  const caller: CallerIdentity = { id: r.caller_id as string, method: r.caller_method as string };
  if (r.caller_key_name !== null) caller.keyName = r.caller_key_name as string;
  if (r.caller_client_id !== null) caller.clientId = r.caller_client_id as string;
  if (r.caller_subject !== null) caller.subject = r.caller_subject as string;
  if (r.caller_address !== null) caller.address = r.caller_address as string;
  const logged: LoggedRequest = {
    id: String(r.id),
    at: r.at as number,
    orgId: r.org_id as string,
    gatewayId: r.gateway_id as string,
    transport: r.transport as TransportName,
    protocolVersion: r.protocol_version as string | null,
    method: r.method as string,
    name: r.name as string | null,
    caller,
    sessionId: r.session_id as string | null,
    status: r.status as RequestStatus,
    errorCode: r.error_code as number | null,
    limit: r.rate_limit as LimitKind | null,
    durationMs: r.duration_ms as number,
    bytesIn: r.bytes_in as number,
    bytesOut: r.bytes_out as number,
    upstream: r.upstream_ms === null ? null : {
      status: r.upstream_status as number | null,
      durationMs: r.upstream_ms as number,
      ...(r.upstream_target === null ? {} : { target: r.upstream_target as string }),
    },
  };
  if (typeof r.payload === "string") logged.payload = JSON.parse(r.payload);
  return logged;
}

function rowOf(r: RequestRecord): Value[] {
  const c = r.caller;
  return [
    r.at,
    r.orgId,
    r.gatewayId,
    r.transport,
    r.protocolVersion,
    r.method,
    r.name,
    c.id,
    c.method,
    c.keyName ?? null,
    c.clientId ?? null,
    c.subject ?? null,
    c.address ?? null,
    r.sessionId,
    r.status,
    r.errorCode,
    r.limit,
    r.durationMs,
    r.bytesIn,
    r.bytesOut,
    r.upstream?.status ?? null,
    r.upstream?.durationMs ?? null,
    r.upstream?.target ?? null,
    r.payload === undefined ? null : JSON.stringify(r.payload),
  ];
}

/** The rollup rows of `records`: one per gateway, tool, span and start. */
function rollupsOf(records: readonly RequestRecord[]): Iterable<Rollup> {
  const out = new Map<string, Rollup>();
  for (const r of records) {
    const name = r.method === "tools/call" && r.name !== null ? r.name : "";
    const bucket = bucketOf(r.durationMs);
    const failed = r.status === "ok" ? 0 : 1;
    for (const span of SPANS) {
      const start = r.at - (r.at % span);
      const key = `${r.gatewayId}\n${span}\n${start}\n${name}`;
      let roll = out.get(key);
      if (!roll) {
        roll = {
          gatewayId: r.gatewayId,
          span,
          start,
          name,
          calls: 0,
          errors: 0,
          lastAt: r.at,
          histogram: new Array(HISTOGRAM_BUCKETS).fill(0),
        };
        out.set(key, roll);
      }
      roll.calls++;
      roll.errors += failed;
      if (r.at > roll.lastAt) roll.lastAt = r.at;
      roll.histogram[bucket]++;
    }
  }
  return out.values();
}

function figuresOf(calls: number, errors: number, lastAt: number | null, h: number[]) {
  return {
    calls,
    errors,
    p50Ms: quantileOf(h, 0.5),
    p95Ms: quantileOf(h, 0.95),
    lastAt: calls > 0 ? lastAt : null,
  };
}

/** Writes and reads `request_log` and `request_stats`. */
export class RequestLog {
  constructor(private readonly db: Db) {}

  /**
   * Writes `records` and their rollup in one transaction. A database file
   * is written on the request log's own thread, where waiting for another
   * connection's write (an import's) holds up no request.
   */
  insert(records: readonly RequestRecord[]): void {
    if (records.length === 0) return;
    this.db.tx(() => {
      const full = this.db.prepare(insertRows(ROWS_PER_INSERT));
      let i = 0;
      for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
        full.run(...records.slice(i, i + ROWS_PER_INSERT).flatMap(rowOf));
      }
      if (i < records.length) {
        this.db.prepare(insertRows(records.length - i)).run(...records.slice(i).flatMap(rowOf));
      }
      const stats = this.db.prepare(UPSERT_STATS);
      for (const s of rollupsOf(records)) {
        stats.run(
          s.gatewayId,
          s.span,
          s.start,
          s.name,
          s.calls,
          s.errors,
          s.lastAt,
          ...s.histogram,
        );
      }
    });
  }

  /**
   * A page of the rows of `orgId` that pass `filter`, newest first (by
   * arrival, then by id). The key is `[at, id]`, both decimal strings.
   */
  page(orgId: string, filter: LogFilter, req: PageRequest): Page<LoggedRequest> {
    checkRequest(req, 2);
    const where = ["org_id = ?"];
    const args: Value[] = [orgId];
    const add = (sql: string, ...values: Value[]) => {
      where.push(sql);
      args.push(...values);
    };
    if (filter.gatewayId !== undefined) add("gateway_id = ?", filter.gatewayId);
    if (filter.name !== undefined) add("name = ?", filter.name);
    if (filter.caller !== undefined) {
      add("(caller_id = ? OR caller_key_name = ?)", filter.caller, filter.caller);
    }
    if (filter.status !== undefined) add("status = ?", filter.status);
    if (filter.since !== undefined) add("at >= ?", filter.since);
    if (filter.until !== undefined) add("at < ?", filter.until);
    if (req.after) {
      const [at, id] = req.after.map(Number);
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(id)) {
        throw new RangeError("a request log page key is two numbers");
      }
      add("(at, id) < (?, ?)", at, id);
    }
    const rows = this.db.prepare(
      `SELECT * FROM request_log WHERE ${where.join(" AND ")} ORDER BY at DESC, id DESC LIMIT ?`,
    ).all(...args, req.limit + 1);
    return pageOf(rows, req.limit, (r) => [String(r.at), String(r.id)], toLogged);
  }

  /**
   * The figures of gateway `gatewayId` from `since` (ms since the epoch,
   * rounded down to the minute, or to the hour when older than
   * {@link MINUTES_KEPT_MS}) until `now`, from the rollup.
   */
  usage(gatewayId: string, since: number, now = Date.now()): GatewayUsage {
    const from = since - (since % (since < now - MINUTES_KEPT_MS ? HOUR : MINUTE));
    // Minutes up to the first whole hour, hours up to the first whole day (UTC), days after.
    const firstHour = Math.ceil(from / HOUR) * HOUR;
    const firstDay = Math.max(firstHour, Math.ceil(from / DAY) * DAY);
    const rows = this.db.prepare(SUM_STATS).all(
      gatewayId,
      firstDay,
      gatewayId,
      firstHour,
      firstDay,
      gatewayId,
      from,
      firstHour,
    );
    const total = new Array(HISTOGRAM_BUCKETS).fill(0);
    let calls = 0, errors = 0, lastAt: number | null = null;
    const tools: GatewayUsage["tools"] = [];
    for (const r of rows) {
      const h = H.map((k) => Number(r[k]));
      h.forEach((n, i) => (total[i] += n));
      const c = Number(r.calls), e = Number(r.errors), last = Number(r.last_at);
      calls += c;
      errors += e;
      if (lastAt === null || last > lastAt) lastAt = last;
      if (r.name !== "") tools.push({ name: r.name as string, ...figuresOf(c, e, last, h) });
    }
    tools.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return { since: from, total: figuresOf(calls, errors, lastAt, total), tools };
  }

  /**
   * The figures of gateway `gatewayId` step by step: from the rollup rows of
   * `span` (a minute or an hour, in ms) that start in `[from, until)`, all of
   * its requests per step (`total`) and each tool's calls per step (`tools`),
   * by start then name. Steps without requests have no point.
   */
  series(
    gatewayId: string,
    span: number,
    from: number,
    until: number,
  ): { total: UsagePoint[]; tools: UsagePoint[] } {
    const rows = this.db.prepare(
      `SELECT start, name, calls, errors, last_at, ${H.join(", ")} FROM request_stats
       WHERE gateway_id = ? AND span = ? AND start >= ? AND start < ? ORDER BY start, name`,
    ).all(gatewayId, span, from, until);
    const sums = new Map<number, { calls: number; errors: number; last: number; h: number[] }>();
    const tools: UsagePoint[] = [];
    for (const r of rows) {
      const start = Number(r.start), calls = Number(r.calls), errors = Number(r.errors);
      const last = Number(r.last_at), h = H.map((k) => Number(r[k]));
      const sum = sums.get(start) ?? { calls: 0, errors: 0, last, h: h.map(() => 0) };
      sum.calls += calls;
      sum.errors += errors;
      sum.last = Math.max(sum.last, last);
      h.forEach((n, i) => (sum.h[i] += n));
      sums.set(start, sum);
      if (r.name !== "") {
        tools.push({ start, name: r.name as string, ...figuresOf(calls, errors, last, h) });
      }
    }
    const total = [...sums].map(([start, t]) => ({
      start,
      name: "",
      ...figuresOf(t.calls, t.errors, t.last, t.h),
    }));
    return { total, tools };
  }

  /** How many rows the log holds (a full count: for start-up, not for every request). */
  count(): number {
    return Number(this.db.prepare("SELECT COUNT(*) AS n FROM request_log").get()?.n ?? 0);
  }

  /**
   * Deletes up to `chunk` of the oldest rows (by id) that arrived before
   * `before`, rollup rows over a day older than it and minute rows older
   * than {@link MINUTES_KEPT_MS}; answers how many log rows went. Rows are written in the order their requests ended, so a
   * long request's row may outlive its cutoff by its own duration.
   */
  deleteOlder(before: number, chunk: number, now = Date.now()): number {
    return this.db.tx(() => {
      const stats = this.db.prepare(
        `DELETE FROM request_stats WHERE (gateway_id, span, start, name) IN
         (SELECT gateway_id, span, start, name FROM request_stats
          WHERE span = ? AND start < ? LIMIT ?)`,
      );
      for (const span of SPANS) {
        stats.run(span, span === MINUTE ? now - MINUTES_KEPT_MS : before - DAY, chunk);
      }
      return Number(
        this.db.prepare(
          `DELETE FROM request_log WHERE id IN
           (SELECT id FROM request_log ORDER BY id LIMIT ?) AND at < ?`,
        ).run(chunk, before).changes,
      );
    });
  }

  /** Deletes the `n` oldest rows (by id); answers how many went. */
  deleteOldest(n: number): number {
    return Number(
      this.db.prepare(
        "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log ORDER BY id LIMIT ?)",
      ).run(n).changes,
    );
  }
}
