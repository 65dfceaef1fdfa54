import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SendResult } from '../../src/activities/index.js';
import { SMTP_TRANSIENT, TEST_SEND_REFUSED } from '../../src/contract/failures.js';
import { resumeSignal, type DeliveryReport } from '../../src/contract/messages.js';
import { deliveryWorkflowId, testSendWorkflowId } from '../../src/contract/workflow-ids.js';
import type { bounceCheckWorkflow } from '../../src/workflows/bounce-check.js';
import type { deliveryWorkflow } from '../../src/workflows/delivery.js';
import type { testSendWorkflow } from '../../src/workflows/test-send.js';
import { gate, startCampaign, startWorkflowTier, stubActivities, until, untilStatus, type ActivityStubs, type WorkflowTier } from '../helpers/workflow-env.js';

// The per-recipient delivery child, the test-send and the bounce-check workflows on the
// time-skipping server. A delivery reports to its campaign by Signal: the campaign here is a
// real one, waiting for a review that never comes (no deadline, so no timer to skip to), and
// the reports are read from its history.
//
// LEFT_WAITING: that campaign is left waiting when the test ends, never terminated. The test
// server takes a time-skipping lock for every workflow task it schedules and gives it back when
// the task completes; a workflow terminated while its task is outstanding (the report it was just
// signalled, not yet processed on a loaded machine) never gives it back, and from then on every
// timer and retry backoff in the file runs on the wall clock: a one-hour throttle wait took an hour.

let tier: WorkflowTier;
let env: TestWorkflowEnvironment;
before(async () => {
  tier = await startWorkflowTier();
  env = tier.env;
});
after(async () => tier?.close());

const sent = (copyRequested = true): SendResult => (copyRequested ? { outcome: 'sent', copyRequested } : { outcome: 'sent' });

/**
 * Runs one delivery of recipient 1 beside a campaign that receives its reports; its result, and
 * the reports in the order the campaign received them.
 */
async function deliver(overrides: Partial<ActivityStubs>, input: { v?: 2 } = {}) {
  const stubs = stubActivities({
    // No review settings and no deadline: the campaign waits, with no timer, for ever.
    buildRecipients: () => ({ total: 1, sendable: 1, blocked: 0 }),
    ...overrides,
  });
  return tier.run(stubs.activities, async (taskQueue) => {
    const campaignId = randomUUID();
    const campaign = await startCampaign(env, taskQueue, campaignId);
    await untilStatus(campaign, 'awaiting_review');
    const result = await env.client.workflow.execute<typeof deliveryWorkflow>('deliveryWorkflow', {
      workflowId: deliveryWorkflowId(campaignId, 1),
      taskQueue,
      args: [{ campaignId: campaignId, recipientId: 1, masked: 'a***@example.com', ...input }],
    });
    const { events } = await campaign.fetchHistory();
    const reports = (events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((s) => s?.signalName === 'deliveryReport')
      .map((s) => defaultPayloadConverter.fromPayload<DeliveryReport>(s!.input!.payloads![0]!));
    // The summaries of the delivery's timers, as the Temporal UI lists them.
    const delivery = await env.client.workflow.getHandle(deliveryWorkflowId(campaignId, 1)).fetchHistory();
    const timers = (delivery.events ?? [])
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : undefined));
    const markers = (delivery.events ?? []).filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!.markerName);
    // The campaign is left waiting (it holds no timer), never terminated: see LEFT_WAITING.
    return { result, reports, stubs, timers, markers };
  });
}

describe('delivery', () => {
  test('send, then the Sent copy: separate activities, separate reports', async () => {
    const { result, reports, stubs } = await deliver({ sendMessage: () => sent() });
    assert.deepEqual(result, { send: 'sent', copy: 'appended' });
    assert.deepEqual(reports, [
      { recipientId: 1, stage: 'send', outcome: 'sent', copyPending: true },
      { recipientId: 1, stage: 'copy', outcome: 'appended' },
    ]);
    assert.deepEqual(stubs.order('sendMessage', 'appendToSent'), ['sendMessage', 'appendToSent']);
  });

  test('no copy requested: one report, no append', async () => {
    const { result, reports, stubs } = await deliver({ sendMessage: () => sent(false) });
    assert.deepEqual(result, { send: 'sent', copy: 'not_requested' });
    assert.deepEqual(reports, [{ recipientId: 1, stage: 'send', outcome: 'sent', copyPending: false }]);
    assert.deepEqual(stubs.order('appendToSent'), []);
  });

  test('a delivery started as campaigns now start them (v 2): no patch marker, the activities get the reference, the reports only what is set', async () => {
    const plain = await deliver({ sendMessage: () => sent(false) }, { v: 2 });
    assert.deepEqual(plain.result, { send: 'sent', copy: 'not_requested' });
    assert.deepEqual(plain.reports, [{ recipientId: 1, stage: 'send', outcome: 'sent' }]);
    assert.deepEqual(plain.markers, [], 'no send-task-queue patch marker');
    assert.deepEqual(Object.keys(plain.stubs.inputs('sendMessage')[0]!).sort(), ['campaignId', 'recipientId']);

    const copied = await deliver({ sendMessage: () => sent() }, { v: 2 });
    assert.deepEqual(copied.result, { send: 'sent', copy: 'appended' });
    assert.deepEqual(copied.reports, [
      { recipientId: 1, stage: 'send', outcome: 'sent', copyPending: true },
      { recipientId: 1, stage: 'copy', outcome: 'appended' },
    ]);
    assert.deepEqual(Object.keys(copied.stubs.inputs('appendToSent')[0]!).sort(), ['campaignId', 'recipientId']);
  });

  test('a Sent copy that cannot be filed never undoes the send: copy failed, recorded and reported', async () => {
    const { result, reports, stubs } = await deliver({
      sendMessage: () => sent(),
      appendToSent: () => {
        throw ApplicationFailure.nonRetryable('no Sent folder', 'NoSentFolder');
      },
    });
    assert.deepEqual(result, { send: 'sent', copy: 'failed' });
    assert.deepEqual(
      reports.map((r) => [r.stage, r.outcome]),
      [
        ['send', 'sent'],
        ['copy', 'failed'],
      ],
    );
    assert.match(stubs.inputs('markCopyFailed')[0]?.reason ?? '', /gave up filing the Sent copy: no Sent folder/);
    assert.equal(stubs.inputs('sendMessage').length, 1, 'the send is not retried');
  });

  test('a send retried after 4xx replies goes out once the server takes it, its backoff skipped', async () => {
    let attempts = 0;
    const virtualStart = await env.currentTimeMs();
    const { result, reports } = await deliver({
      sendMessage: () => {
        if (++attempts < 4) throw ApplicationFailure.retryable('451 4.3.0 try again later', SMTP_TRANSIENT);
        return sent(false);
      },
    });
    assert.deepEqual(result, { send: 'sent', copy: 'not_requested' });
    assert.equal(attempts, 4);
    assert.equal(reports.length, 1);
    assert.ok((await env.currentTimeMs()) - virtualStart >= 35_000, 'retried after 5, 10 and 20 s on the server');
  });

  test('a send that gives up is recorded failed and reported; no copy', async () => {
    const { result, reports, stubs } = await deliver({
      sendMessage: () => {
        throw ApplicationFailure.nonRetryable('550 5.1.1 no such user', 'SmtpPermanentError');
      },
    });
    assert.deepEqual(result, { send: 'failed', copy: 'not_requested' });
    assert.deepEqual(reports, [{ recipientId: 1, stage: 'send', outcome: 'failed' }]);
    assert.match(stubs.inputs('markSendFailed')[0]?.reason ?? '', /gave up sending: 550 5.1.1 no such user/);
    assert.deepEqual(stubs.order('appendToSent'), []);
  });

  test('throttled: waits for its slot on a durable timer, then sends', async () => {
    const virtualStart = await env.currentTimeMs();
    let calls = 0;
    const { result } = await deliver({
      sendMessage: (): SendResult =>
        ++calls === 1 ? { outcome: 'throttled', retryAt: virtualStart + 3600_000, reason: '60 a minute' } : sent(false),
    });
    assert.deepEqual(result, { send: 'sent', copy: 'not_requested' });
    assert.equal(calls, 2);
    assert.ok((await env.currentTimeMs()) - virtualStart >= 3600_000, 'an hour passed on the server');
  });

  test('a wait for a send window is a timer named for the opening, as the Temporal UI shows it', async () => {
    const virtualStart = await env.currentTimeMs();
    let calls = 0;
    const timer = 'send window opens Mon 08:00 Europe/Berlin';
    const { result, timers } = await deliver({
      sendMessage: (): SendResult =>
        ++calls === 1 ? { outcome: 'throttled', retryAt: virtualStart + 7200_000, reason: 'outside the send window', timer } : sent(false),
    });
    assert.deepEqual(result, { send: 'sent', copy: 'not_requested' });
    assert.deepEqual(timers, [timer]);
  });

  test('a resume that arrives while an attempt finds the account held: tried again at once, the campaign is not paused again', async () => {
    // The attempt found the hold before the person's resume released it; its `paused` answer is stale.
    const held = gate();
    let calls = 0;
    const stubs = stubActivities({
      buildRecipients: () => ({ total: 1, sendable: 1, blocked: 0 }),
      sendMessage: async (): Promise<SendResult> => {
        if (++calls > 1) return sent(false);
        await held.pass();
        return { outcome: 'paused', accountProblem: 'account default is on hold since then: 5.4.5 quota' };
      },
    });
    await tier.run(stubs.activities, async (taskQueue) => {
      const campaignId = randomUUID();
      const campaign = await startCampaign(env, taskQueue, campaignId);
      await untilStatus(campaign, 'awaiting_review');
      const delivery = await env.client.workflow.start<typeof deliveryWorkflow>('deliveryWorkflow', {
        workflowId: deliveryWorkflowId(campaignId, 1),
        taskQueue,
        args: [{ campaignId, recipientId: 1 }],
      });
      await until(() => held.waiting === 1, 'the first attempt to be out');
      await delivery.signal(resumeSignal, { by: 'campaign' });
      held.open();
      assert.deepEqual(await delivery.result(), { send: 'sent', copy: 'not_requested' });
      assert.equal(calls, 2);
      const { events } = await campaign.fetchHistory();
      const pauses = (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'pause');
      assert.equal(pauses.length, 0, 'the campaign the person resumed was not paused by the stale answer');
    });
  });

  test('a suppressed address is skipped and reported skipped', async () => {
    const { result, reports } = await deliver({ sendMessage: () => ({ outcome: 'skipped', reason: 'suppressed' }) });
    assert.deepEqual(result, { send: 'skipped', copy: 'not_requested' });
    assert.deepEqual(reports, [{ recipientId: 1, stage: 'send', outcome: 'skipped' }]);
  });
});

describe('test send', () => {
  test('answers the SMTP reply; a refusal fails the workflow with its type, not retried', async () => {
    const campaignId = randomUUID();
    let refuse = false;
    const stubs = stubActivities({
      testSend: ({ to }) => {
        if (refuse) throw ApplicationFailure.nonRetryable('550 5.7.1 relaying denied', TEST_SEND_REFUSED);
        return { messageId: '<t1@example.com>', response: `250 accepted for ${to}` };
      },
    });
    await tier.run(stubs.activities, async (taskQueue) => {
      const run = (requestId: string) =>
        env.client.workflow.execute<typeof testSendWorkflow>('testSendWorkflow', {
          workflowId: testSendWorkflowId(campaignId, requestId),
          taskQueue,
          args: [{ campaignId, recipientId: 1, to: 'me@example.com' }],
        });
      assert.deepEqual(await run('r1'), { messageId: '<t1@example.com>', response: '250 accepted for me@example.com' });
      refuse = true;
      const err = await run('r2').catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = err.cause?.cause;
      assert.ok(cause instanceof ApplicationFailure, String(cause));
      assert.equal(cause.type, TEST_SEND_REFUSED);
    });
    assert.equal(stubs.inputs('testSend').length, 2);
  });
});

describe('bounce check', () => {
  test('answers what the check read', async () => {
    const stubs = stubActivities({ checkBounces: () => ({ read: 3, bounces: 2, suppressed: 1 }) });
    const result = await tier.run(stubs.activities, (taskQueue) =>
      env.client.workflow.execute<typeof bounceCheckWorkflow>('bounceCheckWorkflow', {
        workflowId: `bounce-check-${randomUUID()}`,
        taskQueue,
        args: [{ mailbox: 'acme/main' }],
      }),
    );
    assert.deepEqual(result, { read: 3, bounces: 2, suppressed: 1 });
    assert.deepEqual(stubs.inputs('checkBounces'), [{ mailbox: 'acme/main' }]);
  });
});
