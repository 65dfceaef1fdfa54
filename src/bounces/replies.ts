import type { ParsedMail } from 'mailparser';
import type { AnswerKind } from '../contract/statuses.js';
import { recordAnswer } from '../db/replies.js';
import type { Sql } from '../db/sql.js';
import { isDeliveryNotification, keepable, threadedIds } from './dsn.js';
import type { MessageIds } from '../mail/message-id.js';
import { ourSentMessage } from './record.js';

// Answers to campaign messages, found by the same INBOX reading as bounces. A message that is not
// a delivery notification and names one of our messages in In-Reply-To or References is an answer
// from that message's recipient, under the same rule as a bounce (ourSentMessage): the quoted id's
// MAC verifies, the ledger holds it as sent under exactly that id, and the INBOX is the account's
// that sent it (the shared `default` INBOX affects only the tenant whose campaign sent it). Only
// the kind, the time found and the answer's Message-ID are kept: never its body or its sender.
//
// Automatic answers (RFC 3834) are `auto_replied`, never `replied`: an out-of-office does not
// answer the question. A delivery notification (RFC 3464) is not an answer of either kind: it is
// the bounce check's alone.

export interface Answer {
  kind: AnswerKind;
  /** The answer's own Message-ID, if it has one. */
  messageId?: string;
  /** The Message-IDs it answers: In-Reply-To, then References from the nearest ancestor back. */
  answers: string[];
}

/**
 * A reply names at most this many ids that are looked up (a bound against a hostile header): the
 * message it answers and its nearest ancestors, where ours are in a long conversation.
 */
const QUOTED_MAX = 20;
/** A Message-ID longer than this is not kept whole. */
const ID_MAX = 250;

const header = (mail: ParsedMail, name: string) => {
  const v = mail.headers.get(name);
  if (v === undefined || v === null) return undefined;
  return (typeof v === 'object' && 'value' in v ? String(v.value) : String(v)).trim().toLowerCase();
};

const AUTOMATIC_PRECEDENCE = /^(auto_reply|bulk|junk)$/;
// The prefix a mail program's out-of-office puts before the subject it answers. A person's reply
// starts with "Re:", so a campaign whose own subject begins with such words is not mistaken.
const OUT_OF_OFFICE_SUBJECT = /^(automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office( reply)?|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|autosvar)\s*:/i;

/** Whether a message was written by a program rather than a person (RFC 3834 and what mail programs do instead). */
function isAutomatic(mail: ParsedMail): boolean {
  const submitted = header(mail, 'auto-submitted');
  if (submitted !== undefined && !/^no\b/.test(submitted)) return true;
  if (mail.headers.has('x-autoreply') || mail.headers.has('x-autorespond')) return true;
  const precedence = header(mail, 'precedence');
  if (precedence !== undefined && AUTOMATIC_PRECEDENCE.test(precedence)) return true;
  // Read receipts and other reports (RFC 6522) are made by programs.
  const type = mail.headers.get('content-type') as { value?: string } | undefined;
  if (type?.value === 'multipart/report') return true;
  return OUT_OF_OFFICE_SUBJECT.test((mail.subject ?? '').trim());
}

/** What a message read from an INBOX answers, or undefined when it answers nothing (or is a delivery notification). */
export function answerOf(mail: ParsedMail): Answer | undefined {
  if (isDeliveryNotification(mail)) return undefined;
  const answers = threadedIds(mail).slice(0, QUOTED_MAX);
  if (answers.length === 0) return undefined;
  const messageId = keepable(mail.messageId)?.slice(0, ID_MAX);
  return { kind: isAutomatic(mail) ? 'auto_replied' : 'replied', messageId, answers };
}

/**
 * Records an answer against every message of ours it names (a reply to a reminder names the
 * original too: both recipients answered). Idempotent: read again, it changes nothing; a person's
 * reply after an automatic one makes the recipient `replied`. Answers how many recipients changed.
 */
export async function recordAnswers(sql: Sql, ids: MessageIds, answer: Answer, mailbox: string): Promise<number> {
  let changed = 0;
  for (const id of answer.answers) {
    const sent = await ourSentMessage(sql, ids, id, mailbox);
    if (!sent) continue;
    if (await recordAnswer(sql, { campaignId: sent.campaignId, recipientId: sent.recipientId, kind: answer.kind, messageId: answer.messageId ?? null })) changed++;
  }
  return changed;
}
