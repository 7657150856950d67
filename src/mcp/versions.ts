/**
 * The MCP protocol versions Gatehouse speaks, and how a requested version is
 * negotiated.
 *
 * @module
 */

/** Session-based ("legacy era") versions, oldest first. */
export const LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] as const;
/** The stateless era: no initialize, per-request `_meta`. */
export const STATELESS_VERSION = "2026-07-28";
/** Every version served, oldest first. */
export const SUPPORTED_VERSIONS: readonly string[] = [...LEGACY_VERSIONS, STATELESS_VERSION];
/** The newest session-based version: the answer to an unknown version in `initialize`. */
export const LATEST_LEGACY = LEGACY_VERSIONS[LEGACY_VERSIONS.length - 1];
/** The version assumed for HTTP requests that name none (spec: 2025-03-26). */
export const DEFAULT_HTTP_VERSION = "2025-03-26";

/** The version to answer an `initialize` for `requested` with. */
export function negotiate(requested: unknown): string {
  return typeof requested === "string" &&
      (LEGACY_VERSIONS as readonly string[]).includes(requested)
    ? requested
    : LATEST_LEGACY;
}

/** True when `version` is served in the session-based era. */
export function isLegacyVersion(version: string): boolean {
  return (LEGACY_VERSIONS as readonly string[]).includes(version);
}

/** True when JSON-RPC batches must be accepted under `version` (they were dropped in 2025-06-18). */
export function acceptsBatches(version: string): boolean {
  return version === "2024-11-05" || version === "2025-03-26";
}
