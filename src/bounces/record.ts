import { appendAudit } from '../db/audit.js';
import { insertBounce, markBounced, sentMessage, type SentMessage } from '../db/bounces.js';
import type { Sql } from '../db/sql.js';
import { addSuppressionOnce } from '../db/suppressions.js';
import type { MessageIds } from '../mail/message-id.js';
import type { DeliveryReport, FailedDelivery } from './dsn.js';

// Mail in an INBOX may be written by anyone, a recipient included. A report counts only when:
// - a Message-ID it quotes (the returned message's or headers', else In-Reply-To/References)
//   carries a MAC that verifies (src/mail/message-id.ts), so it names a message this installation
//   made, and the ledger holds that message as sent under exactly that id;
// - that message went through the account whose INBOX holds the report (the `default` account's
//   INBOX is shared: it affects only the tenant whose campaign the quoted message belongs to);
// - it names a failed address (Final-Recipient, Original-Recipient, X-Failed-Recipients) equal to
//   that message's recipient: a report naming none, or another address, counts for nothing, and a
//   Cc or Bcc address is never bounced or suppressed;
// - the failure is permanent (Action: failed, Status 5.x.x): a 4.x.x is a delay, not a bounce.

export interface ReadMessage {
  mailbox: string;
  uidValidity: number;
  uid: number;
}

/** The mailbox a campaign's bounces arrive in: its account's INBOX (`default` is shared by every tenant). */
const mailboxOf = (m: SentMessage) => (m.account === 'default' ? 'default' : `${m.tenant}/${m.account}`);

/**
 * The message of ours `messageId` names, when mail found in `mailbox` may speak of it: its MAC
 * verifies, the ledger holds it as sent under exactly that id, and it went through the account
 * whose INBOX this is. The one rule for bounces and replies alike.
 */
export async function ourSentMessage(sql: Sql, ids: MessageIds, messageId: string, mailbox: string): Promise<SentMessage | undefined> {
  const named = ids.verify(messageId);
  if (!named) return undefined;
  const sent = await sentMessage(sql, { ...named, messageId });
  return sent && mailboxOf(sent) === mailbox ? sent : undefined;
}

/** The message of ours a report is about: the first Message-ID it quotes that is ours (ourSentMessage). */
async function ourMessage(sql: Sql, ids: MessageIds, report: DeliveryReport, mailbox: string): Promise<SentMessage | undefined> {
  for (const messageId of report.messageIds) {
    const sent = await ourSentMessage(sql, ids, messageId, mailbox);
    if (sent) return sent;
  }
  return undefined;
}

/** A permanent failure of exactly this recipient's address. */
const bouncesRecipient = (f: FailedDelivery, sent: SentMessage): f is FailedDelivery & { address: string } =>
  f.action === 'failed' && f.status.startsWith('5.') && f.address !== undefined && f.address === sent.email.toLowerCase();

const describe = (f: FailedDelivery) => `bounced: ${f.status}${f.diagnosticCode ? ` (${f.diagnosticCode})` : ''}`;

/**
 * Records what a delivery report says of a message this installation sent: the recipient
 * `bounced` and the address on the tenant's suppression list, audited as the system. Idempotent:
 * a report read again changes nothing. Answers the bounces and suppressions it added.
 */
export async function recordReport(sql: Sql, ids: MessageIds, report: DeliveryReport, at: ReadMessage): Promise<{ bounces: number; suppressed: number }> {
  const sent = await ourMessage(sql, ids, report, at.mailbox);
  if (!sent) return { bounces: 0, suppressed: 0 };
  const f = report.failures.find((failure) => bouncesRecipient(failure, sent));
  if (!f) return { bounces: 0, suppressed: 0 };
  let bounces = 0;
  let suppressed = 0;
  await sql.begin(async (tx) => {
    if (!(await insertBounce(tx, { ...sent, ...at, ...f, reportedBy: report.reportedBy }))) return;
    bounces++;
    await markBounced(tx, sent.campaignId, sent.recipientId, describe(f));
    if (!(await addSuppressionOnce(tx, sent.tenant, f.address, describe(f)))) return;
    suppressed++;
    await appendAudit(tx, {
      tenant: sent.tenant,
      principal: 'system:bounces',
      action: 'suppression.bounce',
      campaignId: sent.campaignId,
      subject: f.address,
      details: { recipientId: sent.recipientId, status: f.status, diagnosticCode: f.diagnosticCode, mailbox: at.mailbox },
    });
  });
  return { bounces, suppressed };
}
