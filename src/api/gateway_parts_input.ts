/**
 * Parsing of the bodies that configure one gateway: tool assignments,
 * gateway keys and auth methods.
 *
 * @module
 */
import { invalid } from "./errors.ts";
import {
  type Body,
  oneOf,
  onlyFields,
  optionalBoolean,
  optionalFutureTime,
  optionalObject,
  string,
} from "./validate.ts";

/** Scopes a gateway key can grant. */
export const GATEWAY_SCOPES = ["tools:read", "tools:execute"] as const;
/** Auth method types that can be configured now. */
export const AUTH_METHOD_TYPES = ["api_key", "none"] as const;
/** Most tools one assignment request may name (keeps one transaction short). */
export const MAX_ASSIGN = 1000;

/** A parsed `POST /gateways/:id/tools` body. */
export interface AssignInput {
  /** Distinct tool ids, in request order. */
  toolIds: string[];
  /** The field they came from, for errors about them. */
  field: "toolId" | "toolIds";
  enabled: boolean;
}

/** Reads `{toolId}` or `{toolIds: [...]}` (exactly one of them) and `enabled` (default true). */
export function parseAssignInput(body: Body): AssignInput {
  onlyFields(body, ["toolId", "toolIds", "enabled"]);
  const enabled = optionalBoolean(body, "enabled") ?? true;
  if (body.toolIds === undefined) {
    return { toolIds: [string(body, "toolId")], field: "toolId", enabled };
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
  return { toolIds: [...new Set(ids as string[])], field: "toolIds", enabled };
}

/** A parsed `POST /gateways/:id/keys` body. */
export interface GatewayKeyInput {
  name: string;
  scopes: string[];
  expiresAt: string | null;
}

/** Reads a gateway key request; scopes default to all of {@link GATEWAY_SCOPES}. */
export function parseGatewayKeyInput(body: Body): GatewayKeyInput {
  onlyFields(body, ["name", "scopes", "expiresAt"]);
  const name = string(body, "name", { max: 200 });
  const s = body.scopes ?? [...GATEWAY_SCOPES];
  if (
    !Array.isArray(s) || s.length === 0 ||
    s.some((x) => !(GATEWAY_SCOPES as readonly unknown[]).includes(x))
  ) {
    throw invalid("scopes", `scopes must be a non-empty list of: ${GATEWAY_SCOPES.join(", ")}`);
  }
  return {
    name,
    scopes: [...new Set(s as string[])],
    expiresAt: optionalFutureTime(body, "expiresAt") ?? null,
  };
}

/** A parsed `POST /gateways/:id/auth` body. */
export interface AuthMethodInput {
  type: typeof AUTH_METHOD_TYPES[number];
  configuration: Record<string, unknown>;
}

/** Reads an auth method request. Neither `api_key` nor `none` takes settings yet. */
export function parseAuthMethodInput(body: Body): AuthMethodInput {
  onlyFields(body, ["type", "configuration"]);
  const type = oneOf(body, "type", AUTH_METHOD_TYPES);
  const configuration = optionalObject(body, "configuration") ?? {};
  const first = Object.keys(configuration)[0];
  // Refused rather than stored: a setting we ignore would look like it took effect.
  if (first !== undefined) {
    throw invalid(`configuration.${first}`, `the '${type}' method takes no configuration`);
  }
  return { type, configuration };
}
