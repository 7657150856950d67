/**
 * Errors the store raises for conditions callers must tell apart.
 *
 * @module
 */

/**
 * A write would break a rule about the data as it stands: a uniqueness rule
 * (a duplicate slug, endpoint, name...) or an invariant such as "an org keeps
 * at least one owner". The same request may succeed once the data changes.
 */
export class ConflictError extends Error {
  /** The request field whose value causes the conflict. */
  readonly field: string;
  /** Creates the error for `field`. */
  constructor(field: string, message: string) {
    super(message);
    this.name = "ConflictError";
    this.field = field;
  }
}

const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;

/** True when `err` is SQLite's unique or primary-key constraint failure. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { errcode?: number } | null)?.errcode;
  return code === SQLITE_CONSTRAINT_UNIQUE || code === SQLITE_CONSTRAINT_PRIMARYKEY;
}

/** Runs `fn`, turning a unique violation into a {@link ConflictError} on `field`. */
export function uniqueOr<T>(field: string, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(field, message);
    throw err;
  }
}
