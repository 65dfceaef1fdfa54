import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { accountHold, holdAccount, holdKey, reserveSlot, slowDown, throttleKey, type RateLimit } from '../db/send-slots.js';
import { UnknownAccountError, type LiveAccount } from '../mail/account-pool.js';
import * as campaigns from '../db/campaigns.js';
import * as ledger from '../db/ledger.js';
import type { SendOutcomeRecord } from '../db/ledger.js';
import { suppressedAmong } from '../db/suppressions.js';
import * as recipients from '../db/recipients.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
import { classifySmtpError } from '../mail/smtp.js';
import { TemplateRenderError } from '../mail/templates.js';
import { ObjectChangedError } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import { ATTEMPT_REPLACED, CAMPAIGN_NOT_FOUND, CONTENT_CHANGED, LOCATION_DENIED, SMTP_TRANSIENT, UNKNOWN_ACCOUNT } from '../contract/failures.js';
import { tenantS3 } from '../s3/tenant-s3.js';
import type { ActivityDeps, RecipientRef } from './deps.js';
import { heartbeating, waitUntil } from './heartbeat.js';

export type SendResult =
  /** `unrecorded`: the outcome could not be written (the database was away); the workflow records it. */
  | { outcome: 'sent'; messageId: string; copyRequested: boolean; unrecorded?: SendOutcomeRecord }
  | { outcome: 'failed'; messageId: string; unrecorded?: SendOutcomeRecord }
  /** An address of the message (To, Cc or Bcc) is on the suppression list: nothing was sent. */
  | { outcome: 'skipped'; reason: string }
  /** The campaign is paused (or the account just refused to go on: `accountProblem`). */
  | { outcome: 'paused'; accountProblem?: string }
  | { outcome: 'cancelled' }
  /** The next slot under the rate limits is further away than an activity should wait. */
  | { outcome: 'throttled'; retryAt: number; reason: string };

/** Slots closer than this are waited for inside the activity; further ones by a workflow timer. */
const MAX_IN_ACTIVITY_WAIT_MS = 30_000;
const RECORD_TIMEOUT_MS = 10_000;

/** Heartbeat details of a send attempt: the outcome of its SMTP transaction, once there is one. */
interface SendHeartbeat {
  smtpOutcome?: SendOutcomeRecord;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the database within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Who runs this attempt, for the ledger: enough to tell attempts and processes apart. */
const ownerOf = (attempt: number) => `${hostname()} pid ${process.pid} attempt ${attempt}`;

/** Sending one recipient's message over SMTP and filing its copy over IMAP. */
export function createDeliveryActivities(deps: ActivityDeps) {
  const { sql, logger, metrics } = deps;

  /** The campaign's account; undefined (with the reason) when it no longer exists. */
  async function accountOf(campaign: { tenant: string; account: string }): Promise<LiveAccount | string> {
    try {
      return await deps.accounts.get(campaign.tenant, campaign.account);
    } catch (err) {
      if (err instanceof UnknownAccountError) return err.message;
      throw err;
    }
  }

  async function loadCampaign(campaignId: string) {
    const campaign = await campaigns.getCampaign(sql, campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
    return campaign;
  }

  async function loadRecipient(campaignId: string, recipientId: number) {
    const r = await recipients.getRecipient(sql, campaignId, recipientId);
    if (!r) {
      throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
    }
    return r;
  }

  /** Undefined while the campaign is sending; otherwise what the send activity answers. */
  async function campaignGate(campaignId: string, recipientId: number): Promise<SendResult | undefined> {
    const status = await campaigns.getCampaignStatus(sql, campaignId);
    if (status === 'paused') return { outcome: 'paused' };
    if (status === 'cancelled' || status === 'cancelling') {
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'cancelled' });
      return { outcome: 'cancelled' };
    }
    return undefined;
  }

  async function render(campaignId: string, recipientId: number, messageDate: Date) {
    const campaign = await loadCampaign(campaignId);
    const r = await loadRecipient(campaignId, recipientId);
    const built = await composeRecipientMessage(campaign, r, await tenantS3(deps, campaign.tenant), { date: messageDate });
    return { campaign, recipient: r, ...built };
  }

  /** The first address of the message (To, then Cc, then Bcc) on the tenant's suppression list. */
  async function suppressedAddress(tenant: string, parts: { to: { address: string }; cc: string[]; bcc: string[] }) {
    const fields = [
      ...[parts.to.address].map((a) => ({ field: 'to', address: a })),
      ...parts.cc.map((a) => ({ field: 'cc', address: a })),
      ...parts.bcc.map((a) => ({ field: 'bcc', address: a })),
    ];
    const hits = await suppressedAmong(sql, tenant, fields.map((f) => f.address));
    if (hits.length === 0) return undefined;
    const byEmail = new Map(hits.map((h) => [h.email, h.reason]));
    const first = fields.find((f) => byEmail.has(f.address.toLowerCase()))!;
    const reason = byEmail.get(first.address.toLowerCase());
    return `suppressed: ${first.field} ${first.address} is on the suppression list${reason ? ` (${reason})` : ''}; not sent`;
  }

  /**
   * Writes an SMTP transaction's outcome, trying a few times: when the database stays away, the
   * outcome goes back to the workflow instead (which holds it durably and records it later), so
   * a failed write never turns into a retried, and so repeated, send.
   */
  async function recordOrHandOn(o: SendOutcomeRecord): Promise<SendOutcomeRecord | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        // A write on a connection that died can hang: each try is bounded.
        await withTimeout(ledger.recordOutcome(sql, o), RECORD_TIMEOUT_MS);
        return undefined;
      } catch (err) {
        if (attempt >= 3) {
          logger.warn({ campaignId: o.campaignId, recipientId: o.recipientId, err: String(err) }, 'cannot record the SMTP outcome; the workflow will record it');
          return o;
        }
        await sleep(1000 * attempt);
      }
    }
  }

  /** Writes that must not be lost but must not turn into a resend either: a few tries, then give up quietly. */
  async function bestEffort(what: string, write: () => Promise<unknown>): Promise<void> {
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

  async function sendMessage({ campaignId, recipientId }: RecipientRef, note: (d: SendHeartbeat) => void): Promise<SendResult> {
    const ctx = Context.current();
    // An earlier attempt of this send finished SMTP and told Temporal (by heartbeat) before its
    // worker died or its answer was lost: record that outcome, never send again.
    const carried = (ctx.info.heartbeatDetails as SendHeartbeat | undefined)?.smtpOutcome;
    if (carried) {
      await ledger.recordOutcome(sql, carried);
      return carried.state === 'sent'
        ? { outcome: 'sent', messageId: carried.messageId, copyRequested: carried.copyRequested }
        : { outcome: 'failed', messageId: carried.messageId };
    }
    // Temporal schedules a replacement attempt after the one it replaces: the later, the higher.
    const rank = ctx.info.currentAttemptScheduledTimestampMs;
    const owner = ownerOf(ctx.info.attempt);
    const campaign = await loadCampaign(campaignId);
    const account = await accountOf(campaign);
    if (typeof account === 'string') return { outcome: 'paused', accountProblem: account };
    const { smtp } = account;
    const copyRequested = account.sentFolder !== undefined;

    /** The ledger says the message went out, or that its outcome is unknown and held. */
    const alreadyDone = async (row: ledger.LedgerRow): Promise<SendResult> => {
      if (row.state === 'unknown') return { outcome: 'failed', messageId: row.messageId };
      await recipients.updateSendStatus(sql, campaignId, recipientId, {
        sendStatus: 'sent',
        messageId: row.messageId,
        smtpResponse: row.smtpResponse,
        sentAt: row.finishedAt,
      });
      return { outcome: 'sent', messageId: row.messageId, copyRequested };
    };
    const previous = await ledger.getLedger(sql, campaignId, recipientId);
    if (previous?.state === 'sent' || previous?.state === 'unknown') return alreadyDone(previous);
    // From here this attempt is the recipient's newest: an older one, wherever it is waiting, stops before SMTP.
    if (!(await ledger.registerAttempt(sql, campaignId, recipientId, rank))) throw replaced();

    const gate = await campaignGate(campaignId, recipientId);
    if (gate) return gate;

    // The account's limits hold across every worker and campaign; a campaign may only lower them.
    const accountKey = throttleKey(campaign.tenant, campaign.account);
    // A quota or authentication refusal in any campaign holds the account for all of them (of this tenant).
    const hold = await accountHold(sql, holdKey(campaign.tenant, campaign.account));
    if (hold) {
      return { outcome: 'paused', accountProblem: `account ${campaign.account} is on hold since ${hold.since.toISOString()}: ${hold.reason}` };
    }
    const limits: RateLimit[] = [
      { key: accountKey, perMinute: account.limits.messagesPerMinute, perDay: account.limits.messagesPerDay },
      { key: `campaign:${campaignId}`, perMinute: campaign.definition.throttle?.messagesPerMinute },
    ];
    const accountLabel = { account: `${campaign.tenant}/${campaign.account}` };
    const slot = await reserveSlot(sql, limits, MAX_IN_ACTIVITY_WAIT_MS);
    if (slot.kind === 'later') {
      metrics.throttleDeferrals.inc(accountLabel);
      return { outcome: 'throttled', retryAt: slot.retryAt.getTime(), reason: slot.reason };
    }
    metrics.throttleWaitSeconds.observe(accountLabel, Math.max(0, slot.at.getTime() - Date.now()) / 1000);
    await waitUntil(slot.at);

    // The build fixed the campaign's Date header, so the preview shows what is sent; every
    // later attempt and the Sent copy reuse the date the ledger recorded.
    const messageDate = previous?.messageDate ?? campaign.messageDate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
    let msg: Awaited<ReturnType<typeof render>>;
    try {
      msg = await render(campaignId, recipientId, messageDate);
    } catch (err) {
      if (err instanceof LocationDeniedError) {
        // The tenant's S3 locations were narrowed after the build: its files are no longer its to send.
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: `attachment-location: ${err.message}; not sent` });
        return { outcome: 'failed', messageId: '' };
      }
      if (err instanceof ObjectChangedError) {
        // What was reviewed is not what S3 holds now: sending the new bytes would send an unreviewed message.
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: `attachment-changed: ${err.message}; not sent` });
        return { outcome: 'failed', messageId: '' };
      }
      if (!(err instanceof TemplateRenderError)) throw err;
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: `template: ${err.message}` });
      return { outcome: 'failed', messageId: '' };
    }
    const { messageId, raw, sha256, envelopeTo } = msg;

    return smtp.withSlot(async (): Promise<SendResult> => {
      const late = await campaignGate(campaignId, recipientId);
      if (late) return late;
      // Someone may have unsubscribed during the review week: checked right before each send.
      const suppressed = await suppressedAddress(campaign.tenant, msg.parts);
      if (suppressed) {
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'skipped', error: suppressed });
        return { outcome: 'skipped', reason: suppressed };
      }
      // Temporal may have given up on this attempt while it waited (it heard of no heartbeat).
      ctx.cancellationSignal.throwIfAborted();
      const request: ledger.ClaimRequest = { messageId, campaignId, recipientId, messageDate, sha256, size: raw.length, account: campaign.account, rank, owner };
      let claim = await ledger.claimMessage(sql, request);
      if (claim.kind === 'earlier-in-smtp') {
        // An earlier attempt entered the SMTP transaction and recorded no outcome: its worker died
        // there (or, replaced by Temporal, is still there); the server may have the message.
        const earlier = claim.row;
        const why = `an earlier attempt (${earlier.owner ?? 'unknown'}) stopped during the SMTP transaction; the server may have accepted it`;
        if (deps.unknownPolicy === 'hold') {
          await sql.begin(async (tx) => {
            await ledger.finishAttempt(tx, earlier.messageId, 'unknown', null);
            await recipients.updateSendStatus(tx, campaignId, recipientId, {
              sendStatus: 'failed',
              error: `delivery outcome unknown: ${why}; not resent (DELIVERY_UNKNOWN_POLICY=hold)`,
            });
          });
          return { outcome: 'failed', messageId };
        }
        logger.warn({ campaignId, recipientId }, `${why}; sending again (DELIVERY_UNKNOWN_POLICY=resend)`);
        claim = await ledger.claimMessage(sql, { ...request, takeOver: true });
      }
      if (claim.kind === 'replaced') throw replaced();
      if (claim.kind === 'done') return alreadyDone(claim.row);
      if (claim.kind !== 'claimed') throw new Error(`unexpected claim ${claim.kind}`);

      let response: string;
      const timer = metrics.smtpSeconds.startTimer(accountLabel);
      try {
        ({ response } = await smtp.send({ from: campaign.definition.from.address, to: envelopeTo }, raw));
        timer();
      } catch (err) {
        timer();
        const outcome = classifySmtpError(err);
        metrics.smtpTransactions.inc({ ...accountLabel, outcome: outcome.kind === 'recipient' ? 'refused' : outcome.kind === 'account' ? 'account' : 'transient' });
        if (outcome.kind === 'recipient') {
          const record: SendOutcomeRecord = { campaignId, recipientId, messageId, state: 'failed', smtpResponse: outcome.reason, copyRequested, at: new Date().toISOString() };
          note({ smtpOutcome: record });
          return { outcome: 'failed', messageId, unrecorded: await recordOrHandOn(record) };
        }
        // Nothing was taken: the ledger says so, and the retry sends without consulting the policy.
        await bestEffort('record a transient SMTP failure', () =>
          sql.begin(async (tx) => {
            await ledger.finishAttempt(tx, messageId, 'failed', outcome.reason);
            await recipients.updateSendStatus(tx, campaignId, recipientId, { sendStatus: 'pending', error: outcome.reason });
          }),
        );
        if (outcome.kind === 'account') {
          logger.warn({ campaignId, account: campaign.account }, `holding the account and pausing: ${outcome.reason}`);
          await holdAccount(sql, holdKey(campaign.tenant, campaign.account), outcome.reason);
          return { outcome: 'paused', accountProblem: outcome.reason };
        }
        if (outcome.slowDown) await slowDown(sql, accountKey, outcome.reason);
        throw ApplicationFailure.retryable(`SMTP send failed, will retry: ${outcome.reason}`, SMTP_TRANSIENT);
      }
      metrics.smtpTransactions.inc({ ...accountLabel, outcome: 'sent' });
      const record: SendOutcomeRecord = { campaignId, recipientId, messageId, state: 'sent', smtpResponse: response, copyRequested, at: new Date().toISOString() };
      note({ smtpOutcome: record });
      return { outcome: 'sent', messageId, copyRequested, unrecorded: await recordOrHandOn(record) };
    }, ctx.cancellationSignal);
  }

  return {
    /**
     * Sends one recipient's message, effectively once. Each attempt registers itself on the
     * recipient as it starts and, right before SMTP, claims the message in the ledger only while
     * it is still the newest attempt and no earlier one is inside SMTP; the ledger is written
     * before and after the SMTP transaction, and a retry reads it before doing anything. Holding
     * one of the worker's connection slots, it checks that the campaign is still sending and
     * that no address of the message was suppressed meanwhile.
     */
    async sendMessage(ref: RecipientRef): Promise<SendResult> {
      return heartbeating((note) => sendMessage(ref, note));
    },

    /** Records an SMTP outcome the send activity could not write (the database was away). */
    async recordSendOutcome(o: SendOutcomeRecord): Promise<void> {
      await ledger.recordOutcome(sql, o);
    },

    /** Files the exact bytes that were sent in the Sent folder, unless a copy is already there. */
    async appendToSent({ campaignId, recipientId }: RecipientRef): Promise<{ appended: boolean }> {
      const campaign = await loadCampaign(campaignId);
      const account = await accountOf(campaign);
      if (typeof account === 'string') throw ApplicationFailure.retryable(account, UNKNOWN_ACCOUNT);
      const { sentFolder } = account;
      if (!sentFolder) return { appended: false };
      const entry = await ledger.getLedger(sql, campaignId, recipientId);
      if (entry?.state !== 'sent') {
        throw ApplicationFailure.nonRetryable(`recipient ${recipientId} has no sent message to copy`, CAMPAIGN_NOT_FOUND);
      }
      let built: Awaited<ReturnType<typeof render>>;
      try {
        built = await render(campaignId, recipientId, entry.messageDate);
      } catch (err) {
        if (err instanceof ObjectChangedError) throw ApplicationFailure.nonRetryable(`cannot rebuild the sent message: ${err.message}`, CONTENT_CHANGED);
        if (err instanceof LocationDeniedError) throw ApplicationFailure.nonRetryable(`cannot rebuild the sent message: ${err.message}`, LOCATION_DENIED);
        throw err;
      }
      const { raw, sha256 } = built;
      if (entry.sha256 && sha256 !== entry.sha256) {
        throw ApplicationFailure.nonRetryable(
          'the message rebuilt for the Sent copy differs from the one sent; not filing a copy that differs',
          CONTENT_CHANGED,
        );
      }
      const { appended } = await heartbeating(async () => sentFolder.appendOnce(raw, entry.messageId, entry.messageDate));
      await recipients.updateCopyStatus(sql, campaignId, recipientId, { copyStatus: 'appended', appendedAt: new Date() });
      metrics.sentCopies.inc({ account: `${campaign.tenant}/${campaign.account}`, outcome: appended ? 'appended' : 'present' });
      return { appended };
    },
  };
}

function replaced(): ApplicationFailure {
  return ApplicationFailure.retryable('a later attempt of this send has started; this one stops before SMTP', ATTEMPT_REPLACED);
}
