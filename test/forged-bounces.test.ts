import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, suppressedAddresses, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { appendToInbox, dsn, runBounceCheck } from './helpers/inbox.js';

// Anyone can put mail in the account's INBOX, a recipient included, and every recipient of a
// campaign sees their own Message-ID (a Cc sees the recipient's). Reports are APPENDed to the INBOX
// on Dovecot and read by the real bounce check (Temporal, Postgres): only a report quoting a
// Message-ID whose MAC verifies, naming that message's own recipient as failed for good, counts.

let h: Harness;
let campaign: string;
const CC = 'ledger@example.com';
const ids = new Map<string, string>();

const recipients = async (id = campaign) =>
  new Map<string, { sendStatus: string; messageId: string }>(
    (await h.api('GET', `/api/v1/campaigns/${id}/recipients`)).body.items.map((r: { email: string }) => [r.email, r]),
  );

/** A one-line RFC 3464 report from a "mailer daemon": per-recipient blocks, the returned headers, and In-Reply-To. */
function report(o: { messageId: string; failed: { rcpt?: string; status: string; action?: string }[]; inReplyTo?: boolean }): string {
  const blocks = o.failed.map((f) =>
    [...(f.rcpt ? [`Final-Recipient: rfc822; ${f.rcpt}`] : []), `Action: ${f.action ?? 'failed'}`, `Status: ${f.status}`, `Diagnostic-Code: smtp; ${f.status.startsWith('5') ? '550' : '452'} ${f.status} no`].join('\r\n'),
  );
  return [
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    'To: billing@acme.test',
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <forged-${Math.random().toString(36).slice(2)}@mx.example.net>`,
    ...(o.inReplyTo ? [`In-Reply-To: ${o.messageId}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    '550 5.1.1 User unknown',
    '',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    ...blocks.flatMap((b) => [b, '']),
    '--B',
    'Content-Type: text/rfc822-headers',
    '',
    'From: Acme Billing <billing@acme.test>',
    `Message-ID: ${o.messageId}`,
    '',
    '--B--',
    '',
  ].join('\r\n');
}

/** A plain bounce (no report) with the message quoted in its text and, if given, X-Failed-Recipients. */
const plainBounce = (messageId: string, failed?: string, reply = '550 5.1.1 user unknown') =>
  [
    'From: MAILER-DAEMON@mail.example.org',
    'To: billing@acme.test',
    'Subject: failure notice',
    ...(failed ? [`X-Failed-Recipients: ${failed}`] : []),
    `In-Reply-To: ${messageId}`,
    '',
    `Remote host said: ${reply}`,
    '',
    '--- Below this line is a copy of the message.',
    '',
    `Message-ID: ${messageId}`,
    '',
  ].join('\r\n');

before(async () => {
  h = await startHarness();
  campaign = await createCampaign(h, campaignBody(4, { name: 'forged bounces', cc: [CC] }));
  await waitForStatus(h, campaign, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${campaign}/approve`, {})).status, 200);
  await waitForStatus(h, campaign, 'completed', 90_000);
  for (const [email, r] of await recipients()) ids.set(email, r.messageId);
});
after(async () => {
  await h?.close();
});

const emails = [1, 2, 3, 4].map((i) => `customer${i}@example.com`);

async function assertNobodyBounced(what: string) {
  for (const [email, r] of await recipients()) assert.equal(r.sendStatus, 'sent', `${email}: ${what}`);
  assert.deepEqual(await suppressedAddresses(h), [], what);
}

test('a recipient forging "550 5.1.1" reports for every other recipient with guessed Message-IDs suppresses nobody', async () => {
  const own = ids.get('customer1@example.com')!;
  const mac = /\.([a-z2-7]{24})@/.exec(own)?.[1] ?? 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const forged = emails.flatMap((email, i) => {
    const n = i + 1;
    // The format ids had before they carried a MAC (guessable from one's own), one's own MAC on
    // another recipient's id, and a made-up MAC; as Postfix and Exchange reports, plain bounces and
    // bare "550" reports threaded by In-Reply-To.
    const guesses = [`<${campaign}.${n}.v1@acme.test>`, `<${campaign}.${n}.v1.${mac}@acme.test>`, `<${campaign}.${n}.v1.${'b'.repeat(24)}@acme.test>`];
    return guesses
      .filter((id) => id !== own)
      .flatMap((id) => [dsn('postfix', email, id), dsn('exchange', email, id), plainBounce(id, email), report({ messageId: id, failed: [{ rcpt: email, status: '5.1.1' }], inReplyTo: true })]);
  });
  await appendToInbox(h, ...forged);
  const result = await runBounceCheck(h);
  assert.deepEqual(result, { read: forged.length, bounces: 0, suppressed: 0 });
  await assertNobodyBounced('a report quoting a guessed Message-ID');
});

test('a report quoting a valid Message-ID but naming another address, or none, bounces nobody', async () => {
  const own = ids.get('customer1@example.com')!;
  const forged = [
    // customer1's own message, reported as failed for customer2, and for the campaign's Cc.
    report({ messageId: own, failed: [{ rcpt: 'customer2@example.com', status: '5.1.1' }] }),
    dsn('postfix', CC, own),
    // No failed address named at all: nothing to attribute (never "the recipient, then").
    report({ messageId: own, failed: [{ status: '5.1.1' }], inReplyTo: true }),
    plainBounce(own),
  ];
  await appendToInbox(h, ...forged);
  assert.deepEqual(await runBounceCheck(h), { read: forged.length, bounces: 0, suppressed: 0 });
  await assertNobodyBounced('a report naming an address other than the message\'s recipient');
});

test('a 4.x.x report is a delay: it bounces nobody, whatever its Action says', async () => {
  const id = ids.get('customer3@example.com')!;
  const delays = [
    dsn('qmail', 'customer3@example.com', id),
    dsn('delayed', 'customer3@example.com', id),
    report({ messageId: id, failed: [{ rcpt: 'customer3@example.com', status: '4.4.7' }] }),
    plainBounce(id, 'customer3@example.com', '452 4.2.2 mailbox full'),
  ];
  await appendToInbox(h, ...delays);
  assert.deepEqual(await runBounceCheck(h), { read: delays.length, bounces: 0, suppressed: 0 });
  await assertNobodyBounced('a 4.x.x report');
});

test('a Cc is never suppressed by a bounce: a later campaign copying it still sends', async () => {
  const id = ids.get('customer2@example.com')!;
  // A genuine-looking report of the Cc failing, with this very message's valid id.
  await appendToInbox(h, dsn('postfix', CC, id), report({ messageId: id, failed: [{ rcpt: CC, status: '5.1.1' }] }));
  assert.deepEqual(await runBounceCheck(h), { read: 2, bounces: 0, suppressed: 0 });
  assert.deepEqual(await suppressedAddresses(h), []);
  const later = await createCampaign(h, campaignBody(2, { name: 'later, same Cc', cc: [CC] }));
  await waitForStatus(h, later, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${later}/approve`, {})).status, 200);
  await waitForStatus(h, later, 'completed', 90_000);
  for (const [email, r] of await recipients(later)) assert.equal(r.sendStatus, 'sent', `${email} of the later campaign`);
});

test('a genuine report bounces and suppresses exactly its recipient, not the Cc it also names', async () => {
  const id = ids.get('customer4@example.com')!;
  // The message's recipient and its Cc both failed: the report lists both.
  await appendToInbox(h, report({ messageId: id, failed: [{ rcpt: 'customer4@example.com', status: '5.1.1' }, { rcpt: CC, status: '5.1.1' }] }));
  assert.deepEqual(await runBounceCheck(h), { read: 1, bounces: 1, suppressed: 1 });
  const after = await recipients();
  assert.equal(after.get('customer4@example.com')!.sendStatus, 'bounced');
  for (const email of emails.slice(0, 3)) assert.equal(after.get(email)!.sendStatus, 'sent', email);
  assert.deepEqual(await suppressedAddresses(h), ['customer4@example.com']);
  const audit = (await h.api('GET', '/api/v1/audit?action=suppression.bounce')).body.items;
  assert.deepEqual(audit.map((a: { subject: string }) => a.subject), ['customer4@example.com']);
});
