import { BUILD_STATUSES, COPY_STATUSES, SEND_STATUSES, type BuildStatus, type CopyStatus, type SendStatus } from '../contract/statuses.js';
import type { RecipientRow } from './recipients.js';
import type { Db } from './sql.js';

export interface RecipientFilter {
  sendStatus?: SendStatus;
  buildStatus?: BuildStatus;
  copyStatus?: CopyStatus;
}

const where = (db: Db, campaignId: string, f: RecipientFilter) => db`
  WHERE campaign_id = ${campaignId}
    ${f.sendStatus ? db`AND send_status = ${f.sendStatus}` : db``}
    ${f.buildStatus ? db`AND build_status = ${f.buildStatus}` : db``}
    ${f.copyStatus ? db`AND copy_status = ${f.copyStatus}` : db``}`;

/** A page of recipients in list order; `afterId` is the last id of the previous page. */
export async function listRecipients(
  db: Db,
  campaignId: string,
  f: RecipientFilter & { afterId?: number; limit: number },
): Promise<RecipientRow[]> {
  return db<RecipientRow[]>`
    SELECT * FROM recipients ${where(db, campaignId, f)}
      ${f.afterId ? db`AND id > ${f.afterId}` : db``}
    ORDER BY id LIMIT ${f.limit}`;
}

/** Every recipient in list order, `batch` rows at a time, through a server-side cursor. */
export function recipientCursor(db: Db, campaignId: string, batch: number) {
  return db<RecipientRow[]>`SELECT * FROM recipients WHERE campaign_id = ${campaignId} ORDER BY id`.cursor(batch);
}

export interface StatusCounts {
  build: Record<BuildStatus, number>;
  send: Record<SendStatus, number>;
  copy: Record<CopyStatus, number>;
}

/** How many recipients are in each build, send and Sent-copy status; every status is present. */
export async function statusCounts(db: Db, campaignId: string): Promise<StatusCounts> {
  const rows = await db<{ kind: keyof StatusCounts; status: string; n: number }[]>`
    SELECT 'build' AS kind, build_status AS status, count(*)::int AS n FROM recipients WHERE campaign_id = ${campaignId} GROUP BY build_status
    UNION ALL
    SELECT 'send', send_status, count(*)::int FROM recipients WHERE campaign_id = ${campaignId} GROUP BY send_status
    UNION ALL
    SELECT 'copy', copy_status, count(*)::int FROM recipients WHERE campaign_id = ${campaignId} GROUP BY copy_status`;
  const zero = <T extends string>(all: readonly T[]) => Object.fromEntries(all.map((s) => [s, 0])) as Record<T, number>;
  const out: StatusCounts = { build: zero(BUILD_STATUSES), send: zero(SEND_STATUSES), copy: zero(COPY_STATUSES) };
  for (const r of rows) (out[r.kind] as Record<string, number>)[r.status] = r.n;
  return out;
}
