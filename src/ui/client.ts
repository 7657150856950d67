/**
 * The admin UI's way to the management API: requests made through the app
 * itself, in process, with the session's access key. Every permission,
 * validation and audit rule is the API's, so a page can do nothing a curl
 * with the same key could not, and a viewer is refused exactly as over
 * curl. The caller's connection info and forwarded-for header go along, so
 * the API sees the same client address (sign-in limits, the audit trail).
 *
 * @module
 */
import type { Context, Hono } from "hono";

/**
 * A JSON body as the pages read it. Loosely typed on purpose: the API's own
 * tests and its OpenAPI document pin the shapes; the pages only display them.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** An error as the API answers it: the field at fault, when one is. */
export interface ApiProblem {
  code: string;
  message: string;
  field?: string;
}

/** One answer of the API. */
export interface ApiResult {
  status: number;
  ok: boolean;
  body: Json;
  /** The error of a non-2xx answer. */
  error?: ApiProblem;
  headers: Headers;
}

/** Calls the management API of `app` as the holder of `key` (none: the open routes). */
export class ApiClient {
  /** A client for the request `c`, served by `app`, acting with `key`. */
  constructor(
    private readonly app: Hono,
    private readonly c: Context,
    private readonly key?: string,
  ) {}

  /** The same client acting with another key. */
  as(key: string | undefined): ApiClient {
    return new ApiClient(this.app, this.c, key);
  }

  /** `GET path` (with the query in it). */
  get(path: string): Promise<ApiResult> {
    return this.call("GET", path);
  }

  /** `method path` with `body` as JSON, answered as the API's own response (unread). */
  async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers = new Headers({ accept: "application/json" });
    if (this.key) headers.set("authorization", `Bearer ${this.key}`);
    const forwarded = this.c.req.header("x-forwarded-for");
    if (forwarded) headers.set("x-forwarded-for", forwarded);
    let payload: string | undefined;
    if (body !== undefined) {
      headers.set("content-type", "application/json");
      payload = JSON.stringify(body);
    }
    const url = new URL(path, this.c.req.url);
    return await this.app.fetch(new Request(url, { method, headers, body: payload }), this.c.env);
  }

  /** `method path` with `body` as JSON, its answer read. */
  async call(method: string, path: string, body?: unknown): Promise<ApiResult> {
    const res = await this.fetch(method, path, body);
    const text = await res.text();
    let parsed: Json = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    const result: ApiResult = {
      status: res.status,
      ok: res.ok,
      body: parsed,
      headers: res.headers,
    };
    if (!res.ok) {
      result.error = parsed?.error ?? { code: "error", message: `HTTP ${res.status}` };
    }
    return result;
  }
}

/** `path` with the query parameters of `params` that have a value. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}
