import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { campaignWorkflowId } from '../src/contract/workflow-ids.js';
import {
  cancelSignal,
  cancelUpdate,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
} from '../src/contract/messages.js';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// One worker, one SMTP connection, 300 messages a minute: slow enough to act mid-campaign.
let h: Harness;
before(async () => {
  h = await startHarness({ env: { SMTP_MAX_CONNECTIONS: '1', SMTP_MESSAGES_PER_MINUTE: '300' } });
});
after(async () => {
  await h?.close();
});

const handle = (id: string) => h.client.workflow.getHandle(campaignWorkflowId(id));

async function rejected(p: Promise<unknown>): Promise<{ message: string; status?: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    const cause = err.cause as { message: string; details?: [{ status?: string }] };
    return { message: cause.message, status: cause.details?.[0]?.status };
  }
  assert.fail('the update was accepted');
}

describe('pause, resume and cancel while sending', () => {
  test('after the pause answer at most one more message arrives; resume sends the rest exactly once', async () => {
    const id = await createCampaign(h, campaignBody(30));
    await approve(h, id);
    await eventually(async () => messagesFor(h, id).length >= 5, 30_000, 'the first messages');
    const sending = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(sending.body.eta?.basis, 'observed', JSON.stringify(sending.body.eta));
    assert.ok(Date.parse(sending.body.eta.at) > Date.now(), 'the ETA is ahead');
    const answer = await handle(id).executeUpdate(pauseUpdate, { args: [{ by: 'ops@acme.test', reason: 'wrong attachment?' }] });
    assert.equal(answer.status, 'paused');
    const atAnswer = messagesFor(h, id).length;
    await sleep(3000);
    const afterPause = messagesFor(h, id).length;
    assert.ok(afterPause <= atAnswer + 1, `at most one more message after pausing (${atAnswer} → ${afterPause})`);
    assert.ok(afterPause < 30, 'the campaign really stopped');

    const paused = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(paused.body.status, 'paused');
    assert.match(paused.body.reason, /paused by ops@acme\.test: wrong attachment\?/);
    const progress = await handle(id).query(statusQuery);
    assert.equal(progress.status, 'paused');

    const again = await rejected(handle(id).executeUpdate(pauseUpdate, { args: [{}] }));
    assert.equal(again.status, 'paused');

    assert.equal((await handle(id).executeUpdate(resumeUpdate, { args: [{ by: 'ops@acme.test' }] })).status, 'sending');
    const done = await waitForStatus(h, id, 'completed', 60_000);
    assert.equal(done.counts.sent, 30);
    assertOncePerRecipient(h, id, 30);
  });

  test('cancel stops new sends and records every unsent recipient as cancelled', async () => {
    const id = await createCampaign(h, campaignBody(30));
    await approve(h, id);
    await eventually(async () => messagesFor(h, id).length >= 3, 30_000, 'the first messages');
    const answer = await handle(id).executeUpdate(cancelUpdate, { args: [{ by: 'ops@acme.test', reason: 'sent by mistake' }] });
    assert.equal(answer.status, 'cancelled');
    const result = await handle(id).result();
    assert.equal(result.status, 'cancelled');
    const final = await waitForStatus(h, id, 'cancelled');
    const delivered = messagesFor(h, id).length;
    assert.equal(final.counts.sent, delivered, 'everything that reached the server is recorded as sent');
    assert.ok(delivered < 30);
    const rows = await h.sql`SELECT send_status, count(*)::int AS n FROM recipients WHERE campaign_id = ${id} GROUP BY send_status`;
    const by = Object.fromEntries(rows.map((r) => [r.sendStatus, r.n]));
    assert.deepEqual(by, { sent: delivered, cancelled: 30 - delivered });
    await sleep(1500);
    assert.equal(messagesFor(h, id).length, delivered, 'nothing is sent after the cancel');
    assertOncePerRecipient(h, id, delivered);
  });
});

describe('transitions that are not allowed answer with the current status', () => {
  test('pause and resume while awaiting review; cancel then works', async () => {
    const id = await createCampaign(h, campaignBody(2));
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await rejected(handle(id).executeUpdate(pauseUpdate, { args: [{}] }))).status, 'awaiting_review');
    const resume = await rejected(handle(id).executeUpdate(resumeUpdate, { args: [{}] }));
    assert.equal(resume.status, 'awaiting_review');
    assert.match(resume.message, /not paused/);
    assert.equal((await handle(id).executeUpdate(cancelUpdate, { args: [{ by: 'me' }] })).status, 'cancelled');
    const final = await waitForStatus(h, id, 'cancelled');
    assert.equal(final.counts.sent, 0);
    assert.equal(messagesFor(h, id).length, 0);
    const approveAfterCancel = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {});
    assert.equal(approveAfterCancel.status, 409);
    assert.equal(approveAfterCancel.body.status, 'cancelled');
  });
});

describe('Signals, as sent from the Temporal UI', () => {
  test('pause, resume and cancel', async () => {
    const id = await createCampaign(h, campaignBody(40));
    await approve(h, id);
    await eventually(async () => messagesFor(h, id).length >= 2, 30_000, 'the first messages');
    await handle(id).signal(pauseSignal, { by: 'ui-user' });
    await waitForStatus(h, id, 'paused');
    const atPause = messagesFor(h, id).length;
    await handle(id).signal(resumeSignal, { by: 'ui-user' });
    await eventually(async () => messagesFor(h, id).length > atPause + 2, 30_000, 'sending to go on');
    await handle(id).signal(cancelSignal, { by: 'ui-user' });
    const final = await waitForStatus(h, id, 'cancelled');
    assert.match(final.reason, /cancelled by ui-user/);
    const audit = await h.sql`SELECT action, principal FROM audit_log WHERE campaign_id = ${id} AND principal LIKE 'signal:%' ORDER BY id`;
    assert.deepEqual(
      audit.map((r) => `${r.action} ${r.principal}`),
      ['campaign.pause signal:ui-user', 'campaign.resume signal:ui-user', 'campaign.cancel signal:ui-user'],
      'Signals from the Temporal UI are audited',
    );
    assertOncePerRecipient(h, id, messagesFor(h, id).length);
  });
});

describe('startAt', () => {
  test('an approved campaign waits for its time, can be paused and resumed meanwhile, then sends', async () => {
    const startAt = new Date(Date.now() + 6000).toISOString();
    const id = await createCampaign(h, campaignBody(3, { startAt }));
    await approve(h, id);
    await waitForStatus(h, id, 'scheduled');
    assert.equal((await handle(id).executeUpdate(pauseUpdate, { args: [{}] })).status, 'paused');
    assert.equal((await handle(id).executeUpdate(resumeUpdate, { args: [{}] })).status, 'scheduled');
    assert.equal(messagesFor(h, id).length, 0, 'nothing before startAt');
    const done = await waitForStatus(h, id, 'completed', 30_000);
    assert.equal(done.counts.sent, 3);
    const first = Math.min(...messagesFor(h, id).map((m) => m.receivedAt.getTime()));
    assert.ok(first >= Date.parse(startAt), 'the first message arrived after startAt');
  });

  test('cancel while scheduled sends nothing', async () => {
    const id = await createCampaign(h, campaignBody(3, { startAt: new Date(Date.now() + 60_000).toISOString() }));
    await approve(h, id);
    await waitForStatus(h, id, 'scheduled');
    assert.equal((await handle(id).executeUpdate(cancelUpdate, { args: [{}] })).status, 'cancelled');
    const final = await waitForStatus(h, id, 'cancelled');
    assert.equal(final.counts.sent, 0);
    assert.equal(messagesFor(h, id).length, 0);
  });
});

test('search attributes let the Temporal UI list campaigns by status', async () => {
  const id = await createCampaign(h, campaignBody(2));
  await waitForStatus(h, id, 'awaiting_review');
  const found = await eventually(async () => {
    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `CampaignStatus = "awaiting_review" AND CampaignId = "${id}" AND Tenant = "default"` })) {
      ids.push(wf.workflowId);
    }
    return ids.length > 0 ? ids : undefined;
  }, 15_000, 'the visibility store to show the campaign');
  assert.deepEqual(found, [campaignWorkflowId(id)]);
  const desc = await handle(id).describe();
  assert.match((await desc.staticSummary()) ?? '', /Campaign "Statement run 2" to 2 recipients/);
});
