import { simpleParser, type ParsedMail } from 'mailparser';

// Delivery status notifications: RFC 3464 reports (multipart/report; report-type=delivery-status,
// as Postfix, Exim, Exchange and Gmail send them) and the common non-standard bounces (a
// MAILER-DAEMON or postmaster message with the reply in its text, qmail's and old Exchange's).
// mailparser reads the MIME; the report's per-recipient fields are read here.

export interface FailedDelivery {
  /** The address that failed (Final-Recipient, else Original-Recipient, else X-Failed-Recipients). */
  address?: string;
  action: string;
  /** The enhanced status code: 5.x.x is permanent, 4.x.x transient. */
  status: string;
  diagnosticCode?: string;
}

export interface DeliveryReport {
  /** Message-IDs the notification refers to: of the returned message or headers, In-Reply-To, References. */
  messageIds: string[];
  failures: FailedDelivery[];
  reportedBy?: string;
}

const MESSAGE_ID = /<[^<>\s@]+@[^<>\s]+>/g;

/** RFC 822-style fields of one block of a report, folded lines joined, names lower-cased. */
function fieldsOf(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return fields;
}

const address = (typed?: string) => typed?.replace(/^[a-z0-9-]+;\s*/i, '').replace(/^<|>$/g, '').trim().toLowerCase() || undefined;

/** The per-recipient blocks of an RFC 3464 report that say a delivery failed. */
function reportedFailures(text: string): FailedDelivery[] {
  const out: FailedDelivery[] = [];
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const f = fieldsOf(block);
    const status = /^[245]\.\d{1,3}\.\d{1,3}/.exec(f.get('status') ?? '')?.[0];
    const action = f.get('action')?.toLowerCase();
    if (!status || !(f.has('final-recipient') || f.has('original-recipient')) || action !== 'failed') continue;
    out.push({ address: address(f.get('final-recipient')) ?? address(f.get('original-recipient')), action, status, diagnosticCode: f.get('diagnostic-code') });
  }
  return out;
}

const BOUNCE_SENDER = /mailer-daemon|postmaster|mail delivery (sub)?system/i;
const BOUNCE_SUBJECT = /undeliver|returned mail|delivery (status notification|failure|has failed)|failure notice|non.?delivery|could not be delivered/i;

/** A bounce without a report: the status and the SMTP reply from its text. */
function textualFailure(mail: ParsedMail): FailedDelivery | undefined {
  const text = mail.text ?? '';
  const reply = /\b([45]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})\b[^\r\n]*/.exec(text);
  const status = reply?.[2] ?? /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(text)?.[1];
  if (!status) return undefined;
  const failed = String(mail.headers.get('x-failed-recipients') ?? '').split(',')[0];
  return { address: address(failed), action: 'failed', status, diagnosticCode: reply ? `smtp; ${reply[0].trim()}` : undefined };
}

/** The notification `raw` is, or undefined when it is not one (an ordinary message, a delay notice). */
export async function parseDeliveryReport(raw: Buffer | string): Promise<DeliveryReport | undefined> {
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const isReport = type?.value === 'multipart/report' && type.params?.['report-type']?.toLowerCase() === 'delivery-status';
  const from = mail.from?.text ?? '';
  const looksLikeBounce = isReport || (BOUNCE_SENDER.test(from) && BOUNCE_SUBJECT.test(mail.subject ?? ''));
  if (!looksLikeBounce) return undefined;
  const failures = isReport ? reportedFailures(mail.text ?? '') : [textualFailure(mail)].filter((f): f is FailedDelivery => !!f);
  if (failures.length === 0) return undefined;
  const returned = mail.attachments.filter((a) => /^(message\/rfc822|text\/rfc822-headers)$/i.test(a.contentType));
  const returnedIds = returned.flatMap((a) => /^message-id:\s*(<[^>]+>)/im.exec(a.content.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '')?.[1] ?? []);
  const threaded = [mail.inReplyTo ?? '', ...[mail.references ?? []].flat()].join(' ').match(MESSAGE_ID) ?? [];
  // A non-standard bounce may quote the returned message inline: any Message-ID in its text counts.
  const quoted = isReport ? [] : ((mail.text ?? '').match(MESSAGE_ID) ?? []);
  return { messageIds: [...new Set([...returnedIds, ...threaded, ...quoted])], failures, reportedBy: from || undefined };
}
