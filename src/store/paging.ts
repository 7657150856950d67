/**
 * Keyset paging for the store's lists. A list is read in a fixed order
 * (its sort columns, then `id` to break ties) and a page starts strictly
 * after the key of the last row the previous page held, so rows added or
 * removed meanwhile never shift a page: nothing is skipped or repeated that
 * existed throughout. The key is the values of the sort columns, in order.
 *
 * What a key looks like on the wire (the cursor) is the API's business; the
 * store only takes keys back and compares them with row values in SQL.
 *
 * @module
 */
import type { Row } from "./sql.ts";

/** The key of one row in its list's order: the sort columns' values, `id` last. */
export type PageKey = readonly string[];

/** Which page of a list to read. */
export interface PageRequest {
  /** Rows strictly after this key; absent for the first page. */
  after?: PageKey;
  /** The most rows the page holds (at least 1). */
  limit: number;
}

/** One page of a list. */
export interface Page<T> {
  items: T[];
  /** The key of the page's last row when more rows follow; absent on the last page. */
  next?: PageKey;
}

/**
 * A page from `rows`, read with `LIMIT limit + 1` so that one extra row
 * tells whether another page follows; `keyOf` gives a row's key.
 */
export function pageOf<T>(
  rows: Row[],
  limit: number,
  keyOf: (r: Row) => PageKey,
  toItem: (r: Row) => T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items: kept.map(toItem) };
  if (more) page.next = keyOf(kept[kept.length - 1]);
  return page;
}

/** Checks a request the API should already have checked; a bad one is a programming error. */
export function checkRequest(req: PageRequest, keyLength: number): void {
  if (!Number.isInteger(req.limit) || req.limit < 1) {
    throw new RangeError(`page limit must be a positive integer, not ${req.limit}`);
  }
  if (
    req.after && (req.after.length !== keyLength || req.after.some((v) => typeof v !== "string"))
  ) {
    throw new RangeError(`a page key of this list has ${keyLength} strings`);
  }
}
