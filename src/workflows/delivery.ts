import {
  ActivityFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, SendResult } from '../activities/index.js';
import { campaignWorkflowId, sendTaskQueue } from '../contract/workflow-ids.js';
import { cancelSignal, deliveryReportSignal, pauseSignal, resumeSignal, type DeliveryReport } from '../contract/messages.js';

export interface DeliveryInput {
  campaignId: string;
  recipientId: number;
  /** The address with most of its local part hidden, for summaries in the Temporal UI. */
  masked?: string;
}

export interface DeliveryResult {
  send: 'sent' | 'failed' | 'cancelled' | 'skipped';
  copy: 'appended' | 'failed' | 'not_requested';
}

// Sending and filing the Sent copy retry independently: a message can be sent while its copy
// is still being retried, and an IMAP outage never holds back or fails the send.
const sendOptions = {
  startToCloseTimeout: '3 minutes',
  // The activity heartbeats every 2 s through every wait, so a killed worker's attempt is retried
  // within seconds and a busy one is never replaced.
  heartbeatTimeout: '10 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
} as const;
const sendOnMainQueue = proxyActivities<Activities>(sendOptions);

const copy = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '10 seconds',
  scheduleToCloseTimeout: '72 hours',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
});

// Single Postgres writes: a short timeout, so one lost with a crashed worker is retried at once.
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryResult> {
  const campaign = getExternalWorkflowHandle(campaignWorkflowId(input.campaignId));
  const report = (r: Omit<DeliveryReport, 'recipientId'>) =>
    campaign.signal(deliveryReportSignal, { recipientId: input.recipientId, ...r }).catch((err) => {
      // The campaign has closed (cancelled, or it finished without waiting for copies).
      log.info(`could not report to the campaign: ${String(err)}`);
    });

  let wakeups = 0;
  let cancelled = false;
  setHandler(resumeSignal, () => void wakeups++);
  setHandler(cancelSignal, () => {
    cancelled = true;
    wakeups++;
  });

  // Sends go to a task queue of their own, which workers poll with only as many slots as their
  // SMTP connections can serve: a send never waits inside a worker behind fifty others.
  const send = patched('send-task-queue')
    ? proxyActivities<Activities>({ ...sendOptions, taskQueue: sendTaskQueue(workflowInfo().taskQueue) })
    : sendOnMainQueue;
  const who = input.masked ?? `recipient #${input.recipientId}`;
  let sent: SendResult | undefined;
  for (;;) {
    const seen = wakeups;
    if (cancelled) break;
    try {
      sent = await send.sendMessage.executeWithOptions({ summary: `send to ${who}` }, [input]);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const reason = `gave up sending: ${err.cause?.message ?? err.message}`;
      log.warn(reason);
      await bookkeeping.markSendFailed({ ...input, reason });
      await report({ stage: 'send', outcome: 'failed' });
      return { send: 'failed', copy: 'not_requested' };
    }
    if (sent.outcome === 'throttled') {
      // Named for what it waits for: `send window opens Mon 08:00 Europe/Berlin`, or the rate limit.
      await condition(() => cancelled, Math.max(1000, sent.retryAt - Date.now()), { summary: sent.timer ?? 'throttle' });
      continue;
    }
    if (sent.outcome === 'paused') {
      // The account refused to go on (quota, authentication): pause the whole campaign.
      if (sent.accountProblem) await campaign.signal(pauseSignal, { by: 'smtp', reason: sent.accountProblem }).catch(() => {});
      await condition(() => wakeups !== seen, '1 day', { summary: 'paused: wait for resume' });
      continue;
    }
    break;
  }

  if (sent && (sent.outcome === 'sent' || sent.outcome === 'failed') && sent.unrecorded) {
    // The SMTP transaction ended but the database was away: the outcome is held here, in the
    // workflow's history, and recorded as soon as the database is back. Never sent again.
    await bookkeeping.recordSendOutcome.executeWithOptions({ summary: `record the send to ${who}` }, [sent.unrecorded]);
  }
  if (sent?.outcome === 'skipped') {
    await report({ stage: 'send', outcome: 'skipped' });
    return { send: 'skipped', copy: 'not_requested' };
  }
  if (!sent || (cancelled && sent.outcome !== 'sent' && sent.outcome !== 'failed')) {
    await bookkeeping.markCancelled(input);
    await report({ stage: 'send', outcome: 'cancelled' });
    return { send: 'cancelled', copy: 'not_requested' };
  }
  if (sent.outcome !== 'sent' && sent.outcome !== 'failed') {
    await report({ stage: 'send', outcome: 'cancelled' });
    return { send: 'cancelled', copy: 'not_requested' };
  }
  const copyPending = sent.outcome === 'sent' && sent.copyRequested;
  await report({ stage: 'send', outcome: sent.outcome, copyPending });
  if (sent.outcome !== 'sent') return { send: 'failed', copy: 'not_requested' };
  if (!copyPending) return { send: 'sent', copy: 'not_requested' };

  try {
    await copy.appendToSent.executeWithOptions({ summary: `file the Sent copy for ${who}` }, [input]);
    await report({ stage: 'copy', outcome: 'appended' });
    return { send: 'sent', copy: 'appended' };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const reason = `gave up filing the Sent copy: ${err.cause?.message ?? err.message}`;
    log.warn(reason);
    await bookkeeping.markCopyFailed({ ...input, reason });
    await report({ stage: 'copy', outcome: 'failed' });
    return { send: 'sent', copy: 'failed' };
  }
}
