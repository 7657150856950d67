/**
 * Errors the store raises for conditions callers must tell apart.
 *
 * @module
 */
import { UniqueViolation } from "./sql.ts";

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

/** Runs `fn`, turning a unique violation into a {@link ConflictError} on `field`. */
export async function uniqueOr<T>(
  field: string,
  message: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UniqueViolation) throw new ConflictError(field, message);
    throw err;
  }
}
