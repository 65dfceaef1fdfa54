import { Refusal } from '../contract/refusal.js';
import { appendAudit } from '../db/audit.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { Sql } from '../db/sql.js';

const notAwaiting = (status: string | undefined) => new Refusal('conflict', `the campaign is ${status}, not awaiting review`, { status });

/**
 * Includes or leaves out one needs_review recipient of a campaign awaiting review, recording who
 * decided. Checked again under the campaign row's lock: an approval committing at the same moment
 * either sees this decision or refuses it, never accepts one the approval skipped.
 */
export async function decideRecipient(
  sql: Sql,
  who: { tenant: string; principal: string },
  c: { id: string; status: string },
  r: { id: number; email: string; buildStatus: string },
  include: boolean,
): Promise<void> {
  if (c.status !== 'awaiting_review') throw notAwaiting(c.status);
  if (r.buildStatus !== 'needs_review') {
    // `status` is the campaign's in every 409 (a client reads it as such); the recipient's is beside it.
    throw new Refusal('conflict', `recipient ${r.id} is ${r.buildStatus}; only needs_review recipients take a decision`, { status: c.status, buildStatus: r.buildStatus });
  }
  await sql.begin(async (tx) => {
    const status = await campaigns.lockCampaignStatus(tx, c.id);
    if (status !== 'awaiting_review') throw notAwaiting(status);
    await recipients.setIncluded(tx, c.id, r.id, include);
    await appendAudit(tx, { tenant: who.tenant, principal: who.principal, action: 'recipient.decision', campaignId: c.id, subject: String(r.id), details: { include, email: r.email } });
  });
}
