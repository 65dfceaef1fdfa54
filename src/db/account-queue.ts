import { sendable } from './recipients.js';
import type { Db } from './sql.js';

// What an account still has to send: the messages its campaigns have not sent yet. The schedule
// a reviewer sees is planned from it.

/** A campaign of the account that is sending now, and when it was approved. */
export interface SendingCampaign {
  id: string;
  decidedAt: Date | null;
}

/**
 * The account's campaigns that are sending now. The configured `default` account is one account
 * for every tenant (its limits are shared), so its queue is too. Reads campaigns only, never a list.
 */
export async function sendingCampaigns(db: Db, tenant: string, account: string): Promise<SendingCampaign[]> {
  return db<SendingCampaign[]>`
    SELECT id, decided_at FROM campaigns
    WHERE account = ${account} AND (${account} = 'default' OR tenant = ${tenant}) AND status = 'sending'`;
}

/**
 * What each campaign has left to send: sendable recipients that have not been sent (nor failed,
 * nor been skipped) yet, in one statement. A campaign with nothing left is absent.
 */
export async function remainingOf(db: Db, campaignIds: readonly string[]): Promise<Map<string, number>> {
  if (campaignIds.length === 0) return new Map();
  const rows = await db<{ campaignId: string; n: number }[]>`
    SELECT campaign_id, count(*)::int AS n FROM recipients
    WHERE campaign_id = ANY(${campaignIds as string[]}::uuid[]) AND send_status IN ('pending', 'sending') AND ${sendable(db)}
    GROUP BY campaign_id`;
  return new Map(rows.map((r) => [r.campaignId, r.n]));
}
