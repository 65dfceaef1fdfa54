import { randomUUID } from 'node:crypto';
import type { CampaignCounts, CampaignStatus } from '../contract/statuses.js';
import { takeDecisionRequest, type DecisionRequest } from '../db/decision-requests.js';
import { fourEyesRefusal } from '../review/four-eyes.js';
import { pickPilot } from '../build/pilot-sample.js';
import { existingCampaign } from './records.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import { maskAddress } from '../contract/mask.js';
import { appendAudit } from '../db/audit.js';
import type { Db } from '../db/sql.js';
import { holdKey, releaseAccount } from '../db/send-slots.js';
import type { ActivityDeps, CampaignRef, RecipientRef } from './deps.js';
import type { DecisionAudit, SignalAction } from '../contract/messages.js';
import { pilotDecisionReason } from '../contract/pilot.js';

/**
 * The audit row of a decision, written in the transaction of the change. A request the REST API
 * recorded (`apiRequest`, used once) is written under the caller the API authenticated; any
 * other sender under what it wrote in `by`, marked `update:` or `signal:`.
 */
async function auditDecision(tx: Db, campaignId: string, tenant: string, a: DecisionAudit, extra: Record<string, unknown>, taken?: DecisionRequest) {
  const viaApi = taken ?? (a.apiRequest ? await takeDecisionRequest(tx, a.apiRequest, campaignId, a.action) : undefined);
  await appendAudit(tx, {
    tenant,
    principal: viaApi ? viaApi.principal : `${a.via}:${a.by}`,
    action: `campaign.${a.action}`,
    campaignId,
    requestId: a.auditId,
    details: {
      ...extra,
      ...(a.note ? { note: a.note } : {}),
      ...(a.reason ? { reason: a.reason } : {}),
      ...(viaApi ? { person: viaApi.person } : {}),
      via: viaApi ? 'api' : a.via === 'signal' ? 'temporal-signal' : 'temporal-update',
    },
  });
}

/** The campaign's record: status changes, review decisions, the cursor over its recipients. */
export function createCampaignActivities(deps: ActivityDeps) {
  return { ...decisionActivities(deps), ...pilotActivities(deps), ...progressActivities(deps) };
}

/** Status changes and review decisions, each with its audit row in the same transaction. */
function decisionActivities({ sql, logger }: ActivityDeps) {
  return {
    /**
     * `audit` is set when a person steered the campaign (REST, an Update or a Signal): the row is
     * written here, in the same transaction as the change. (`signal` is what earlier workflow code passed.)
     */
    async setCampaignStatus({
      campaignId,
      status,
      reason,
      pausedIn,
      signal,
      audit,
    }: CampaignRef & { status: CampaignStatus; reason?: string; pausedIn?: CampaignStatus; signal?: { action: SignalAction; by: string }; audit?: DecisionAudit }) {
      await sql.begin(async (tx) => {
        const before = await campaigns.lockCampaign(tx, campaignId);
        await campaigns.setCampaignStatus(tx, campaignId, status, {
          reason,
          pausedIn,
          error: status === 'failed' ? reason : undefined,
        });
        // Paused to sending is a person's resume: they say the account's problem is fixed. The hold
        // is the tenant's own, so a resume in one tenant never lifts another's.
        if (before?.status === 'paused' && status === 'sending') await releaseAccount(tx, holdKey(before.tenant, before.account));
        const tenant = before?.tenant ?? 'default';
        if (audit) await auditDecision(tx, campaignId, tenant, audit, { status, ...(audit.action === 'approve_refused' ? { reason } : {}) });
        else if (signal) await auditDecision(tx, campaignId, tenant, { ...signal, via: 'signal', auditId: randomUUID() }, { status, reason });
      });
    },

    /**
     * Records a review decision and moves the campaign (and, on rejection, its recipients) on.
     * An approval of a four-eyes campaign (its own setting or its tenant's) must come through the
     * REST API from a person other than the creator's: anything else is refused here, whatever
     * path it came by, and answered `{ refused }` with nothing changed but the audit row.
     */
    async recordDecision({
      campaignId,
      approved,
      by,
      note,
      viaSignal,
      audit,
    }: CampaignRef & { approved: boolean; by: string; note?: string; viaSignal?: boolean; audit?: DecisionAudit }): Promise<{ refused?: string }> {
      const refused = await sql.begin(async (tx) => {
        const campaign = await campaigns.lockCampaign(tx, campaignId);
        // A retry after this transaction committed: the decision (and its audit row) stand.
        if (audit && campaign?.decidedAt) return undefined;
        const tenant = campaign?.tenant ?? 'default';
        const taken = audit?.apiRequest ? await takeDecisionRequest(tx, audit.apiRequest, campaignId, audit.action) : undefined;
        if (approved && audit && campaign) {
          const why = await fourEyesRefusal(tx, campaign, 'approve', taken);
          if (why) {
            await auditDecision(tx, campaignId, tenant, { ...audit, action: 'approve_refused' }, { reason: why }, taken);
            return why;
          }
        }
        if (audit) await auditDecision(tx, campaignId, tenant, audit, { status: approved ? 'sending' : 'rejected' }, taken);
        else if (viaSignal) await auditDecision(tx, campaignId, tenant, { action: approved ? 'approve' : 'reject', by, via: 'signal', auditId: randomUUID(), note }, {});
        await campaigns.recordDecision(tx, campaignId, { by, note, at: new Date() });
        await campaigns.setCampaignStatus(tx, campaignId, approved ? 'sending' : 'rejected');
        // Whatever will not be sent is marked so, and the pending count means "still to go".
        await recipients.skipUnsent(tx, campaignId, { approved });
        return undefined;
      });
      if (refused) {
        logger.warn({ campaignId, by }, `approval refused: ${refused}`);
        return { refused };
      }
      logger.info({ campaignId, approved, by }, 'review decision recorded');
      return {};
    },

  };
}

/** The pilot batch: chosen, counted, and a person's decision to continue or reject. */
function pilotActivities({ sql, logger }: ActivityDeps) {
  return {
    /**
     * Picks the pilot batch out of the recipients approved for sending (list order, or the
     * campaign's seeded sample) and marks it; how many it took, and how many it left for the
     * rest (none: the pilot is the whole list). A retry picks the same ones.
     */
    async choosePilot({ campaignId }: CampaignRef): Promise<{ size: number; left: number }> {
      const campaign = await existingCampaign(sql, campaignId);
      const spec = campaign.definition.pilot;
      if (!spec) return { size: 0, left: 0 };
      const ids = await recipients.sendableIds(sql, campaignId);
      const chosen = pickPilot(ids, spec);
      await recipients.markPilot(sql, campaignId, chosen);
      logger.info({ campaignId, size: chosen.length, left: ids.length - chosen.length, sample: spec.sample }, 'pilot batch chosen');
      return { size: chosen.length, left: ids.length - chosen.length };
    },

    /** How the pilot batch went: counts only (the failures' replies are read by the API). */
    async pilotOutcome({ campaignId }: CampaignRef) {
      const { failures: _failures, ...counts } = await recipients.pilotOutcome(sql, campaignId);
      return counts;
    },

    /**
     * A person's decision at `pilot_sent`: continue (under the four-eyes rule of approval) or
     * reject, which skips everything not sent. Refused continues change nothing but the audit log.
     */
    async recordPilotDecision({
      campaignId,
      action,
      audit,
    }: CampaignRef & { action: 'continue' | 'reject'; audit: DecisionAudit }): Promise<{ refused?: string }> {
      const refused = await sql.begin(async (tx) => {
        const campaign = await campaigns.lockCampaign(tx, campaignId);
        // A retry after this transaction committed: the decision (and its audit row) stand.
        // A campaign paused while its pilot batch went out reaches pilot_sent beneath the pause.
        const paused = campaign?.status === 'paused';
        if (!campaign || (paused ? campaign.pausedIn : campaign.status) !== 'pilot_sent') return undefined;
        const taken = audit.apiRequest ? await takeDecisionRequest(tx, audit.apiRequest, campaignId, audit.action) : undefined;
        if (action === 'continue') {
          const why = await fourEyesRefusal(tx, campaign, 'continue', taken);
          if (why) {
            await auditDecision(tx, campaignId, campaign.tenant, { ...audit, action: 'continue_refused' }, { reason: why }, taken);
            return why;
          }
        }
        // A continue under a pause leaves it paused, sending beneath; a reject ends it either way.
        const status = action === 'reject' ? 'rejected' : paused ? 'paused' : 'sending';
        await auditDecision(tx, campaignId, campaign.tenant, audit, { status }, taken);
        // Shown by GET /campaigns/:id: who ended or continued it, and why (a reject's note is nowhere else).
        await campaigns.setCampaignStatus(tx, campaignId, status, { reason: pilotDecisionReason(action, audit), pausedIn: 'sending' });
        if (action === 'reject') await recipients.skipUnsent(tx, campaignId, { approved: false });
        return undefined;
      });
      if (refused) {
        logger.warn({ campaignId, by: audit.by }, `continue refused: ${refused}`);
        return { refused };
      }
      logger.info({ campaignId, action, by: audit.by }, 'pilot decision recorded');
      return {};
    },

  };
}

/** Expiry, the cursor over sendable recipients, cancels and the final statuses. */
function progressActivities({ sql, logger }: ActivityDeps) {
  return {
    /** The review window closed with no decision: nothing is sent. */
    async expireCampaign({ campaignId, after }: CampaignRef & { after: string }) {
      await sql.begin(async (tx) => {
        await campaigns.setCampaignStatus(tx, campaignId, 'expired', { error: `no review decision within ${after}` });
        await recipients.skipUnsent(tx, campaignId, { approved: false });
      });
      logger.info({ campaignId, after }, 'review expired');
    },

    /** The next sendable recipients after `afterId`, in list order, with masked addresses for the UI. */
    async nextRecipients({ campaignId, afterId, limit, pilot }: CampaignRef & { afterId: number; limit: number; pilot?: boolean }) {
      const rows = await recipients.sendableRecipients(sql, campaignId, afterId, limit, pilot);
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
        await campaigns.lockCampaign(tx, campaignId);
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
        await campaigns.lockCampaign(tx, campaignId);
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

    /** `reason`: why it completed, when that needs saying (a pilot that was the whole list). */
    async completeCampaign({ campaignId, reason }: CampaignRef & { reason?: string }): Promise<CampaignCounts> {
      await campaigns.setCampaignStatus(sql, campaignId, 'completed', { reason });
      return campaigns.campaignCounts(sql, campaignId);
    },
  };
}
