import { ApplicationFailure } from '@temporalio/common';
import { allows, FINAL_CAMPAIGN_STATUSES, type CampaignStatus } from '../contract/statuses.js';
import { INVALID_TRANSITION } from '../contract/failures.js';
import type { CampaignProgress, ReviewDecision } from '../contract/messages.js';

/** Where a campaign is, apart from being paused or cancelled. */
export type Phase = 'building' | 'awaiting_review' | 'rejected' | 'scheduled' | 'sending' | 'pilot_sent' | 'completed' | 'failed' | 'expired';

/** A campaign with a pilot batch: which part it sends now, and why it stopped after the pilot, if it did. */
export interface PilotState {
  size: number;
  stage: 'pilot' | 'rest';
  stopIf?: { failedShare: number };
  /** Set when the pilot reached its stopIf share: continue then needs `force`. */
  stopped?: string;
  /** Set when the pilot took every recipient approved for sending: it completes without a continue. */
  wholeList?: boolean;
}

/** What a run that continues as new carries over: a cursor and a few counters, never the list. */
export interface ContinuedState {
  phase: 'sending';
  paused: boolean;
  reason?: string;
  cursor: number;
  exhausted: boolean;
  inFlight: number[];
  copiesPending: number;
  started: number;
  finished: number;
  recipients: { total: number; sendable: number; blocked: number };
  pilot?: PilotState;
  /** How many times the campaign has been resumed (absent: never). */
  resumes?: number;
}

/**
 * The campaign's state machine; the workflow function only moves it along. Pure: it neither
 * publishes nor schedules anything, so it is tested alone (test/workflows/campaign-state.test.ts).
 */
export class CampaignState {
  phase: Phase = 'building';
  paused = false;
  /**
   * How many times it has been resumed: its sends start knowing this count and hear of each new
   * resume, and a send's pause from an attempt that began before the latest resume is stale.
   */
  resumes = 0;
  cancelRequested = false;
  /**
   * A cancel recorded under patched('honest-cancel'): the campaign reads `cancelling` until its
   * last in-flight send has reported and the unsent rows are cancelled with the final status.
   */
  honestCancel = false;
  /** The record says `cancelling`: the finish may not overtake that write. */
  cancelWritten = false;
  cancelFinished = false;
  /** The one run of the cancel's finish, shared by the Update handler and the main path. */
  finishing?: Promise<void>;
  reason?: string;
  decision?: { approved: boolean } & ReviewDecision;
  decisionRecorded = false;
  recipients = { total: 0, sendable: 0, blocked: 0 };
  startAt?: string;
  /** review.distinctReviewer: only a known approver (the API's key) may approve. */
  distinctReviewer = false;
  // fan-out
  cursor = 0;
  exhausted = false;
  inFlight = new Set<number>();
  copiesPending = 0;
  started = 0;
  finished = 0;
  /** Bumped whenever something the fan-out waits for happens. */
  events = 0;
  pilot?: PilotState;
  /** A person's decision at `pilot_sent`, once recorded; `deciding` while it is being recorded. */
  pilotDecision?: 'continue' | 'reject' | 'deciding';

  constructor(
    readonly id: string,
    readonly searchAttributes: boolean,
    continued?: ContinuedState,
  ) {
    if (continued) {
      this.phase = continued.phase;
      this.paused = continued.paused;
      this.reason = continued.reason;
      this.cursor = continued.cursor;
      this.exhausted = continued.exhausted;
      this.inFlight = new Set(continued.inFlight);
      this.copiesPending = continued.copiesPending;
      this.started = continued.started;
      this.finished = continued.finished;
      this.recipients = continued.recipients;
      this.pilot = continued.pilot;
      this.resumes = continued.resumes ?? 0;
      this.decisionRecorded = true;
    }
  }

  get status(): CampaignStatus {
    if (this.cancelRequested) return this.honestCancel && !this.cancelFinished ? 'cancelling' : 'cancelled';
    if (this.paused) return 'paused';
    return this.phase;
  }

  get final(): boolean {
    return this.cancelRequested || FINAL_CAMPAIGN_STATUSES.includes(this.phase);
  }

  private conflict(wanted: string): never {
    throw ApplicationFailure.nonRetryable(`the campaign is ${this.status}; it cannot be ${wanted}`, INVALID_TRANSITION, {
      status: this.status,
    });
  }

  assertAwaitingReview(): void {
    if (this.decision || this.cancelRequested) {
      throw ApplicationFailure.nonRetryable(
        `the campaign is ${this.decision && !this.cancelRequested ? 'already decided' : this.status}, not awaiting review`,
        INVALID_TRANSITION,
        { status: this.status },
      );
    }
    if (!allows('approve', this.phase)) {
      throw ApplicationFailure.nonRetryable(`the campaign is ${this.status}, not awaiting review`, INVALID_TRANSITION, {
        status: this.status,
      });
    }
  }

  /** Reject: while the review is open (as approve is), or after the pilot batch (as continue is). */
  assertCanReject(): void {
    if (allows('reject', this.phase) && allows('continue', this.phase) && !this.cancelRequested && this.pilotDecision === undefined) return;
    this.assertAwaitingReview();
  }

  /** Continue after the pilot batch: only at `pilot_sent`, and with `force` when the pilot reached its stopIf share. */
  assertCanContinue(force?: boolean): void {
    if (this.cancelRequested || !allows('continue', this.phase) || this.pilotDecision !== undefined) {
      this.conflict(`continued: only a campaign at pilot_sent is${this.pilotDecision === 'deciding' ? ' (a decision is being recorded)' : ''}`);
    }
    if (this.pilot?.stopped && !force) {
      throw ApplicationFailure.nonRetryable(`${this.pilot.stopped}; continue with force to send the rest anyway`, INVALID_TRANSITION, {
        status: this.status,
      });
    }
  }

  assertCanPause(): void {
    if (!allows('pause', this.status)) this.conflict('paused');
  }

  assertCanResume(): void {
    if (!allows('resume', this.status)) this.conflict('resumed: it is not paused');
  }

  /** A paused campaign is cancelled as the status beneath the pause allows. */
  assertCanCancel(): void {
    if (this.cancelRequested || !allows('cancel', this.phase)) this.conflict('cancelled');
  }

  /**
   * The Temporal UI's "current details" (markdown): status, a progress bar, the counts. The
   * workflow module publishes it (src/workflows/campaign.ts), so this class needs no workflow context.
   */
  details(): string {
    const { total, sendable, blocked } = this.recipients;
    const lines = [`**${this.status}**${this.reason ? ` — ${this.reason}` : ''}`, ''];
    if (this.phase === 'building') {
      lines.push('Building and checking the recipient list.');
    } else {
      lines.push(`Recipients: ${total} in the list, ${sendable} ready to send, ${blocked} blocked.`);
    }
    if (this.pilot) {
      lines.push('', this.pilot.wholeList ? `Pilot batch: ${this.pilot.size} recipients, the whole list; nothing waits for a continue.` : this.pilot.stage === 'pilot' ? `Pilot batch: ${this.pilot.size} recipients first; the rest waits for a continue.` : `Pilot batch of ${this.pilot.size} sent; sending the rest.`);
    }
    if (this.started > 0) {
      const goal = this.exhausted ? this.started : Math.max(sendable, this.started);
      const share = goal > 0 ? this.finished / goal : 0;
      const filled = Math.round(share * 20);
      lines.push(
        '',
        `\`${'█'.repeat(filled)}${'░'.repeat(20 - filled)}\` ${Math.floor(share * 100)}% — ${this.finished} of ${goal} done`,
        '',
        `In flight: ${this.inFlight.size}. Sent copies still to file: ${this.copiesPending}.`,
      );
    }
    return lines.join('\n');
  }

  carryOver(): ContinuedState {
    return {
      phase: 'sending',
      paused: this.paused,
      reason: this.reason,
      cursor: this.cursor,
      exhausted: this.exhausted,
      inFlight: [...this.inFlight],
      copiesPending: this.copiesPending,
      started: this.started,
      finished: this.finished,
      recipients: this.recipients,
      ...(this.pilot ? { pilot: this.pilot } : {}),
      ...(this.resumes ? { resumes: this.resumes } : {}),
    };
  }

  progress(): CampaignProgress {
    return {
      campaignId: this.id,
      status: this.status,
      reason: this.reason,
      recipients: this.recipients,
      delivery: { started: this.started, finished: this.finished, inFlight: this.inFlight.size, copiesPending: this.copiesPending },
      startAt: this.startAt,
      ...(this.pilot ? { pilot: { size: this.pilot.size, stage: this.pilot.stage, stopped: this.pilot.stopped } } : {}),
    };
  }
}
