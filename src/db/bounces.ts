import type { Db } from './sql.js';

export interface MailboxPosition {
  uidValidity: number;
  lastUid: number;
}

/** How far the bounce check has read a mailbox (`default` or `<tenant>/<account>`). */
export async function mailboxPosition(db: Db, mailbox: string): Promise<MailboxPosition | undefined> {
  const [row] = await db<{ uidValidity: string; lastUid: string }[]>`
    SELECT uid_validity::text, last_uid::text FROM bounce_mailboxes WHERE mailbox = ${mailbox}`;
  return row && { uidValidity: Number(row.uidValidity), lastUid: Number(row.lastUid) };
}

export async function saveMailboxPosition(db: Db, mailbox: string, p: MailboxPosition): Promise<void> {
  await db`
    INSERT INTO bounce_mailboxes (mailbox, uid_validity, last_uid) VALUES (${mailbox}, ${p.uidValidity}, ${p.lastUid})
    ON CONFLICT (mailbox) DO UPDATE SET uid_validity = EXCLUDED.uid_validity, last_uid = EXCLUDED.last_uid, checked_at = now()`;
}

export interface SentMessage {
  campaignId: string;
  recipientId: number;
  tenant: string;
  account: string;
  /** The recipient's address (To): the only address a bounce of this message can suppress. */
  email: string;
}

/**
 * The message this installation sent to this recipient of this campaign, when its ledger row
 * carries exactly this Message-ID (compared without regard to case, as some servers fold it).
 */
export async function sentMessage(db: Db, m: { campaignId: string; recipientId: number; messageId: string }): Promise<SentMessage | undefined> {
  const [row] = await db<SentMessage[]>`
    SELECT l.campaign_id, l.recipient_id, c.tenant, c.account, r.email
    FROM delivery_ledger l
    JOIN campaigns c ON c.id = l.campaign_id
    JOIN recipients r ON r.campaign_id = l.campaign_id AND r.id = l.recipient_id
    WHERE l.campaign_id = ${m.campaignId} AND l.recipient_id = ${m.recipientId}
      AND lower(l.message_id) = lower(${m.messageId}) AND l.state = 'sent'`;
  return row;
}

export interface BounceRecord {
  campaignId: string;
  recipientId: number;
  address: string;
  mailbox: string;
  uidValidity: number;
  uid: number;
  action: string;
  status: string;
  diagnosticCode?: string;
  reportedBy?: string;
}

/** Records a bounce once; answers false when it was recorded already (a message read twice). */
export async function insertBounce(db: Db, b: BounceRecord): Promise<boolean> {
  const rows = await db`
    INSERT INTO bounces (campaign_id, recipient_id, address, mailbox, uid_validity, uid, action, status, diagnostic_code, reported_by)
    VALUES (${b.campaignId}, ${b.recipientId}, ${b.address}, ${b.mailbox}, ${b.uidValidity}, ${b.uid}, ${b.action}, ${b.status},
            ${b.diagnosticCode ?? null}, ${b.reportedBy ?? null})
    ON CONFLICT DO NOTHING RETURNING address`;
  return rows.length > 0;
}

/** The recipient's send status becomes `bounced`, with the DSN's status and diagnostic code, if it was sent. */
export async function markBounced(db: Db, campaignId: string, recipientId: number, error: string): Promise<void> {
  await db`
    UPDATE recipients SET send_status = 'bounced', error = ${error}, updated_at = now()
    WHERE campaign_id = ${campaignId} AND id = ${recipientId} AND send_status = 'sent'`;
}

/** Every stored account that has IMAP, as `<tenant>/<name>`. */
export async function mailboxesWithImap(db: Db): Promise<string[]> {
  const rows = await db<{ mailbox: string }[]>`SELECT tenant || '/' || name AS mailbox FROM accounts WHERE imap IS NOT NULL ORDER BY 1`;
  return rows.map((r) => r.mailbox);
}
