import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bounceScheduleId, DEFAULT_BOUNCE_CHECKS, ensureBounceSchedules, removeBounceSchedule } from '../src/bounces/check-schedules.js';
import { createLogger } from '../src/logger.js';
import { campaignBody, createCampaign, suppressedAddresses, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { appendToInbox as append, dsn, inboxCount as count, runBounceCheck } from './helpers/inbox.js';

// Real-format delivery status notifications (test/fixtures/dsn: Postfix's and Exchange Online's
// RFC 3464 reports, qmail's plain-text bounce, a Postfix delay notice) are APPENDed to the account's
// INBOX on Dovecot; the bounce check reads them through its Temporal Schedule.

let h: Harness;
const appendToInbox = (...messages: string[]) => append(h, ...messages);
const inboxCount = () => count(h);
let campaign: string;
const ids = new Map<string, string>();

const recipients = async () =>
  new Map<string, { sendStatus: string; error?: string }>(
    (await h.api('GET', `/api/v1/campaigns/${campaign}/recipients`)).body.items.map((r: { email: string }) => [r.email, r]),
  );

before(async () => {
  h = await startHarness();
  campaign = await createCampaign(h, campaignBody(4, { name: 'bounces' }));
  await waitForStatus(h, campaign, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${campaign}/approve`, {})).status, 200);
  await waitForStatus(h, campaign, 'completed', 90_000);
  for (const [email, r] of await recipients()) ids.set(email, (r as unknown as { messageId: string }).messageId);
});
after(async () => {
  await removeBounceSchedule(h.client, h.taskQueue, 'default').catch(() => undefined);
  await h?.close();
});

test('the schedule reads Postfix and Exchange reports and a plain bounce: permanent failures bounce and suppress their recipient, delays nothing, nothing deleted', async () => {
  await appendToInbox(
    dsn('postfix', 'customer1@example.com', ids.get('customer1@example.com')!),
    dsn('exchange', 'customer2@example.com', ids.get('customer2@example.com')!),
    dsn('qmail', 'customer3@example.com', ids.get('customer3@example.com')!),
    dsn('delayed', 'customer4@example.com', ids.get('customer4@example.com')!),
    // A report about a message this installation never sent, and an ordinary reply.
    dsn('postfix', 'customer4@example.com', `<${'0'.repeat(8)}-0000-4000-8000-000000000000.4.v1@acme.test>`),
    'From: Customer 4 <customer4@example.com>\r\nTo: billing@acme.test\r\nSubject: Re: Your statement\r\nMessage-ID: <reply@example.com>\r\n\r\nThanks!\r\n',
  );
  const logger = createLogger('test', 'silent');
  // At worker start, twice: idempotent.
  for (let i = 0; i < 2; i++) await ensureBounceSchedules({ client: h.client, sql: h.sql, taskQueue: h.taskQueue, defaultImap: true, logger, bounceChecks: DEFAULT_BOUNCE_CHECKS });
  const handle = h.client.schedule.getHandle(bounceScheduleId(h.taskQueue, 'default'));
  const described = await handle.describe();
  assert.equal(described.spec.intervals?.[0]?.every, 300_000);
  assert.match(described.state.note ?? '', /every 5 minutes/);
  assert.equal((described.action as { staticSummary?: string }).staticSummary, 'Bounce check of the configured account (IMAP_URL)');
  await handle.trigger();

  await eventually(async () => {
    const [position] = await h.sql`SELECT last_uid::int AS last FROM bounce_mailboxes WHERE mailbox = 'default'`;
    return position?.last === 6;
  }, 60_000, 'the scheduled check to read the INBOX');
  const after = await recipients();
  assert.equal(after.get('customer1@example.com')!.sendStatus, 'bounced');
  assert.match(after.get('customer1@example.com')!.error!, /^bounced: 5\.1\.1 \(smtp; 550 5\.1\.1 <customer1@example\.com>: Recipient address rejected: User unknown in virtual mailbox table\)$/);
  assert.match(after.get('customer2@example.com')!.error!, /^bounced: 5\.1\.10 \(smtp;550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/);
  assert.equal(after.get('customer3@example.com')!.sendStatus, 'sent', 'a 4.x.x (qmail\'s 452 4.2.2, mailbox full) is a delay, not a bounce');
  assert.equal(after.get('customer4@example.com')!.sendStatus, 'sent', 'a delay notice, a foreign report and a reply change nothing');

  assert.deepEqual(await suppressedAddresses(h), ['customer1@example.com', 'customer2@example.com'], 'only the permanent (5.x.x) bounces count');
  const audit = (await h.api('GET', '/api/v1/audit?action=suppression.bounce')).body.items;
  assert.deepEqual(audit.map((a: { subject: string; principal: string }) => [a.subject, a.principal]).sort(), [
    ['customer1@example.com', 'system:bounces'],
    ['customer2@example.com', 'system:bounces'],
  ]);
  const counts = (await h.api('GET', `/api/v1/campaigns/${campaign}`)).body.countsByStatus.send;
  assert.equal(counts.bounced, 2);
  assert.equal(await inboxCount(), 6, 'every message is still in the INBOX');
});

test('a second check repeats nothing; a new report is read after a restart from where the last check stopped', async () => {
  const again = await runBounceCheck(h);
  assert.deepEqual(again, { read: 0, bounces: 0, suppressed: 0 });
  const [position] = await h.sql`SELECT last_uid::int AS last FROM bounce_mailboxes WHERE mailbox = 'default'`;
  assert.equal(position!.last, 6);

  await appendToInbox(dsn('postfix', 'customer4@example.com', ids.get('customer4@example.com')!));
  const next = await runBounceCheck(h);
  assert.deepEqual(next, { read: 1, bounces: 1, suppressed: 1 });
  assert.equal((await recipients()).get('customer4@example.com')!.sendStatus, 'bounced');
  assert.equal((await h.api('GET', '/api/v1/audit?action=suppression.bounce')).body.items.length, 3);
  // Forgetting the position (a new UIDVALIDITY would do the same) reads everything again and still adds nothing.
  await h.sql`DELETE FROM bounce_mailboxes`;
  assert.deepEqual(await runBounceCheck(h), { read: 7, bounces: 0, suppressed: 0 });
  assert.equal((await h.api('GET', '/api/v1/audit?action=suppression.bounce')).body.items.length, 3);
});

test('an account stored with IMAP gets its own schedule; deleting the account removes it', async () => {
  const res = await h.api('POST', '/api/v1/accounts', {
    name: 'billing',
    smtp: { host: '127.0.0.1', port: h.sink.port, security: 'plain' },
    imap: { host: '127.0.0.1', port: Number(process.env.CM_TEST_IMAP_PORT), security: 'plain', user: h.imapUser, password: process.env.CM_TEST_IMAP_PASSWORD },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const handle = h.client.schedule.getHandle(bounceScheduleId(h.taskQueue, 'default/billing'));
  assert.match((await handle.describe()).state.note ?? '', /account default\/billing/);
  // Its check reads the same INBOX, but no campaign of this account sent those messages: nothing recorded.
  const result = await h.client.workflow.execute('bounceCheckWorkflow', { taskQueue: h.taskQueue, workflowId: `bounce-test-billing-${Date.now()}`, args: [{ mailbox: 'default/billing' }] });
  assert.deepEqual(result, { read: 7, bounces: 0, suppressed: 0 });
  assert.equal((await h.api('DELETE', '/api/v1/accounts/billing')).status, 200);
  await assert.rejects(handle.describe(), /not found/i);
});
