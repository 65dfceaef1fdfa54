import { randomUUID } from 'node:crypto';
import { ActivityFailure, WorkflowFailedError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { ApplicationFailure, TimeoutFailure, WorkflowNotFoundError } from '@temporalio/common';
import {
  AccountAttr,
  CAMPAIGN_SEARCH_ATTRIBUTES,
  CampaignIdAttr,
  CampaignStatusAttr,
  TenantAttr,
} from '../contract/search-attributes.js';
import { ACCOUNT_HELD, ACCOUNT_THROTTLED, ATTACHMENT_CHANGED, FOUR_EYES_REFUSED, INVALID_TRANSITION, LOCATION_DENIED } from '../contract/failures.js';
import { Refusal } from '../contract/refusal.js';
import type { CampaignStatus } from '../contract/statuses.js';
import { TEST_SEND_BUDGET_MS, TEST_SEND_DEADLINE_MS } from '../contract/test-send.js';
import { campaignWorkflowId, testSendWorkflowId } from '../contract/workflow-ids.js';
import {
  approveUpdate,
  cancelUpdate,
  continueUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  type ContinueRequest,
  type ControlRequest,
  type ReviewDecision,
} from '../contract/messages.js';
import { attachmentRefusal } from '../review/preview.js';
import type { campaignWorkflow } from '../workflows/campaign.js';
import type { testSendWorkflow } from '../workflows/test-send.js';
import { isTemporalUnavailable } from '../temporal.js';

// The one place that starts and drives campaign workflows for the API.

/** How long the API waits for a transition's Update in all: for a worker to take it, and for its result. */
export const UPDATE_DEADLINE_MS = 15_000;

const searchAttributesKnown = new WeakMap<Client, Promise<boolean>>();

/** Whether the namespace has the campaign search attributes registered (asked once per client). */
function hasSearchAttributes(client: Client): Promise<boolean> {
  let known = searchAttributesKnown.get(client);
  if (!known) {
    known = client.connection.operatorService
      .listSearchAttributes({ namespace: client.options.namespace })
      .then((r) => CAMPAIGN_SEARCH_ATTRIBUTES.every((k) => r.customAttributes?.[k.name] !== undefined))
      .catch(() => false);
    searchAttributesKnown.set(client, known);
  }
  return known;
}

export async function startCampaignWorkflow(
  client: Client,
  o: { campaignId: string; taskQueue: string; name: string; recipients?: number; tenant?: string; account?: string },
): Promise<string> {
  const workflowId = campaignWorkflowId(o.campaignId);
  const searchAttributes = await hasSearchAttributes(client);
  await client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    workflowId,
    taskQueue: o.taskQueue,
    args: [{ campaignId: o.campaignId, searchAttributes }],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary:
      o.recipients === undefined
        ? `Campaign "${o.name}"`
        : `Campaign "${o.name}" to ${o.recipients} recipient${o.recipients === 1 ? '' : 's'}`,
    staticDetails: `Campaign ${o.campaignId}. Query \`status\` for progress; signal \`approve\` or \`reject\` with {"by": "you", "note": "…"} to decide (and \`continue\` after a pilot batch), \`pause\`, \`resume\` or \`cancel\` to steer it.`,
    ...(searchAttributes
      ? {
          typedSearchAttributes: [
            { key: CampaignIdAttr, value: o.campaignId },
            { key: CampaignStatusAttr, value: 'building' },
            { key: TenantAttr, value: o.tenant ?? 'default' },
            { key: AccountAttr, value: o.account ?? 'default' },
          ],
        }
      : {}),
  });
  return workflowId;
}

export type DecisionOutcome =
  | { ok: true; status: CampaignStatus }
  | { ok: false; reason: 'conflict'; message: string; status?: CampaignStatus }
  | { ok: false; reason: 'closed' }
  | { ok: false; reason: 'forbidden'; message: string; status?: CampaignStatus }
  // The workflow accepted it (its validator passed) and is applying it: no result within the wait.
  | { ok: false; reason: 'accepted' }
  // No worker took it within the wait: Temporal holds it, and a worker that takes it applies it
  // if the campaign still allows it then (the validator runs at that moment).
  | { ok: false; reason: 'pending' }
  // No answer in time, and Temporal does not answer now either: the Update may not have reached it.
  | { ok: false; reason: 'unreachable'; problem: string };

const UPDATES = {
  approve: approveUpdate,
  reject: rejectUpdate,
  pause: pauseUpdate,
  resume: resumeUpdate,
  cancel: cancelUpdate,
  continue: continueUpdate,
} as const;
export type LifecycleAction = keyof typeof UPDATES;

/**
 * Asks the campaign's workflow for a transition through its Update, named by the API's request
 * id (`updateId`: a second Update with the same id is the same Update, never applied twice), and
 * waits at most `waitMs` in all. The answer is the workflow's own (its validator refuses what is
 * not allowed from where it stands); without one in time it says how far the Update got: taken
 * and accepted by the workflow (`accepted`), or not yet taken by any worker (`pending`), or
 * Temporal itself not answering (`unreachable`: the Update may never have reached it). None is a
 * refusal: an Update Temporal holds is applied when a worker runs it.
 */
export async function transition(
  client: Client,
  campaignId: string,
  action: LifecycleAction,
  arg: (ReviewDecision | ControlRequest | ContinueRequest) & { requestId: string },
  waitMs = UPDATE_DEADLINE_MS,
): Promise<DecisionOutcome> {
  const handle = client.workflow.getHandle(campaignWorkflowId(campaignId));
  const deadline = Date.now() + waitMs;
  let accepted = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await client.connection.withDeadline(deadline, async () => {
      const update = await handle.startUpdate(UPDATES[action] as typeof approveUpdate, {
        args: [arg],
        updateId: arg.requestId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      accepted = true;
      // Waiting for the result is a series of long polls: a timer bounds the whole wait.
      const late = new Promise<'late'>((ok) => {
        timer = setTimeout(() => ok('late'), Math.max(0, deadline - Date.now()));
      });
      return Promise.race([update.result(), late]);
    });
    if (answer === 'late') return { ok: false, reason: 'accepted' };
    return { ok: true, status: answer.status };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === INVALID_TRANSITION) {
      const details = err.cause.details?.[0] as { status?: CampaignStatus } | undefined;
      return { ok: false, reason: 'conflict', message: err.cause.message, status: details?.status };
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FOUR_EYES_REFUSED) {
      const details = err.cause.details?.[0] as { status?: CampaignStatus } | undefined;
      return { ok: false, reason: 'forbidden', message: err.cause.message, status: details?.status };
    }
    if (err instanceof WorkflowNotFoundError) return { ok: false, reason: 'closed' };
    if (isTemporalUnavailable(err)) return { ok: false, reason: 'unreachable', problem: firstLine(err) };
    if (isDeadlineExceeded(err)) {
      if (accepted) return { ok: false, reason: 'accepted' };
      // "Temporal holds it" is only true of a Temporal that answers.
      const problem = await temporalProblem(client);
      return problem === undefined ? { ok: false, reason: 'pending' } : { ok: false, reason: 'unreachable', problem };
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why Temporal does not answer a small call now (3 s), or undefined when it does: asked after a
 * call ran out of time, so that an answer never blames a worker for what is Temporal's outage.
 */
async function temporalProblem(client: Client): Promise<string | undefined> {
  return client.connection
    .withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}))
    .then(
      () => undefined,
      (e: unknown) => firstLine(e),
    );
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!;

/** A call that ran out of time: gRPC DEADLINE_EXCEEDED (status 4), or an Update whose wait timed out. */
function isDeadlineExceeded(err: unknown): boolean {
  const e = err as { code?: number; name?: string; cause?: { code?: number } };
  return e.code === 4 || e.cause?.code === 4 || e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError';
}

/** What a sent test message got back: its Message-ID and the SMTP server's reply. */
export interface TestSent {
  messageId: string;
  response: string;
}

/**
 * Runs one test send on a worker (`testSendWorkflow`, which holds the SMTP credentials) and
 * answers within TEST_SEND_DEADLINE_MS whatever happens: the deadline bounds each gRPC call, but
 * waiting for a result is a series of long polls, so a timer bounds the whole wait. A send that
 * did not go is a Refusal saying why (`status` is the campaign's, for the answer).
 */
export async function runTestSend(client: Client, o: { campaignId: string; recipientId: number; to: string; taskQueue: string; status: string }): Promise<TestSent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((ok) => {
    timer = setTimeout(() => ok('timeout'), TEST_SEND_DEADLINE_MS + 1000);
  });
  try {
    const sent = client.connection.withDeadline(Date.now() + TEST_SEND_DEADLINE_MS, () =>
      client.workflow.execute<typeof testSendWorkflow>('testSendWorkflow', {
        workflowId: testSendWorkflowId(o.campaignId, randomUUID()),
        taskQueue: o.taskQueue,
        // Past the API's answer the workflow times out: no worker starts the send after that.
        workflowExecutionTimeout: TEST_SEND_DEADLINE_MS,
        args: [{ campaignId: o.campaignId, recipientId: o.recipientId, to: o.to }],
      }),
    );
    const result = await Promise.race([sent, timeout]);
    if (result === 'timeout') throw testSendTimedOut();
    return result;
  } catch (err) {
    const failure = testSendFailure(err, o.status);
    if (isTemporalUnavailable(err) || (failure instanceof Refusal && failure.message === TIMED_OUT)) {
      const problem = isTemporalUnavailable(err) ? firstLine(err) : await temporalProblem(client);
      if (problem !== undefined) throw new Refusal('unavailable', `Temporal is unreachable (${problem}): the test send may not have started, and nothing more will be; try again once Temporal answers`, { status: o.status });
    }
    throw failure;
  } finally {
    clearTimeout(timer);
  }
}

const TIMED_OUT = `no worker answered the test send within ${TEST_SEND_DEADLINE_MS / 1000} s; nothing more is started, but an attempt already running may still reach the SMTP server`;
const testSendTimedOut = () => new Refusal('unavailable', TIMED_OUT);

/** A test send that did not go, as the refusal that says why; anything else as it was. */
function testSendFailure(err: unknown, status: string): unknown {
  if (err instanceof Refusal) return err;
  // The API's deadline, or the workflow's execution timeout (the same) seen first by the workflow.
  if (isDeadlineExceeded(err) || (err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure)) return testSendTimedOut();
  const cause = err instanceof WorkflowFailedError ? err.cause?.cause : undefined;
  if (!(cause instanceof ApplicationFailure)) return err;
  if (cause.type === ATTACHMENT_CHANGED) return attachmentRefusal('attachment-changed', cause.message, 'nothing was sent', status);
  if (cause.type === LOCATION_DENIED) return attachmentRefusal('attachment-location', cause.message, 'nothing was sent', status);
  // A test send is a send for the account: refused while it is held, counted against its limits.
  if (cause.type === ACCOUNT_HELD) return new Refusal('conflict', `${cause.message}; nothing was sent`, { status, account: 'held' });
  if (cause.type === ACCOUNT_THROTTLED) {
    const retryAt = Date.parse(String(cause.details?.[0]));
    const retryAfter = Number.isFinite(retryAt) ? Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) : 60;
    return new Refusal('throttled', `${cause.message}; nothing was sent`, { status }, retryAfter);
  }
  // The attempts ran out of their budget (each stalled, or the last had no time left): said as such.
  if (err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof TimeoutFailure) {
    return new Refusal('unavailable', `the test send did not finish within ${TEST_SEND_BUDGET_MS / 1000} s and is not tried again; an attempt that stalled inside SMTP may still have reached the server`, { status });
  }
  // The SMTP server said no (for good, or still after the retries): its reply is the answer.
  if (err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure) {
    return new Refusal('upstream', 'the SMTP server refused the test message; nothing was sent', { smtpResponse: cause.message });
  }
  return err;
}
