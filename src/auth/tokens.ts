/**
 * Generation and hashing of the bearer credentials Gatehouse issues
 * (management access keys and gateway keys). Raw values are shown once;
 * only their SHA-256 hashes are stored.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Prefix of management API access keys. */
export const ACCESS_KEY_PREFIX = "gha_";
/** Prefix of gateway (MCP client) keys. */
export const GATEWAY_KEY_PREFIX = "ghk_";
/** Prefix of invitation tokens (one-time, for joining an organization). */
export const INVITATION_PREFIX = "ghi_";

/** Returns a new random credential: `prefix` followed by 32 random bytes in base64url. */
export function generateToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * The hex SHA-256 of `raw`. Synchronous on purpose: it runs on every
 * authenticated request, where an async digest would only add a microtask hop.
 */
export function hashToken(raw: string): string {
  return createHash("sha256").update(raw).digest("hex");
}

/** The part of a raw credential that may be shown again to identify it (never enough to use it). */
export function displayPrefix(raw: string): string {
  return raw.slice(0, 10);
}
