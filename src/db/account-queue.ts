import { sendable } from './recipients.js';
import type { Db } from './sql.js';

// What an account still has to send: the messages its campaigns have not sent yet. The schedule
// a reviewer sees is planned from it.

export interface QueuedCampaign {
  id: string;
  status: string;
  decidedAt: Date | null;
  /** Sendable recipients that have not been sent (nor failed, nor been skipped) yet. */
  remaining: number;
}

/**
 * The account's unfinished campaigns that will send, with what each has left. The configured
 * `default` account is one account for every tenant (its limits are shared), so its queue is too.
 * `except`: a campaign the caller has counted already; then only the others that are sending (what
 * is queued ahead of it) are read, and its own list is not read again.
 */
export async function accountQueue(db: Db, tenant: string, account: string, except?: string): Promise<QueuedCampaign[]> {
  return db<QueuedCampaign[]>`
    SELECT c.id, c.status, c.decided_at,
           (SELECT count(*)::int FROM recipients
            WHERE campaign_id = c.id AND send_status IN ('pending', 'sending') AND ${sendable(db)}) AS remaining
    FROM campaigns c
    WHERE c.account = ${account} AND (${account} = 'default' OR c.tenant = ${tenant})
      AND c.status IN ('awaiting_review', 'scheduled', 'sending', 'paused')
      ${except === undefined ? db`` : db`AND c.id <> ${except} AND c.status = 'sending'`}`;
}
