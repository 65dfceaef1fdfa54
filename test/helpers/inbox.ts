import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { Harness } from './harness.js';

// The test account's INBOX on Dovecot, where delivery reports (test/fixtures/dsn) are APPENDed for
// the bounce check to read.

/** A fixture report about `messageId`, naming `rcpt` as its failed address. */
export const dsn = (name: string, rcpt: string, messageId: string) =>
  readFileSync(new URL(`../fixtures/dsn/${name}.eml`, import.meta.url), 'utf8')
    .replaceAll('{{RCPT}}', rcpt)
    .replaceAll('{{LOCAL}}', rcpt.split('@')[0]!)
    .replaceAll('{{MESSAGE_ID}}', messageId)
    .replace(/\r?\n/g, '\r\n');

const connect = async (h: Harness) => {
  const imap = new ImapFlow({
    host: '127.0.0.1',
    port: Number(process.env.CM_TEST_IMAP_PORT),
    secure: false,
    auth: { user: h.imapUser, pass: process.env.CM_TEST_IMAP_PASSWORD! },
    logger: false,
  });
  await imap.connect();
  return imap;
};

export async function appendToInbox(h: Harness, ...messages: string[]): Promise<void> {
  const imap = await connect(h);
  try {
    for (const m of messages) await imap.append('INBOX', m);
  } finally {
    await imap.logout();
  }
}

export async function inboxCount(h: Harness): Promise<number | undefined> {
  const imap = await connect(h);
  try {
    const status = await imap.status('INBOX', { messages: true });
    return status ? status.messages : undefined;
  } finally {
    await imap.logout();
  }
}

let checks = 0;
/** Runs one bounce check of `mailbox` now (not on its Schedule) and answers its result. */
export const runBounceCheck = (h: Harness, mailbox = 'default') =>
  h.client.workflow.execute('bounceCheckWorkflow', { taskQueue: h.taskQueue, workflowId: `bounce-check-test-${Date.now()}-${checks++}`, args: [{ mailbox }] });
