import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker/create.js';
import { approveSignal, statusQuery } from '../src/contract/messages.js';
import { campaignBody, createCampaign, messagesFor as sinkMessagesFor, waitForStatus as waitFor } from './helpers/campaigns.js';
import { sleep, startHarness, type Harness } from './helpers/harness.js';
import { recordHistories } from './helpers/histories.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const create = (body: unknown) => createCampaign(h, body);
const waitForStatus = (id: string, status: string, timeoutMs?: number) => waitFor(h, id, status, timeoutMs);
const messagesFor = (id: string) => sinkMessagesFor(h, id);

describe('a 25-recipient campaign, approved', () => {
  let id: string;

  test('waits for review, then delivers exactly one message per recipient', async () => {
    id = await create(campaignBody(25));
    const waiting = await waitForStatus(id, 'awaiting_review');
    assert.deepEqual(waiting.counts, { total: 25, pending: 25, sent: 0, failed: 0, appended: 0 });
    assert.equal(messagesFor(id).length, 0, 'nothing is sent before approval');

    const approve = await h.api('POST', `/api/v1/campaigns/${id}/approve`, { note: 'checked the figures' });
    assert.equal(approve.status, 200);
    assert.equal(approve.body.status, 'sending');

    const done = await waitForStatus(id, 'completed', 90_000);
    assert.deepEqual(done.counts, { total: 25, pending: 0, sent: 25, failed: 0, appended: 25 });
    assert.equal(done.review.note, 'checked the figures');
    const history = (await h.client.workflow.getHandle(`campaign-${id}`).fetchHistory()).events ?? [];
    // Per recipient: a child's start and end, its reports and the workflow tasks they wake (how
    // many reports one task takes depends on timing, so the total varies with the machine's load);
    // no timer per report (that cost two events more each).
    const timers = history.filter((e) => e.timerStartedEventAttributes).length;
    const reports = history.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    assert.ok(reports >= 25, `a report per recipient at least (${reports})`);
    assert.ok(timers <= 5, `campaign history: ${timers} timers for ${reports} reports`);
    assert.ok(history.length <= 25 * 12, `campaign history: ${history.length} events for 25 recipients`);
    // The Temporal UI's details panel: status, a progress bar and the counts
    const meta = await h.client.workflow.getHandle(`campaign-${id}`).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(meta.currentDetails ?? '', /^\*\*completed\*\*/);
    assert.match(meta.currentDetails ?? '', /`█{20}` 100% — 25 of 25 done/);
    assert.match(meta.currentDetails ?? '', /Recipients: 25 in the list, 25 ready to send, 0 blocked\./);

    const sent = messagesFor(id);
    assert.equal(sent.length, 25, 'exactly 25 messages at the sink');
    const ids = new Set(sent.map((m) => m.messageId));
    assert.equal(ids.size, 25, 'every message has its own Message-ID');
    for (let i = 1; i <= 25; i++) {
      const m = sent.find((x) => x.to.includes(`customer${i}@example.com`));
      assert.ok(m, `a message to customer${i}`);
      assert.deepEqual(m.to, [`customer${i}@example.com`]);
      assert.equal(m.from, 'billing@acme.test');
      const raw = m.raw.toString('utf8');
      assert.match(raw, new RegExp(`^Subject: Your statement, Customer ${i}\\r$`, 'm'));
      assert.ok(raw.includes(`your balance is ${i * 10} EUR.`), `rendered text for customer ${i}`);
      assert.ok(raw.includes(`<b>${i * 10} EUR</b>`), `rendered html for customer ${i}`);
    }
  });

  test('files exactly one Sent copy per message, byte for byte what was sent, marked \\Seen', async () => {
    const copies = await h.sentFolder();
    const mine = copies.filter((c) => c.messageId.includes(id));
    assert.equal(mine.length, 25);
    const sent = new Map(messagesFor(id).map((m) => [m.messageId, m.raw]));
    assert.deepEqual(new Set(mine.map((c) => c.messageId)), new Set(sent.keys()));
    for (const copy of mine) {
      assert.ok(copy.raw.equals(sent.get(copy.messageId)!), `Sent copy of ${copy.messageId} equals the sent bytes`);
      assert.ok(copy.flags.has('\\Seen'));
    }
  });

  test('approving a second time is a 409 that names the current status', async () => {
    const again = await h.api('POST', `/api/v1/campaigns/${id}/approve`);
    assert.equal(again.status, 409);
    assert.equal(again.body.status, 'completed');
    assert.match(again.body.error, /not awaiting review/);
  });
});

test('a campaign nobody approves sends nothing and keeps waiting', async () => {
  const id = await create(campaignBody(3));
  await waitForStatus(id, 'awaiting_review');
  await sleep(3000);
  const res = await h.api('GET', `/api/v1/campaigns/${id}`);
  assert.equal(res.body.status, 'awaiting_review');
  assert.equal(res.body.counts.sent, 0);
  assert.equal(messagesFor(id).length, 0);
  const progress = await h.client.workflow.getHandle(`campaign-${id}`).query(statusQuery);
  assert.equal(progress.status, 'awaiting_review');
  assert.equal(progress.recipients.total, 3);
});

test('a rejected campaign sends nothing, ends rejected, and cannot be approved afterwards', async () => {
  const id = await create(campaignBody(4));
  await waitForStatus(id, 'awaiting_review');
  const reject = await h.api('POST', `/api/v1/campaigns/${id}/reject`, { note: 'wrong balance column' });
  assert.equal(reject.status, 200);
  assert.equal(reject.body.status, 'rejected');
  const final = await waitForStatus(id, 'rejected');
  assert.equal(final.counts.sent, 0);
  assert.equal(final.counts.pending, 0, 'rejected recipients are not counted as still to go');
  assert.equal(final.review.note, 'wrong balance column');
  const result = await h.client.workflow.getHandle(`campaign-${id}`).result();
  assert.equal(result.status, 'rejected');

  const approve = await h.api('POST', `/api/v1/campaigns/${id}/approve`);
  assert.equal(approve.status, 409);
  assert.equal(approve.body.status, 'rejected');
  await sleep(500);
  assert.equal(messagesFor(id).length, 0);
});

test('an approve Signal (as sent from the Temporal UI) approves the campaign', async () => {
  const id = await create(campaignBody(2));
  await waitForStatus(id, 'awaiting_review');
  await h.client.workflow.getHandle(`campaign-${id}`).signal(approveSignal, { by: 'reviewer@acme.test', note: 'from the UI' });
  const done = await waitForStatus(id, 'completed');
  assert.equal(done.counts.sent, 2);
  assert.equal(done.review.by, 'reviewer@acme.test');
  assert.equal(messagesFor(id).length, 2);
});

test('a recipient missing a template variable is blocked and not sent; the rest go out', async () => {
  const body = campaignBody(3);
  delete (body.recipients[1] as { vars?: unknown }).vars;
  const id = await create(body);
  await waitForStatus(id, 'awaiting_review');
  const approve = await h.api('POST', `/api/v1/campaigns/${id}/approve`);
  assert.equal(approve.status, 200);
  const done = await waitForStatus(id, 'completed');
  assert.deepEqual(done.counts, { total: 3, pending: 0, sent: 2, failed: 0, appended: 2 });
  const to = messagesFor(id).flatMap((m) => m.to).sort();
  assert.deepEqual(to, ['customer1@example.com', 'customer3@example.com']);
  const [blocked] = await h.sql`SELECT build_status, build_reasons, send_status FROM recipients WHERE campaign_id = ${id} AND id = 2`;
  assert.equal(blocked?.buildStatus, 'blocked');
  assert.match(blocked?.buildReasons[0], /undefined variable: balance/);
  assert.equal(blocked?.sendStatus, 'skipped');
});

test('the workflow histories of these runs replay without non-determinism errors', async () => {
  const histories = [];
  for await (const wf of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) {
    if (wf.status.name === 'RUNNING') continue;
    const history = await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    histories.push({ workflowId: wf.workflowId, history });
  }
  assert.ok(histories.length >= 25 + 1, `found ${histories.length} closed workflows to replay`);
  assert.ok(histories.some((x) => x.workflowId.match(/^campaign-[0-9a-f-]+$/)), 'includes campaign workflows');
  assert.ok(histories.some((x) => x.workflowId.includes('-r-')), 'includes delivery workflows');
  let replayed = 0;
  const options = process.env.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
  for await (const result of Worker.runReplayHistories(options, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId} replays: ${result.error}`);
    replayed++;
  }
  assert.equal(replayed, histories.length);
  await recordHistories(histories);
});
