import type { LedgerState } from '../contract/statuses.js';
import type { Db, Sql } from './sql.js';
import { updateSendStatus } from './recipients.js';

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

/**
 * An attempt says it exists: the recipient's send rank rises to `rank` (the time Temporal
 * scheduled the attempt, so a replacement always ranks higher). Answers false when a later
 * attempt has registered already: this one has been replaced and must not send.
 */
export async function registerAttempt(db: Db, campaignId: string, recipientId: number, rank: number): Promise<boolean> {
  const [row] = await db<{ mine: boolean }[]>`
    UPDATE recipients SET send_rank = GREATEST(COALESCE(send_rank, 0), ${rank}::bigint)
    WHERE campaign_id = ${campaignId} AND id = ${recipientId}
    RETURNING send_rank = ${rank}::bigint AS mine`;
  return row?.mine ?? false;
}

export type Claim =
  /** This attempt owns the message and may start the SMTP transaction now. */
  | { kind: 'claimed' }
  /** A later attempt exists: this one never starts SMTP. */
  | { kind: 'replaced' }
  /** The message went out already (or its outcome is unknown and held): nothing to send. */
  | { kind: 'done'; row: LedgerRow }
  /** An earlier attempt entered SMTP and recorded no outcome: it died there, or is still there. */
  | { kind: 'earlier-in-smtp'; row: LedgerRow };

export interface ClaimRequest {
  messageId: string;
  campaignId: string;
  recipientId: number;
  messageDate: Date;
  sha256: string;
  size: number;
  account: string;
  rank: number;
  owner: string;
  /** Take the message over from an earlier attempt that is (or was) inside SMTP. */
  takeOver?: boolean;
}

/**
 * The last step before SMTP, in one transaction under the recipient row's lock: the message is
 * claimed for this attempt only while the attempt still holds the recipient's send rank and no
 * other attempt is inside (or died inside) the SMTP transaction, unless `takeOver` says to.
 */
export async function claimMessage(sql: Sql, c: ClaimRequest): Promise<Claim> {
  return sql.begin(async (tx): Promise<Claim> => {
    const [r] = await tx<{ mine: boolean }[]>`
      SELECT send_rank = ${c.rank}::bigint AS mine FROM recipients
      WHERE campaign_id = ${c.campaignId} AND id = ${c.recipientId} FOR UPDATE`;
    if (!r?.mine) return { kind: 'replaced' };
    const [row] = await tx<(LedgerRow & { mine: boolean })[]>`
      SELECT message_id, campaign_id, recipient_id, state, attempts, message_date, sha256, size, smtp_response,
             started_at, finished_at, owner, owner_rank = ${c.rank}::bigint AS mine
      FROM delivery_ledger WHERE campaign_id = ${c.campaignId} AND recipient_id = ${c.recipientId}`;
    if (row && (row.state === 'sent' || row.state === 'unknown')) return { kind: 'done', row };
    if (row && row.state === 'sending' && !row.mine && !c.takeOver) return { kind: 'earlier-in-smtp', row };
    await tx`
      INSERT INTO delivery_ledger (message_id, campaign_id, recipient_id, state, message_date, sha256, size, account, owner_rank, owner)
      VALUES (${c.messageId}, ${c.campaignId}, ${c.recipientId}, 'sending', ${c.messageDate}, ${c.sha256}, ${c.size}, ${c.account},
              ${c.rank}::bigint, ${c.owner})
      ON CONFLICT (message_id) DO UPDATE SET
        state = 'sending', attempts = delivery_ledger.attempts + 1, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
        owner_rank = EXCLUDED.owner_rank, owner = EXCLUDED.owner, started_at = now(), finished_at = NULL`;
    await updateSendStatus(tx, c.campaignId, c.recipientId, { sendStatus: 'sending', messageId: c.messageId });
    return { kind: 'claimed' };
  });
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

/** Records an SMTP transaction's outcome in the ledger and on the recipient, in one transaction. */
export async function recordOutcome(sql: Sql, o: SendOutcomeRecord): Promise<void> {
  await sql.begin(async (tx) => {
    await finishAttempt(tx, o.messageId, o.state, o.smtpResponse);
    if (o.state === 'sent') {
      await updateSendStatus(tx, o.campaignId, o.recipientId, {
        sendStatus: 'sent',
        messageId: o.messageId,
        copyStatus: o.copyRequested ? 'pending' : 'not_requested',
        smtpResponse: o.smtpResponse,
        sentAt: new Date(o.at),
      });
    } else {
      await updateSendStatus(tx, o.campaignId, o.recipientId, {
        sendStatus: 'failed',
        messageId: o.messageId,
        smtpResponse: o.smtpResponse,
        error: `refused by the SMTP server: ${o.smtpResponse}`,
      });
    }
  });
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
