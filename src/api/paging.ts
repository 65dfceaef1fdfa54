import { z } from 'zod';

/** `limit` and an opaque `cursor` (the position of the last row of the previous page). */
export const pageQuery = {
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, 'is not a cursor from a previous page')
    .transform(Number)
    .optional(),
};

/** `{ items, nextCursor }`: nextCursor is absent on the last page. */
export function page<T>(rows: T[], limit: number, position: (row: T) => number | string) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? String(position(last)) : undefined };
}
