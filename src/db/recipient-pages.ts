import type { BuildStatus, CopyStatus, SendStatus } from '../contract/statuses.js';
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
