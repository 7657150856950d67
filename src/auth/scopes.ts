/**
 * The scopes Gatehouse grants on gateways, in one place: gateway keys, OAuth
 * tokens, JWTs, Basic sign-ins and the MCP dispatcher all speak of these and
 * nothing else.
 *
 * @module
 */
import type { Role } from "../store/orgs.ts";

/** Every scope, in the order it is shown: list the tools, call them. */
export const GATEHOUSE_SCOPES = ["tools:read", "tools:execute"] as const;
/** One scope. */
export type Scope = typeof GATEHOUSE_SCOPES[number];

/** All scopes as a set, shared by every principal that holds them all. */
export const ALL_SCOPES: ReadonlySet<string> = new Set(GATEHOUSE_SCOPES);
/** What a viewer may hold: viewers read, they do not run tools. */
export const VIEWER_SCOPES: ReadonlySet<string> = new Set(["tools:read"]);

/** True when `value` is one of {@link GATEHOUSE_SCOPES}. */
export function isScope(value: unknown): value is Scope {
  return (GATEHOUSE_SCOPES as readonly unknown[]).includes(value);
}

/** The scopes of `granted` that a member with `role` may hold. */
export function scopesForRole(granted: readonly string[], role: Role): string[] {
  return role === "viewer" ? granted.filter((s) => VIEWER_SCOPES.has(s)) : [...granted];
}
