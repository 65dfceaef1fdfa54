import { appendAudit } from '../db/audit.js';
import { insertBounce, markBounced, sentMessage, type SentMessage } from '../db/bounces.js';
import type { Sql } from '../db/sql.js';
import { addSuppressionOnce } from '../db/suppressions.js';
import type { DeliveryReport, FailedDelivery } from './dsn.js';

export interface ReadMessage {
  mailbox: string;
  uidValidity: number;
  uid: number;
}

/** The mailbox a campaign's bounces arrive in: its account's INBOX (`default` is shared by every tenant). */
const mailboxOf = (m: SentMessage) => (m.account === 'default' ? 'default' : `${m.tenant}/${m.account}`);

/**
 * The message of ours a report is about, only when it was sent through the account whose INBOX
 * holds the report: a report in one tenant's mailbox can never touch another tenant's recipients.
 */
async function ourMessage(sql: Sql, report: DeliveryReport, mailbox: string): Promise<SentMessage | undefined> {
  for (const id of report.messageIds) {
    const sent = await sentMessage(sql, id);
    if (sent && mailboxOf(sent) === mailbox) return sent;
  }
  return undefined;
}

const describe = (f: FailedDelivery) => `bounced: ${f.status}${f.diagnosticCode ? ` (${f.diagnosticCode})` : ''}`;

/**
 * Records what a delivery report says of a message this installation sent: the recipient
 * `bounced`, and for a permanent failure (5.x.x) the address on the tenant's suppression list,
 * audited as the system. Idempotent: a report read again changes nothing. Answers the bounces
 * and suppressions it added.
 */
export async function recordReport(sql: Sql, report: DeliveryReport, at: ReadMessage): Promise<{ bounces: number; suppressed: number }> {
  const sent = await ourMessage(sql, report, at.mailbox);
  if (!sent) return { bounces: 0, suppressed: 0 };
  let bounces = 0;
  let suppressed = 0;
  for (const f of report.failures) {
    const address = f.address ?? sent.email.toLowerCase();
    if (!sent.addresses.includes(address)) continue; // not an address this message went to
    await sql.begin(async (tx) => {
      if (!(await insertBounce(tx, { ...sent, ...at, ...f, address, reportedBy: report.reportedBy }))) return;
      bounces++;
      if (address === sent.email.toLowerCase()) await markBounced(tx, sent.campaignId, sent.recipientId, describe(f));
      if (!f.status.startsWith('5.') || !(await addSuppressionOnce(tx, sent.tenant, address, describe(f)))) return;
      suppressed++;
      await appendAudit(tx, {
        tenant: sent.tenant,
        principal: 'system:bounces',
        action: 'suppression.bounce',
        campaignId: sent.campaignId,
        subject: address,
        details: { recipientId: sent.recipientId, status: f.status, diagnosticCode: f.diagnosticCode, mailbox: at.mailbox },
      });
    });
  }
  return { bounces, suppressed };
}
