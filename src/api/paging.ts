import { INT4_MAX, queryInt, SAFE_BIGINT_MAX } from '../contract/input.js';

/**
 * `limit` and an opaque `cursor` (the position of the last row of the previous page), range-checked
 * against the column the cursor is compared with: bigint by default, `cursorMax` for an integer one.
 */
export const pageQueryOf = (cursorMax: number) => ({
  limit: queryInt({ min: 1, max: 500, default: 50 }),
  cursor: queryInt({ min: 0, max: cursorMax }),
});
export const pageQuery = pageQueryOf(SAFE_BIGINT_MAX);
/** For tables keyed by a PostgreSQL `integer` (recipients). */
export const intPageQuery = pageQueryOf(INT4_MAX);

/** `{ items, nextCursor }`: nextCursor is absent on the last page. */
export function page<T>(rows: T[], limit: number, position: (row: T) => number | string) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? String(position(last)) : undefined };
}
