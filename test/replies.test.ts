import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { removeBounceSchedule } from '../src/bounces/check-schedules.js';
import { campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';
import { appendToInbox as append, dsn, runBounceCheck } from './helpers/inbox.js';

// Answers are APPENDed to the account's INBOX on Dovecot as a mail program would file them, and
// read by the real check (Temporal, Postgres) that also finds bounces. Tenant `default` sends
// through the shared `default` account; tenant-x sends through an account of its own whose INBOX
// is, in this test, the same Dovecot mailbox: each check may only count what its own account sent.

let h: Harness;
let campaign: string;
let other: string;
let keyX: string;
const ids = new Map<string, string>();
let otherId: string;
const appendToInbox = (...messages: string[]) => append(h, ...messages);

const recipients = async (id = campaign, key?: string) =>
  new Map<string, { sendStatus: string; messageId: string; reply?: { kind: string; at: string; messageId?: string } }>(
    (await h.api('GET', `/api/v1/campaigns/${id}/recipients`, undefined, key ? bearer(key) : undefined)).body.items.map((r: { email: string }) => [r.email, r]),
  );

/** What the database holds of each recipient's answer, by address. */
async function answers(id = campaign) {
  const rows = await h.sql<{ email: string; replyKind: string | null; replyMessageId: string | null; repliedAt: Date | null }[]>`
    SELECT email, reply_kind, reply_message_id, replied_at FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
  return new Map(rows.map((r) => [r.email, r]));
}

/** A message as a mail program writes it: headers, a blank line, a quoted body. */
function mail(o: { from: string; subject: string; messageId: string; inReplyTo?: string; references?: string; extra?: string[] }): string {
  return [
    `From: ${o.from}`,
    'To: Acme Billing <billing@acme.test>',
    `Subject: ${o.subject}`,
    'Date: Sat, 05 Dec 2026 09:15:00 +0100',
    `Message-ID: ${o.messageId}`,
    ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`] : []),
    ...(o.references ? [`References: ${o.references}`] : []),
    ...(o.extra ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Thanks, I will pay on Monday.',
    '',
    '> Dear Customer,',
    '> your balance is 10 EUR.',
    '',
  ].join('\r\n');
}

before(async () => {
  h = await startHarness();
  keyX = (await createKey(h, { name: 'x', scopes: ['campaigns:write', 'campaigns:read', 'campaigns:review', 'accounts:admin'], tenant: 'tenant-x' })).key;
  const account = await h.api(
    'POST',
    '/api/v1/accounts',
    {
      name: 'billing',
      smtp: { host: '127.0.0.1', port: h.sink.port, security: 'plain' },
      imap: { host: '127.0.0.1', port: Number(process.env.CM_TEST_IMAP_PORT), security: 'plain', user: h.imapUser, password: process.env.CM_TEST_IMAP_PASSWORD, append: false },
    },
    bearer(keyX),
  );
  assert.equal(account.status, 201, JSON.stringify(account.body));
  // Its checks run when this test says, not on the account's schedule.
  await removeBounceSchedule(h.client, h.taskQueue, 'tenant-x/billing');

  campaign = await createCampaign(h, campaignBody(6, { name: 'invitations' }));
  const x = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { name: 'tenant x', account: 'billing' }), bearer(keyX));
  assert.equal(x.status, 201, JSON.stringify(x.body));
  other = x.body.id;
  await waitForStatus(h, campaign, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${campaign}/approve`, {})).status, 200);
  await eventually(async () => (await h.api('GET', `/api/v1/campaigns/${other}`, undefined, bearer(keyX))).body.status === 'awaiting_review', 60_000, 'tenant x awaiting review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${other}/approve`, {}, bearer(keyX))).status, 200);
  await waitForStatus(h, campaign, 'completed', 90_000);
  await eventually(async () => (await h.api('GET', `/api/v1/campaigns/${other}`, undefined, bearer(keyX))).body.status === 'completed', 90_000, 'tenant x completed');
  for (const [email, r] of await recipients()) ids.set(email, r.messageId);
  otherId = [...(await recipients(other, keyX)).values()][0]!.messageId;
  assert.match(otherId, /\.[a-z2-7]{24}@/, 'tenant x\'s message carries a MAC');
});
after(async () => {
  await h?.close();
});

const c = (n: number) => `customer${n}@example.com`;

test('replies, a reply quoting only References and an out-of-office are told apart; forged, broken and foreign ones change nothing', async () => {
  const id = (n: number) => ids.get(c(n))!;
  const broken = id(4).replace(/\.([a-z2-7])([a-z2-7]{23})@/, (_, first: string, rest: string) => `.${first === 'a' ? 'b' : 'a'}${rest}@`);
  assert.notEqual(broken, id(4));
  await appendToInbox(
    // A threaded reply, as Thunderbird writes it.
    mail({ from: 'Customer 1 <customer1@example.com>', subject: 'Re: Your statement, Customer 1', messageId: '<reply-1@example.com>', inReplyTo: id(1), references: id(1) }),
    // A mail program that writes only References, the campaign's message among older ones.
    mail({ from: 'Customer 2 <customer2@example.com>', subject: 'Re: Your statement', messageId: '<reply-2@example.com>', references: `<older@example.com> ${id(2)}`, extra: ['Auto-Submitted: no'] }),
    // An out-of-office answer (RFC 3834).
    mail({ from: 'Customer 3 <customer3@example.com>', subject: 'Automatic reply: Your statement, Customer 3', messageId: '<ooo-3@example.com>', inReplyTo: id(3), references: id(3), extra: ['Auto-Submitted: auto-replied'] }),
    // customer4's id with its MAC altered.
    mail({ from: 'Customer 4 <customer4@example.com>', subject: 'Re: Your statement', messageId: '<reply-4@example.com>', inReplyTo: broken, references: broken }),
    // A reply naming tenant-x's message, in the default account's INBOX: that message went through tenant-x's own account.
    mail({ from: 'Someone <someone@example.com>', subject: 'Re: Your statement', messageId: '<forged-x@example.com>', inReplyTo: otherId, references: otherId }),
    // A delay notice quoting customer5's id: a bounce matter, never an answer.
    dsn('delayed', c(5), id(5)),
    // customer6: first an out-of-office (Exchange style), then the person's reply.
    mail({ from: 'Customer 6 <customer6@example.com>', subject: 'Out of Office: Your statement', messageId: '<ooo-6@example.com>', inReplyTo: id(6), extra: ['X-Auto-Response-Suppress: All', 'X-Autoreply: yes'] }),
  );
  assert.deepEqual(await runBounceCheck(h), { read: 7, bounces: 0, suppressed: 0, replies: 2, autoReplies: 2 });
  let a = await answers();
  assert.deepEqual(
    [...a.values()].map((r) => [r.email, r.replyKind, r.replyMessageId]),
    [
      [c(1), 'replied', '<reply-1@example.com>'],
      [c(2), 'replied', '<reply-2@example.com>'],
      [c(3), 'auto_replied', '<ooo-3@example.com>'],
      [c(4), null, null],
      [c(5), null, null],
      [c(6), 'auto_replied', '<ooo-6@example.com>'],
    ],
  );
  for (const r of a.values()) assert.equal(r.repliedAt !== null, r.replyKind !== null, `${r.email}: a time only with an answer`);
  assert.equal((await answers(other)).get(c(1))!.replyKind, null, "the default account's INBOX says nothing of tenant-x's message");

  // A person's reply after the out-of-office upgrades customer6; a second out-of-office for customer1 downgrades nothing.
  await appendToInbox(
    mail({ from: 'Customer 6 <customer6@example.com>', subject: 'Re: Your statement', messageId: '<reply-6@example.com>', inReplyTo: id(6), references: id(6) }),
    mail({ from: 'Customer 1 <customer1@example.com>', subject: 'Auto: away', messageId: '<ooo-1@example.com>', inReplyTo: id(1), extra: ['Precedence: auto_reply'] }),
  );
  assert.deepEqual(await runBounceCheck(h), { read: 2, bounces: 0, suppressed: 0, replies: 1 });
  a = await answers();
  assert.deepEqual([a.get(c(6))!.replyKind, a.get(c(6))!.replyMessageId], ['replied', '<reply-6@example.com>']);
  assert.deepEqual([a.get(c(1))!.replyKind, a.get(c(1))!.replyMessageId], ['replied', '<reply-1@example.com>']);

  // Read again from the start: nothing changes, nothing counts twice.
  const before = JSON.stringify([...(await answers()).values()]);
  await h.sql`DELETE FROM bounce_mailboxes WHERE mailbox = 'default'`;
  assert.deepEqual(await runBounceCheck(h), { read: 9, bounces: 0, suppressed: 0 });
  assert.equal(JSON.stringify([...(await answers()).values()]), before);

  // tenant-x's own account reads the same INBOX: it counts the reply to its own message only, never tenant default's.
  assert.deepEqual(await runBounceCheck(h, 'tenant-x/billing'), { read: 9, bounces: 0, suppressed: 0, replies: 1 });
  assert.equal((await answers(other)).get(c(1))!.replyKind, 'replied');
  assert.equal(JSON.stringify([...(await answers()).values()]), before);
});

test('answers are counted on the campaign, shown per recipient and in report.csv, each tenant its own', async () => {
  const got = await h.api('GET', `/api/v1/campaigns/${campaign}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body.replies, { replied: 3, autoReplied: 1 });
  const x = await h.api('GET', `/api/v1/campaigns/${other}`, undefined, bearer(keyX));
  assert.deepEqual(x.body.replies, { replied: 1, autoReplied: 0 });

  const listed = await recipients();
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => [c(n), listed.get(c(n))!.reply?.kind, listed.get(c(n))!.reply?.messageId]),
    [
      [c(1), 'replied', '<reply-1@example.com>'],
      [c(2), 'replied', '<reply-2@example.com>'],
      [c(3), 'auto_replied', '<ooo-3@example.com>'],
      [c(4), undefined, undefined],
      [c(5), undefined, undefined],
      [c(6), 'replied', '<reply-6@example.com>'],
    ],
  );
  assert.ok(!Number.isNaN(Date.parse(listed.get(c(1))!.reply!.at)));
  assert.equal(listed.get(c(1))!.sendStatus, 'sent', 'an answer leaves the send status as it was');
  assert.doesNotMatch(JSON.stringify([...listed.values()]), /pay on Monday/, 'no body anywhere');

  const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${campaign}/report.csv`, { headers: bearer(API_KEY) });
  assert.equal(res.status, 200);
  const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => [r.email, r.replied]), [1, 2, 3, 4, 5, 6].map((n) => [c(n), ['replied', 'replied', 'auto_replied', '', '', 'replied'][n - 1]]));
  assert.deepEqual(rows.map((r) => r.replied_at !== ''), [true, true, true, false, false, true]);
});

/** The header block of a message as sent, folded lines joined. */
const headersOf = (raw: Buffer) => raw.toString('utf8').split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
const field = (headers: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(headers)?.[1]?.trim();

test('a reminder to those who did not reply holds exactly them, each message threaded to the one that recipient got', async () => {
  const res = await h.api('POST', '/api/v1/campaigns', { name: 'Reminder', subject: 'Re: Your statement, {{ name }}', recipientsFrom: { campaign, sendStatus: ['sent'], replied: false } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const reminder = res.body.id as string;
  await waitForStatus(h, reminder, 'awaiting_review');
  const review = await h.api('GET', `/api/v1/campaigns/${reminder}/review`);
  // customer3 only answered automatically: not a reply.
  const waiting = [3, 4, 5].map(c);
  assert.deepEqual(review.body.items.map((r: { email: string }) => r.email), waiting);
  // The reviewer sees what each message answers.
  const first = review.body.items[0] as { id: number; email: string };
  const preview = await h.api('GET', `/api/v1/campaigns/${reminder}/recipients/${first.id}/preview`);
  assert.equal(preview.body.inReplyTo, ids.get(first.email));
  assert.equal(messagesFor(h, reminder).length, 0, 'nothing before approval');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${reminder}/approve`, {})).status, 200);
  const done = await waitForStatus(h, reminder, 'completed', 90_000);
  assert.equal(done.counts.sent, 3);

  const sent = messagesFor(h, reminder);
  assert.deepEqual(sent.map((m) => m.to).sort(), waiting.map((e) => [e]));
  for (const m of sent) {
    const headers = headersOf(m.raw);
    const original = ids.get(m.to[0]!)!;
    assert.equal(field(headers, 'In-Reply-To'), original, `${m.to[0]}: In-Reply-To`);
    assert.equal(field(headers, 'References'), original, `${m.to[0]}: References`);
    assert.notEqual(field(headers, 'Message-ID'), original, 'a message of its own');
    assert.match(field(headers, 'Subject')!, /^Re: Your statement, Customer [345]$/);
  }
  // customer4 answers the reminder in the conversation: that answers the original too, so a second reminder leaves customer4 out.
  const reminded = (await recipients(reminder)).get(c(4))!.messageId;
  await appendToInbox(mail({ from: 'Customer 4 <customer4@example.com>', subject: 'Re: Your statement, Customer 4', messageId: '<reply-4b@example.com>', inReplyTo: reminded, references: `${ids.get(c(4))} ${reminded}` }));
  assert.deepEqual(await runBounceCheck(h), { read: 1, bounces: 0, suppressed: 0, replies: 2 });
  assert.equal((await recipients(reminder)).get(c(4))!.reply?.kind, 'replied');
  assert.equal((await recipients()).get(c(4))!.reply?.kind, 'replied');
  assert.deepEqual((await h.api('GET', `/api/v1/campaigns/${campaign}`)).body.replies, { replied: 4, autoReplied: 1 });

  const audit = await h.api('GET', `/api/v1/audit?campaign=${reminder}&action=campaign.create`);
  assert.equal(audit.body.items[0].details.replied, false);
  assert.equal(audit.body.items[0].details.threaded, true);

  // The opposite selection, and a follow-up that is not threaded.
  const repliedOnes = await h.api('POST', '/api/v1/campaigns', { name: 'Thanks', recipientsFrom: { campaign, sendStatus: ['sent'], replied: true, threaded: false } });
  assert.equal(repliedOnes.status, 201, JSON.stringify(repliedOnes.body));
  await waitForStatus(h, repliedOnes.body.id, 'awaiting_review');
  const thanks = await h.api('GET', `/api/v1/campaigns/${repliedOnes.body.id}/review`);
  assert.deepEqual(thanks.body.items.map((r: { email: string }) => r.email), [1, 2, 4, 6].map(c));
  const threads = await h.sql`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${repliedOnes.body.id} AND thread_message_id IS NOT NULL`;
  assert.equal(threads[0]!.n, 0, 'threaded: false writes no thread');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${repliedOnes.body.id}/reject`, {})).status, 200);

  // replied and threaded belong to a campaign source only.
  const bad = await h.api('POST', '/api/v1/campaigns', { ...campaignBody(1), recipients: undefined, recipientsFrom: { s3: { bucket: h.bucket, key: 'x.csv' }, replied: false } });
  assert.equal(bad.status, 422, JSON.stringify(bad.body));
  assert.match(JSON.stringify(bad.body), /replied/);
});

test('a reply or a report whose header words decode to control characters is recorded without them, and the check goes on past it', async () => {
  const id = (n: number) => ids.get(c(n))!;
  // An encoded word is plain ASCII on the wire and a NUL once decoded, which PostgreSQL refuses
  // in text: the check would stop at this message on every run, for every tenant of the INBOX.
  const report = dsn('postfix', c(3), id(3)).replace(/^From: .*$/m, 'From: =?utf-8?Q?Mail=00Delivery=07System?= <MAILER-DAEMON@mx.example.net>');
  await appendToInbox(
    mail({ from: 'Customer 5 <customer5@example.com>', subject: 'Re: Your statement', messageId: '<=?utf-8?Q?a=00b=1B[2J?=@example.com>', inReplyTo: id(5) }),
    report,
    mail({ from: 'Customer 2 <customer2@example.com>', subject: 'Re: Your statement', messageId: '<reply-2b@example.com>', inReplyTo: id(2) }),
  );
  assert.deepEqual(await runBounceCheck(h), { read: 3, bounces: 1, suppressed: 1, replies: 1 });
  const a = await answers();
  assert.equal(a.get(c(5))!.replyKind, 'replied');
  assert.doesNotMatch(a.get(c(5))!.replyMessageId!, /\p{Cc}/u, 'no control character kept');
  assert.match(a.get(c(5))!.replyMessageId!, /^<a ?b ?\[2J@example\.com>$/);
  const [bounce] = await h.sql<{ reportedBy: string }[]>`SELECT reported_by FROM bounces WHERE campaign_id = ${campaign} AND recipient_id = 3`;
  assert.ok(bounce, 'the report is recorded');
  assert.doesNotMatch(bounce.reportedBy, /\p{Cc}/u);
  assert.equal((await recipients()).get(c(3))!.sendStatus, 'bounced');
});

test('a reminder of a reminder names the whole conversation, and a reply to it counts in every campaign of the chain', async () => {
  const people = ['ann', 'bob', 'cy'].map((n) => ({ email: `${n}@example.org`, name: n, vars: { balance: 5 } }));
  const original = await createCampaign(h, campaignBody(3, { name: 'chain', recipients: people }));
  await waitForStatus(h, original, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${original}/approve`, {})).status, 200);
  await waitForStatus(h, original, 'completed', 90_000);
  /** A reminder to those of `of` who did not reply, sent. */
  const remind = async (of: string) => {
    const id = await createCampaign(h, { name: 'Reminder', recipientsFrom: { campaign: of, sendStatus: ['sent'], replied: false } });
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    assert.equal((await waitForStatus(h, id, 'completed', 90_000)).counts.sent, 3);
    return id;
  };
  const first = await remind(original);
  const second = await remind(first);
  const chain = [original, first, second];
  const idsOf = async (email: string) => Promise.all(chain.map(async (id) => (await recipients(id)).get(email)!.messageId));

  assert.equal(messagesFor(h, second).length, 3);
  for (const m of messagesFor(h, second)) {
    const headers = headersOf(m.raw);
    const [o, r1] = await idsOf(m.to[0]!);
    // RFC 5322 §3.6.4: the parent's References, then the parent's Message-ID.
    assert.equal(field(headers, 'In-Reply-To'), r1, `${m.to[0]}: In-Reply-To`);
    assert.equal(field(headers, 'References'), `${o} ${r1}`, `${m.to[0]}: References`);
  }

  // ann answers the second reminder; her mail program writes its References plus its Message-ID.
  const ann = await idsOf('ann@example.org');
  await appendToInbox(mail({ from: 'ann <ann@example.org>', subject: 'Re: Your statement', messageId: '<reply-ann@example.org>', inReplyTo: ann[2], references: ann.join(' ') }));
  // bob's program writes only References, a long conversation of its own before ours: the nearest
  // ancestors are looked up, however many older ids come first.
  const older = Array.from({ length: 30 }, (_, i) => `<older-${i}@example.org>`);
  await appendToInbox(mail({ from: 'bob <bob@example.org>', subject: 'Re: Your statement', messageId: '<reply-bob@example.org>', references: [...older, ...(await idsOf('bob@example.org'))].join(' ') }));
  assert.deepEqual(await runBounceCheck(h), { read: 2, bounces: 0, suppressed: 0, replies: 6 });
  for (const id of chain) {
    const a = await answers(id);
    assert.deepEqual(
      ['ann', 'bob', 'cy'].map((n) => a.get(`${n}@example.org`)!.replyMessageId),
      ['<reply-ann@example.org>', '<reply-bob@example.org>', null],
      `campaign ${chain.indexOf(id)} of the chain`,
    );
  }

  // A later reminder of the original to those who did not reply holds cy alone.
  const later = await createCampaign(h, { name: 'Last call', recipientsFrom: { campaign: original, sendStatus: ['sent'], replied: false } });
  await waitForStatus(h, later, 'awaiting_review');
  assert.deepEqual((await h.api('GET', `/api/v1/campaigns/${later}/review`)).body.items.map((r: { email: string }) => r.email), ['cy@example.org']);
  assert.equal((await h.api('POST', `/api/v1/campaigns/${later}/reject`, {})).status, 200);
});
