import type { ParsedMail } from 'mailparser';

// Delivery status notifications: RFC 3464 reports (multipart/report; report-type=delivery-status,
// as Postfix, Exim, Exchange and Gmail send them) and the common non-standard bounces (a
// MAILER-DAEMON or postmaster message with the reply in its text, qmail's and old Exchange's).
// mailparser reads the MIME; the report's per-recipient fields are read here.

export interface FailedDelivery {
  /** The address that failed (Final-Recipient, else Original-Recipient, else X-Failed-Recipients); unset when the report names none. */
  address?: string;
  action: string;
  /** The enhanced status code: 5.x.x is permanent, 4.x.x transient (a delay: never a bounce). */
  status: string;
  diagnosticCode?: string;
}

export interface DeliveryReport {
  /**
   * Message-IDs the notification refers to, the returned message's first: the Message-ID field of
   * the returned message or headers (a message/rfc822 or text/rfc822-headers part, or the copy a
   * plain bounce quotes in its text), then In-Reply-To and References. Anyone can write any of them:
   * src/bounces/record.ts counts a report only when one carries a Message-ID whose MAC verifies.
   */
  messageIds: string[];
  failures: FailedDelivery[];
  reportedBy?: string;
}

const MESSAGE_ID = /<[^<>\s@]+@[^<>\s]+>/g;

/**
 * Text read from a message as it may be kept: control characters (a NUL, an escape) each become a
 * space. A header's encoded word is plain ASCII on the wire and may decode to one; PostgreSQL
 * refuses a NUL in text, and the check would stop at that message on every run.
 */
export const keepable = (text: string | undefined): string | undefined => text?.replace(/\p{Cc}/gu, ' ').trim() || undefined;

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
    out.push({ address: address(f.get('final-recipient')) ?? address(f.get('original-recipient')), action, status, diagnosticCode: keepable(f.get('diagnostic-code')) });
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
  return { address: undefined, action: 'failed', status, diagnosticCode: reply ? keepable(`smtp; ${reply[0]}`) : undefined };
}

/** A bounce without a report names its failed addresses in X-Failed-Recipients; one that names none names none. */
function textualFailures(mail: ParsedMail): FailedDelivery[] {
  const failure = textualFailure(mail);
  if (!failure) return [];
  const named = String(mail.headers.get('x-failed-recipients') ?? '')
    .split(',')
    .map((a) => address(a))
    .filter((a): a is string => !!a);
  return named.length ? named.map((a) => ({ ...failure, address: a })) : [failure];
}

/** The Message-ID field of a header block (a returned message's or headers'), if it has one. */
const messageIdField = (headers: string) => /^message-id:[ \t]*(<[^<>\s@]+@[^<>\s]+>)/im.exec(headers)?.[1];

/**
 * The MIME of a message read from an INBOX, without the work a display would need. mailparser is
 * loaded at the first message read: a worker that never checks an INBOX never loads it.
 */
export async function parseMail(raw: Buffer | string): Promise<ParsedMail> {
  const { simpleParser } = await import('mailparser');
  return simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
}

const isDeliveryStatusReport = (mail: ParsedMail) => {
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  return type?.value === 'multipart/report' && type.params?.['report-type']?.toLowerCase() === 'delivery-status';
};

/**
 * Whether a message is a delivery notification (an RFC 3464 report, or a mailer daemon's plain
 * bounce), whatever it says: a failure, a delay, a success. Such a message is a bounce matter only,
 * never an answer to the message it is about (src/bounces/replies.ts).
 */
export const isDeliveryNotification = (mail: ParsedMail): boolean =>
  isDeliveryStatusReport(mail) || (BOUNCE_SENDER.test(mail.from?.text ?? '') && BOUNCE_SUBJECT.test(mail.subject ?? ''));

/** The notification a parsed message is, or undefined when it is not one. */
export function deliveryReportOf(mail: ParsedMail): DeliveryReport | undefined {
  const isReport = isDeliveryStatusReport(mail);
  if (!isDeliveryNotification(mail)) return undefined;
  const failures = isReport ? reportedFailures(mail.text ?? '') : textualFailures(mail);
  if (failures.length === 0) return undefined;
  const returned = mail.attachments.filter((a) => /^(message\/rfc822|text\/rfc822-headers)$/i.test(a.contentType));
  const returnedIds = returned.flatMap((a) => messageIdField(a.content.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '') ?? []);
  // A non-standard bounce may quote the returned message inline: a Message-ID field in its text.
  const quoted = isReport ? [] : (mail.text ?? '').split(/\r?\n/).flatMap((line) => messageIdField(line) ?? []);
  return { messageIds: [...new Set([...returnedIds, ...quoted, ...threadedIds(mail)])], failures, reportedBy: keepable(mail.from?.text) };
}

/**
 * The Message-IDs a message names in In-Reply-To, then References from its end, each once: the
 * message it answers and then its nearest ancestors (RFC 5322 §3.6.4 appends each parent to the
 * end), so a caller that keeps only the first few keeps the ones that matter in a long chain.
 */
export const threadedIds = (mail: ParsedMail): string[] => [
  ...new Set([...idsIn(mail.inReplyTo), ...idsIn(mail.references).reverse()]),
];

const idsIn = (field: string | string[] | undefined): string[] => [field ?? []].flat().join(' ').match(MESSAGE_ID) ?? [];
