import type { CampaignCounts, CampaignStatus } from '../contract/statuses.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import { maskAddress } from '../contract/mask.js';
import { appendAudit } from '../db/audit.js';
import type { Db } from '../db/sql.js';
import { releaseAccount, throttleKey } from '../delivery/throttle.js';
import type { ActivityDeps, CampaignRef, RecipientRef } from './deps.js';
import type { SignalAction } from '../workflows/definitions.js';

/** The campaign's record: status changes, review decisions, the cursor over its recipients. */
export function createCampaignActivities({ sql, logger }: ActivityDeps) {
  async function auditSignal(tx: Db, campaignId: string, action: SignalAction, by: string, details: Record<string, unknown>) {
    const [row] = await tx<{ tenant: string }[]>`SELECT tenant FROM campaigns WHERE id = ${campaignId}`;
    await appendAudit(tx, {
      tenant: row?.tenant ?? 'default',
      principal: `signal:${by}`,
      action: `campaign.${action}`,
      campaignId,
      details: { ...details, via: 'temporal-signal' },
    });
  }

  return {
    /**
     * `signal` is set when a person steered the campaign by Signal (the Temporal UI): the REST API
     * audits its own calls, this audits those, in the same transaction as the change.
     */
    async setCampaignStatus({
      campaignId,
      status,
      reason,
      signal,
    }: CampaignRef & { status: CampaignStatus; reason?: string; signal?: { action: SignalAction; by: string } }) {
      await sql.begin(async (tx) => {
        const [before] = await tx<{ status: CampaignStatus; tenant: string; account: string }[]>`
          SELECT status, tenant, account FROM campaigns WHERE id = ${campaignId} FOR UPDATE`;
        await campaigns.setCampaignStatus(tx, campaignId, status, {
          reason,
          error: status === 'failed' ? reason : undefined,
        });
        // Paused to sending is a person's resume: they say the account's problem is fixed.
        if (before?.status === 'paused' && status === 'sending') await releaseAccount(tx, throttleKey(before.tenant, before.account));
        if (signal) await auditSignal(tx, campaignId, signal.action, signal.by, { status, reason });
      });
    },

    /** Records a review decision and moves the campaign (and, on rejection, its recipients) on. */
    async recordDecision({
      campaignId,
      approved,
      by,
      note,
      viaSignal,
    }: CampaignRef & { approved: boolean; by: string; note?: string; viaSignal?: boolean }) {
      await sql.begin(async (tx) => {
        if (viaSignal) await auditSignal(tx, campaignId, approved ? 'approve' : 'reject', by, { note });
        await campaigns.recordDecision(tx, campaignId, { by, note, at: new Date() });
        await campaigns.setCampaignStatus(tx, campaignId, approved ? 'sending' : 'rejected');
        // Whatever will not be sent is marked so, and the pending count means "still to go".
        await tx`
          UPDATE recipients SET send_status = 'skipped', updated_at = now()
          WHERE campaign_id = ${campaignId} AND send_status = 'pending'
            AND (${!approved} OR NOT (build_status IN ('ready', 'warning')
                                     OR (build_status = 'needs_review' AND included IS TRUE)))`;
      });
      logger.info({ campaignId, approved, by }, 'review decision recorded');
    },

    /** The review window closed with no decision: nothing is sent. */
    async expireCampaign({ campaignId, after }: CampaignRef & { after: string }) {
      await sql.begin(async (tx) => {
        await campaigns.setCampaignStatus(tx, campaignId, 'expired', { error: `no review decision within ${after}` });
        await tx`
          UPDATE recipients SET send_status = 'skipped', updated_at = now()
          WHERE campaign_id = ${campaignId} AND send_status = 'pending'`;
      });
      logger.info({ campaignId, after }, 'review expired');
    },

    /** The next sendable recipients after `afterId`, in list order, with masked addresses for the UI. */
    async nextRecipients({ campaignId, afterId, limit }: CampaignRef & { afterId: number; limit: number }) {
      const rows = await recipients.sendableRecipients(sql, campaignId, afterId, limit);
      return rows.map((r) => ({ id: r.id, masked: maskAddress(r.email) }));
    },

    /** Which of `ids` have a final send status, and how many Sent copies are still to be filed. */
    async deliveryProgress({ campaignId, ids }: CampaignRef & { ids: number[] }) {
      return recipients.deliveryProgress(sql, campaignId, ids);
    },

    /** After a cancel: every recipient not sent and not being sent is recorded as cancelled. */
    async cancelUnsent({ campaignId }: CampaignRef) {
      const n = await recipients.cancelUnsent(sql, campaignId);
      logger.info({ campaignId, cancelled: n }, 'unsent recipients cancelled');
      return n;
    },

    /**
     * The end of a cancel, once no send is in flight: every unsent recipient is cancelled in the
     * same transaction as the campaign's `cancelled`, so the record never reads cancelled while a
     * recipient is still pending.
     */
    async finishCancel({ campaignId, reason }: CampaignRef & { reason?: string }) {
      const n = await sql.begin(async (tx) => {
        await tx`SELECT 1 FROM campaigns WHERE id = ${campaignId} FOR UPDATE`;
        const cancelled = await recipients.cancelUnsent(tx, campaignId);
        await campaigns.setCampaignStatus(tx, campaignId, 'cancelled', { reason });
        return cancelled;
      });
      logger.info({ campaignId, cancelled: n }, 'campaign cancelled; unsent recipients cancelled');
      return n;
    },

    /**
     * A build that gave up (S3 refusing, retries exhausted): no half-built list stays behind, and
     * the campaign ends failed with the reason, which also frees its account.
     */
    async abandonBuild({ campaignId, reason }: CampaignRef & { reason: string }) {
      await sql.begin(async (tx) => {
        await tx`SELECT 1 FROM campaigns WHERE id = ${campaignId} FOR UPDATE`;
        await recipients.deleteRecipients(tx, campaignId);
        await campaigns.setCampaignStatus(tx, campaignId, 'failed', { reason, error: reason });
      });
      logger.warn({ campaignId, reason }, 'build gave up; campaign failed');
    },

    async markCancelled({ campaignId, recipientId }: RecipientRef) {
      await recipients.updateSendStatus(sql, campaignId, recipientId, { sendStatus: 'cancelled' });
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
