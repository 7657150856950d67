/**
 * What Gatehouse observes of each MCP request: one {@link RequestRecord}
 * per JSON-RPC request (and per request refused before it reached the
 * protocol core), handed to every {@link RecordSink} — the request log,
 * the metrics, the traces.
 *
 * The protocol core fills a record as it answers; the transports say what
 * only they know ({@link Observation}: transport, bytes read, the caller).
 * Sinks run on the hot path, synchronously: each must do O(1) work per
 * record (append to a buffer, bump a counter) and never touch the store.
 *
 * @module
 */
import { redacted } from "../store/audit.ts";

/** How a request ended. */
export type RequestStatus = "ok" | "error" | "tool_error" | "rate_limited" | "denied";

/** Every {@link RequestStatus}, in the order statistics show them. */
export const REQUEST_STATUSES: readonly RequestStatus[] = [
  "ok",
  "error",
  "tool_error",
  "rate_limited",
  "denied",
];

/** The MCP transports. */
export type TransportName = "http" | "sse" | "ws";

/** Which rate limit refused a request. */
export type LimitKind = "caller" | "gateway" | "tool";

/** Who made a request, as far as its credential tells. */
export interface CallerIdentity {
  /** The credential's stable id (a gateway key id, an OAuth grant, `jwt:<iss>:<sub>`, ...). */
  id: string;
  /**
   * The auth method that accepted it (`api_key`, `oauth2`, `jwt`, `basic`, `none`), or
   * `access_key` for a member's call through the management API.
   */
  method: string;
  /** The gateway key's name, for key callers. */
  keyName?: string;
  /** The OAuth client, for OAuth callers. */
  clientId?: string;
  /** The JWT subject, for JWT callers; the member's email, for calls of `POST /gateways/{id}/call`. */
  subject?: string;
  /** The client's address, for callers of gateways without authentication. */
  address?: string;
}

/** What a transport knows of a request that the core does not. */
export interface Observation {
  orgId: string;
  transport: TransportName;
  caller: CallerIdentity;
  /** The W3C `traceparent` header the request came with, if any. */
  traceparent?: string;
  /**
   * The gateway opted in to payload logging (`configuration.logPayloads`):
   * tools/call records then carry their arguments and result, redacted.
   */
  logPayloads?: boolean;
}

/** What an upstream call (an HTTP tool's request, an upstream MCP server's answer) took. */
export interface UpstreamReport {
  /** The HTTP status the upstream answered; null when it gave none (network error, MCP). */
  status: number | null;
  durationMs: number;
  /** Who was called: the upstream server's name (MCP), the URL's host (HTTP tools). */
  target?: string;
}

/** One MCP request, as every sink receives it. */
export interface RequestRecord {
  /** When it arrived, ms since the epoch. */
  at: number;
  orgId: string;
  gatewayId: string;
  transport: TransportName;
  /** The protocol version it was served under; null when none was agreed yet. */
  protocolVersion: string | null;
  /** The JSON-RPC method; empty for a message that was not a valid request. */
  method: string;
  /** The tool or prompt name, or the resource URI, the request is about. */
  name: string | null;
  caller: CallerIdentity;
  /** The MCP session, when the request belongs to one. */
  sessionId: string | null;
  status: RequestStatus;
  /** The JSON-RPC error code answered, if any. */
  errorCode: number | null;
  /** Which limit refused it, for `rate_limited`. */
  limit: LimitKind | null;
  durationMs: number;
  /** Bytes of the request as read (a batch's are shared out evenly among its messages). */
  bytesIn: number;
  /** Bytes of the JSON-RPC response (0 when there is none). */
  bytesOut: number;
  /** The last upstream call made for it, if any. */
  upstream: UpstreamReport | null;
  /**
   * The tool call's arguments and result, only when the gateway opts in
   * (`configuration.logPayloads`); absent otherwise.
   */
  payload?: { arguments?: unknown; result?: unknown };
}

/** Longest payload value (as JSON) a record keeps whole; a longer one is kept as its size. */
export const MAX_PAYLOAD_CHARS = 8192;

/**
 * `value` as a record's payload keeps it: credentials redacted (fields named
 * like one, Gatehouse keys, `Bearer`/`Basic` values; the executors already
 * took the vault's secret values out of results), and a value longer than
 * {@link MAX_PAYLOAD_CHARS} as JSON replaced by a note of its size, so that
 * neither the buffer nor the log holds a large result.
 */
export function loggedPayload(value: unknown): unknown {
  const clean = redacted(value);
  const text = JSON.stringify(clean) ?? "null";
  return text.length <= MAX_PAYLOAD_CHARS ? clean : `[omitted: ${text.length} characters]`;
}

/** Receives every record; must be O(1) and never throw. */
export interface RecordSink {
  add(record: RequestRecord): void;
}

/** The fan-out of records to sinks. */
export class Telemetry {
  readonly #sinks: RecordSink[] = [];

  /** Adds `sink`; records from now on reach it. */
  addSink(sink: RecordSink): void {
    this.#sinks.push(sink);
  }

  /** Hands `record` to every sink; a sink that throws is reported and does not stop the others. */
  record(record: RequestRecord): void {
    for (const sink of this.#sinks) {
      try {
        sink.add(record);
      } catch (err) {
        console.error("a request record sink failed:", err);
      }
    }
  }

  /** True when some sink listens (the core skips building records otherwise). */
  get active(): boolean {
    return this.#sinks.length > 0;
  }
}
