/**
 * Small helpers shared by the store's repositories.
 *
 * @module
 */

/** A fresh random identifier for a new row. */
export function newId(): string {
  return crypto.randomUUID();
}

/** The current time as an ISO-8601 string, the form every timestamp column holds. */
export function now(): string {
  return new Date().toISOString();
}

/** Parses a JSON column, keeping `null` as `undefined`. */
export function parseJson<T>(text: unknown): T | undefined {
  return typeof text === "string" ? JSON.parse(text) as T : undefined;
}

/** Serialises an optional value for a nullable JSON column. */
export function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
