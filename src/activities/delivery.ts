import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { accountHold, holdAccount, holdKey, reserveSlot, slowDown, throttleKey, type RateLimit } from '../delivery/throttle.js';
import { UnknownAccountError, type LiveAccount } from '../mail/account-pool.js';
import * as campaigns from '../db/campaigns.js';
import * as ledger from '../db/ledger.js';
import * as recipients from '../db/recipients.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
import { classifySmtpError } from '../mail/smtp.js';
import { TemplateRenderError } from '../mail/templates.js';
import { ObjectChangedError } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import { ATTACHMENT_CHANGED, CAMPAIGN_NOT_FOUND, CONTENT_CHANGED, LOCATION_DENIED, TEST_SEND_REFUSED, type ActivityDeps, type RecipientRef } from './deps.js';
import { tenantS3 } from './tenant-s3.js';

export type SendResult =
  | { outcome: 'sent'; messageId: string; copyRequested: boolean }
  | { outcome: 'failed'; messageId: string }
  /** The campaign is paused (or the account just refused to go on: `accountProblem`). */
  | { outcome: 'paused'; accountProblem?: string }
  | { outcome: 'cancelled' }
  /** The next slot under the rate limits is further away than an activity should wait. */
  | { outcome: 'throttled'; retryAt: number; reason: string };

/** Slots closer than this are waited for inside the activity; further ones by a workflow timer. */
const MAX_IN_ACTIVITY_WAIT_MS = 30_000;

/** Keeps heartbeating while `work` runs, so a dead worker is noticed in seconds, a slow server is not. */
async function heartbeating<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => Context.current().heartbeat(), 3000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

async function waitUntil(at: Date): Promise<void> {
  for (let left = at.getTime() - Date.now(); left > 0; left = at.getTime() - Date.now()) {
    await sleep(Math.min(left, 3000));
    Context.current().heartbeat();
  }
}

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

  return {
    /**
     * Sends one recipient's message, effectively once: the ledger row is written before and
     * after the SMTP transaction, and a retry reads it before doing anything. Right before the
     * SMTP transaction, holding one of the worker's connection slots, it checks that the campaign
     * is still sending: a pause or cancel answered before that point stops this message.
     */
    async sendMessage({ campaignId, recipientId }: RecipientRef): Promise<SendResult> {
      const campaign = await loadCampaign(campaignId);
      const account = await accountOf(campaign);
      if (typeof account === 'string') return { outcome: 'paused', accountProblem: account };
      const { smtp } = account;
      const copyRequested = account.sentFolder !== undefined;
      const previous = await ledger.getLedger(sql, campaignId, recipientId);
      if (previous?.state === 'sent') {
        await recipients.updateSendStatus(sql, campaignId, recipientId, {
          sendStatus: 'sent',
          messageId: previous.messageId,
          smtpResponse: previous.smtpResponse,
          sentAt: previous.finishedAt,
        });
        return { outcome: 'sent', messageId: previous.messageId, copyRequested };
      }
      if (previous?.state === 'unknown') return { outcome: 'failed', messageId: previous.messageId };
      if (previous?.state === 'sending') {
        // The attempt before this one ended without recording an outcome: the worker died
        // during the SMTP transaction, and the server may or may not have taken the message.
        const why = 'an earlier attempt stopped during the SMTP transaction; the server may have accepted it';
        if (deps.unknownPolicy === 'hold') {
          await ledger.finishAttempt(sql, previous.messageId, 'unknown', null);
          await recipients.updateSendStatus(sql, campaignId, recipientId, {
            sendStatus: 'failed',
            error: `delivery outcome unknown: ${why}; not resent (DELIVERY_UNKNOWN_POLICY=hold)`,
          });
          return { outcome: 'failed', messageId: previous.messageId };
        }
        logger.warn({ campaignId, recipientId }, `${why}; sending again (DELIVERY_UNKNOWN_POLICY=resend)`);
      }

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
        await ledger.beginAttempt(sql, { messageId, campaignId, recipientId, messageDate, sha256, size: raw.length, account: campaign.account });
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'sending', messageId });
        let response: string;
        const timer = metrics.smtpSeconds.startTimer(accountLabel);
        try {
          ({ response } = await heartbeating(smtp.send({ from: campaign.definition.from.address, to: envelopeTo }, raw)));
          timer();
        } catch (err) {
          timer();
          const outcome = classifySmtpError(err);
          metrics.smtpTransactions.inc({ ...accountLabel, outcome: outcome.kind === 'recipient' ? 'refused' : outcome.kind === 'account' ? 'account' : 'transient' });
          await ledger.finishAttempt(sql, messageId, 'failed', outcome.reason);
          if (outcome.kind === 'recipient') {
            await recipients.updateSendStatus(sql, campaignId, recipientId, {
              sendStatus: 'failed',
              smtpResponse: outcome.reason,
              error: `refused by the SMTP server: ${outcome.reason}`,
            });
            return { outcome: 'failed', messageId };
          }
          await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'pending', error: outcome.reason });
          if (outcome.kind === 'account') {
            logger.warn({ campaignId, account: campaign.account }, `holding the account and pausing: ${outcome.reason}`);
            await holdAccount(sql, holdKey(campaign.tenant, campaign.account), outcome.reason);
            return { outcome: 'paused', accountProblem: outcome.reason };
          }
          if (outcome.slowDown) await slowDown(sql, accountKey, outcome.reason);
          throw ApplicationFailure.retryable(`SMTP send failed, will retry: ${outcome.reason}`, 'SmtpTransientError');
        }
        metrics.smtpTransactions.inc({ ...accountLabel, outcome: 'sent' });
        await ledger.finishAttempt(sql, messageId, 'sent', response);
        await recipients.updateSendStatus(sql, campaignId, recipientId, {
          sendStatus: 'sent',
          copyStatus: copyRequested ? 'pending' : 'not_requested',
          smtpResponse: response,
          sentAt: new Date(),
        });
        return { outcome: 'sent', messageId, copyRequested };
      });
    },

    /** Files the exact bytes that were sent in the Sent folder, unless a copy is already there. */
    async appendToSent({ campaignId, recipientId }: RecipientRef): Promise<{ appended: boolean }> {
      const campaign = await loadCampaign(campaignId);
      const account = await accountOf(campaign);
      if (typeof account === 'string') throw ApplicationFailure.retryable(account, 'UnknownAccount');
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
      const { appended } = await heartbeating(sentFolder.appendOnce(raw, entry.messageId, entry.messageDate));
      await recipients.updateCopyStatus(sql, campaignId, recipientId, { copyStatus: 'appended', appendedAt: new Date() });
      metrics.sentCopies.inc({ account: `${campaign.tenant}/${campaign.account}`, outcome: appended ? 'appended' : 'present' });
      return { appended };
    },
  };
}

/** Sending one rendered message to a test address only; no status of the campaign changes. */
export function createTestSendActivities(deps: ActivityDeps) {
  const { sql, accounts } = deps;
  return {
    async testSend({ campaignId, recipientId, to }: RecipientRef & { to: string }): Promise<{ messageId: string; response: string }> {
      const campaign = await campaigns.getCampaign(sql, campaignId);
      const r = await recipients.getRecipient(sql, campaignId, recipientId);
      if (!campaign || !r) throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
      const account = await accounts.get(campaign.tenant, campaign.account);
      // One test send is one workflow: its retries carry the same Message-ID, so a receiving
      // server that saw an attempt through can tell the repeat for what it is.
      const { workflowExecution, activityId } = Context.current().info;
      const test = { to, id: workflowExecution?.workflowId ?? activityId };
      let msg: Awaited<ReturnType<typeof composeRecipientMessage>>;
      try {
        msg = await composeRecipientMessage(campaign, r, await tenantS3(deps, campaign.tenant), { test });
      } catch (err) {
        if (err instanceof ObjectChangedError) throw ApplicationFailure.nonRetryable(err.message, ATTACHMENT_CHANGED);
        if (err instanceof LocationDeniedError) throw ApplicationFailure.nonRetryable(err.message, LOCATION_DENIED);
        throw err;
      }
      try {
        const { response } = await account.smtp.send({ from: campaign.definition.from.address, to: [to] }, msg.raw);
        return { messageId: msg.messageId, response };
      } catch (err) {
        const outcome = classifySmtpError(err);
        if (outcome.kind === 'transient') throw err;
        throw ApplicationFailure.create({ message: outcome.reason, type: TEST_SEND_REFUSED, nonRetryable: true });
      }
    },
  };
}
