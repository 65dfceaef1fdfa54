import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { deliveryWorkflowId, type CampaignStatus } from '../contract/statuses.js';
import {
  approveSignal,
  approveUpdate,
  INVALID_TRANSITION,
  rejectSignal,
  rejectUpdate,
  statusQuery,
  type CampaignProgress,
  type ReviewDecision,
} from './definitions.js';
import { deliveryWorkflow } from './delivery.js';

export interface CampaignInput {
  campaignId: string;
}

export interface CampaignResult {
  status: CampaignStatus;
}

/** How many delivery children run at once; the window refills as they finish. */
const WINDOW = 100;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const build = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** The campaign's state; the workflow function only moves it along. */
class Campaign {
  status: CampaignStatus = 'building';
  decision?: { approved: boolean } & ReviewDecision;
  recorded = false;
  recipients = { total: 0, sendable: 0, blocked: 0 };
  delivery = { started: 0, finished: 0 };

  constructor(readonly id: string) {}

  assertAwaitingReview(): void {
    if (this.status !== 'awaiting_review' || this.decision) {
      throw ApplicationFailure.nonRetryable(
        `the campaign is ${this.decision ? 'already decided' : this.status}, not awaiting review`,
        INVALID_TRANSITION,
        { status: this.status },
      );
    }
  }

  async decide(approved: boolean, d: ReviewDecision): Promise<{ status: CampaignStatus }> {
    this.decision = { approved, by: d.by, note: d.note };
    await acts.recordDecision({ campaignId: this.id, approved, by: d.by ?? 'unknown', note: d.note });
    this.status = approved ? 'sending' : 'rejected';
    this.recorded = true;
    return { status: this.status };
  }

  progress(): CampaignProgress {
    return { campaignId: this.id, status: this.status, recipients: this.recipients, delivery: this.delivery };
  }
}

export async function campaignWorkflow({ campaignId }: CampaignInput): Promise<CampaignResult> {
  const c = new Campaign(campaignId);
  setHandler(statusQuery, () => c.progress());
  setHandler(approveUpdate, (d) => c.decide(true, d), { validator: (_d) => c.assertAwaitingReview() });
  setHandler(rejectUpdate, (d) => c.decide(false, d), { validator: (_d) => c.assertAwaitingReview() });
  // Signals cannot answer; one that arrives at the wrong time is logged and otherwise ignored.
  setHandler(approveSignal, (d) => signalDecision(c, true, d));
  setHandler(rejectSignal, (d) => signalDecision(c, false, d));

  const built = await build.buildRecipients({ campaignId });
  c.recipients = { total: built.total, sendable: built.sendable, blocked: built.blocked };
  if (built.error) {
    c.status = 'failed';
    await acts.setCampaignStatus({ campaignId, status: 'failed', error: built.error });
    return { status: c.status };
  }

  if (patched('review-gate') && built.review) {
    if (!built.review.required) {
      c.status = 'sending';
      c.decision = { approved: true, by: 'review not required' };
      await acts.recordDecision({ campaignId, approved: true, by: 'review not required' });
      c.recorded = true;
    } else {
      c.status = 'awaiting_review';
      await acts.setCampaignStatus({ campaignId, status: 'awaiting_review' });
      // A durable timer: a campaign nobody reviews ends expired and sends nothing.
      const decided = await condition(() => c.recorded, built.review.expiresAfter as Duration);
      if (!decided) {
        c.status = 'expired';
        c.decision = { approved: false, by: 'review expired' };
        await acts.expireCampaign({ campaignId, after: built.review.expiresAfter });
        await condition(allHandlersFinished);
        return { status: c.status };
      }
    }
  } else {
    c.status = 'awaiting_review';
    await acts.setCampaignStatus({ campaignId, status: 'awaiting_review' });
    await condition(() => c.recorded);
  }
  if (!c.decision?.approved) {
    await condition(allHandlersFinished);
    return { status: c.status };
  }

  await fanOut(c);
  await acts.completeCampaign({ campaignId });
  c.status = 'completed';
  await condition(allHandlersFinished);
  return { status: c.status };
}

async function signalDecision(c: Campaign, approved: boolean, d: ReviewDecision): Promise<void> {
  try {
    c.assertAwaitingReview();
  } catch (err) {
    log.warn(`ignored ${approved ? 'approve' : 'reject'} signal: ${(err as Error).message}`);
    return;
  }
  await c.decide(approved, { ...d, by: d.by ?? 'temporal-signal' });
}

/** Starts one delivery child per sendable recipient, at most WINDOW at a time, in list order. */
async function fanOut(c: Campaign): Promise<void> {
  const running = new Set<Promise<void>>();
  let cursor = 0;
  let exhausted = false;
  for (;;) {
    if (!exhausted && running.size <= WINDOW / 2) {
      const ids = await acts.nextRecipientIds({ campaignId: c.id, afterId: cursor, limit: WINDOW - running.size });
      if (ids.length === 0) exhausted = true;
      for (const recipientId of ids) {
        cursor = recipientId;
        c.delivery.started++;
        const child: Promise<void> = executeChild(deliveryWorkflow, {
          workflowId: deliveryWorkflowId(c.id, recipientId),
          args: [{ campaignId: c.id, recipientId }],
          staticSummary: `Recipient #${recipientId} of campaign ${c.id}`,
        }).then(
          () => undefined,
          (err) => log.error(`delivery child for recipient ${recipientId} failed`, { error: String(err) }),
        ).finally(() => {
          c.delivery.finished++;
          running.delete(child);
        });
        running.add(child);
      }
    }
    if (running.size === 0 && exhausted) return;
    if (running.size > 0) await Promise.race(running);
  }
}
