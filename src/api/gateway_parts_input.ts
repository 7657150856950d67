/**
 * Parsing of the bodies that configure one gateway: tool assignments and
 * gateway keys (auth methods: `auth_method_input.ts`).
 *
 * @module
 */
import { GATEHOUSE_SCOPES, isScope } from "../auth/scopes.ts";
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
    !Array.isArray(s) || s.length === 0 || !s.every(isScope)
  ) {
    throw invalid("scopes", `scopes must be a non-empty list of: ${GATEWAY_SCOPES.join(", ")}`);
  }
  return {
    name,
    scopes: [...new Set(s as string[])],
    expiresAt: optionalFutureTime(body, "expiresAt") ?? null,
  };
}
