import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CampaignStatus } from './statuses.js';

// Messages a campaign workflow accepts. The API and the tests import these definitions; the
// Temporal Web UI and `temporal workflow signal --name approve` use the same names.

export interface ReviewDecision {
  /** Who decided: the API key's principal, or whatever a Signal sender puts here. */
  by?: string;
  note?: string;
  /** Set by the REST API: the request it authenticated, so the audit row names the caller it knows. */
  requestId?: string;
}

export interface DecisionAnswer {
  status: CampaignStatus;
}

export interface CampaignProgress {
  campaignId: string;
  status: CampaignStatus;
  /** Who paused or cancelled it and why, or the SMTP reply that paused it. */
  reason?: string;
  recipients: { total: number; sendable: number; blocked: number };
  /** Recipients handed to delivery so far, finished, in flight, and Sent copies still to file. */
  delivery: { started: number; finished: number; inFlight: number; copiesPending: number };
  startAt?: string;
  /** With a pilot batch: its size, and (once sent) why it stopped, if its stopIf share was reached. */
  pilot?: { size: number; stage: 'pilot' | 'rest'; stopped?: string };
}

export const approveUpdate = defineUpdate<DecisionAnswer, [ReviewDecision]>('approve');
export const rejectUpdate = defineUpdate<DecisionAnswer, [ReviewDecision]>('reject');
export const approveSignal = defineSignal<[ReviewDecision]>('approve');
export const rejectSignal = defineSignal<[ReviewDecision]>('reject');
/** Pause, resume and cancel: from the REST API as Updates, or as Signals from the Temporal UI. */
export interface ControlRequest {
  by?: string;
  reason?: string;
  /** Set by the REST API: the request it authenticated, so the audit row names the caller it knows. */
  requestId?: string;
  /** A campaign's resume to its sends: how many times the campaign has been resumed, this one included. */
  resumes?: number;
  /**
   * A send's pause (`by: 'smtp'`): how many of its campaign's resumes the send had heard of when the
   * attempt that found the account refusing began. Fewer than the campaign has had: a person resumed
   * it (releasing the hold) while that answer was on its way, and the pause is stale.
   */
  resumesSeen?: number;
}

/** What a Signal did, as written to the audit log by the activity that records it. */
export type SignalAction = 'approve' | 'approve_refused' | 'reject' | 'pause' | 'resume' | 'cancel' | 'continue' | 'continue_refused';

/**
 * A decision as the workflow hands it to the activity that records it and writes its audit row,
 * whichever way it came (REST, an Update sent straight to Temporal, a Signal).
 */
export interface DecisionAudit {
  action: SignalAction;
  by: string;
  via: 'update' | 'signal';
  /** The REST API's request id, if the sender gave one: honoured only if the API recorded it. */
  apiRequest?: string;
  /** Made by the workflow: one audit row per decision, however often the activity is retried. */
  auditId: string;
  note?: string;
  reason?: string;
}

/** Continue after a pilot batch: sends the rest. `force` goes on although the pilot reached its stopIf share. */
export interface ContinueRequest extends ReviewDecision {
  force?: boolean;
}
export const continueUpdate = defineUpdate<DecisionAnswer, [ContinueRequest]>('continue');
export const continueSignal = defineSignal<[ContinueRequest]>('continue');

export const pauseUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('pause');
export const resumeUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('resume');
export const cancelUpdate = defineUpdate<DecisionAnswer, [ControlRequest]>('cancel');
export const pauseSignal = defineSignal<[ControlRequest]>('pause');
export const resumeSignal = defineSignal<[ControlRequest]>('resume');
export const cancelSignal = defineSignal<[ControlRequest]>('cancel');

/** A delivery child tells its campaign how its recipient ended, and later how the Sent copy did. */
export interface DeliveryReport {
  recipientId: number;
  stage: 'send' | 'copy';
  outcome: 'sent' | 'failed' | 'cancelled' | 'skipped' | 'appended' | 'not_requested';
  /** With stage `send` and outcome `sent`: a Sent copy is still to be filed. */
  copyPending?: boolean;
}
export const deliveryReportSignal = defineSignal<[DeliveryReport]>('deliveryReport');

export const statusQuery = defineQuery<CampaignProgress>('status');
