import { ApplicationFailure, Context } from '@temporalio/activity';
import { recipientInputSchema } from '../contract/campaign.js';
import type { CampaignCounts, CampaignStatus } from '../contract/statuses.js';
import * as campaigns from '../db/campaigns.js';
import * as ledger from '../db/ledger.js';
import * as recipients from '../db/recipients.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { SentFolderClient } from '../mail/imap.js';
import { buildMessage, CampaignRenderer, messageIdFor, type RecipientFields } from '../mail/message.js';
import { classifySmtpError, type SmtpSender } from '../mail/smtp.js';
import { TemplateRenderError } from '../mail/templates.js';

export interface ActivityDeps {
  sql: Sql;
  smtp: SmtpSender;
  /** Absent when Sent copies are off for this worker. */
  sentFolder?: SentFolderClient;
  logger: Logger;
  unknownPolicy: 'resend' | 'hold';
}

export interface CampaignRef {
  campaignId: string;
}
export interface RecipientRef {
  campaignId: string;
  recipientId: number;
}

export interface BuildResult {
  /** Set when the campaign as a whole cannot be built; no recipient is sendable then. */
  error?: string;
  total: number;
  sendable: number;
  blocked: number;
}

export interface SendResult {
  outcome: 'sent' | 'failed';
  messageId: string;
  copyRequested: boolean;
}

const BUILD_BATCH = 1000;

/** Non-retryable failure types the workflows rely on. */
export const CAMPAIGN_NOT_FOUND = 'CampaignNotFound';
export const CONTENT_CHANGED = 'ContentChangedSinceSend';

export function createActivities(deps: ActivityDeps) {
  const { sql, smtp, sentFolder, logger } = deps;

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
    const messageId = messageIdFor(campaignId, recipientId, campaign.definition.from.address);
    const parts = new CampaignRenderer(campaign.definition).render(r);
    const built = await buildMessage(parts, messageId, messageDate);
    return { campaign, recipient: r, messageId, ...built };
  }

  return {
    /**
     * Validates the campaign's recipient list and writes it to Postgres in batches, returning
     * only counts so the workflow history stays the same size whatever the list length.
     */
    async buildRecipients({ campaignId }: CampaignRef): Promise<BuildResult> {
      const campaign = await loadCampaign(campaignId);
      const source = await campaigns.getCampaignSource(sql, campaignId);
      if (!source || source.type !== 'inline' || !Array.isArray(source.recipients) || source.recipients.length === 0) {
        return { error: 'the campaign has no recipients', total: 0, sendable: 0, blocked: 0 };
      }
      let renderer: CampaignRenderer;
      try {
        renderer = new CampaignRenderer(campaign.definition);
      } catch (err) {
        return { error: `the campaign's templates do not compile: ${(err as Error).message}`, total: 0, sendable: 0, blocked: 0 };
      }
      const list = source.recipients;
      for (let start = 0; start < list.length; start += BUILD_BATCH) {
        const batch: recipients.NewRecipient[] = [];
        list.slice(start, start + BUILD_BATCH).forEach((raw, i) => {
          const id = start + i + 1;
          const parsed = recipientInputSchema.safeParse(raw);
          if (!parsed.success) {
            const email = typeof (raw as { email?: unknown })?.email === 'string' ? (raw as { email: string }).email : '';
            batch.push({
              id,
              email,
              name: null,
              vars: {},
              buildStatus: 'blocked',
              buildReasons: parsed.error.issues.map((x) => `${x.path.join('.') || 'recipient'}: ${x.message}`),
            });
            return;
          }
          const fields: RecipientFields = {
            id,
            email: parsed.data.email,
            name: parsed.data.name ?? null,
            vars: parsed.data.vars ?? {},
          };
          const reasons: string[] = [];
          try {
            renderer.render(fields);
          } catch (err) {
            if (!(err instanceof TemplateRenderError)) throw err;
            reasons.push(`template: ${err.message}`);
          }
          batch.push({ ...fields, buildStatus: reasons.length ? 'blocked' : 'ready', buildReasons: reasons });
        });
        await recipients.insertRecipients(sql, campaignId, batch);
        Context.current().heartbeat({ built: Math.min(start + BUILD_BATCH, list.length) });
      }
      const counts = await recipients.buildStatusCounts(sql, campaignId);
      return {
        total: list.length,
        sendable: counts.ready + counts.warning,
        blocked: counts.blocked,
      };
    },

    async setCampaignStatus({ campaignId, status, error }: CampaignRef & { status: CampaignStatus; error?: string }) {
      await campaigns.setCampaignStatus(sql, campaignId, status, { error });
    },

    /** Records a review decision and moves the campaign (and, on rejection, its recipients) on. */
    async recordDecision({ campaignId, approved, by, note }: CampaignRef & { approved: boolean; by: string; note?: string }) {
      await sql.begin(async (tx) => {
        await campaigns.recordDecision(tx, campaignId, { by, note, at: new Date() });
        await campaigns.setCampaignStatus(tx, campaignId, approved ? 'sending' : 'rejected');
        // Whatever will not be sent is marked so, and the pending count means "still to go".
        await tx`
          UPDATE recipients SET send_status = 'skipped', updated_at = now()
          WHERE campaign_id = ${campaignId} AND send_status = 'pending'
            AND (${!approved} OR build_status NOT IN ('ready', 'warning'))`;
      });
      logger.info({ campaignId, approved, by }, 'review decision recorded');
    },

    async nextRecipientIds({ campaignId, afterId, limit }: CampaignRef & { afterId: number; limit: number }) {
      return recipients.sendableRecipientIds(sql, campaignId, afterId, limit);
    },

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

      // The first attempt fixes the Date header; every later attempt and the Sent copy reuse it.
      const messageDate = previous?.messageDate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
      let msg: Awaited<ReturnType<typeof render>>;
      try {
        msg = await render(campaignId, recipientId, messageDate);
      } catch (err) {
        if (!(err instanceof TemplateRenderError)) throw err;
        await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: `template: ${err.message}` });
        return { outcome: 'failed', messageId: '', copyRequested: false };
      }
      const { messageId, raw, sha256, campaign, recipient } = msg;

      await ledger.beginAttempt(sql, { messageId, campaignId, recipientId, messageDate, sha256, size: raw.length });
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'sending', messageId });
      let response: string;
      try {
        ({ response } = await smtp.send({ from: campaign.definition.from.address, to: [recipient.email] }, raw));
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

    async markSendFailed({ campaignId, recipientId, reason }: RecipientRef & { reason: string }) {
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'failed', error: reason });
    },

    async markCopyFailed({ campaignId, recipientId, reason }: RecipientRef & { reason: string }) {
      await recipients.updateCopyStatus(sql, campaignId, recipientId, { copyStatus: 'failed', error: reason });
    },

    async completeCampaign({ campaignId }: CampaignRef): Promise<CampaignCounts> {
      await campaigns.setCampaignStatus(sql, campaignId, 'completed');
      return campaigns.campaignCounts(sql, campaignId);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
