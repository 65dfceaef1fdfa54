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
  /** Who ran the attempt that last entered the SMTP transaction. */
  owner: string | null;
}

export async function getLedger(db: Db, campaignId: string, recipientId: number): Promise<LedgerRow | undefined> {
  const [row] = await db<LedgerRow[]>`
    SELECT message_id, campaign_id, recipient_id, state, attempts, message_date, sha256, size, smtp_response,
           started_at, finished_at, owner
    FROM delivery_ledger WHERE campaign_id = ${campaignId} AND recipient_id = ${recipientId}`;
  return row;
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

/**
 * What an SMTP transaction ended with, as the send activity hands it on when it could not write
 * it (the database was away): the workflow holds it and records it later. Plain JSON.
 */
export interface SendOutcomeRecord {
  campaignId: string;
  recipientId: number;
  messageId: string;
  /** `sent`, or `failed`: the server refused this recipient for good. */
  state: 'sent' | 'failed';
  smtpResponse: string;
  copyRequested: boolean;
  /** When the server answered (ISO 8601). */
  at: string;
}

/**
 * Records an SMTP transaction's outcome in the ledger and on the recipient: one statement (so one
 * round trip, and both or neither).
 */
export async function recordOutcome(db: Db, o: SendOutcomeRecord): Promise<void> {
  const sent = o.state === 'sent';
  await db`
    WITH ledger AS (
      UPDATE delivery_ledger SET state = ${o.state}, smtp_response = ${o.smtpResponse}, finished_at = now()
      WHERE message_id = ${o.messageId}
    )
    UPDATE recipients SET
      send_status = ${o.state},
      copy_status = CASE WHEN ${sent} THEN ${o.copyRequested ? 'pending' : 'not_requested'} ELSE copy_status END,
      message_id = ${o.messageId},
      smtp_response = ${o.smtpResponse},
      error = ${sent ? null : `refused by the SMTP server: ${o.smtpResponse}`},
      sent_at = CASE WHEN ${sent} THEN ${new Date(o.at)}::timestamptz ELSE sent_at END,
      updated_at = now()
    WHERE campaign_id = ${o.campaignId} AND id = ${o.recipientId}`;
}

/**
 * The campaign's messages sent in the last `minutes` minutes, and the seconds since the first of
 * them: the span the sends really cover (a campaign sending for 40 s has a 40 s window).
 */
export async function recentSends(db: Db, campaignId: string, minutes: number): Promise<{ n: number; seconds: number | null }> {
  const [row] = await db<{ n: number; seconds: number | null }[]>`
    SELECT count(*)::int AS n, extract(epoch FROM now() - min(finished_at))::float8 AS seconds FROM delivery_ledger
    WHERE campaign_id = ${campaignId} AND state = 'sent' AND finished_at > now() - make_interval(mins => ${minutes})`;
  return { n: row?.n ?? 0, seconds: row?.seconds ?? null };
}
