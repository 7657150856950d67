/**
 * The request log and its rollup: `request_log_segments` holds the
 * records (a segment per org and batch, see `log_segments.ts`) with the
 * terms they are found by in `request_log_terms`, `request_stats` what
 * `GET /gateways/{id}/stats` reads (calls, failures, last call and a
 * duration histogram per gateway, tool and minute or hour). Both are written
 * by {@link RequestLog.write}, a batch at a time in one transaction, so the
 * rollup always agrees with the log.
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
import type { RequestRecord, RequestStatus } from "../telemetry/requests.ts";
import {
  batchOf,
  boundOf,
  DAY,
  decodeSegment,
  encodeRecords,
  HISTOGRAM_BUCKETS,
  HOUR,
  type LogBatch,
  type LoggedRequest,
  MINUTE,
  type PackedRecords,
  packOf,
  SPANS,
} from "./log_segments.ts";
import { checkRequest, type Page, type PageRequest } from "./paging.ts";
import type { EngineKind, Row, SqlEngine, SqlValue } from "./sql.ts";

/**
 * How long minute rows are kept, in ms: ranges starting earlier start on
 * the hour. Minutes of a busy month would outnumber the hours 60 to 1.
 */
export const MINUTES_KEPT_MS = 2 * DAY;

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

const H = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}`);
/**
 * Adds a rollup row to the one stored, if any. Two numbers' larger is
 * `max()` in SQLite and `GREATEST()` in PostgreSQL.
 */
const upsertStats = (kind: EngineKind) =>
  `INSERT INTO request_stats (gateway_id, span, start, name, calls, errors, last_at, ${
    H.join(", ")
  }) VALUES (?, ?, ?, ?, ?, ?, ?, ${H.map(() => "?").join(", ")})
  ON CONFLICT (gateway_id, span, start, name) DO UPDATE SET
    calls = request_stats.calls + excluded.calls,
    errors = request_stats.errors + excluded.errors,
    last_at = ${kind === "sqlite" ? "max" : "GREATEST"}(request_stats.last_at, excluded.last_at), ${
    H.map((h) => `${h} = request_stats.${h} + excluded.${h}`).join(", ")
  }`;
const SUM_STATS = `SELECT name, SUM(calls) AS calls, SUM(errors) AS errors,
  MAX(last_at) AS last_at, ${H.map((h) => `SUM(${h}) AS ${h}`).join(", ")}
  FROM (SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${DAY} AND start >= ?
    UNION ALL
    SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${HOUR} AND start >= ?
      AND start < ?
    UNION ALL
    SELECT * FROM request_stats WHERE gateway_id = ? AND span = ${MINUTE} AND start >= ?
      AND start < ?) AS spans
  GROUP BY name`;

/** Segments a page reads per query, newest first, until the page is full. */
const SEGMENTS_PER_READ = 8;

/** The terms a filter looks a segment up by, for the terms of `filter` given. */
function termsOf(filter: LogFilter): string[][] {
  const terms: string[][] = [];
  if (filter.gatewayId !== undefined) terms.push([`g:${filter.gatewayId}`]);
  if (filter.name !== undefined) terms.push([`n:${filter.name}`]);
  // A caller is named by its credential id or by its key's name.
  if (filter.caller !== undefined) terms.push([`c:${filter.caller}`, `k:${filter.caller}`]);
  if (filter.status !== undefined) terms.push([`s:${filter.status}`]);
  return terms;
}

/** True when `r` passes every filter given. */
function passes(r: RequestRecord, filter: LogFilter): boolean {
  return (filter.gatewayId === undefined || r.gatewayId === filter.gatewayId) &&
    (filter.name === undefined || r.name === filter.name) &&
    (filter.caller === undefined || r.caller.id === filter.caller ||
      r.caller.keyName === filter.caller) &&
    (filter.status === undefined || r.status === filter.status) &&
    (filter.since === undefined || r.at >= filter.since) &&
    (filter.until === undefined || r.at < filter.until);
}

/** Newest first: by arrival, then by id. */
function newestFirst(a: LoggedRequest, b: LoggedRequest): number {
  return b.at - a.at || Number(b.id) - Number(a.id);
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

/** Writes and reads `request_log_segments` (with their terms) and `request_stats`. */
export class RequestLog {
  constructor(private readonly db: SqlEngine) {}

  /** Writes `records` and their rollup in one transaction (see {@link write}). */
  async insert(records: readonly RequestRecord[]): Promise<void> {
    if (records.length > 0) await this.write(batchOf(packOf(records)));
  }

  /** Writes packed records and their rollup in one transaction (see {@link write}). */
  async writePacked(packed: PackedRecords): Promise<void> {
    if (packed.count > 0) await this.write(batchOf(packed));
  }

  /**
   * Writes a batch from {@link batchOf} in one transaction: a row per
   * segment, a row per term of each, and the rollup. A database file is
   * written on the request log's own thread, where waiting for another
   * connection's write (an import's) holds up no request.
   */
  async write(batch: LogBatch): Promise<void> {
    if (batch.segments.length === 0) return;
    await this.db.tx(async () => {
      for (const s of batch.segments) {
        const row = await this.db.get(
          `INSERT INTO request_log_segments (org_id, first_at, last_at, rows, records)
           VALUES (?, ?, ?, ?, ?) RETURNING id`,
          s.orgId,
          s.firstAt,
          s.lastAt,
          s.rows,
          s.records,
        );
        const id = row!.id as number;
        for (const t of s.terms) {
          await this.db.run(
            "INSERT INTO request_log_terms (term, segment_id) VALUES (?, ?)",
            t,
            id,
          );
        }
      }
      const upsert = upsertStats(this.db.kind);
      for (const s of batch.rollups) {
        await this.db.run(
          upsert,
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
   * A page of the records of `orgId` that pass `filter`, newest first (by
   * arrival, then by id). The key is `[at, id]`, both decimal strings.
   *
   * Segments are read newest first (by their latest arrival) and parsed;
   * once the page is full, a segment whose latest arrival is older than the
   * page's oldest cannot add to it, and reading stops.
   */
  async page(orgId: string, filter: LogFilter, req: PageRequest): Promise<Page<LoggedRequest>> {
    checkRequest(req, 2);
    let before: [number, number] | undefined;
    if (req.after) {
      const [at, id] = req.after.map(Number);
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(id)) {
        throw new RangeError("a request log page key is two numbers");
      }
      before = [at, id];
    }
    const where = ["org_id = ?"];
    const args: SqlValue[] = [orgId];
    for (const alternatives of termsOf(filter)) {
      where.push(
        `id IN (SELECT segment_id FROM request_log_terms WHERE term IN (${
          alternatives.map(() => "?").join(", ")
        }))`,
      );
      args.push(...alternatives);
    }
    if (filter.since !== undefined) {
      where.push("last_at >= ?");
      args.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push("first_at < ?");
      args.push(filter.until);
    }
    if (before) {
      where.push("first_at <= ?");
      args.push(before[0]);
    }
    const read = `SELECT id, last_at, skipped, records FROM request_log_segments
       WHERE ${where.join(" AND ")} AND (last_at, id) < (?, ?)
       ORDER BY last_at DESC, id DESC LIMIT ${SEGMENTS_PER_READ}`;
    const wanted = req.limit + 1;
    let found: LoggedRequest[] = [];
    let from: [number, number] = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    reading: for (;;) {
      const segments = await this.db.all(read, ...args, ...from);
      for (const s of segments) {
        const lastAt = s.last_at as number;
        if (found.length >= wanted && lastAt < found[wanted - 1].at) break reading;
        const records = decodeSegment(
          s.id as number,
          orgId,
          s.records as string,
          s.skipped as number,
        );
        for (const r of records) {
          if (!passes(r, filter)) continue;
          if (before && (r.at > before[0] || (r.at === before[0] && Number(r.id) >= before[1]))) {
            continue;
          }
          found.push(r);
        }
        found.sort(newestFirst);
        if (found.length > wanted) found = found.slice(0, wanted);
        from = [lastAt, s.id as number];
      }
      if (segments.length < SEGMENTS_PER_READ) break;
    }
    const more = found.length > req.limit;
    const items = more ? found.slice(0, req.limit) : found;
    const last = items[items.length - 1];
    return more ? { items, next: [String(last.at), last.id] } : { items };
  }

  /**
   * The figures of gateway `gatewayId` from `since` (ms since the epoch,
   * rounded down to the minute, or to the hour when older than
   * {@link MINUTES_KEPT_MS}) until `now`, from the rollup.
   */
  async usage(gatewayId: string, since: number, now = Date.now()): Promise<GatewayUsage> {
    const from = since - (since % (since < now - MINUTES_KEPT_MS ? HOUR : MINUTE));
    // Minutes up to the first whole hour, hours up to the first whole day (UTC), days after.
    const firstHour = Math.ceil(from / HOUR) * HOUR;
    const firstDay = Math.max(firstHour, Math.ceil(from / DAY) * DAY);
    const rows = await this.db.all(
      SUM_STATS,
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
  async series(
    gatewayId: string,
    span: number,
    from: number,
    until: number,
  ): Promise<{ total: UsagePoint[]; tools: UsagePoint[] }> {
    const rows = await this.db.all(
      `SELECT start, name, calls, errors, last_at, ${H.join(", ")} FROM request_stats
       WHERE gateway_id = ? AND span = ? AND start >= ? AND start < ? ORDER BY start, name`,
      gatewayId,
      span,
      from,
      until,
    );
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

  /** How many records the log holds (a sum over segments: for start-up, not per request). */
  async count(): Promise<number> {
    const row = await this.db.get("SELECT COALESCE(SUM(rows), 0) AS n FROM request_log_segments");
    return Number(row?.n ?? 0);
  }

  /**
   * Deletes the oldest segments whose every record arrived before `before`,
   * up to `chunk` records' worth (one segment at least), rollup rows over a
   * day older than it and minute rows older than {@link MINUTES_KEPT_MS};
   * answers how many records went (0 when none is that old). A segment holds
   * up to a second of records, so the newest of them outlives its cutoff by
   * at most that.
   */
  deleteOlder(before: number, chunk: number, now = Date.now()): Promise<number> {
    return this.db.tx(async () => {
      for (const span of SPANS) {
        await this.db.run(
          `DELETE FROM request_stats WHERE (gateway_id, span, start, name) IN
           (SELECT gateway_id, span, start, name FROM request_stats
            WHERE span = ? AND start < ? LIMIT ?)`,
          span,
          span === MINUTE ? now - MINUTES_KEPT_MS : before - DAY,
          chunk,
        );
      }
      const old = await this.db.all(
        `SELECT id, rows FROM request_log_segments WHERE last_at < ? ORDER BY id LIMIT ?`,
        before,
        SEGMENTS_PER_READ * 8,
      );
      return await this.#deleteSegments(old, chunk);
    });
  }

  /**
   * Deletes the `n` oldest records (by id): whole segments while they fit,
   * and the oldest records of the next one; answers how many went.
   */
  deleteOldest(n: number): Promise<number> {
    return this.db.tx(async () => {
      let gone = 0;
      while (gone < n) {
        const oldest = await this.db.all(
          "SELECT id, org_id, rows, skipped, records FROM request_log_segments ORDER BY id LIMIT ?",
          SEGMENTS_PER_READ,
        );
        if (oldest.length === 0) break;
        for (const s of oldest) {
          const rows = s.rows as number;
          if (gone + rows <= n) {
            gone += await this.#deleteSegments([s], rows);
            continue;
          }
          gone += await this.#trim(s, n - gone);
          break;
        }
      }
      return gone;
    });
  }

  /** Deletes `segments` in order while their records fit in `chunk` (the first always). */
  async #deleteSegments(segments: Row[], chunk: number): Promise<number> {
    let gone = 0;
    for (const s of segments) {
      const rows = s.rows as number;
      if (gone > 0 && gone + rows > chunk) break;
      await this.db.run("DELETE FROM request_log_segments WHERE id = ?", s.id);
      gone += rows;
    }
    return gone;
  }

  /** Drops the first `n` records of `segment`; the rest keep their ids. */
  async #trim(segment: Row, n: number): Promise<number> {
    const id = segment.id as number;
    const skipped = segment.skipped as number;
    const records = decodeSegment(
      id,
      segment.org_id as string,
      segment.records as string,
      skipped,
    );
    const kept = records.slice(n).map(({ id: _, ...r }) => r);
    await this.db.run(
      `UPDATE request_log_segments SET rows = ?, first_at = ?, records = ?, skipped = ?
       WHERE id = ?`,
      kept.length,
      Math.min(...kept.map((r) => r.at)),
      encodeRecords(kept),
      skipped + n,
      id,
    );
    return n;
  }
}
