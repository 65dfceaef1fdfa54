import type { FollowUpSource } from './campaigns.js';
import type { CampaignStatus } from '../contract/statuses.js';
import type { RecipientRow } from './recipients.js';
import type { Db } from './sql.js';

export interface FollowUpRow {
  id: string;
  name: string;
  status: CampaignStatus;
  createdAt: Date;
}

/** The campaign a follow-up resends from, if `id` is one. */
export async function followUpOf(db: Db, id: string): Promise<string | undefined> {
  const [row] = await db<{ of: string }[]>`
    SELECT source->>'campaignId' AS of FROM campaigns WHERE id = ${id} AND source->>'type' = 'campaign'`;
  return row?.of;
}

/** The tenant's follow-ups of campaign `id`, oldest first. */
export async function followUpsOf(db: Db, tenant: string, id: string): Promise<FollowUpRow[]> {
  return db<FollowUpRow[]>`
    SELECT id, name, status, created_at FROM campaigns
    WHERE tenant = ${tenant} AND source->>'type' = 'campaign' AND source->>'campaignId' = ${id}
    ORDER BY seq`;
}

// What a follow-up campaign reads of its original: the recipients in the chosen send statuses
// (and, for a reminder, whether they replied), and how each of them ended there.

/** The reminder's rule: `replied: false` keeps those without a person's reply (an automatic answer is none). */
const answered = (db: Db, source: FollowUpSource) =>
  source.replied === undefined ? db`` : db`AND (reply_kind IS NOT DISTINCT FROM 'replied') = ${source.replied}`;

/**
 * One of the original's recipients, and for a threaded follow-up the Message-ID the ledger holds
 * as sent to it (null when it was never sent, or the follow-up is not threaded): the follow-up's
 * message to this address answers it (In-Reply-To), and its References are that message's
 * References followed by its Message-ID (RFC 5322 §3.6.4), so a reminder of a reminder still
 * names the first message of the conversation.
 */
export type PreviousRecipient = Pick<RecipientRow, 'id' | 'email' | 'name' | 'vars' | 'cc' | 'bcc' | 'threadMessageId' | 'threadReferences'>;

/** How many of the original's recipients are in the chosen statuses; undefined when it is not the tenant's. */
export async function previousRecipientCount(db: Db, tenant: string, source: FollowUpSource): Promise<number | undefined> {
  const [original] = await db<{ n: number }[]>`
    SELECT (SELECT count(*)::int FROM recipients WHERE campaign_id = c.id AND send_status = ANY(${source.sendStatus}::text[]) ${answered(db, source)}) AS n
    FROM campaigns c WHERE c.id = ${source.campaignId} AND c.tenant = ${tenant}`;
  return original?.n;
}

/** The next page of the original's recipients in the chosen statuses, after recipient `after`, in list order. */
export async function previousRecipients(db: Db, source: FollowUpSource, after: number, limit: number): Promise<PreviousRecipient[]> {
  // The parent's References: its stored chain, or (a row made before the chain was kept) its In-Reply-To alone.
  const thread = source.threaded
    ? db`t.message_id AS thread_message_id, CASE WHEN t.message_id IS NOT NULL THEN concat_ws(' ', coalesce(r.thread_references, r.thread_message_id), t.message_id) END AS thread_references
         FROM recipients r LEFT JOIN delivery_ledger t ON t.campaign_id = r.campaign_id AND t.recipient_id = r.id AND t.state = 'sent'`
    : db`NULL AS thread_message_id, NULL AS thread_references FROM recipients r`;
  return db<PreviousRecipient[]>`
    SELECT r.id, r.email, r.name, r.vars, r.cc, r.bcc, ${thread}
    WHERE r.campaign_id = ${source.campaignId} AND r.send_status = ANY(${source.sendStatus}::text[]) ${answered(db, source)} AND r.id > ${after}
    ORDER BY r.id LIMIT ${limit}`;
}

/**
 * Shows the reviewer why each address is sent again: a `previous-send: <status>: <SMTP reply or
 * error>` reason from the original campaign, and `ready` becomes `warning` so the review lists it.
 * Matched by address (case-insensitive); run again after a retried build, it adds nothing twice.
 */
export async function markPreviousOutcomes(db: Db, campaignId: string, source: FollowUpSource): Promise<void> {
  await db`
    UPDATE recipients r SET
      build_status = CASE WHEN r.build_status = 'ready' THEN 'warning' ELSE r.build_status END,
      build_reasons = r.build_reasons || ('previous-send: ' || o.send_status || COALESCE(': ' || o.said, '')),
      updated_at = now()
    FROM (
      SELECT DISTINCT ON (lower(email)) lower(email) AS email, send_status,
             CASE WHEN send_status = 'failed' THEN COALESCE(smtp_response, error) ELSE COALESCE(error, smtp_response) END AS said
      FROM recipients
      WHERE campaign_id = ${source.campaignId} AND send_status = ANY(${source.sendStatus}::text[]) ${answered(db, source)}
      ORDER BY lower(email), id
    ) o
    WHERE r.campaign_id = ${campaignId} AND lower(r.email) = o.email
      AND NOT EXISTS (SELECT 1 FROM unnest(r.build_reasons) AS reason WHERE reason LIKE 'previous-send:%')`;
}
