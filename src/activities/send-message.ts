import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ATTEMPT_REPLACED, CAMPAIGN_NOT_FOUND, SMTP_TRANSIENT } from '../contract/failures.js';
import * as campaigns from '../db/campaigns.js';
import * as ledger from '../db/ledger.js';
import type { SendOutcomeRecord } from '../db/ledger.js';
import * as recipients from '../db/recipients.js';
import { claimSend, loadSend, type SendClaim, type SendClaimResult, type SendLoad } from '../db/send-path.js';
import { holdAccount, holdKey, releaseSlot, slowDown, throttleKey, type RateLimit, type ReservedSlot } from '../db/send-slots.js';
import type { LiveAccount } from '../mail/account-pool.js';
import { classifySmtpError } from '../mail/smtp.js';
import { TemplateRenderError } from '../mail/templates.js';
import { ObjectChangedError } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import { maskAddressesIn } from '../contract/mask.js';
import type { ActivityDeps, RecipientRef } from './deps.js';
import { waitUntil } from './heartbeat.js';
import { passAccountGate, rateLimits, startWhenMinuteAllows } from './account-gate.js';
import { accountOf, existingCampaign, messageFromRecords, type RecipientMessage } from './records.js';

// A result is written into the delivery's history as it is, once per recipient: it carries only
// what the workflow acts on. The Message-ID and the SMTP reply are in the ledger (and, when the
// database was away, in `unrecorded`); results of earlier releases also carried `messageId`.
export type SendResult =
  /**
   * `copyRequested`: present (true) when a Sent copy is to be filed. `unrecorded`: the outcome
   * could not be written (the database was away); the workflow records it.
   */
  | { outcome: 'sent'; copyRequested?: boolean; unrecorded?: SendOutcomeRecord }
  | { outcome: 'failed'; unrecorded?: SendOutcomeRecord }
  /** An address of the message (To, Cc or Bcc) is on the suppression list: nothing was sent (which one: the record). */
  | { outcome: 'skipped'; reason: 'suppressed' }
  /** The campaign is paused (or the account just refused to go on: `accountProblem`). */
  | { outcome: 'paused'; accountProblem?: string }
  | { outcome: 'cancelled' }
  /** The next slot under the rate limits is further away than an activity should wait. */
  /** `timer` names the wait in the Temporal UI (the send window's opening; a rate limit otherwise). */
  | { outcome: 'throttled'; retryAt: number; reason: string; timer?: string };

/** A sent result: `copyRequested` only when a copy is to be filed (an absent field costs no history). */
const sentResult = (copyRequested: boolean): Extract<SendResult, { outcome: 'sent' }> => (copyRequested ? { outcome: 'sent', copyRequested } : { outcome: 'sent' });

/** Heartbeat details of a send attempt: the outcome of its SMTP transaction, once there is one. */
export interface SendHeartbeat {
  smtpOutcome?: SendOutcomeRecord;
}

/** Slots closer than this are waited for inside the activity; further ones by a workflow timer. */
const MAX_IN_ACTIVITY_WAIT_MS = 30_000;
const RECORD_TIMEOUT_MS = 10_000;

/** One attempt of one recipient's send, as far as it has got: who it is, and what it sends through. */
interface Attempt {
  deps: ActivityDeps;
  campaignId: string;
  recipientId: number;
  campaign: campaigns.CampaignRow;
  /** What the attempt read as it registered: the campaign, the recipient, its ledger row, the tenant, the hold. */
  load: SendLoad;
  account: LiveAccount;
  copyRequested: boolean;
  /** Temporal schedules a replacement attempt after the one it replaces: the later, the higher. */
  rank: number;
  /** Who runs this attempt, for the ledger: enough to tell attempts and processes apart. */
  owner: string;
  accountLabel: { account: string };
  /** Tells the next attempt (by heartbeat) what this one's SMTP transaction did. */
  note: (d: SendHeartbeat) => void;
  /** The slot reserved under the rate limits, once there is one: given back when no message uses it. */
  slot?: ReservedSlot;
}

/**
 * The send pipeline: an outcome an earlier attempt carried over, the ledger, the campaign's and the
 * account's state, a slot under the rate limits, the message, then (holding an SMTP connection
 * slot) the last checks, the ledger claim and the SMTP transaction.
 */
export async function sendMessage(deps: ActivityDeps, ref: RecipientRef, note: (d: SendHeartbeat) => void): Promise<SendResult> {
  const carried = (Context.current().info.heartbeatDetails as SendHeartbeat | undefined)?.smtpOutcome;
  if (carried) return recordCarried(deps, carried);
  // Registered as it loads: from here this attempt is the recipient's newest, and an older one,
  // wherever it is waiting, stops before SMTP.
  const a = await startAttempt(deps, ref, note);
  if ('outcome' in a) return a;
  const previous = a.load.ledger;
  if (previous?.state === 'sent' || previous?.state === 'unknown') return alreadyDone(a, previous);
  if (!a.load.mine) throw replaced();
  const stop = (await campaignGate(deps, ref, a.campaign.status)) ?? (await passGate(a));
  if (stop) return stop;
  // An attempted message keeps the Message-ID the ledger recorded for it (the Sent dedupe and the
  // ledger's one row per recipient depend on it), whatever the id format or key is today.
  const msg = await renderOrFail(a, messageDateOf(previous, a.campaign), previous?.messageId);
  if ('outcome' in msg) return msg;
  return a.account.smtp.withSlot(() => sendInSlot(a, msg), Context.current().cancellationSignal);
}

/**
 * An earlier attempt of this send finished SMTP and told Temporal (by heartbeat) before its
 * worker died or its answer was lost: record that outcome, never send again.
 */
async function recordCarried(deps: ActivityDeps, carried: SendOutcomeRecord): Promise<SendResult> {
  await ledger.recordOutcome(deps.sql, carried);
  return carried.state === 'sent' ? sentResult(carried.copyRequested) : { outcome: 'failed' };
}

async function startAttempt(deps: ActivityDeps, { campaignId, recipientId }: RecipientRef, note: Attempt['note']): Promise<Attempt | SendResult> {
  const { info } = Context.current();
  const rank = info.currentAttemptScheduledTimestampMs;
  const load = await loadSend(deps.sql, campaignId, recipientId, rank);
  if (!load) {
    await existingCampaign(deps.sql, campaignId);
    throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
  }
  const { campaign } = load;
  const account = await accountOf(deps, campaign);
  if (typeof account === 'string') return { outcome: 'paused', accountProblem: account };
  return {
    deps,
    campaignId,
    recipientId,
    campaign,
    load,
    account,
    copyRequested: account.sentFolder !== undefined,
    rank,
    owner: `${hostname()} pid ${process.pid} attempt ${info.attempt}`,
    accountLabel: { account: `${campaign.tenant}/${campaign.account}` },
    note,
  };
}

/** The ledger says the message went out, or that its outcome is unknown and held. */
async function alreadyDone(a: Attempt, row: ledger.LedgerRow): Promise<SendResult> {
  if (row.state === 'unknown') return { outcome: 'failed' };
  await recipients.updateSendStatus(a.deps.sql, a.campaignId, a.recipientId, {
    sendStatus: 'sent',
    messageId: row.messageId,
    smtpResponse: row.smtpResponse,
    sentAt: row.finishedAt,
  });
  return sentResult(a.copyRequested);
}

const STOPPED_STATUSES: readonly string[] = ['paused', 'cancelled', 'cancelling'];

/** The campaign was paused or cancelled (or is gone: `missing`) while a send waited for its slot. */
class CampaignStopped extends Error {
  constructor(readonly status: string) {
    super(`the campaign is ${status}`);
  }
}

/**
 * What a send waiting for its slot checks every second: the campaign's status, read again (one read
 * by primary key). A failed read goes on waiting: the claim checks again right before SMTP.
 */
const stopCheck = (a: Attempt) => async (): Promise<void> => {
  const status = await campaigns.campaignStatus(a.deps.sql, a.campaignId).then(
    (s) => s ?? 'missing',
    () => 'sending',
  );
  if (status === 'missing' || STOPPED_STATUSES.includes(status)) throw new CampaignStopped(status);
};

/**
 * A wait for the slot (no SMTP transaction yet) that a pause or cancel ends within about a
 * second: the slot is given back and the send answers `paused` or `cancelled` as the claim would.
 */
async function untilStopped<T>(a: Attempt, wait: (check: () => Promise<void>) => Promise<T>): Promise<{ waited: T } | { stopped: SendResult }> {
  try {
    return { waited: await wait(stopCheck(a)) };
  } catch (err) {
    if (!(err instanceof CampaignStopped)) throw err;
    await giveBackSlot(a);
    return { stopped: (await campaignGate(a.deps, a, err.status === 'missing' ? 'paused' : err.status))! };
  }
}

/** The reserved slot goes unused: the next message may take it (on failure it stays taken: slower, never faster). */
async function giveBackSlot(a: Attempt): Promise<void> {
  const { slot } = a;
  a.slot = undefined;
  if (!slot) return;
  await releaseSlot(a.deps.sql, slot).catch((err: unknown) => a.deps.logger.warn({ campaignId: a.campaignId, err: String(err) }, 'could not give back an unused send slot'));
}

/** Undefined while the campaign is sending (its status as read a moment ago); otherwise what the send activity answers. */
async function campaignGate({ sql }: ActivityDeps, { campaignId, recipientId }: RecipientRef, status: string): Promise<SendResult | undefined> {
  if (status === 'paused') return { outcome: 'paused' };
  if (status === 'cancelled' || status === 'cancelling') {
    await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'cancelled' });
    return { outcome: 'cancelled' };
  }
  return undefined;
}

/**
 * The account's hold (a quota or authentication refusal in any campaign holds it for all of them,
 * of this tenant), the send windows, then a slot under the account's and the campaign's limits:
 * waited for here when near, else `throttled` and the recipient's workflow waits on a timer.
 */
async function passGate(a: Attempt): Promise<SendResult | undefined> {
  const { deps, campaign, account, accountLabel } = a;
  const gate = await passAccountGate(deps.sql, {
    tenant: campaign.tenant,
    account: campaign.account,
    limits: rateLimitsOf(a),
    windows: [account.limits.sendWindow, campaign.definition.sendWindow],
    maxWaitMs: MAX_IN_ACTIVITY_WAIT_MS,
    hold: a.load.hold ?? null,
  });
  if (!gate.go && 'held' in gate) return { outcome: 'paused', accountProblem: gate.held };
  if (!gate.go) {
    if (gate.by === 'limit') deps.metrics.throttleDeferrals.inc(accountLabel);
    return { outcome: 'throttled', retryAt: gate.retryAt.getTime(), reason: gate.reason, timer: gate.by === 'window' ? gate.opens : `rate limit: next slot at ${gate.retryAt.toISOString()}` };
  }
  deps.metrics.throttleWaitSeconds.observe(accountLabel, Math.max(0, gate.at.getTime() - Date.now()) / 1000);
  a.slot = gate.slot;
  const waited = await untilStopped(a, (check) => waitUntil(gate.at, check));
  return 'stopped' in waited ? waited.stopped : undefined;
}

const rateLimitsOf = ({ campaign, campaignId, account }: Attempt): RateLimit[] =>
  rateLimits(campaign.tenant, campaign.account, account.limits, { id: campaignId, perMinute: campaign.definition.throttle?.messagesPerMinute });

/**
 * The build fixed the campaign's Date header, so the preview shows what is sent; every later
 * attempt and the Sent copy reuse the date the ledger recorded.
 */
function messageDateOf(previous: ledger.LedgerRow | undefined, campaign: campaigns.CampaignRow): Date {
  return previous?.messageDate ?? campaign.messageDate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
}

/** The message, or the recipient recorded failed when it can no longer be built as reviewed. */
async function renderOrFail(a: Attempt, messageDate: Date, messageId: string | undefined): Promise<RecipientMessage | SendResult> {
  try {
    return await messageFromRecords(a.deps, a.load, messageDate, messageId);
  } catch (err) {
    const error = renderFailure(err);
    await recipients.updateSendStatus(a.deps.sql, a.campaignId, a.recipientId, { sendStatus: 'failed', error });
    return { outcome: 'failed' };
  }
}

/** Why a message cannot be sent as built; anything else is thrown on and retried. */
function renderFailure(err: unknown): string {
  // The tenant's S3 locations were narrowed after the build: its files are no longer its to send.
  if (err instanceof LocationDeniedError) return `attachment-location: ${err.message}; not sent`;
  // What was reviewed is not what S3 holds now: sending the new bytes would send an unreviewed message.
  if (err instanceof ObjectChangedError) return `attachment-changed: ${err.message}; not sent`;
  if (err instanceof TemplateRenderError) return `template: ${err.message}`;
  throw err;
}

/**
 * Holding an SMTP connection slot: room in the minute (a pause or cancel ends that wait), then the claim (which checks, right before
 * SMTP, that the campaign is sending and that no address was suppressed), then the transaction.
 */
async function sendInSlot(a: Attempt, msg: RecipientMessage): Promise<SendResult> {
  // Temporal may have given up on this attempt while it waited (it heard of no heartbeat).
  Context.current().cancellationSignal.throwIfAborted();
  // The slot kept the pace; whatever delayed the message since, no minute gets more than its limit.
  const waited = await untilStopped(a, (check) => startWhenMinuteAllows(a.deps.sql, rateLimitsOf(a), MAX_IN_ACTIVITY_WAIT_MS, check));
  if ('stopped' in waited) return waited.stopped;
  const roomAt = waited.waited;
  if (roomAt) {
    await giveBackSlot(a);
    return { outcome: 'throttled', retryAt: roomAt.getTime(), reason: 'rate limit' };
  }
  const claimed = await claim(a, msg);
  if (claimed) return claimed;
  return smtpTransaction(a, msg);
}

/** Someone may have unsubscribed during the review week: the claim checks right before each send. */
async function skipSuppressed(a: Attempt, msg: RecipientMessage, hits: { email: string; reason: string | null }[]): Promise<SendResult> {
  const suppressed = suppressedAddress(msg.parts, hits);
  await recipients.updateSendStatus(a.deps.sql, a.campaignId, a.recipientId, { sendStatus: 'skipped', error: suppressed });
  return { outcome: 'skipped', reason: 'suppressed' };
}

const addressesOf = (parts: { to: { address: string }; cc: string[]; bcc: string[] }) => [
  ...[parts.to.address].map((a) => ({ field: 'to', address: a })),
  ...parts.cc.map((a) => ({ field: 'cc', address: a })),
  ...parts.bcc.map((a) => ({ field: 'bcc', address: a })),
];

/** The first address of the message (To, then Cc, then Bcc) on the tenant's suppression list, said. */
function suppressedAddress(parts: { to: { address: string }; cc: string[]; bcc: string[] }, hits: { email: string; reason: string | null }[]) {
  const byEmail = new Map(hits.map((h) => [h.email, h.reason]));
  const first = addressesOf(parts).find((f) => byEmail.has(f.address.toLowerCase()))!;
  const reason = byEmail.get(first.address.toLowerCase());
  return `suppressed: ${first.field} ${first.address} is on the suppression list${reason ? ` (${reason})` : ''}; not sent`;
}

/**
 * Claims the message in the ledger: undefined when this attempt may start SMTP now, else what it
 * answers instead (paused, cancelled, skipped, already done, or held under DELIVERY_UNKNOWN_POLICY=hold).
 */
async function claim(a: Attempt, msg: RecipientMessage): Promise<SendResult | undefined> {
  const { deps, campaignId, recipientId } = a;
  const request: SendClaim = {
    messageId: msg.messageId,
    campaignId,
    recipientId,
    tenant: a.campaign.tenant,
    addresses: addressesOf(msg.parts).map((f) => f.address),
    messageDate: msg.date,
    sha256: msg.sha256,
    size: msg.raw.length,
    account: a.campaign.account,
    rank: a.rank,
    owner: a.owner,
  };
  let claimed: SendClaimResult = await claimSend(deps.sql, request);
  if (claimed.kind === 'taken') {
    const row = await ledger.getLedger(deps.sql, campaignId, recipientId);
    if (!row) throw new Error('the ledger refused the claim but holds no row for the recipient');
    if (row.state === 'sent' || row.state === 'unknown') return alreadyDone(a, row);
    const held = await diedInSmtp(a, msg, row);
    if (held) return held;
    claimed = await claimSend(deps.sql, { ...request, takeOver: true });
    if (claimed.kind === 'taken') {
      const now = await ledger.getLedger(deps.sql, campaignId, recipientId);
      if (now && (now.state === 'sent' || now.state === 'unknown')) return alreadyDone(a, now);
      throw new Error(`unexpected ledger state ${now?.state} after a take-over`);
    }
  }
  if (claimed.kind === 'replaced') throw replaced();
  if (claimed.kind === 'stopped') return campaignGate(deps, a, claimed.status === 'missing' ? 'paused' : claimed.status);
  if (claimed.kind === 'suppressed') return skipSuppressed(a, msg, claimed.hits);
  return undefined;
}

/**
 * An earlier attempt entered the SMTP transaction and recorded no outcome: its worker died there
 * (or, replaced by Temporal, is still there); the server may have the message. `hold` records
 * the outcome unknown; `resend` answers undefined and the message is sent again.
 */
async function diedInSmtp(a: Attempt, msg: RecipientMessage, earlier: ledger.LedgerRow): Promise<SendResult | undefined> {
  const { deps, campaignId, recipientId } = a;
  const why = `an earlier attempt (${earlier.owner ?? 'unknown'}) stopped during the SMTP transaction; the server may have accepted it`;
  if (deps.unknownPolicy === 'hold') {
    await deps.sql.begin(async (tx) => {
      await ledger.finishAttempt(tx, earlier.messageId, 'unknown', null);
      await recipients.updateSendStatus(tx, campaignId, recipientId, {
        sendStatus: 'failed',
        error: `delivery outcome unknown: ${why}; not resent (DELIVERY_UNKNOWN_POLICY=hold)`,
      });
    });
    return { outcome: 'failed' };
  }
  deps.logger.warn({ campaignId, recipientId }, `${why}; sending again (DELIVERY_UNKNOWN_POLICY=resend)`);
  return undefined;
}

/** An outcome as heartbeats and results carry it into workflow history: the reply's addresses masked. */
const forHistory = (record: SendOutcomeRecord): SendOutcomeRecord => ({ ...record, smtpResponse: maskAddressesIn(record.smtpResponse) });

/** The SMTP transaction, timed, and its outcome recorded (or handed to the workflow). */
async function smtpTransaction(a: Attempt, msg: RecipientMessage): Promise<SendResult> {
  const { deps, campaignId, recipientId, accountLabel } = a;
  const timer = deps.metrics.smtpSeconds.startTimer(accountLabel);
  let response: string;
  try {
    ({ response } = await a.account.smtp.send({ from: a.campaign.definition.from.address, to: msg.envelopeTo }, msg.raw));
  } catch (err) {
    timer();
    return smtpRefusal(a, msg, err);
  }
  timer();
  deps.metrics.smtpTransactions.inc({ ...accountLabel, outcome: 'sent' });
  const record: SendOutcomeRecord = { campaignId, recipientId, messageId: msg.messageId, state: 'sent', smtpResponse: response, copyRequested: a.copyRequested, at: new Date().toISOString() };
  a.note({ smtpOutcome: forHistory(record) });
  return { ...sentResult(a.copyRequested), unrecorded: await recordOrHandOn(deps, record) };
}

/**
 * A refused transaction: about the recipient, it is failed for good; about the account (quota,
 * authentication), the account is held and the campaign pauses; anything else is retried.
 */
async function smtpRefusal(a: Attempt, msg: RecipientMessage, err: unknown): Promise<SendResult> {
  const { deps, campaignId, recipientId, campaign } = a;
  const outcome = classifySmtpError(err);
  deps.metrics.smtpTransactions.inc({ ...a.accountLabel, outcome: outcome.kind === 'recipient' ? 'refused' : outcome.kind === 'account' ? 'account' : 'transient' });
  if (outcome.kind === 'recipient') {
    const record: SendOutcomeRecord = { campaignId, recipientId, messageId: msg.messageId, state: 'failed', smtpResponse: outcome.reason, copyRequested: a.copyRequested, at: new Date().toISOString() };
    a.note({ smtpOutcome: forHistory(record) });
    return { outcome: 'failed', unrecorded: await recordOrHandOn(deps, record) };
  }
  // Nothing was taken: the ledger says so, and the retry sends without consulting the policy.
  await bestEffort(deps, 'record a transient SMTP failure', () =>
    deps.sql.begin(async (tx) => {
      await ledger.finishAttempt(tx, msg.messageId, 'failed', outcome.reason);
      await recipients.updateSendStatus(tx, campaignId, recipientId, { sendStatus: 'pending', error: outcome.reason });
    }),
  );
  if (outcome.kind === 'account') {
    deps.logger.warn({ campaignId, account: campaign.account }, `holding the account and pausing: ${outcome.reason}`);
    await holdAccount(deps.sql, holdKey(campaign.tenant, campaign.account), outcome.reason);
    return { outcome: 'paused', accountProblem: outcome.reason };
  }
  if (outcome.slowDown) await slowDown(deps.sql, throttleKey(campaign.tenant, campaign.account), outcome.reason);
  throw ApplicationFailure.retryable(`SMTP send failed, will retry: ${maskAddressesIn(outcome.reason)}`, SMTP_TRANSIENT);
}

/**
 * Writes an SMTP transaction's outcome, trying a few times: when the database stays away, the
 * outcome goes back to the workflow instead (which holds it durably and records it later), so
 * a failed write never turns into a retried, and so repeated, send.
 */
async function recordOrHandOn({ sql, logger }: ActivityDeps, o: SendOutcomeRecord): Promise<SendOutcomeRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      // A write on a connection that died can hang: each try is bounded.
      await withTimeout(ledger.recordOutcome(sql, o), RECORD_TIMEOUT_MS);
      return undefined;
    } catch (err) {
      if (attempt >= 3) {
        logger.warn({ campaignId: o.campaignId, recipientId: o.recipientId, err: String(err) }, 'cannot record the SMTP outcome; the workflow will record it');
        return forHistory(o);
      }
      await sleep(1000 * attempt);
    }
  }
}

/** Writes that must not be lost but must not turn into a resend either: a few tries, then give up quietly. */
async function bestEffort({ logger }: ActivityDeps, what: string, write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await write();
      return;
    } catch (err) {
      if (attempt === 3) logger.warn({ err: String(err) }, `could not ${what}`);
      else await sleep(1000 * attempt);
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the database within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function replaced(): ApplicationFailure {
  return ApplicationFailure.retryable('a later attempt of this send has started; this one stops before SMTP', ATTEMPT_REPLACED);
}
