/**
 * The request log's storage form. A batch of records becomes, per org, one
 * segment: the records as one compact JSON value (each record an array,
 * each string an index into the segment's own table of strings), with the
 * terms a filter finds the segment by; and the batch's rollup rows for the
 * statistics. A row per record with three indexes had cost the writing
 * thread 14 µs a record.
 *
 * Until a batch is written its records are packed ({@link RecordPacker}):
 * the thread that answers requests only stores each record's fields into a
 * byte buffer, and the thread that writes builds the segments
 * ({@link batchOf}).
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

/**
 * The string fields of a packed record, in order: each a 32-bit index into
 * the batch's table of strings (0 is null).
 */
const enum S {
  Org,
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
  Limit,
  UpTarget,
  Count,
}

/** Byte offsets of a packed record's numbers (64-bit floats; NaN where a field is null). */
const enum N {
  At = 0,
  Duration = 8,
  ErrorCode = 16,
  BytesIn = 24,
  BytesOut = 32,
  /** NaN when the upstream gave no status. */
  UpStatus = 40,
  /** NaN when no upstream was called. */
  UpDuration = 48,
  /** Where the string indexes start. */
  Strings = 56,
}

/** Bytes of one packed record. */
const STRIDE = N.Strings + 4 * S.Count;

/**
 * Records as the request log's writer holds them until they are written:
 * every field in one shared byte buffer (see {@link RecordPacker}), strings
 * in a table. Posted to a worker, the buffer is shared, not copied: an
 * ArrayBuffer of a batch took this runtime 0.1 to 0.4 ms to copy into the
 * message, a SharedArrayBuffer 5 µs to post; records as objects had cost
 * 3 to 4.5 µs each.
 */
export interface PackedRecords {
  count: number;
  /** Every string the records use; index 0 is null. */
  strings: (string | null)[];
  /** `count` records of {@link STRIDE} bytes, from the start (the buffer may be longer). */
  rows: SharedArrayBuffer;
  /** The payloads of the records that have one, by place, in order. */
  payloads: [number, unknown][];
}

/**
 * Packs records as they are answered, on the thread that answers them: a
 * few stores into a byte buffer per record, nothing kept alive per record
 * (records held until their batch was written outlived the young
 * generation, and the collector copied each of them), and segments, terms
 * and rollups are left to whoever writes the batch ({@link batchOf}).
 */
export class RecordPacker {
  #bytes: SharedArrayBuffer;
  #view: DataView;
  #count = 0;
  readonly #strings: (string | null)[] = [null];
  readonly #index = new Map<string, number>();
  /** The last string each field had, and its index: fields mostly repeat the record before. */
  readonly #lastText: (string | null)[] = new Array(S.Count).fill(null);
  readonly #lastIndex = new Uint32Array(S.Count);
  readonly #payloads: [number, unknown][] = [];

  /** A packer with room for `capacity` records to start with (it grows). */
  constructor(capacity = 256) {
    this.#bytes = new SharedArrayBuffer(capacity * STRIDE);
    this.#view = new DataView(this.#bytes);
  }

  /** Records packed so far. */
  get size(): number {
    return this.#count;
  }

  /** Appends `r`. */
  add(r: RequestRecord): void {
    if ((this.#count + 1) * STRIDE > this.#bytes.byteLength) this.#grow();
    const v = this.#view;
    const o = this.#count++ * STRIDE;
    const c = r.caller;
    const u = r.upstream;
    v.setFloat64(o + N.At, r.at, true);
    v.setFloat64(o + N.Duration, r.durationMs, true);
    v.setFloat64(o + N.ErrorCode, r.errorCode ?? NaN, true);
    v.setFloat64(o + N.BytesIn, r.bytesIn, true);
    v.setFloat64(o + N.BytesOut, r.bytesOut, true);
    v.setFloat64(o + N.UpStatus, u?.status ?? NaN, true);
    v.setFloat64(o + N.UpDuration, u === null ? NaN : u.durationMs, true);
    this.#s(o, S.Org, r.orgId);
    this.#s(o, S.Gateway, r.gatewayId);
    this.#s(o, S.Transport, r.transport);
    this.#s(o, S.Protocol, r.protocolVersion);
    this.#s(o, S.Method, r.method);
    this.#s(o, S.Name, r.name);
    this.#s(o, S.CallerId, c.id);
    this.#s(o, S.CallerMethod, c.method);
    this.#s(o, S.KeyName, c.keyName);
    this.#s(o, S.ClientId, c.clientId);
    this.#s(o, S.Subject, c.subject);
    this.#s(o, S.Address, c.address);
    this.#s(o, S.Session, r.sessionId);
    this.#s(o, S.Status, r.status);
    this.#s(o, S.Limit, r.limit);
    this.#s(o, S.UpTarget, u?.target);
    if (r.payload !== undefined) this.#payloads.push([this.#count - 1, r.payload]);
  }

  /** The records packed, sharing the packer's buffer: nothing may be added after. */
  pack(): PackedRecords {
    return {
      count: this.#count,
      strings: this.#strings,
      rows: this.#bytes,
      payloads: this.#payloads,
    };
  }

  /** Stores the index of `text` as string field `field` of the record at `o`. */
  #s(o: number, field: S, text: string | null | undefined): void {
    let i = 0;
    if (text === null || text === undefined) {
      // Null is string 0.
    } else if (this.#lastText[field] === text) i = this.#lastIndex[field];
    else {
      i = this.#index.get(text) ?? 0;
      if (i === 0) {
        i = this.#strings.push(text) - 1;
        this.#index.set(text, i);
      }
      this.#lastText[field] = text;
      this.#lastIndex[field] = i;
    }
    this.#view.setUint32(o + N.Strings + 4 * field, i, true);
  }

  #grow(): void {
    const bytes = new SharedArrayBuffer(this.#bytes.byteLength * 2);
    new Uint8Array(bytes).set(new Uint8Array(this.#bytes));
    this.#bytes = bytes;
    this.#view = new DataView(bytes);
  }
}

/** `records` packed (for a writer that has them all at once). */
export function packOf(records: readonly RequestRecord[]): PackedRecords {
  const packer = new RecordPacker(Math.max(1, records.length));
  for (const r of records) packer.add(r);
  return packer.pack();
}

/** A packed batch, read one record at a time. */
class PackedReader {
  readonly view: DataView;
  /** Byte offset of the current record. */
  o = 0;

  constructor(readonly packed: PackedRecords) {
    this.view = new DataView(packed.rows);
  }

  /** The index (into the batch's table) of string field `field`. */
  index(field: S): number {
    return this.view.getUint32(this.o + N.Strings + 4 * field, true);
  }

  /** String field `field`, null when it has none. */
  text(field: S): string | null {
    return this.packed.strings[this.index(field)];
  }

  /** Number field `field`, null for NaN. */
  number(field: N): number | null {
    const n = this.view.getFloat64(this.o + field, true);
    return Number.isNaN(n) ? null : n;
  }
}

/** Builds one segment, a record at a time, from a packed batch. */
class SegmentBuilder {
  /** The segment's index of each of the batch's strings (-1: not in it yet). */
  readonly #local: Int32Array;
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

  constructor(readonly orgId: string, base: number, readonly from: PackedReader) {
    this.#base = base;
    this.#local = new Int32Array(from.packed.strings.length).fill(-1);
    this.#local[0] = 0;
  }

  get size(): number {
    return this.#rows.length;
  }

  /** The segment's index of string field `field` of the current record. */
  #s(field: S): number {
    const i = this.from.index(field);
    let local = this.#local[i];
    if (local === -1) {
      local = this.#local[i] = this.#strings.push(this.from.packed.strings[i]) - 1;
    }
    return local;
  }

  /** Adds the reader's current record, with its payload if it has one. */
  add(payload: unknown): void {
    const r = this.from;
    const at = r.number(N.At)!;
    if (at < this.#firstAt) this.#firstAt = at;
    if (at > this.#lastAt) this.#lastAt = at;
    const gateway = this.#s(S.Gateway);
    const name = this.#s(S.Name);
    const callerId = this.#s(S.CallerId);
    const keyName = this.#s(S.KeyName);
    const status = this.#s(S.Status);
    this.#terms.g.add(gateway);
    if (name !== 0) this.#terms.n.add(name);
    this.#terms.c.add(callerId);
    if (keyName !== 0) this.#terms.k.add(keyName);
    this.#terms.s.add(status);
    const upDuration = r.number(N.UpDuration);
    const row: Encoded = [
      at - this.#base,
      gateway,
      this.#s(S.Transport),
      this.#s(S.Protocol),
      this.#s(S.Method),
      name,
      callerId,
      this.#s(S.CallerMethod),
      keyName,
      this.#s(S.ClientId),
      this.#s(S.Subject),
      this.#s(S.Address),
      this.#s(S.Session),
      status,
      r.number(N.ErrorCode),
      this.#s(S.Limit),
      micros(r.number(N.Duration)!),
      r.number(N.BytesIn),
      r.number(N.BytesOut),
      upDuration === null ? 0 : [r.number(N.UpStatus), micros(upDuration), this.#s(S.UpTarget)],
    ];
    if (payload !== undefined) row.push(payload);
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
 * Adds the reader's current record to the minute rollups of a batch, and
 * answers its row (`last`, the previous record's, when it is the same one:
 * they mostly are).
 */
function addToMinutes(minutes: Map<string, Rollup>, r: PackedReader, last?: Rollup): Rollup {
  const at = r.number(N.At)!;
  const gatewayId = r.text(S.Gateway)!;
  const name = r.text(S.Method) === "tools/call" ? r.text(S.Name) ?? "" : "";
  const start = at - (at % MINUTE);
  let roll = last?.start === start && last.gatewayId === gatewayId && last.name === name
    ? last
    : minutes.get(`${start}\n${gatewayId}\n${name}`);
  if (!roll) {
    roll = {
      gatewayId,
      span: MINUTE,
      start,
      name,
      calls: 0,
      errors: 0,
      lastAt: at,
      histogram: new Array(HISTOGRAM_BUCKETS).fill(0),
    };
    minutes.set(`${start}\n${gatewayId}\n${name}`, roll);
  }
  roll.calls++;
  if (r.text(S.Status) !== "ok") roll.errors++;
  if (at > roll.lastAt) roll.lastAt = at;
  roll.histogram[bucketOf(r.number(N.Duration)!)]++;
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

/**
 * `packed` ready to write: a segment per org (split past
 * {@link MAX_SEGMENT_ROWS}), and the rollup. This is the work of writing a
 * batch, done by the thread that writes it.
 */
export function batchOf(packed: PackedRecords): LogBatch {
  const reader = new PackedReader(packed);
  const open = new Map<number, SegmentBuilder>();
  const segments: LogSegment[] = [];
  const minutes = new Map<string, Rollup>();
  let last: Rollup | undefined;
  let p = 0;
  for (let i = 0; i < packed.count; i++) {
    reader.o = i * STRIDE;
    const org = reader.index(S.Org);
    let builder = open.get(org);
    if (!builder) {
      builder = new SegmentBuilder(packed.strings[org]!, reader.number(N.At)!, reader);
      open.set(org, builder);
    }
    const payload = packed.payloads[p]?.[0] === i ? packed.payloads[p++][1] : undefined;
    builder.add(payload);
    if (builder.size === MAX_SEGMENT_ROWS) {
      segments.push(builder.build());
      open.delete(org);
    }
    last = addToMinutes(minutes, reader, last);
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
  return batchOf(packOf(records)).segments[0].records;
}
