/**
 * The request log's storage form. A batch of records becomes, per org, one
 * segment: the records as one compact JSON value (each record an array,
 * each string an index into the segment's own table of strings), with the
 * terms a filter finds the segment by; and the batch's rollup rows for the
 * statistics. Building a batch is pure work on the records, done where they
 * are (the main thread), so the thread that writes only hands text to SQLite:
 * about 1 µs a record in all, where a row per record with three indexes cost
 * the writing thread 14 µs.
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

/** Buckets of the duration histogram. */
export const HISTOGRAM_BUCKETS = 40;
/** The upper bound of the first bucket, in ms; each next one's is √2 times larger. */
const FIRST_BOUND_MS = 0.25;
/** Rollup spans, in ms: minutes and hours for where a range starts, days for the rest. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Every rollup span, shortest first. */
export const SPANS = [MINUTE, HOUR, DAY];

/** The upper bound of bucket `i`, in ms (Infinity for the last). */
export function boundOf(i: number): number {
  return i >= HISTOGRAM_BUCKETS - 1 ? Infinity : FIRST_BOUND_MS * 2 ** (i / 2);
}

/** The bucket a duration of `ms` falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.ceil(2 * Math.log2(ms / FIRST_BOUND_MS)));
}

/** A logged request as read back: its record with its id. */
export interface LoggedRequest extends RequestRecord {
  /** A decimal string, unique and increasing in the order records were written. */
  id: string;
}

/** One rollup row of a batch: a gateway's (or one of its tools') calls in one span. */
export interface Rollup {
  gatewayId: string;
  span: number;
  start: number;
  /** The tool for `tools/call` requests; "" for the gateway's requests of every method. */
  name: string;
  calls: number;
  errors: number;
  lastAt: number;
  histogram: number[];
}

/** One org's records from one batch, as written. */
export interface LogSegment {
  orgId: string;
  /** The earliest and latest arrival among the records, ms since the epoch. */
  firstAt: number;
  lastAt: number;
  rows: number;
  /** The records, encoded as JSON text (see {@link decodeSegment}). */
  records: string;
  /** `g:` gateway id, `n:` name, `c:` caller id, `k:` key name, `s:` status. */
  terms: string[];
}

/** A batch ready to write: its segments and its rollup rows. */
export interface LogBatch {
  segments: LogSegment[];
  rollups: Rollup[];
}

/**
 * Most records one segment holds: a page of the log parses whole segments,
 * so they stay small enough to parse in a millisecond or two.
 */
export const MAX_SEGMENT_ROWS = 2048;
/** A record's id is its segment's id times this, plus its place in the segment. */
export const ID_SPAN = 2 ** 16;

/**
 * The fields of an encoded record, in order. Strings (and null, which is
 * string 0) are indexes into the segment's table; `at` counts from the
 * segment's `base`; durations are kept to the microsecond.
 */
const enum F {
  At,
  Gateway,
  Transport,
  Protocol,
  Method,
  Name,
  CallerId,
  CallerMethod,
  KeyName,
  ClientId,
  Subject,
  Address,
  Session,
  Status,
  ErrorCode,
  Limit,
  Duration,
  BytesIn,
  BytesOut,
  /** `[status, durationMs, target]` or 0 (none). */
  Upstream,
  /** Present only when the record has a payload. */
  Payload,
}

type Encoded = (number | [number | null, number, number] | unknown)[];

/** The stored form of a segment's records. */
interface SegmentValue {
  /** Every string the records use; index 0 is null. */
  strings: (string | null)[];
  /** What `at` counts from. */
  base: number;
  rows: Encoded[];
}

/** A duration as stored: to the microsecond, which is all a log needs. */
const micros = (ms: number) => Math.round(ms * 1000) / 1000;

/** Builds one segment, a record at a time. */
class SegmentBuilder {
  readonly #index = new Map<string, number>();
  readonly #strings: (string | null)[] = [null];
  readonly #rows: Encoded[] = [];
  readonly #base: number;
  #firstAt = Infinity;
  #lastAt = -Infinity;
  /** The string indexes each term kind has seen. */
  readonly #terms = {
    g: new Set<number>(),
    n: new Set<number>(),
    c: new Set<number>(),
    k: new Set<number>(),
    s: new Set<number>(),
  };

  constructor(readonly orgId: string, base: number) {
    this.#base = base;
  }

  get size(): number {
    return this.#rows.length;
  }

  /** The last string each field had, and its index: fields mostly repeat the record before. */
  readonly #lastText: (string | null)[] = new Array(F.Payload).fill(null);
  readonly #lastIndex = new Int32Array(F.Payload);

  /** The index of `text`, the value of field `field`. */
  #s(field: F, text: string | null | undefined): number {
    if (text === null || text === undefined) return 0;
    if (this.#lastText[field] === text) return this.#lastIndex[field];
    let i = this.#index.get(text);
    if (i === undefined) {
      i = this.#strings.push(text) - 1;
      this.#index.set(text, i);
    }
    this.#lastText[field] = text;
    this.#lastIndex[field] = i;
    return i;
  }

  add(r: RequestRecord): void {
    if (r.at < this.#firstAt) this.#firstAt = r.at;
    if (r.at > this.#lastAt) this.#lastAt = r.at;
    const c = r.caller;
    const gateway = this.#s(F.Gateway, r.gatewayId);
    const name = this.#s(F.Name, r.name);
    const callerId = this.#s(F.CallerId, c.id);
    const keyName = this.#s(F.KeyName, c.keyName);
    const status = this.#s(F.Status, r.status);
    this.#terms.g.add(gateway);
    if (name !== 0) this.#terms.n.add(name);
    this.#terms.c.add(callerId);
    if (keyName !== 0) this.#terms.k.add(keyName);
    this.#terms.s.add(status);
    const u = r.upstream;
    const row: Encoded = [
      r.at - this.#base,
      gateway,
      this.#s(F.Transport, r.transport),
      this.#s(F.Protocol, r.protocolVersion),
      this.#s(F.Method, r.method),
      name,
      callerId,
      this.#s(F.CallerMethod, c.method),
      keyName,
      this.#s(F.ClientId, c.clientId),
      this.#s(F.Subject, c.subject),
      this.#s(F.Address, c.address),
      this.#s(F.Session, r.sessionId),
      status,
      r.errorCode,
      this.#s(F.Limit, r.limit),
      micros(r.durationMs),
      r.bytesIn,
      r.bytesOut,
      u === null ? 0 : [u.status, micros(u.durationMs), this.#s(F.Upstream, u.target)],
    ];
    if (r.payload !== undefined) row.push(r.payload);
    this.#rows.push(row);
  }

  build(): LogSegment {
    const value: SegmentValue = { strings: this.#strings, base: this.#base, rows: this.#rows };
    const terms: string[] = [];
    for (const [kind, seen] of Object.entries(this.#terms)) {
      for (const i of seen) terms.push(`${kind}:${this.#strings[i]}`);
    }
    return {
      orgId: this.orgId,
      firstAt: this.#firstAt,
      lastAt: this.#lastAt,
      rows: this.#rows.length,
      records: JSON.stringify(value),
      terms,
    };
  }
}

/**
 * Adds one request to the minute rollups of a batch, and answers its row
 * (`last`, the previous request's, when it is the same one: they mostly are).
 */
function addToMinutes(minutes: Map<string, Rollup>, r: RequestRecord, last?: Rollup): Rollup {
  const name = r.method === "tools/call" && r.name !== null ? r.name : "";
  const start = r.at - (r.at % MINUTE);
  let roll = last?.start === start && last.gatewayId === r.gatewayId && last.name === name
    ? last
    : minutes.get(`${start}\n${r.gatewayId}\n${name}`);
  if (!roll) {
    roll = {
      gatewayId: r.gatewayId,
      span: MINUTE,
      start,
      name,
      calls: 0,
      errors: 0,
      lastAt: r.at,
      histogram: new Array(HISTOGRAM_BUCKETS).fill(0),
    };
    minutes.set(`${start}\n${r.gatewayId}\n${name}`, roll);
  }
  roll.calls++;
  if (r.status !== "ok") roll.errors++;
  if (r.at > roll.lastAt) roll.lastAt = r.at;
  roll.histogram[bucketOf(r.durationMs)]++;
  return roll;
}

/** The minute rollups with the hour and day rows they add up to. */
function withLongerSpans(minutes: Map<string, Rollup>): Rollup[] {
  const out = [...minutes.values()];
  for (const span of SPANS.slice(1)) {
    const longer = new Map<string, Rollup>();
    for (const m of minutes.values()) {
      const start = m.start - (m.start % span);
      const key = `${start}\n${m.gatewayId}\n${m.name}`;
      const roll = longer.get(key);
      if (!roll) {
        longer.set(key, { ...m, span, start, histogram: [...m.histogram] });
        continue;
      }
      roll.calls += m.calls;
      roll.errors += m.errors;
      if (m.lastAt > roll.lastAt) roll.lastAt = m.lastAt;
      for (let i = 0; i < HISTOGRAM_BUCKETS; i++) roll.histogram[i] += m.histogram[i];
    }
    out.push(...longer.values());
  }
  return out;
}

/** `records` ready to write: a segment per org (split past {@link MAX_SEGMENT_ROWS}), and the rollup. */
export function batchOf(records: readonly RequestRecord[]): LogBatch {
  const open = new Map<string, SegmentBuilder>();
  const segments: LogSegment[] = [];
  const minutes = new Map<string, Rollup>();
  let last: Rollup | undefined;
  for (const r of records) {
    let builder = open.get(r.orgId);
    if (!builder) open.set(r.orgId, builder = new SegmentBuilder(r.orgId, r.at));
    builder.add(r);
    if (builder.size === MAX_SEGMENT_ROWS) {
      segments.push(builder.build());
      open.delete(r.orgId);
    }
    last = addToMinutes(minutes, r, last);
  }
  for (const builder of open.values()) segments.push(builder.build());
  return { segments, rollups: withLongerSpans(minutes) };
}

/**
 * The records of stored segment `id`, each with its id: the segment's id
 * times {@link ID_SPAN} plus the record's place in it, counting the
 * `skipped` records retention has trimmed from its front.
 */
export function decodeSegment(
  id: number,
  orgId: string,
  text: string,
  skipped: number,
): LoggedRequest[] {
  const value = JSON.parse(text) as SegmentValue | RequestRecord[];
  const first = id * ID_SPAN + skipped;
  // Segments made from the rows of a log from before segments (migration 13) hold plain records.
  if (Array.isArray(value)) return value.map((r, i) => ({ ...r, id: String(first + i) }));
  const { strings: s, base, rows } = value;
  return rows.map((row, i) => {
    const caller: CallerIdentity = {
      id: s[row[F.CallerId] as number]!,
      method: s[row[F.CallerMethod] as number]!,
    };
    const optional = [
      ["keyName", F.KeyName],
      ["clientId", F.ClientId],
      ["subject", F.Subject],
      ["address", F.Address],
    ] as const;
    for (const [field, at] of optional) {
      const value = s[row[at] as number];
      if (value !== null) caller[field] = value;
    }
    const u = row[F.Upstream] as [number | null, number, number] | 0;
    const logged: LoggedRequest = {
      id: String(first + i),
      at: base + (row[F.At] as number),
      orgId,
      gatewayId: s[row[F.Gateway] as number]!,
      transport: s[row[F.Transport] as number] as TransportName,
      protocolVersion: s[row[F.Protocol] as number],
      method: s[row[F.Method] as number]!,
      name: s[row[F.Name] as number],
      caller,
      sessionId: s[row[F.Session] as number],
      status: s[row[F.Status] as number] as RequestStatus,
      errorCode: row[F.ErrorCode] as number | null,
      limit: s[row[F.Limit] as number] as LimitKind | null,
      durationMs: row[F.Duration] as number,
      bytesIn: row[F.BytesIn] as number,
      bytesOut: row[F.BytesOut] as number,
      upstream: u === 0 ? null : {
        status: u[0],
        durationMs: u[1],
        ...(s[u[2]] === null ? {} : { target: s[u[2]]! }),
      },
    };
    if (row.length > F.Payload) {
      logged.payload = row[F.Payload] as LoggedRequest["payload"];
    }
    return logged;
  });
}

/** `records` (as decoded, ids dropped) encoded again, for a segment retention trims. */
export function encodeRecords(records: readonly RequestRecord[]): string {
  const builder = new SegmentBuilder(records[0].orgId, records[0].at);
  for (const r of records) builder.add(r);
  return builder.build().records;
}
