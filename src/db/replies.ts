import type { AnswerKind } from '../contract/statuses.js';
import type { Db } from './sql.js';

// Answers to a campaign's messages found in the account's INBOX (src/bounces/replies.ts), kept on
// the recipient beside the send status: the kind, when it was found, the answer's Message-ID.

/**
 * Records an answer to the message a recipient got. A person's reply replaces an automatic
 * answer; nothing else replaces what is recorded, so a message read again changes nothing.
 * Answers whether the recipient's answer changed.
 */
export async function recordAnswer(db: Db, a: { campaignId: string; recipientId: number; kind: AnswerKind; messageId: string | null }): Promise<boolean> {
  const rows = await db`
    UPDATE recipients SET reply_kind = ${a.kind}, replied_at = now(), reply_message_id = ${a.messageId}, updated_at = now()
    WHERE campaign_id = ${a.campaignId} AND id = ${a.recipientId}
      AND (reply_kind IS NULL OR (reply_kind = 'auto_replied' AND ${a.kind} = 'replied'))
    RETURNING id`;
  return rows.length > 0;
}

