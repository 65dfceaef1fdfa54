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
 */
export async function accountQueue(db: Db, tenant: string, account: string): Promise<QueuedCampaign[]> {
  return db<QueuedCampaign[]>`
    SELECT c.id, c.status, c.decided_at,
           (SELECT count(*)::int FROM recipients
            WHERE campaign_id = c.id AND send_status IN ('pending', 'sending') AND ${sendable(db)}) AS remaining
    FROM campaigns c
    WHERE c.account = ${account} AND (${account} = 'default' OR c.tenant = ${tenant})
      AND c.status IN ('awaiting_review', 'scheduled', 'sending', 'paused')`;
}
