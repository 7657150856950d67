/**
 * Reading posted forms into API bodies, and answering a change: a redirect
 * with a message when the API took it, the form again with the API's error
 * when it did not.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiProblem, ApiResult } from "./client.ts";
import type { UiDeps } from "./context.ts";
import { flash } from "./session.ts";

/** The text of field `name` (empty when absent). */
export function text(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === "string" ? v : "";
}

/** The trimmed text of `name`, or undefined when empty. */
export function optional(form: FormData, name: string): string | undefined {
  const v = text(form, name).trim();
  return v === "" ? undefined : v;
}

/** Every text field of the form, for showing it again. */
export function valuesOf(form: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form.entries()) if (typeof v === "string" && k !== "_csrf") out[k] = v;
  return out;
}

/**
 * A number field as the API wants it: undefined when empty, else the
 * number (a text that is not one goes as it is, for the API to refuse
 * naming the field).
 */
export function numberField(form: FormData, name: string): number | string | undefined {
  const v = optional(form, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

/**
 * A rate limit of fields `<name>.requests` and `<name>.windowSeconds`, as
 * the API takes it: `{requests, windowSeconds}` (a minute unless the window
 * is given), or null when no number of requests is.
 */
export function rateLimitField(
  form: FormData,
  name: string,
): { requests: number | string; windowSeconds: number | string } | null {
  const requests = numberField(form, `${name}.requests`);
  if (requests === undefined) return null;
  return { requests, windowSeconds: numberField(form, `${name}.windowSeconds`) ?? 60 };
}

/**
 * A `datetime-local` value, which the pages label as UTC (it carries no
 * zone), as ISO-8601; a value with a zone keeps it, one that is no time is
 * passed on as it is (for the API to refuse, naming the field). Undefined
 * when empty.
 */
export function utcTime(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const at = Date.parse(/Z$|[+-]\d\d:\d\d$/.test(local) ? local : `${local}Z`);
  return Number.isNaN(at) ? local : new Date(at).toISOString();
}

/** A `datetime-local` field as {@link utcTime} reads it. */
export function timeField(form: FormData, name: string): string | undefined {
  return utcTime(optional(form, name));
}

/** A JSON field: undefined when empty, the value, or a problem naming `field`. */
export function jsonField(
  form: FormData,
  name: string,
  field = name,
): { value?: unknown; problem?: ApiProblem } {
  const v = optional(form, name);
  if (v === undefined) return {};
  try {
    return { value: JSON.parse(v) };
  } catch (err) {
    return {
      problem: { code: "invalid_request", message: `${field} is not valid JSON: ${err}`, field },
    };
  }
}

/** The status to show a refused form with: the API's, or 400. */
export function statusOf(res: ApiResult | undefined): ContentfulStatusCode {
  const s = res?.status ?? 400;
  return (s >= 400 && s < 600 ? s : 400) as ContentfulStatusCode;
}

/** A change went through: the browser goes to `to`, where `message` is shown. */
export function done(c: Context, deps: UiDeps, message: string, to: string): Response {
  flash(c, deps, message);
  return c.redirect(to, 303);
}
