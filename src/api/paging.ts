import { z } from 'zod';
import { INT4_MAX, queryInt, SAFE_BIGINT_MAX } from '../contract/input.js';

// The one paging style of every list route: `?limit=&cursor=` in, `{ items, nextCursor }` out.
// `cursor` is opaque to clients: the position of the previous page's last item, handed back as
// `nextCursor`, which is absent on the last page. Where clients sent `after` before (the review
// and the suppression list), it is accepted as the deprecated name of `cursor`.

/** Items per page: one default and one maximum for every list route (PAGE_MAX_ITEMS may lower it). */
export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;

/** Cursors of tables keyed by a bigint (campaign sequence, audit id), an integer (recipients), or an address. */
export const bigintCursor = queryInt({ min: 0, max: SAFE_BIGINT_MAX });
export const intCursor = queryInt({ min: 0, max: INT4_MAX });
export const emailCursor = z.string().max(320).optional();

/**
 * The query of a list route: `limit`, `cursor` and the route's own filters, strict. With
 * `afterAlias`, `after` too (`cursor` wins when both come): handlers read `cursor`, whichever
 * name the client used.
 */
export function pageQuery<C extends z.ZodType, S extends z.ZodRawShape = Record<never, z.ZodType>>(
  cursor: C,
  filters: S = {} as S,
  o: { afterAlias?: boolean } = {},
): z.ZodType<{ limit: number; cursor: z.output<C> } & z.output<z.ZodObject<S>>, unknown> {
  const after = o.afterAlias ? { after: cursor.meta({ deprecated: true, description: 'deprecated: the old name of `cursor`' }) } : {};
  const query = z.object({ limit: queryInt(PAGE_LIMIT), cursor, ...after, ...filters }).strict() as unknown as z.ZodType<Record<string, unknown>, unknown>;
  return query.transform(({ after, ...q }) => ({ ...q, cursor: q.cursor ?? after })) as never;
}

/** `{ items, nextCursor }` from `limit + 1` rows: nextCursor is absent on the last page. */
export function page<T>(rows: T[], limit: number, position: (row: T) => number | string) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? String(position(last)) : undefined };
}
