/**
 * Parsing of the bodies that configure one gateway: tool assignments and
 * gateway keys (auth methods: `auth_method_input.ts`).
 *
 * @module
 */
import { GATEHOUSE_SCOPES, isScope } from "../auth/scopes.ts";
import { MAX_LIMIT_REQUESTS, type RateLimit, rateLimitOf } from "../limits/request_limits.ts";
import { invalid } from "./errors.ts";
import { type Body, onlyFields, optionalBoolean, optionalFutureTime, string } from "./validate.ts";

/** Scopes a gateway key can grant: all of Gatehouse's. */
export const GATEWAY_SCOPES = GATEHOUSE_SCOPES;
// Auth methods moved to their own module; re-exported for existing importers.
export { AUTH_METHOD_TYPES, parseAuthMethodInput } from "./auth_method_input.ts";
/** Most tools one assignment request may name (keeps one transaction short). */
export const MAX_ASSIGN = 1000;

/** A parsed `POST /gateways/:id/tools` body. */
export interface AssignInput {
  /** Distinct tool ids, in request order. */
  toolIds: string[];
  /** The field they came from, for errors about them. */
  field: "toolId" | "toolIds";
  enabled: boolean;
  /** Calls a minute per caller; null removes a limit; undefined keeps what an assignment has. */
  rateLimit?: number | null;
}

/**
 * A per-tool limit in `body[field]` (a tool assignment's `rateLimit`, an
 * attachment's `toolRateLimit`): calls a minute each caller may make, null
 * for none, undefined when absent.
 */
export function optionalToolRateLimit(
  body: Body,
  field = "rateLimit",
): number | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_LIMIT_REQUESTS) {
    throw invalid(
      field,
      `${field} must be a whole number of calls per minute per caller, from 1 to ${MAX_LIMIT_REQUESTS}, or null for none`,
    );
  }
  return v as number;
}

/**
 * A `{requests, windowSeconds}` limit at `path` (null removes one, undefined
 * when absent); a 400 naming the field that is wrong.
 */
export function optionalRateLimit(value: unknown, path: string): RateLimit | null | undefined {
  if (value === undefined || value === null) return value;
  const limit = rateLimitOf(value);
  if (typeof limit !== "string") return limit;
  // The problem starts with the sub-field it is about (".requests ..."), or describes the whole.
  const sub = /^\.(requests|windowSeconds)/.exec(limit)?.[1];
  const field = sub ? `${path}.${sub}` : path;
  throw invalid(field, `${path}${limit.startsWith(".") ? limit : ` ${limit}`}`);
}

/**
 * Reads `{toolId}` or `{toolIds: [...]}` (exactly one of them), `enabled`
 * (default true) and `rateLimit` (for every tool named).
 */
export function parseAssignInput(body: Body): AssignInput {
  onlyFields(body, ["toolId", "toolIds", "enabled", "rateLimit"]);
  const enabled = optionalBoolean(body, "enabled") ?? true;
  const rateLimit = optionalToolRateLimit(body);
  const limit = rateLimit === undefined ? {} : { rateLimit };
  if (body.toolIds === undefined) {
    return { toolIds: [string(body, "toolId")], field: "toolId", enabled, ...limit };
  }
  if (body.toolId !== undefined) {
    throw invalid("toolIds", "give either toolId or toolIds, not both");
  }
  const ids = body.toolIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== "string" || !x)) {
    throw invalid("toolIds", "toolIds must be a non-empty list of tool ids");
  }
  if (ids.length > MAX_ASSIGN) {
    throw invalid("toolIds", `toolIds takes at most ${MAX_ASSIGN} ids at once`);
  }
  return { toolIds: [...new Set(ids as string[])], field: "toolIds", enabled, ...limit };
}

/** A parsed `POST /gateways/:id/keys` body. */
export interface GatewayKeyInput {
  name: string;
  scopes: string[];
  expiresAt: string | null;
  rateLimit: RateLimit | null;
}

/**
 * Reads a gateway key request; scopes default to all of
 * {@link GATEWAY_SCOPES}, and the key has no limit of its own by default.
 */
export function parseGatewayKeyInput(body: Body): GatewayKeyInput {
  onlyFields(body, ["name", "scopes", "expiresAt", "rateLimit"]);
  const name = string(body, "name", { max: 200 });
  const s = body.scopes ?? [...GATEWAY_SCOPES];
  if (
    !Array.isArray(s) || s.length === 0 || !s.every(isScope)
  ) {
    throw invalid("scopes", `scopes must be a non-empty list of: ${GATEWAY_SCOPES.join(", ")}`);
  }
  return {
    name,
    scopes: [...new Set(s as string[])],
    expiresAt: optionalFutureTime(body, "expiresAt") ?? null,
    rateLimit: optionalRateLimit(body.rateLimit, "rateLimit") ?? null,
  };
}

/** Reads a `PATCH /gateways/:id/keys/:keyId` body: `rateLimit`, an object or null (none). */
export function parseGatewayKeyPatch(body: Body): { rateLimit: RateLimit | null } {
  onlyFields(body, ["rateLimit"]);
  const rateLimit = optionalRateLimit(body.rateLimit, "rateLimit");
  if (rateLimit === undefined) {
    throw invalid(
      "rateLimit",
      "rateLimit is required: {requests, windowSeconds}, or null for none",
    );
  }
  return { rateLimit };
}
