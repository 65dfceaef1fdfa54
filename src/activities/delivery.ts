import { ApplicationFailure } from '@temporalio/activity';
import * as campaigns from '../db/campaigns.js';
import * as ledger from '../db/ledger.js';
import * as recipients from '../db/recipients.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
import { classifySmtpError } from '../mail/smtp.js';
import { TemplateRenderError } from '../mail/templates.js';
import { CAMPAIGN_NOT_FOUND, CONTENT_CHANGED, type ActivityDeps, type RecipientRef } from './deps.js';

export interface SendResult {
  outcome: 'sent' | 'failed';
  messageId: string;
  copyRequested: boolean;
}

/** Sending one recipient's message over SMTP and filing its copy over IMAP. */
export function createDeliveryActivities(deps: ActivityDeps) {
  const { sql, smtp, sentFolder, logger, s3 } = deps;

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

  async function render(campaignId: string, recipientId: number, messageDate: Date) {
    const campaign = await loadCampaign(campaignId);
    const r = await loadRecipient(campaignId, recipientId);
    const built = await composeRecipientMessage(campaign, r, s3, { date: messageDate });
    return { campaign, recipient: r, ...built };
  }

  return {
    /**
     * Sends one recipient's message, effectively once: the ledger row is written before and
     * after the SMTP transaction, and a retry reads it before doing anything.
     */
    async sendMessage({ campaignId, recipientId }: RecipientRef): Promise<SendResult> {
      const copyRequested = sentFolder !== undefined;
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
      if (previous?.state === 'unknown') {
        return { outcome: 'failed', messageId: previous.messageId, copyRequested: false };
      }
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
          return { outcome: 'failed', messageId: previous.messageId, copyRequested: false };
        }
        logger.warn({ campaignId, recipientId }, `${why}; sending again (DELIVERY_UNKNOWN_POLICY=resend)`);
      }

      // The build fixed the campaign's Date header, so the preview shows what is sent; every
      // later attempt and the Sent copy reuse the date the ledger recorded.
      const messageDate =
        previous?.messageDate ?? (await loadCampaign(campaignId)).messageDate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
      let msg: Awaited<ReturnType<typeof render>>;
      try {
        msg = await render(campaignId, recipientId, messageDate);
      } catch (err) {
        if (!(err instanceof TemplateRenderError)) throw err;
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: `template: ${err.message}` });
        return { outcome: 'failed', messageId: '', copyRequested: false };
      }
      const { messageId, raw, sha256, campaign, envelopeTo } = msg;

      await ledger.beginAttempt(sql, { messageId, campaignId, recipientId, messageDate, sha256, size: raw.length });
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'sending', messageId });
      let response: string;
      try {
        ({ response } = await smtp.send({ from: campaign.definition.from.address, to: envelopeTo }, raw));
      } catch (err) {
        const outcome = classifySmtpError(err);
        await ledger.finishAttempt(sql, messageId, 'failed', outcome.reason);
        if (outcome.kind === 'recipient') {
          await recipients.updateSendStatus(sql, campaignId, recipientId, {
            sendStatus: 'failed',
            smtpResponse: outcome.reason,
            error: `refused by the SMTP server: ${outcome.reason}`,
          });
          return { outcome: 'failed', messageId, copyRequested: false };
        }
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'pending', error: outcome.reason });
        throw ApplicationFailure.retryable(`SMTP send failed, will retry: ${outcome.reason}`, 'SmtpTransientError');
      }
      await ledger.finishAttempt(sql, messageId, 'sent', response);
      await recipients.updateSendStatus(sql, campaignId, recipientId, {
        sendStatus: 'sent',
        copyStatus: copyRequested ? 'pending' : 'not_requested',
        smtpResponse: response,
        sentAt: new Date(),
      });
      return { outcome: 'sent', messageId, copyRequested };
    },

    /** Files the exact bytes that were sent in the Sent folder, unless a copy is already there. */
    async appendToSent({ campaignId, recipientId }: RecipientRef): Promise<{ appended: boolean }> {
      if (!sentFolder) return { appended: false };
      const entry = await ledger.getLedger(sql, campaignId, recipientId);
      if (entry?.state !== 'sent') {
        throw ApplicationFailure.nonRetryable(`recipient ${recipientId} has no sent message to copy`, CAMPAIGN_NOT_FOUND);
      }
      const { raw, sha256 } = await render(campaignId, recipientId, entry.messageDate);
      if (entry.sha256 && sha256 !== entry.sha256) {
        throw ApplicationFailure.nonRetryable(
          'the message rebuilt for the Sent copy differs from the one sent; not filing a copy that differs',
          CONTENT_CHANGED,
        );
      }
      const { appended } = await sentFolder.appendOnce(raw, entry.messageId, entry.messageDate);
      await recipients.updateCopyStatus(sql, campaignId, recipientId, { copyStatus: 'appended', appendedAt: new Date() });
      return { appended };
    },
  };
}

/** Sending one rendered message to a test address only; no status of the campaign changes. */
export function createTestSendActivities({ sql, smtp, s3 }: ActivityDeps) {
  return {
    async testSend({ campaignId, recipientId, to }: RecipientRef & { to: string }): Promise<{ messageId: string; response: string }> {
      const campaign = await campaigns.getCampaign(sql, campaignId);
      const r = await recipients.getRecipient(sql, campaignId, recipientId);
      if (!campaign || !r) throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
      const msg = await composeRecipientMessage(campaign, r, s3, { testTo: to });
      const { response } = await smtp.send({ from: campaign.definition.from.address, to: [to] }, msg.raw);
      return { messageId: msg.messageId, response };
    },
  };
}
