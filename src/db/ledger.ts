import type { LedgerState } from '../contract/statuses.js';
import type { Db } from './sql.js';

export interface LedgerRow {
  messageId: string;
  campaignId: string;
  recipientId: number;
  state: LedgerState;
  attempts: number;
  messageDate: Date;
  sha256: string | null;
  size: number | null;
  smtpResponse: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export async function getLedger(db: Db, campaignId: string, recipientId: number): Promise<LedgerRow | undefined> {
  const [row] = await db<LedgerRow[]>`
    SELECT * FROM delivery_ledger WHERE campaign_id = ${campaignId} AND recipient_id = ${recipientId}`;
  return row;
}

/**
 * Records that an SMTP transaction is about to start. The first attempt fixes the message's
 * Date; later attempts keep it so every attempt builds the same bytes.
 */
export async function beginAttempt(
  db: Db,
  e: { messageId: string; campaignId: string; recipientId: number; messageDate: Date; sha256: string; size: number; account: string },
): Promise<void> {
  await db`
    INSERT INTO delivery_ledger (message_id, campaign_id, recipient_id, state, message_date, sha256, size, account)
    VALUES (${e.messageId}, ${e.campaignId}, ${e.recipientId}, 'sending', ${e.messageDate}, ${e.sha256}, ${e.size}, ${e.account})
    ON CONFLICT (message_id) DO UPDATE SET
      state = 'sending', attempts = delivery_ledger.attempts + 1, sha256 = EXCLUDED.sha256,
      size = EXCLUDED.size, started_at = now(), finished_at = NULL`;
}

export async function finishAttempt(
  db: Db,
  messageId: string,
  state: Exclude<LedgerState, 'sending'>,
  smtpResponse: string | null,
): Promise<void> {
  await db`
    UPDATE delivery_ledger SET state = ${state}, smtp_response = ${smtpResponse}, finished_at = now()
    WHERE message_id = ${messageId}`;
}
