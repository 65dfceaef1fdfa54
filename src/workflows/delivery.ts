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
import type { RecipientRef } from '../activities/deps.js';
import { campaignWorkflowId, sendTaskQueue } from '../contract/workflow-ids.js';
import { cancelSignal, deliveryReportSignal, pauseSignal, resumeSignal, type DeliveryReport } from '../contract/messages.js';

export interface DeliveryInput {
  campaignId: string;
  recipientId: number;
  /** The address with most of its local part hidden, for summaries in the Temporal UI. */
  masked?: string;
  /** How many times the campaign had been resumed when it started this delivery (absent: none). */
  resumes?: number;
  /**
   * 2: started by a campaign that knows sends have their own task queue (no patch marker to
   * check), hands its activities only the recipient's reference and reports without the fields
   * left at their defaults. Every history before has no `v` and replays the earlier way.
   */
  v?: 2;
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

/** What one delivery works with: its input, how it reports to its campaign, and the campaign's controls. */
interface Delivery {
  input: DeliveryInput;
  /** What the activities get: the recipient's reference (earlier shapes: the whole input). */
  ref: RecipientRef | DeliveryInput;
  /** The recipient as the Temporal UI names it. */
  who: string;
  campaign: ReturnType<typeof getExternalWorkflowHandle>;
  report(r: Omit<DeliveryReport, 'recipientId'>): Promise<void>;
  /**
   * Resume and cancel Signals count in `wakeups`; cancel also sets `cancelled`. `resumes`: the
   * campaign's resumes this delivery has heard of (at its start, then from its campaign's resume Signals).
   */
  controls: { wakeups: number; cancelled: boolean; resumes: number };
}

function startDelivery(input: DeliveryInput): Delivery {
  const campaign = getExternalWorkflowHandle(campaignWorkflowId(input.campaignId));
  const controls = { wakeups: 0, cancelled: false, resumes: input.resumes ?? 0 };
  setHandler(resumeSignal, (r) => {
    controls.wakeups++;
    if (typeof r?.resumes === 'number') controls.resumes = Math.max(controls.resumes, r.resumes);
  });
  setHandler(cancelSignal, () => {
    controls.cancelled = true;
    controls.wakeups++;
  });
  return {
    input,
    ref: input.v === 2 ? { campaignId: input.campaignId, recipientId: input.recipientId } : input,
    who: input.masked ?? `recipient #${input.recipientId}`,
    campaign,
    controls,
    report: (r) =>
      campaign.signal(deliveryReportSignal, { recipientId: input.recipientId, ...r }).catch((err) => {
        // The campaign has closed (cancelled, or it finished without waiting for copies).
        log.info(`could not report to the campaign: ${String(err)}`);
      }),
  };
}

/**
 * Tries the send until it went, failed for good, was skipped or cancelled: a throttled attempt
 * waits on a durable timer named for what it waits for, a paused one until the campaign resumes.
 * Answers the last attempt's result (none when cancelled before one), or the delivery's end when
 * the attempts gave up.
 */
async function sendUntilSettled(d: Delivery): Promise<{ sent?: SendResult } | { ended: DeliveryResult }> {
  // Sends go to a task queue of their own, which workers poll with only as many slots as their
  // SMTP connections can serve: a send never waits inside a worker behind fifty others.
  const send = d.input.v === 2 || patched('send-task-queue')
    ? proxyActivities<Activities>({ ...sendOptions, taskQueue: sendTaskQueue(workflowInfo().taskQueue) })
    : sendOnMainQueue;
  let sent: SendResult | undefined;
  for (;;) {
    const seen = d.controls.wakeups;
    const resumesSeen = d.controls.resumes;
    if (d.controls.cancelled) return { sent };
    try {
      sent = await send.sendMessage.executeWithOptions({ summary: `send to ${d.who}` }, [d.ref]);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      return { ended: await gaveUpSending(d, err) };
    }
    if (sent.outcome === 'throttled') {
      // Named for what it waits for: `send window opens Mon 08:00 Europe/Berlin`, or the rate limit.
      await condition(() => d.controls.cancelled, Math.max(1000, sent.retryAt - Date.now()), { summary: sent.timer ?? 'throttle' });
    } else if (sent.outcome === 'paused') {
      // The account refused to go on (quota, authentication): pause the whole campaign. Unless a
      // person resumed it while this attempt was out: their resume released the hold the attempt
      // found, so it is tried again at once instead of pausing the campaign they just resumed (if
      // the account still refuses, that attempt pauses it). A resume this delivery has not heard of
      // yet is the campaign's to judge: the pause says which resumes the attempt began after, and
      // the campaign ignores it if it has been resumed since (its resume Signal then wakes this wait).
      const resumedMeanwhile = d.controls.wakeups !== seen && patched('resume-outlives-stale-hold');
      if (sent.accountProblem && !resumedMeanwhile) await d.campaign.signal(pauseSignal, { by: 'smtp', reason: sent.accountProblem, resumesSeen }).catch(() => {});
      await condition(() => d.controls.wakeups !== seen, '1 day', { summary: 'paused: wait for resume' });
    } else {
      return { sent };
    }
  }
}

async function gaveUpSending(d: Delivery, err: ActivityFailure): Promise<DeliveryResult> {
  const reason = `gave up sending: ${err.cause?.message ?? err.message}`;
  log.warn(reason);
  await bookkeeping.markSendFailed({ ...d.ref, reason });
  await d.report({ stage: 'send', outcome: 'failed' });
  return { send: 'failed', copy: 'not_requested' };
}

/**
 * Records and reports how the send ended. Answers the delivery's end, or `copy` when the message
 * went and its Sent copy is to be filed.
 */
async function settleSend(d: Delivery, sent: SendResult | undefined): Promise<DeliveryResult | 'copy'> {
  if (sent && (sent.outcome === 'sent' || sent.outcome === 'failed') && sent.unrecorded) {
    // The SMTP transaction ended but the database was away: the outcome is held here, in the
    // workflow's history, and recorded as soon as the database is back. Never sent again.
    await bookkeeping.recordSendOutcome.executeWithOptions({ summary: `record the send to ${d.who}` }, [sent.unrecorded]);
  }
  if (sent?.outcome === 'skipped') {
    await d.report({ stage: 'send', outcome: 'skipped' });
    return { send: 'skipped', copy: 'not_requested' };
  }
  if (!sent || (d.controls.cancelled && sent.outcome !== 'sent' && sent.outcome !== 'failed')) {
    await bookkeeping.markCancelled(d.ref);
    await d.report({ stage: 'send', outcome: 'cancelled' });
    return { send: 'cancelled', copy: 'not_requested' };
  }
  if (sent.outcome !== 'sent' && sent.outcome !== 'failed') {
    await d.report({ stage: 'send', outcome: 'cancelled' });
    return { send: 'cancelled', copy: 'not_requested' };
  }
  const copyPending = sent.outcome === 'sent' && sent.copyRequested === true;
  await d.report({ stage: 'send', outcome: sent.outcome, ...(copyPending || d.input.v !== 2 ? { copyPending } : {}) });
  if (sent.outcome !== 'sent') return { send: 'failed', copy: 'not_requested' };
  return copyPending ? 'copy' : { send: 'sent', copy: 'not_requested' };
}

/** Files the Sent copy, with retries of its own: a copy that cannot be filed never unsends the message. */
async function fileSentCopy(d: Delivery): Promise<DeliveryResult> {
  try {
    await copy.appendToSent.executeWithOptions({ summary: `file the Sent copy for ${d.who}` }, [d.ref]);
    await d.report({ stage: 'copy', outcome: 'appended' });
    return { send: 'sent', copy: 'appended' };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const reason = `gave up filing the Sent copy: ${err.cause?.message ?? err.message}`;
    log.warn(reason);
    await bookkeeping.markCopyFailed({ ...d.ref, reason });
    await d.report({ stage: 'copy', outcome: 'failed' });
    return { send: 'sent', copy: 'failed' };
  }
}

/** One recipient: send (waiting out limits, windows and pauses), record and report, then file the Sent copy. */
export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryResult> {
  const d = startDelivery(input);
  const attempt = await sendUntilSettled(d);
  if ('ended' in attempt) return attempt.ended;
  const settled = await settleSend(d, attempt.sent);
  return settled === 'copy' ? fileSentCopy(d) : settled;
}
