import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { campaignWorkflowId } from '../src/contract/workflow-ids.js';
import { resumeUpdate } from '../src/contract/messages.js';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// SMTP and IMAP faults, each checked for zero lost and zero duplicated messages at the sink and
// exactly one Sent copy per sent message.
let h: Harness;
before(async () => {
  h = await startHarness({ imapProxy: true });
});
after(async () => {
  await h?.close();
});

async function copiesFor(id: string) {
  return (await h.sentFolder()).filter((c) => c.messageId.includes(id));
}

async function assertOneCopyEach(id: string, n: number) {
  const copies = await copiesFor(id);
  assert.equal(new Set(copies.map((c) => c.messageId)).size, n, 'distinct Sent copies');
  assert.equal(copies.length, n, 'Sent copies in total');
}

describe('SMTP faults', () => {
  test('421 and 451 replies for a stretch: retried, then every message delivered once; 421 slows the account', async () => {
    const id = await createCampaign(h, campaignBody(8));
    let refused = 0;
    h.sink.faults.data = (m) => {
      if (!m.messageId?.includes(id) || refused >= 6) return undefined;
      refused++;
      return refused % 2 ? { code: 421, message: '4.7.0 Too many messages, slow down' } : { code: 451, message: '4.3.0 Temporary local problem' };
    };
    await approve(h, id);
    const slowed = await eventually(async () => {
      const res = await h.api('GET', `/api/v1/campaigns/${id}`);
      return res.body.account?.slowedDownUntil ? res.body.account : undefined;
    }, 30_000, 'the account to be slowed down');
    assert.match(slowed.slowDownReason, /421/);
    const done = await waitForStatus(h, id, 'completed', 120_000);
    h.sink.faults = {};
    assert.equal(refused, 6);
    assert.deepEqual(done.counts, { total: 8, pending: 0, sent: 8, failed: 0, appended: 8 });
    assertOncePerRecipient(h, id, 8);
    await assertOneCopyEach(id, 8);
  });

  test('550 for chosen recipients: they fail with the reply stored, the rest are delivered', async () => {
    const id = await createCampaign(h, campaignBody(6));
    h.sink.faults.rcpt = (address) =>
      address === 'customer2@example.com' || address === 'customer5@example.com'
        ? { code: 550, message: '5.1.1 <' + address + '>: Recipient address rejected: User unknown' }
        : undefined;
    await approve(h, id);
    const done = await waitForStatus(h, id, 'completed', 60_000);
    h.sink.faults = {};
    assert.deepEqual(done.counts, { total: 6, pending: 0, sent: 4, failed: 2, appended: 4 });
    const failed = await h.sql`
      SELECT id, smtp_response, error FROM recipients WHERE campaign_id = ${id} AND send_status = 'failed' ORDER BY id`;
    assert.deepEqual(failed.map((r) => r.id), [2, 5]);
    for (const r of failed) assert.match(r.smtpResponse, /^550 5\.1\.1 .*User unknown/);
    const [row] = await h.sql`SELECT max(attempts)::int AS attempts FROM delivery_ledger WHERE campaign_id = ${id}`;
    assert.equal(row!.attempts, 1, 'a permanent refusal is not retried');
    assertOncePerRecipient(h, id, 4);
  });

  test('connections dropped mid-DATA: the message is retried and delivered once', async () => {
    const id = await createCampaign(h, campaignBody(5));
    const dropped = new Set<string>();
    h.sink.faults.data = (m) => {
      if (!m.messageId?.includes(id) || dropped.has(m.messageId) || dropped.size >= 3) return undefined;
      dropped.add(m.messageId);
      return 'drop';
    };
    await approve(h, id);
    const done = await waitForStatus(h, id, 'completed', 90_000);
    h.sink.faults = {};
    assert.equal(dropped.size, 3);
    assert.equal(done.counts.sent, 5);
    assertOncePerRecipient(h, id, 5);
    await assertOneCopyEach(id, 5);
  });

  test('a quota reply pauses the campaign with the reason instead of failing every recipient', async () => {
    const id = await createCampaign(h, campaignBody(5));
    h.sink.faults.data = (m) =>
      m.messageId?.includes(id) ? { code: 550, message: '5.4.5 Daily user sending quota exceeded' } : undefined;
    await approve(h, id);
    const paused = await waitForStatus(h, id, 'paused', 30_000);
    // The refused send pauses the campaign, or a send beside it that found the account held first
    // does; either way the reason carries the server's reply.
    assert.match(paused.reason, /paused by smtp: (account default is on hold since \S+: )?sending limit of the account: 550 5\.4\.5 Daily user sending quota exceeded/);
    assert.equal(paused.counts.failed, 0, 'no recipient is failed for the account’s limit');
    h.sink.faults = {};
    await h.client.workflow.getHandle(campaignWorkflowId(id)).executeUpdate(resumeUpdate, { args: [{ by: 'ops' }] });
    const done = await waitForStatus(h, id, 'completed', 60_000);
    assert.equal(done.counts.sent, 5);
    assertOncePerRecipient(h, id, 5);
  });
});

test('a quota reply holds the whole account: another campaign pauses before any SMTP transaction of its own', async () => {
  const a = await createCampaign(h, campaignBody(3));
  const b = await createCampaign(h, { ...campaignBody(3), name: 'Another run on the same account' });
  const attempts = { a: 0, b: 0 };
  h.sink.faults.data = (m) => {
    const which = m.messageId?.includes(a) ? 'a' : m.messageId?.includes(b) ? 'b' : undefined;
    if (!which) return undefined;
    attempts[which]++;
    return { code: 554, message: '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException' };
  };
  await approve(h, a);
  const pausedA = await waitForStatus(h, a, 'paused', 30_000);
  assert.ok(pausedA.account.heldSince, JSON.stringify(pausedA.account));
  assert.match(pausedA.account.holdReason, /SubmissionQuotaExceeded/);

  await approve(h, b);
  const pausedB = await waitForStatus(h, b, 'paused', 30_000);
  assert.match(pausedB.reason, /account default is on hold since \S+: .*SubmissionQuotaExceeded/);
  assert.equal(attempts.b, 0, 'the held account sent nothing more for the other campaign');
  assert.equal(pausedB.counts.failed, 0);

  // a person fixes the account and resumes one campaign: that releases the hold
  h.sink.faults = {};
  assert.equal((await h.api('POST', `/api/v1/campaigns/${b}/resume`, {})).status, 200);
  const doneB = await waitForStatus(h, b, 'completed', 60_000);
  assert.equal(doneB.counts.sent, 3);
  assert.equal(doneB.account.heldSince, undefined);
  assert.equal((await h.api('GET', `/api/v1/campaigns/${a}`)).body.status, 'paused', 'each held campaign is resumed by a person');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${a}/resume`, {})).status, 200);
  assert.equal((await waitForStatus(h, a, 'completed', 60_000)).counts.sent, 3);
  assertOncePerRecipient(h, a, 3);
  assertOncePerRecipient(h, b, 3);
});

test('IMAP down for a stretch: sends go on, copies catch up, one copy each', async () => {
  const id = await createCampaign(h, campaignBody(6));
  await h.imapProxy!.down();
  await approve(h, id);
  const sent = await eventually(async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${id}`);
    return res.body.counts.sent === 6 ? res.body : undefined;
  }, 60_000, 'every message to be sent while IMAP is down');
  assert.equal(sent.counts.appended, 0);
  assert.equal(sent.status, 'sending', 'the campaign waits for its Sent copies');
  assertOncePerRecipient(h, id, 6);
  await sleep(2000);
  await h.imapProxy!.up();
  const done = await waitForStatus(h, id, 'completed', 120_000);
  assert.equal(done.counts.appended, 6);
  await assertOneCopyEach(id, 6);
});
