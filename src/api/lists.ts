/**
 * The query string of the paged lists (`GET /tools`, `/apis`, `/gateways`,
 * `/gateways/{id}/tools`, `/servers`, `/audit`, `/logs`): `limit`, `cursor` and each list's
 * filters, checked, and the cursors handed out in `nextCursor`.
 *
 * A cursor is opaque to clients: base64url of `{"v":1,"s":scope,"k":key}`,
 * where `key` is the store's key of the last row of the page (its sort
 * values, id last) and `scope` a digest of the list, the organization (and
 * gateway) it was read in and the filters it was read with. A cursor is
 * only taken back by the list that gave it out, in the same organization,
 * with the same filters: anything else, a garbled one included, is a 400
 * naming `cursor`. The filters are not carried in the cursor: each page's
 * request names them again (so a client that drops or changes one is told,
 * rather than paged through another list). A cursor of another org's list
 * cannot be used here, and could only position within this org's rows if it
 * were: every query is scoped to the caller's org.
 *
 * Unknown query parameters are refused (400 naming them), as unknown body
 * fields are: a misspelt filter must not silently list everything.
 *
 * @module
 */
import type { Context } from "hono";
import { createHash } from "node:crypto";
import type { PageKey, PageRequest } from "../store/paging.ts";
import { TOOL_TYPES } from "../tools/definition.ts";
import { invalid } from "./errors.ts";

/** Items a page holds when the request names no `limit`. */
export const DEFAULT_LIMIT = 100;
/** The largest `limit` a request may name. */
export const MAX_LIMIT = 1000;
/** The longest cursor taken back (the ones handed out are far shorter). */
export const MAX_CURSOR_LENGTH = 4096;
/** The longest value of a filter. */
export const MAX_FILTER_LENGTH = 200;

/** The paging parameters every list takes. */
export const PAGE_PARAMETERS = ["limit", "cursor"] as const;

/** The `type` values `GET /tools?type=` takes: the tool types, and `mcp` for servers' tools. */
export const LISTED_TOOL_TYPES: readonly string[] = [...TOOL_TYPES, "mcp"];

/** The filters of `GET /tools`, each with what it means (the document says the same). */
export const TOOL_FILTERS = {
  apiId: "Only the tools imported from this API (`GET /apis`).",
  serverId: "Only the tools of this upstream server (`GET /servers`).",
  type: `Only the tools of this type: ${LISTED_TOOL_TYPES.join(", ")}.`,
  q: "Only the tools whose name or description contains this text, in any case.",
} as const;

/** A filter parameter's name. */
export type ToolFilterName = keyof typeof TOOL_FILTERS;

/** The filters of `GET /audit`, each with what it means (the document says the same). */
export const AUDIT_FILTERS = {
  actor: "Only the events of this actor: an access key's id, or a user's (the events of every " +
    "access key the person holds, and of their sign-ins).",
  action: "Only this action (`gateway.create`), or the actions starting with this when it ends " +
    "in `.` (`gateway.`).",
  targetType: "Only the events about this kind of thing (a gateway's tools, servers, keys and " +
    "auth methods are the gateway's).",
  targetId: "Only the events about the thing with this id.",
  since: "Only the events at or after this ISO-8601 time.",
  until: "Only the events before this ISO-8601 time.",
} as const;

/** A filter parameter's name of `GET /audit`. */
export type AuditFilterName = keyof typeof AUDIT_FILTERS;

/** The filters of `GET /logs`, each with what it means (the document says the same). */
export const LOG_FILTERS = {
  gatewayId: "Only the requests to this gateway.",
  tool: "Only the requests about this tool (or prompt name, or resource URI).",
  caller: "Only the requests of this caller: a credential's id (a gateway key's id, an OAuth " +
    "grant's, `jwt:<issuer>:<subject>`, `user:<id>` for Basic) or a gateway key's name.",
  status: "Only the requests that ended so: ok, error, tool_error, rate_limited or denied.",
  since: "Only the requests that arrived at or after this ISO-8601 time.",
  until: "Only the requests that arrived before this ISO-8601 time.",
} as const;

/** A filter parameter's name of `GET /logs`. */
export type LogFilterName = keyof typeof LOG_FILTERS;

/** A checked list request. */
export interface ListQuery<F extends string> {
  /** The filters given. */
  filter: { [K in F]?: string };
  /** The page asked for. */
  page: PageRequest;
  /** The response body: `items` under `key`, and the cursor of the next page or null. */
  answer<T>(key: string, items: T[], next: PageKey | undefined): Record<string, unknown>;
}

/** A list: its name (bound into its cursors), its key length and the filters it takes. */
export interface ListSpec<F extends string> {
  name: string;
  keyLength: number;
  filters: readonly F[];
  /** Parameters taken besides paging and filters, not bound into cursors (the route reads them). */
  extras?: readonly string[];
}

/** The lists that page. */
export const LISTS = {
  tools: { name: "tools", keyLength: 2, filters: Object.keys(TOOL_FILTERS) as ToolFilterName[] },
  apis: { name: "apis", keyLength: 2, filters: [] as never[] },
  gateways: { name: "gateways", keyLength: 2, filters: [] as never[] },
  gatewayTools: { name: "gateway-tools", keyLength: 2, filters: [] as never[] },
  servers: { name: "servers", keyLength: 2, filters: [] as never[] },
  audit: {
    name: "audit",
    keyLength: 1,
    filters: Object.keys(AUDIT_FILTERS) as AuditFilterName[],
  },
  logs: {
    name: "logs",
    keyLength: 2,
    filters: Object.keys(LOG_FILTERS) as LogFilterName[],
    extras: ["format"],
  },
} satisfies Record<string, ListSpec<string>>;

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return undefined;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The digest that ties a cursor to its list, org (and parent) and filters. */
function scopeOf(list: string, within: readonly string[], filter: Record<string, string>): string {
  const filters = Object.entries(filter).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  const text = JSON.stringify([list, within, filters]);
  return base64url(createHash("sha256").update(text).digest()).slice(0, 22);
}

const GARBLED = "cursor is not a cursor of this list: pass nextCursor of the previous page " +
  "as it came, or leave cursor out for the first page";

/** The key in `cursor`, checked against `scope`; a 400 naming `cursor` when it does not fit. */
function keyOf(cursor: string, scope: string, keyLength: number, filters: readonly string[]) {
  if (cursor.length > MAX_CURSOR_LENGTH) throw invalid("cursor", GARBLED);
  const bytes = fromBase64url(cursor);
  let parsed: unknown;
  try {
    parsed = bytes && JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw invalid("cursor", GARBLED);
  }
  const body = parsed as { v?: unknown; s?: unknown; k?: unknown } | undefined;
  const key = body?.k;
  if (
    typeof body !== "object" || body === null || Array.isArray(body) || body.v !== 1 ||
    typeof body.s !== "string" || !Array.isArray(key) || key.length !== keyLength ||
    key.some((v) => typeof v !== "string" || v.length > 1024)
  ) {
    throw invalid("cursor", GARBLED);
  }
  if (body.s !== scope) {
    const again = filters.length > 0 ? ` with the same ${filters.join(", ")}` : "";
    throw invalid(
      "cursor",
      "cursor belongs to another list, organization or set of filters: page on" + again +
        " as for the first page, or leave cursor out to start again",
    );
  }
  return key as string[];
}

/** The one value of query parameter `name`, or undefined; a repeated one is a 400. */
function single(c: Context, name: string): string | undefined {
  const all = c.req.queries(name);
  if (!all || all.length === 0) return undefined;
  if (all.length > 1) throw invalid(name, `${name} may be given once`);
  return all[0];
}

function checkFilter(name: string, value: string): string {
  if (value.length === 0) throw invalid(name, `${name} must not be empty`);
  if (value.length > MAX_FILTER_LENGTH) {
    throw invalid(name, `${name} must be at most ${MAX_FILTER_LENGTH} characters`);
  }
  if (name === "type" && !LISTED_TOOL_TYPES.includes(value)) {
    throw invalid(name, `type must be one of: ${LISTED_TOOL_TYPES.join(", ")}`);
  }
  return value;
}

/**
 * Reads the query of a request to `list`, read `within` the given ids (the
 * org's, then a parent's such as the gateway's): `limit` (1 to
 * {@link MAX_LIMIT}, default {@link DEFAULT_LIMIT}), `cursor`, and the
 * list's filters. Anything else, or a bad value, is a 400 naming it.
 */
export function listQuery<F extends string>(
  c: Context,
  list: ListSpec<F>,
  within: readonly string[],
): ListQuery<F> {
  const allowed: readonly string[] = [...PAGE_PARAMETERS, ...list.filters, ...list.extras ?? []];
  for (const name of Object.keys(c.req.queries())) {
    if (!allowed.includes(name)) {
      throw invalid(
        name,
        `unknown query parameter ${name}; this list takes ${allowed.join(", ")}`,
      );
    }
  }
  const filter: { [K in F]?: string } = {};
  for (const name of list.filters) {
    const value = single(c, name);
    if (value !== undefined) filter[name] = checkFilter(name, value);
  }
  const page: PageRequest = { limit: DEFAULT_LIMIT };
  const limit = single(c, "limit");
  if (limit !== undefined) {
    const n = /^[0-9]{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_LIMIT)) {
      throw invalid("limit", `limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    page.limit = n;
  }
  const scope = scopeOf(list.name, within, filter as Record<string, string>);
  const cursor = single(c, "cursor");
  if (cursor !== undefined) page.after = keyOf(cursor, scope, list.keyLength, list.filters);
  return {
    filter,
    page,
    answer: (key, items, next) => ({
      [key]: items,
      nextCursor: next
        ? base64url(new TextEncoder().encode(JSON.stringify({ v: 1, s: scope, k: next })))
        : null,
    }),
  };
}
