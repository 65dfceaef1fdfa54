import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CampaignStatus } from '../contract/statuses.js';

// Messages a campaign workflow accepts. The API and the tests import these definitions; the
// Temporal Web UI and `temporal workflow signal --name approve` use the same names.

export interface ReviewDecision {
  /** Who decided: the API key's principal, or whatever a Signal sender puts here. */
  by?: string;
  note?: string;
}

export interface DecisionAnswer {
  status: CampaignStatus;
}

export interface CampaignProgress {
  campaignId: string;
  status: CampaignStatus;
  recipients: { total: number; sendable: number; blocked: number };
  /** Children started and finished so far in this run of the fan-out. */
  delivery: { started: number; finished: number };
}

export const approveUpdate = defineUpdate<DecisionAnswer, [ReviewDecision]>('approve');
export const rejectUpdate = defineUpdate<DecisionAnswer, [ReviewDecision]>('reject');
export const approveSignal = defineSignal<[ReviewDecision]>('approve');
export const rejectSignal = defineSignal<[ReviewDecision]>('reject');
/** Pause, resume and cancel: from the REST API as Updates, or as Signals from the Temporal UI. */
export interface ControlRequest {
  by?: string;
  reason?: string;
}

export const pauseUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('pause');
export const resumeUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('resume');
export const cancelUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('cancel');
export const pauseSignal = defineSignal<[ControlRequest]>('pause');
export const resumeSignal = defineSignal<[ControlRequest]>('resume');
export const cancelSignal = defineSignal<[ControlRequest]>('cancel');

export const statusQuery = defineQuery<CampaignProgress>('status');

/** The ApplicationFailure type a validator throws when a transition is not allowed. */
export const INVALID_TRANSITION = 'InvalidTransition';
