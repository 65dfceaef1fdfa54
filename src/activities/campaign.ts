import type { CampaignCounts, CampaignStatus } from '../contract/statuses.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { ActivityDeps, CampaignRef, RecipientRef } from './deps.js';

/** The campaign's record: status changes, review decisions, the cursor over its recipients. */
export function createCampaignActivities({ sql, logger }: ActivityDeps) {
  return {
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

    async nextRecipientIds({ campaignId, afterId, limit }: CampaignRef & { afterId: number; limit: number }) {
      return recipients.sendableRecipientIds(sql, campaignId, afterId, limit);
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
