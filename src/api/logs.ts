/**
 * `GET /logs`: the org's request log, newest first, filtered, a page at a
 * time as JSON or whole as CSV or NDJSON (`?format=`).
 *
 * Owners and admins only: with `configuration.logPayloads` rows hold tool
 * calls' arguments and results, which are users' data, and every row names
 * the credential that made it. Members and viewers are refused (403).
 *
 * Exports stream: rows are read a page at a time as the client takes them,
 * so a large range never becomes one string in memory nor one long query.
 * CSV cells are quoted where needed (RFC 4180) and text cells starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'`, so that
 * a spreadsheet never runs a tool name or a caller's key name as a formula.
 *
 * @module
 */
import { Hono } from "hono";
import type { LoggedRequest } from "../store/log_segments.ts";
import type { LogFilter } from "../store/request_log.ts";
import { REQUEST_STATUSES, type RequestStatus } from "../telemetry/requests.ts";
import { isoTime } from "./audit.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid } from "./errors.ts";
import { listQuery, LISTS, type LogFilterName } from "./lists.ts";
import { requireRole } from "./principal.ts";

/** The forms `GET /logs` answers in (`?format=`; JSON pages by default). */
export const LOG_FORMATS = ["json", "csv", "ndjson"] as const;

/** Rows read per query of an export. */
const EXPORT_PAGE = 500;

/** A logged request as the API shows it. */
export function presentLog(r: LoggedRequest) {
  const c = r.caller;
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    gatewayId: r.gatewayId,
    transport: r.transport,
    protocolVersion: r.protocolVersion,
    method: r.method,
    name: r.name,
    caller: {
      id: c.id,
      method: c.method,
      keyName: c.keyName ?? null,
      clientId: c.clientId ?? null,
      subject: c.subject ?? null,
      address: c.address ?? null,
    },
    sessionId: r.sessionId,
    status: r.status,
    errorCode: r.errorCode,
    limit: r.limit,
    durationMs: r.durationMs,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    upstream: r.upstream && {
      status: r.upstream.status,
      durationMs: r.upstream.durationMs,
      target: r.upstream.target ?? null,
    },
    payload: r.payload ?? null,
  };
}

/** The columns of a CSV export, in order: the JSON fields, nested ones flattened. */
export const CSV_COLUMNS = [
  "id",
  "at",
  "gatewayId",
  "transport",
  "protocolVersion",
  "method",
  "name",
  "callerId",
  "callerMethod",
  "callerKeyName",
  "callerClientId",
  "callerSubject",
  "callerAddress",
  "sessionId",
  "status",
  "errorCode",
  "limit",
  "durationMs",
  "bytesIn",
  "bytesOut",
  "upstreamStatus",
  "upstreamDurationMs",
  "upstreamTarget",
  "payload",
] as const;

/** Text a spreadsheet would read as a formula (or that hides one behind a control character). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: numbers as they are, text quoted when needed and never a formula. */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(r: LoggedRequest): string {
  const p = presentLog(r);
  const cells: (string | number | null)[] = [
    p.id,
    p.at,
    p.gatewayId,
    p.transport,
    p.protocolVersion,
    p.method,
    p.name,
    p.caller.id,
    p.caller.method,
    p.caller.keyName,
    p.caller.clientId,
    p.caller.subject,
    p.caller.address,
    p.sessionId,
    p.status,
    p.errorCode,
    p.limit,
    p.durationMs,
    p.bytesIn,
    p.bytesOut,
    p.upstream?.status ?? null,
    p.upstream?.durationMs ?? null,
    p.upstream?.target ?? null,
    p.payload === null ? null : JSON.stringify(p.payload),
  ];
  return cells.map(csvCell).join(",") + "\r\n";
}

/** The store's filter for the query's filters, each checked (a bad one is a 400 naming it). */
function filterOf(given: { [K in LogFilterName]?: string }): LogFilter {
  const filter: LogFilter = {};
  if (given.gatewayId !== undefined) filter.gatewayId = given.gatewayId;
  if (given.tool !== undefined) filter.name = given.tool;
  if (given.caller !== undefined) filter.caller = given.caller;
  if (given.status !== undefined) {
    if (!(REQUEST_STATUSES as readonly string[]).includes(given.status)) {
      throw invalid("status", `status must be one of: ${REQUEST_STATUSES.join(", ")}`);
    }
    filter.status = given.status as RequestStatus;
  }
  if (given.since !== undefined) filter.since = Date.parse(isoTime("since", given.since));
  if (given.until !== undefined) filter.until = Date.parse(isoTime("until", given.until));
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
    throw invalid("until", "until must be later than since");
  }
  return filter;
}

/** The `/logs` route. */
export function logRoutes({ store, requestLog }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get("/", async (c) => {
    const p = requireRole(c, "admin");
    const query = listQuery(c, LISTS.logs, [p.org.id]);
    const filter = filterOf(query.filter);
    const formats = c.req.queries("format") ?? [];
    if (formats.length > 1) throw invalid("format", "format may be given once");
    const format = formats[0] ?? "json";
    if (!(LOG_FORMATS as readonly string[]).includes(format)) {
      throw invalid("format", `format must be one of: ${LOG_FORMATS.join(", ")}`);
    }
    const after = query.page.after;
    if (after !== undefined && after.some((k) => !/^[0-9]{1,15}$/.test(k))) {
      throw invalid("cursor", "cursor is not a cursor of this list");
    }
    // What was acknowledged is in the log before it is read (a few ms at most).
    await requestLog?.flush();
    if (format === "json") {
      const page = await store.requestLog.page(p.org.id, filter, query.page);
      return c.json(query.answer("logs", page.items.map(presentLog), page.next));
    }
    if (c.req.query("limit") !== undefined) {
      throw invalid(
        "limit",
        "limit pages the JSON list; an export holds every matching row (narrow it with " +
          "since and until)",
      );
    }
    const csv = format === "csv";
    const encoder = new TextEncoder();
    let next = after;
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const page = await store.requestLog.page(p.org.id, filter, {
          after: next,
          limit: EXPORT_PAGE,
        });
        let text = first && csv ? CSV_COLUMNS.join(",") + "\r\n" : "";
        first = false;
        for (const r of page.items) {
          text += csv ? csvLine(r) : JSON.stringify(presentLog(r)) + "\n";
        }
        if (text) controller.enqueue(encoder.encode(text));
        if (page.next) next = page.next;
        else controller.close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
        "content-disposition": `attachment; filename="requests.${format}"`,
        "cache-control": "no-store",
      },
    });
  });

  return app;
}
