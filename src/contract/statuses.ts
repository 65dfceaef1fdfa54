// Status vocabularies shared by the API, the worker and the workflows.
// Plain constants only: workflow code imports this file, so it must stay free of I/O.

export const CAMPAIGN_STATUSES = [
  'building',
  'awaiting_review',
  'rejected',
  'scheduled',
  'sending',
  'paused',
  /** A pilot batch went out; the rest waits for a reviewer's continue. */
  'pilot_sent',
  'cancelling',
  'completed',
  'cancelled',
  'failed',
  'expired',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Statuses a campaign never leaves. */
export const FINAL_CAMPAIGN_STATUSES: readonly CampaignStatus[] = ['rejected', 'completed', 'cancelled', 'failed', 'expired'];

/** What a person may do to a campaign: the POST /campaigns/:id/<action> Updates, and a test message. */
export type CampaignAction = 'approve' | 'reject' | 'continue' | 'pause' | 'resume' | 'cancel' | 'testSend';

const REVIEW_OPEN: readonly CampaignStatus[] = ['awaiting_review'];
const AFTER_PILOT: readonly CampaignStatus[] = ['pilot_sent'];

/**
 * The statuses each action is allowed in: the one rule the workflow's Update validators
 * (src/workflows/campaign-state.ts), the test-send check and the console's buttons all read.
 * The workflow asks it of its status; for approve, reject, continue and cancel, of the status
 * beneath a pause (a pause holds the sends, not a review or the answer to a pilot).
 */
export const ACTION_STATUSES: Readonly<Record<CampaignAction, readonly CampaignStatus[]>> = {
  approve: REVIEW_OPEN,
  /** The other answer to an approve, and to a continue after the pilot batch. */
  reject: [...REVIEW_OPEN, ...AFTER_PILOT],
  continue: AFTER_PILOT,
  pause: ['scheduled', 'sending'],
  resume: ['paused'],
  /** Any status but a final one, and not while a cancel is already finishing. */
  cancel: CAMPAIGN_STATUSES.filter((s) => !FINAL_CAMPAIGN_STATUSES.includes(s) && s !== 'cancelling'),
  /** Test messages go out only while the review is open. */
  testSend: REVIEW_OPEN,
};

/** Whether a campaign in `status` allows `action` (ACTION_STATUSES). */
export const allows = (action: CampaignAction, status: string): boolean => (ACTION_STATUSES[action] as readonly string[]).includes(status);

/** The statuses whose campaign has sends still to come on a known plan: they get an expected schedule. */
export const PLANNED_STATUSES: readonly CampaignStatus[] = ['awaiting_review', 'scheduled', 'sending', 'paused'];

export const BUILD_STATUSES = ['ready', 'warning', 'needs_review', 'blocked', 'excluded'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** `bounced`: sent, then a delivery status notification in the account's INBOX said it did not arrive. */
export const SEND_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped', 'bounced'] as const;
export type SendStatus = (typeof SEND_STATUSES)[number];
/** Send statuses a recipient never leaves. */
export const FINAL_SEND_STATUSES: readonly SendStatus[] = ['sent', 'failed', 'cancelled', 'skipped', 'bounced'];

/** An answer found in the account's INBOX, beside the send status: a person's reply, or an automatic one (an out-of-office). */
export const ANSWER_KINDS = ['replied', 'auto_replied'] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

export const COPY_STATUSES = ['not_requested', 'pending', 'appended', 'failed'] as const;
export type CopyStatus = (typeof COPY_STATUSES)[number];

const LEDGER_STATES = ['sending', 'sent', 'failed', 'unknown'] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

export interface CampaignCounts {
  total: number;
  pending: number;
  sent: number;
  failed: number;
  appended: number;
}

/** Send statuses that are done but neither sent nor failed: said beside sent and failed, so "done" adds up. */
export const NOT_SENT_STATUSES = ['skipped', 'cancelled', 'bounced'] as const satisfies readonly SendStatus[];

/** A campaign's counts in the campaign list: the progress, and what was done without being sent. */
export type CampaignListCounts = CampaignCounts & Record<(typeof NOT_SENT_STATUSES)[number], number>;
