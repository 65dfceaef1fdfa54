import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { ActivityFailure, ApplicationFailure, WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { BuildResult } from '../activities/build.js';
import { FOUR_EYES_REFUSED } from '../contract/failures.js';
import { pilotDecisionReason, pilotSentReason, pilotStopReason, pilotWholeListReason } from '../contract/pilot.js';
import { CampaignIdAttr, CampaignStatusAttr } from '../contract/search-attributes.js';
import type { CampaignStatus } from '../contract/statuses.js';
import { deliveryWorkflowId } from '../contract/workflow-ids.js';
import { CampaignState, type ContinuedState } from './campaign-state.js';
import {
  approveSignal,
  approveUpdate,
  cancelSignal,
  cancelUpdate,
  continueSignal,
  continueUpdate,
  deliveryReportSignal,
  pauseSignal,
  pauseUpdate,
  rejectSignal,
  rejectUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
  type ContinueRequest,
  type ControlRequest,
  type DecisionAudit,
  type ReviewDecision,
} from '../contract/messages.js';
import { deliveryWorkflow } from './delivery.js';
import { fanOutSizes, type FanOutSizes } from './fan-out-sizes.js';

export interface CampaignInput {
  campaignId: string;
  /** True when the namespace has the custom search attributes (the API checks at start). */
  searchAttributes?: boolean;
  /** Present when this run continues an earlier run that was sending. */
  continued?: ContinuedState;
  /**
   * Delivery children at once (1 to 100, default 100; not a send window) and starts per run
   * before continue-as-new (the window to 1,000, default 1,000): smaller sizes for tests and
   * operators, never set by the API. Out-of-bounds values are clamped (`fanOutSizes`), and
   * continue-as-new passes them on.
   */
  fanOutWindow?: number;
  startsPerRun?: number;
}

export interface CampaignResult {
  status: CampaignStatus;
}

/** How long the fan-out waits for a report before it checks the record itself (doubling while quiet). */
const QUIET_MIN_MS = 15_000;
const QUIET_MAX_MS = 10 * 60_000;
/** How long a cancel's answer waits for the sends in flight to stop before it answers `cancelling`. */
const CANCEL_ANSWER_WAIT = '10 seconds';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const build = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20 },
});

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const c = new CampaignState(input.campaignId, input.searchAttributes ?? false, input.continued);
  registerHandlers(c);
  if (!input.continued) {
    const built = await buildList(c);
    if ('ended' in built) return built.ended;
    const ended = (await awaitReview(c, built.review)) ?? (await awaitStart(c));
    if (ended) return ended;
    // A pilot batch: histories recorded before pilots never take this path.
    if (built.pilot && patched('pilot-batch')) await choosePilot(c, built.pilot);
  }
  if (c.pilot?.stage === 'pilot') {
    const ended = (await deliverAll(c, input)) ?? (c.pilot.wholeList ? await completeWholeListPilot(c) : await awaitContinue(c));
    if (ended) return ended;
  }
  const cancelled = await deliverAll(c, input);
  if (cancelled) return cancelled;
  return complete(c);
}

type Review = BuildResult['review'];
type Pilot = BuildResult['pilot'];

/** Builds and checks the recipient list: its review and pilot settings, or a result when the campaign ends there. */
async function buildList(c: CampaignState): Promise<{ ended: CampaignResult } | { review: Review; pilot: Pilot }> {
  const campaignId = c.id;
  let built: BuildResult;
  try {
    built = await build.buildRecipients.executeWithOptions({ summary: 'build and check the recipient list' }, [{ campaignId }]);
  } catch (err) {
    // A build that gave up (S3 refusing every attempt, retries exhausted) ends the campaign
    // failed with the reason and no rows, instead of failing the workflow and leaving it building.
    if (!(err instanceof ActivityFailure) || !patched('build-gives-up')) throw err;
    c.phase = 'failed';
    c.reason = `the recipient list could not be built: ${err.cause?.message ?? err.message}`;
    publish(c);
    await acts.abandonBuild({ campaignId, reason: c.reason });
    await condition(allHandlersFinished);
    return { ended: { status: c.status } };
  }
  c.recipients = { total: built.total, sendable: built.sendable, blocked: built.blocked };
  c.startAt = built.startAt;
  c.distinctReviewer = built.review?.distinctReviewer ?? false;
  if (built.error) {
    c.phase = 'failed';
    c.reason = built.error;
    await setStatus(c);
    return { ended: { status: c.status } };
  }
  // Review settings came with the build; histories recorded before them take the old path.
  return { review: patched('review-gate') ? built.review : undefined, pilot: built.pilot };
}

/** Waits for the human decision (or skips it where the tenant allows); a result unless approved. */
async function awaitReview(c: CampaignState, review: Review): Promise<CampaignResult | undefined> {
  if (!c.cancelRequested && review && !review.required) {
    c.decision = { approved: true, by: 'review not required' };
    await acts.recordDecision({ campaignId: c.id, approved: true, by: 'review not required', viaSignal: false });
    c.phase = 'sending';
    c.decisionRecorded = true;
  } else if (!c.cancelRequested) {
    c.phase = 'awaiting_review';
    await setStatus(c);
    if (review) {
      // A durable timer: a campaign nobody reviews ends expired and sends nothing.
      const settled = await condition(() => c.decisionRecorded || c.cancelRequested, review.expiresAfter as Duration, {
        summary: `review expires after ${review.expiresAfter}`,
      });
      if (!settled) return expire(c, review.expiresAfter);
    } else {
      await condition(() => c.decisionRecorded || c.cancelRequested);
    }
  }
  if (c.cancelRequested && !c.decisionRecorded) return finishCancelled(c);
  if (!c.decision?.approved) {
    await condition(allHandlersFinished);
    return { status: c.status };
  }
  return undefined;
}

async function expire(c: CampaignState, after: string): Promise<CampaignResult> {
  c.phase = 'expired';
  c.reason = `no review decision within ${after}`;
  await acts.expireCampaign({ campaignId: c.id, after });
  publish(c);
  await condition(allHandlersFinished);
  return { status: c.status };
}

/** Waits for a scheduled start, then marks the campaign sending; a result when cancelled meanwhile. */
async function awaitStart(c: CampaignState): Promise<CampaignResult | undefined> {
  if (c.startAt && Date.parse(c.startAt) > Date.now()) {
    c.phase = 'scheduled';
    await setStatus(c);
    await condition(() => c.cancelRequested, Date.parse(c.startAt) - Date.now(), { summary: `wait until ${c.startAt}` });
    if (c.cancelRequested) return finishCancelled(c);
  }
  c.phase = 'sending';
  if (!c.paused) await setStatus(c);
  return undefined;
}

/** Marks the pilot batch among the approved recipients; the fan-out then sends only those. */
async function choosePilot(c: CampaignState, pilot: NonNullable<Pilot>): Promise<void> {
  const { size, left } = await acts.choosePilot.executeWithOptions({ summary: 'choose the pilot batch' }, [{ campaignId: c.id }]);
  c.pilot = { size, stage: size > 0 ? 'pilot' : 'rest', stopIf: pilot.stopIf };
  // A pilot that took the whole list leaves nothing to continue. Histories recorded before this
  // (whose choosePilot said nothing of what was left) wait at pilot_sent as they did.
  if (size > 0 && left === 0 && patched('whole-list-pilot')) c.pilot.wholeList = true;
  show(c);
}

/** After a pilot batch that was the whole list: the campaign completes, saying so; no continue is needed. */
async function completeWholeListPilot(c: CampaignState): Promise<CampaignResult> {
  const o = await acts.pilotOutcome.executeWithOptions({ summary: 'how the pilot batch went' }, [{ campaignId: c.id }]);
  c.pilot!.stage = 'rest';
  c.reason = pilotWholeListReason(o);
  return complete(c, c.reason);
}

/**
 * After the pilot batch: the campaign waits at `pilot_sent` (stopped, with the share in its
 * reason, when the pilot reached its stopIf share) for a person's continue, reject or cancel.
 * A result unless continued; then the fan-out walks the list again for the rest.
 */
async function awaitContinue(c: CampaignState): Promise<CampaignResult | undefined> {
  const pilot = c.pilot!;
  const o = await acts.pilotOutcome.executeWithOptions({ summary: 'how the pilot batch went' }, [{ campaignId: c.id }]);
  pilot.stopped = pilotStopReason(o, pilot.stopIf);
  c.phase = 'pilot_sent';
  if (!c.paused) c.reason = pilotSentReason(o, pilot.stopIf);
  await setStatus(c);
  await condition(() => c.pilotDecision === 'continue' || c.pilotDecision === 'reject' || c.cancelRequested);
  if (c.cancelRequested) return finishCancelled(c);
  if (c.pilotDecision === 'reject') {
    await condition(allHandlersFinished);
    return { status: c.status };
  }
  pilot.stage = 'rest';
  c.cursor = 0;
  c.exhausted = false;
  return undefined;
}

/**
 * Sliding window over the recipient list: at most `window` children at once (100 unless the input
 * names fewer), each reporting back by Signal; continue as new after `startsPerRun` starts (1,000)
 * or sooner, before the history grows large. A result when cancelled.
 */
async function deliverAll(c: CampaignState, input: CampaignInput): Promise<CampaignResult | undefined> {
  const size = fanOutSizes(input);
  // A page shorter than asked for ends the list, and a run with nothing left to start finishes its
  // sends instead of continuing as new only to read an empty page (histories before: the old path).
  const loop: FanOutLoop = { size, shortPageEnds: patched('short-page-ends-list'), startedThisRun: 0, quiet: QUIET_MIN_MS, check: undefined };
  for (;;) {
    switch (nextStep(c, loop)) {
      case 'cancel':
        return finishCancelled(c);
      case 'page':
        loop.startedThisRun += await startNextPage(c, size, loop.shortPageEnds);
        continue;
      case 'done':
        return undefined;
      case 'continue-as-new':
        await condition(allHandlersFinished);
        // A cancel that came meanwhile is finished here: a continued run would not know of it. The
        // input goes on as it came (its sizes too, clamped again to the same values).
        if (c.cancelRequested && c.honestCancel) return finishCancelled(c);
        return continueAsNew<typeof campaignWorkflow>({ ...input, continued: c.carryOver() });
      case 'wait':
        await awaitReports(c, loop);
    }
  }
}

/** The fan-out's own state: its sizes, the starts of this run and the quiet-period check. */
interface FanOutLoop {
  size: FanOutSizes;
  shortPageEnds: boolean;
  startedThisRun: number;
  quiet: number;
  check: QuietCheck | undefined;
}

type FanOutStep = 'cancel' | 'page' | 'done' | 'continue-as-new' | 'wait';

/**
 * What the fan-out does next. Also the wait's wake-up: a report that changes none of this (most
 * of them) is counted by its handler and wakes nothing, so the campaign's workflow code runs once
 * per report, not once more for a pass of the loop that starts nothing.
 */
function nextStep(c: CampaignState, loop: FanOutLoop): FanOutStep {
  const { size } = loop;
  if (c.cancelRequested) return 'cancel';
  // A run that has started its share starts no more pages: children that report while a page
  // starts must not keep the window open and the run from ever continuing as new.
  const runFull = loop.startedThisRun >= size.startsPerRun && patched('starts-per-run-bound');
  if (!c.paused && !c.exhausted && c.inFlight.size <= size.window / 2 && !runFull) return 'page';
  if (c.exhausted && c.inFlight.size === 0 && c.copiesPending === 0) return 'done';
  // A run whose list has ended only waits for reports, a few events each: when there are no more
  // than two windows of them to come, it finishes instead of continuing as new (Temporal's
  // suggestion comes at 4,096 events; its limit is 51,200). A new run would only read an empty
  // page, and the continue-as-new itself stalls the last sends while the history replays.
  const finishing = loop.shortPageEnds && c.exhausted && c.inFlight.size + c.copiesPending <= 2 * size.window;
  if (!finishing && (loop.startedThisRun >= size.startsPerRun || workflowInfo().continueAsNewSuggested)) return 'continue-as-new';
  return 'wait';
}

/** Starts a delivery child for each recipient of the next page; how many it started. */
async function startNextPage(c: CampaignState, size: FanOutSizes, shortPageEnds: boolean): Promise<number> {
  const limit = size.window - c.inFlight.size;
  const page = await acts.nextRecipients.executeWithOptions({ summary: 'next recipients to send to' }, [
    { campaignId: c.id, afterId: c.cursor, limit, ...(c.pilot ? { pilot: c.pilot.stage === 'pilot' } : {}) },
  ]);
  // A row after the cursor is pending and sendable from the build and the review on, before the
  // fan-out (a send that failed and waits to retry is pending again only behind the cursor): none
  // can come after a short page.
  if (page.length === 0 || (shortPageEnds && page.length < limit)) c.exhausted = true;
  await Promise.all(page.map((r) => startDelivery(c, r)));
  if (page.length > 0) c.cursor = page[page.length - 1]!.id;
  return page.length;
}

/** The pending quiet-period timer: whether it fired, and the event count when it started. */
interface QuietCheck {
  fired: boolean;
  events: number;
}

/**
 * Waits until the fan-out has something to do (room in the window, the end of the list, a control
 * change, a continue-as-new) or, with deliveries out, until no report has come for a while: reports
 * come by Signal and one can be lost (a child that could not reach this run while the server was
 * down), so then it asks Postgres, which has every outcome.
 */
async function awaitReports(c: CampaignState, loop: FanOutLoop): Promise<void> {
  const { size } = loop;
  const idle = () => c.inFlight.size === 0 && c.copiesPending === 0;
  const waitedIdle = idle();
  let seen = c.events;
  // The wait ends where it always did (every history replays the same): at a cancel, at room in
  // the window, or at a report or control change after which the fan-out has something to do or
  // waits differently (no deliveries out). A report that changes none of that is taken in without
  // ending the wait: before, it ended it for a pass of the loop that did nothing, once per report.
  const wake = () => {
    if (c.cancelRequested || (!c.paused && !c.exhausted && c.inFlight.size <= size.window / 2)) return true;
    if (c.events === seen) return false;
    seen = c.events;
    return nextStep(c, loop) !== 'wait' || idle() !== waitedIdle;
  };
  if (waitedIdle) {
    await condition(wake);
    return;
  }
  if (patched('fanout-check-timer')) {
    // One timer per quiet period, however many reports come meanwhile: a timer started and
    // cancelled at every report cost two history events and server work per report.
    if (!loop.check) {
      const started = { fired: false, events: c.events };
      loop.check = started;
      void sleep(loop.quiet, { summary: 'check deliveries' }).then(() => void (started.fired = true));
    }
    const current = loop.check;
    await condition(() => wake() || current.fired);
    if (current.fired) {
      loop.check = undefined;
      if (c.events === current.events) {
        await reconcile(c);
        loop.quiet = Math.min(loop.quiet * 2, QUIET_MAX_MS);
      } else {
        loop.quiet = QUIET_MIN_MS;
      }
    }
    return;
  }
  // Histories before the timer above: a timer per wait, and every report ended the wait.
  const before = c.events;
  if (await condition(() => c.events !== before || wake(), loop.quiet, { summary: 'wait for deliveries' })) {
    loop.quiet = QUIET_MIN_MS;
  } else {
    await reconcile(c);
    loop.quiet = Math.min(loop.quiet * 2, QUIET_MAX_MS);
  }
}

async function complete(c: CampaignState, reason?: string): Promise<CampaignResult> {
  // The workflow's answer (to a late Update) must never lag behind the record it writes.
  c.phase = 'completed';
  // Every recipient is done: a pause that came during the last sends has nothing left to hold,
  // and a finished campaign must not answer (or be listed as) paused.
  if (c.paused && patched('completed-not-paused')) c.paused = false;
  publish(c);
  await acts.completeCampaign({ campaignId: c.id, ...(reason ? { reason } : {}) });
  await condition(allHandlersFinished);
  return { status: c.status };
}

function registerHandlers(c: CampaignState): void {
  setHandler(statusQuery, () => c.progress());
  registerReviewHandlers(c);
  registerControlHandlers(c);
  setHandler(deliveryReportSignal, (r) => {
    if (r.stage === 'send') {
      if (c.inFlight.delete(r.recipientId)) c.finished++;
      if (r.copyPending) c.copiesPending++;
    } else {
      c.copiesPending = Math.max(0, c.copiesPending - 1);
    }
    show(c);
    c.events++;
  });
}

/**
 * Signals (the Temporal UI, `temporal workflow signal`, delivery children) cannot be answered:
 * one that is not allowed now is logged and ignored.
 */
const viaSignal =
  <A>(name: string, check: (a: A) => void, run: (a: A) => Promise<unknown>) =>
  async (a: A) => {
    try {
      check(a);
    } catch (err) {
      log.warn(`ignored ${name} signal: ${(err as Error).message}`);
      return;
    }
    await run(a);
  };

/**
 * Every decision is audited by the activity that records it, whichever way it came: the REST
 * API's request id names the caller the API authenticated; anything else is `update:`/`signal:`.
 */
async function decide(c: CampaignState, approved: boolean, d: ReviewDecision, viaSignal = false) {
  c.decision = { approved, by: d.by, note: d.note };
  const previousReason = c.reason;
  c.reason = undefined; // a refused approve Signal is no longer news once someone decided
  const by = d.by ?? 'unknown';
  const audit: DecisionAudit = {
    action: approved ? 'approve' : 'reject',
    by,
    via: viaSignal ? 'signal' : 'update',
    apiRequest: d.requestId,
    auditId: uuid4(),
    note: d.note,
  };
  const recorded = await acts.recordDecision({ campaignId: c.id, approved, by, note: d.note, viaSignal, audit });
  if (recorded?.refused) {
    // The four-eyes rule, checked against the people behind the keys: nothing was decided.
    c.decision = undefined;
    c.reason = previousReason;
    return { refused: recorded.refused };
  }
  c.phase = approved ? 'sending' : 'rejected';
  c.decisionRecorded = true;
  publish(c);
  return { status: c.status };
}

function registerReviewHandlers(c: CampaignState): void {
  const answer = async (approved: boolean, d: ReviewDecision) => {
    const r = await decide(c, approved, d);
    if ('refused' in r) throw ApplicationFailure.nonRetryable(r.refused, FOUR_EYES_REFUSED, { status: c.status });
    return r;
  };
  const afterPilot = async (action: 'continue' | 'reject', d: ContinueRequest) => {
    const r = await decideAfterPilot(c, action, d);
    if ('refused' in r) throw ApplicationFailure.nonRetryable(r.refused, FOUR_EYES_REFUSED, { status: c.status });
    return r;
  };
  setHandler(approveUpdate, (d) => answer(true, d), { validator: (_d) => c.assertAwaitingReview() });
  setHandler(rejectUpdate, (d) => (c.phase === 'pilot_sent' ? afterPilot('reject', d) : answer(false, d)), { validator: (_d) => c.assertCanReject() });
  setHandler(continueUpdate, (d) => afterPilot('continue', d), { validator: (d) => c.assertCanContinue(d?.force) });
  setHandler(approveSignal, viaSignal('approve', () => c.assertAwaitingReview(), (d: ReviewDecision) => approveBySignal(c, d)));
  setHandler(
    rejectSignal,
    viaSignal('reject', () => c.assertCanReject(), (d: ReviewDecision) => {
      const by = d.by ?? 'temporal-signal';
      return c.phase === 'pilot_sent' ? decideAfterPilot(c, 'reject', { ...d, by }, true) : decide(c, false, { ...d, by }, true);
    }),
  );
  setHandler(continueSignal, (d: ContinueRequest | undefined) => continueBySignal(c, d ?? {}));
}

/**
 * A person's decision at `pilot_sent`, recorded (and audited) by the activity, which applies the
 * four-eyes rule of approval to a continue: `{ refused }` when it did, with nothing decided.
 */
async function decideAfterPilot(c: CampaignState, action: 'continue' | 'reject', d: ContinueRequest, viaSignal = false) {
  c.pilotDecision = 'deciding';
  const by = d.by ?? 'unknown';
  const audit: DecisionAudit = { action, by, via: viaSignal ? 'signal' : 'update', apiRequest: d.requestId, auditId: uuid4(), note: d.note, ...(d.force ? { reason: 'forced past the pilot\'s stopIf share' } : {}) };
  const recorded = await acts.recordPilotDecision({ campaignId: c.id, action, audit });
  if (recorded.refused) {
    c.pilotDecision = undefined;
    return { refused: recorded.refused };
  }
  c.pilotDecision = action;
  c.phase = action === 'continue' ? 'sending' : 'rejected';
  // A reject ends a campaign paused at pilot_sent: nothing is left for a pause to hold, and an
  // ended campaign must not answer paused. (Histories before: it stayed paused.)
  if (action === 'reject' && c.paused && patched('rejected-not-paused')) c.paused = false;
  c.reason = pilotDecisionReason(action, audit);
  publish(c);
  return { status: c.status };
}

/** A continue Signal: refused (and logged where the reviewer looks) as an approve Signal is under four eyes. */
async function continueBySignal(c: CampaignState, d: ContinueRequest): Promise<void> {
  const by = d.by ?? 'temporal-signal';
  try {
    c.assertCanContinue(d.force);
  } catch (err) {
    log.warn(`ignored continue signal: ${(err as Error).message}`);
    return;
  }
  if (c.distinctReviewer) {
    c.reason = `a continue signal from "${by}" was refused: this campaign needs a distinct reviewer, so it is continued through the API, where the decider is known`;
    log.warn(c.reason);
    await setStatus(c, { action: 'continue_refused', by, via: 'signal', auditId: uuid4() });
    return;
  }
  const r = await decideAfterPilot(c, 'continue', { ...d, by }, true);
  if ('refused' in r) {
    c.reason = `a continue signal from "${by}" was refused: ${r.refused}`;
    log.warn(c.reason);
    await setStatus(c);
  }
}

async function approveBySignal(c: CampaignState, d: ReviewDecision): Promise<void> {
  const by = d.by ?? 'temporal-signal';
  // Four eyes needs a known approver, and a Signal's `by` is whatever its sender wrote: such a
  // campaign is approved through the API. The refusal is recorded where the reviewer looks.
  if (c.distinctReviewer && patched('four-eyes-signals')) {
    c.reason = `an approve signal from "${by}" was refused: this campaign needs a distinct reviewer, so it is approved through the API, where the approver is known`;
    log.warn(c.reason);
    await setStatus(c, { action: 'approve_refused', by, via: 'signal', auditId: uuid4() });
    return;
  }
  const r = await decide(c, true, { ...d, by }, true);
  if ('refused' in r) {
    // Refused by the activity (four eyes turned on after the build), which wrote the audit row.
    c.reason = `an approve signal from "${by}" was refused: ${r.refused}`;
    log.warn(c.reason);
    await setStatus(c);
  }
}

type Via = { signal?: boolean };

const controlAudit = (action: 'pause' | 'resume' | 'cancel', r: ControlRequest, v: Via): DecisionAudit => ({
  action,
  by: r.by ?? 'unknown',
  via: v.signal ? 'signal' : 'update',
  apiRequest: r.requestId,
  auditId: uuid4(),
  reason: r.reason,
});

function registerControlHandlers(c: CampaignState): void {
  setHandler(pauseUpdate, (r) => pause(c, r), { validator: (_r) => c.assertCanPause() });
  setHandler(resumeUpdate, (r) => resume(c, r), { validator: (_r) => c.assertCanResume() });
  setHandler(cancelUpdate, (r) => cancel(c, r), { validator: (_r) => c.assertCanCancel() });
  setHandler(
    pauseSignal,
    viaSignal(
      'pause',
      (r: ControlRequest) => {
        c.assertCanPause();
        assertPauseCurrent(c, r);
      },
      (r: ControlRequest) => pause(c, r, { signal: true }),
    ),
  );
  setHandler(resumeSignal, viaSignal('resume', () => c.assertCanResume(), (r: ControlRequest) => resume(c, r, { signal: true })));
  setHandler(cancelSignal, viaSignal('cancel', () => c.assertCanCancel(), (r: ControlRequest) => cancel(c, r, { signal: true })));
}

/**
 * A send's pause from an attempt that began before the campaign's latest resume: the refusal (or
 * the hold) it found is older than the person's resume, which released the hold. Its delivery was
 * in flight at that resume, so the resume Signal reaches it and it tries again; if the account still
 * refuses, that newer attempt pauses the campaign. (Histories before: such a pause was applied.)
 */
function assertPauseCurrent(c: CampaignState, r: ControlRequest | undefined): void {
  const seen = r?.resumesSeen;
  if (typeof seen === 'number' && seen < c.resumes && patched('stale-account-pause')) {
    throw new Error(`stale: the attempt that found the account refusing began before resume ${c.resumes} of the campaign; the send is tried again`);
  }
}

async function pause(c: CampaignState, r: ControlRequest, v: Via = {}) {
  c.paused = true;
  c.reason = describe('paused', r);
  c.events++;
  // The record changes before the answer: a send activity checks it right before SMTP.
  await setStatus(c, controlAudit('pause', r, v));
  return { status: c.status };
}

async function resume(c: CampaignState, r: ControlRequest, v: Via = {}) {
  c.paused = false;
  c.resumes++;
  c.reason = describe('resumed', r);
  // The answer is the status this resume wrote: the main path may run on (and even finish) while
  // the record is written and the sends in flight are told.
  const status = c.status;
  await setStatus(c, controlAudit('resume', r, v));
  c.events++;
  await tellChildren(c, 'resume');
  return { status };
}

async function cancel(c: CampaignState, r: ControlRequest, v: Via = {}) {
  c.cancelRequested = true;
  c.honestCancel = patched('honest-cancel');
  c.reason = describe('cancelled', r);
  c.events++;
  // `cancelling` first: a send activity checks the record right before SMTP and stops.
  await setStatus(c, controlAudit('cancel', r, v));
  c.cancelWritten = true;
  await tellChildren(c, 'cancel');
  // Sends in flight stop within a message or a throttle wait: answer `cancelled` when that is
  // soon, else `cancelling`, which the record shows until the last one has reported. A building
  // campaign is finished by the main path once the build has returned (its rows are not all there yet).
  if (c.honestCancel && c.phase !== 'building') {
    await condition(() => c.inFlight.size === 0, CANCEL_ANSWER_WAIT);
    if (c.inFlight.size === 0) await finishCancel(c);
  }
  return { status: c.status };
}

function describe(action: string, r: ControlRequest): string {
  return `${action} by ${r.by ?? 'unknown'}${r.reason ? `: ${r.reason}` : ''}`;
}

/** Mirrors the status into the Temporal UI's search attributes and its details panel. */
function publish(c: CampaignState): void {
  if (c.searchAttributes) upsertSearchAttributes([{ key: CampaignStatusAttr, value: c.status }]);
  show(c);
}

/**
 * The Temporal UI's "current details": workflow metadata, not a command, so it can change at
 * every report without touching history.
 */
function show(c: CampaignState): void {
  setCurrentDetails(c.details());
}

async function setStatus(c: CampaignState, audit?: DecisionAudit): Promise<void> {
  publish(c);
  // Paused: the record keeps the status beneath, where a review or a pilot's answer is still taken.
  await acts.setCampaignStatus({ campaignId: c.id, status: c.status, reason: c.reason, ...(c.paused && !c.cancelRequested ? { pausedIn: c.phase } : {}), audit });
}

async function startDelivery(c: CampaignState, r: { id: number; masked: string }): Promise<void> {
  // In flight from now: a child can finish and report before its start is confirmed here.
  c.inFlight.add(r.id);
  c.started++;
  try {
    await startChild(deliveryWorkflow, {
      workflowId: deliveryWorkflowId(c.id, r.id),
      // `v: 2`: the child skips its send-task-queue patch check (a marker and a search attribute
      // upsert in every child's history) and keeps its activities' inputs and its reports short.
      args: [{ campaignId: c.id, recipientId: r.id, masked: r.masked, ...(c.resumes ? { resumes: c.resumes } : {}), ...(patched('lean-delivery') ? { v: 2 as const } : {}) }],
      // Children outlive a continue-as-new of their campaign; they report back by Signal.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Send to ${r.masked} (recipient #${r.id})`,
      ...(c.searchAttributes ? { typedSearchAttributes: [{ key: CampaignIdAttr, value: c.id }] } : {}),
    });
  } catch (err) {
    // Started before (a reset or an earlier run): it reports to this campaign when done, and the
    // deterministic ID means it can never send twice.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.warn(`delivery for recipient ${r.id} was already started`);
    c.inFlight.delete(r.id);
  }
}

async function reconcile(c: CampaignState): Promise<void> {
  const r = await acts.deliveryProgress.executeWithOptions({ summary: 'check deliveries in the record' }, [
    { campaignId: c.id, ids: [...c.inFlight] },
  ]);
  for (const id of r.settled) if (c.inFlight.delete(id)) c.finished++;
  c.copiesPending = r.copiesPending;
  show(c);
}

async function tellChildren(c: CampaignState, what: 'resume' | 'cancel'): Promise<void> {
  await Promise.all(
    [...c.inFlight].map((id) =>
      getExternalWorkflowHandle(deliveryWorkflowId(c.id, id))
        .signal(what === 'resume' ? resumeSignal : cancelSignal, { by: 'campaign', ...(what === 'resume' ? { resumes: c.resumes } : {}) })
        .catch((err) => log.warn(`could not tell recipient ${id} to ${what}: ${String(err)}`)),
    ),
  );
}

/**
 * After a cancel, once no send is in flight: the unsent recipients and the campaign's `cancelled`
 * are written in one transaction. Run once, whoever gets here first (the Update or the main path).
 */
function finishCancel(c: CampaignState): Promise<void> {
  c.finishing ??= (async () => {
    // The main path can get here while the Update still writes `cancelling`; that write goes first.
    await condition(() => c.cancelWritten);
    // Reports come by Signal and one can be lost: when none comes for a while, ask the record.
    while (c.inFlight.size > 0) {
      if (!(await condition(() => c.inFlight.size === 0, QUIET_MIN_MS))) await reconcile(c);
    }
    await acts.finishCancel({ campaignId: c.id, reason: c.reason });
    c.cancelFinished = true;
    publish(c);
  })();
  return c.finishing;
}

async function finishCancelled(c: CampaignState): Promise<CampaignResult> {
  if (c.honestCancel) {
    await finishCancel(c);
    await condition(allHandlersFinished);
    return { status: c.status };
  }
  // In-flight sends finish (nothing half-sent is lost); everything not yet sent is cancelled.
  await condition(() => c.inFlight.size === 0);
  await acts.cancelUnsent({ campaignId: c.id });
  await setStatus(c);
  await condition(allHandlersFinished);
  return { status: c.status };
}
