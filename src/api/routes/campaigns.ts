import { Router } from 'express';
import { createCampaignRequestSchema } from '../../contract/campaign.js';
import { followUpLinks, resolveCampaignInput } from '../../followups/resolve.js';
import { campaignCreatedResponse, campaignResponse } from '../../contract/responses.js';
import * as campaigns from '../../db/campaigns.js';
import { pilotOutcome, recipientSummary, type PilotOutcome } from '../../db/recipients.js';
import type { PilotSpec } from '../../contract/campaign.js';
import { isPilotSentReason, pilotSentReason, pilotStopReason } from '../../contract/pilot.js';
import { recentSends } from '../../db/ledger.js';
import { accountHold, holdKey, slowedUntil, throttleKey } from '../../db/send-slots.js';
import { campaignLoader, temporalLink } from '../campaign-access.js';
import { checkAgainstInstallation, draftCampaign, idempotencyKeyOf, replayedCampaign, startOrTakeBack, storeCampaign, type CreateDeps } from '../create-campaign.js';
import type { ResolvedDeps } from '../deps.js';
import { campaignParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Caller } from '../scopes.js';
import { campaignSchedule, perMinuteLimitOf, windowReason, type ScheduleDeps } from '../campaign-plan.js';
import type { MessageKit } from '../../mail/recipient-message.js';

type CampaignRouterDeps = Pick<ResolvedDeps, 'sql' | 'client' | 'namespace' | 'temporalUiUrl' | 'logger' | keyof CreateDeps | keyof ScheduleDeps | keyof MessageKit>;

/** The pilot block of GET /campaigns/:id: what was asked for and how the batch went. */
function pilotView(spec: PilotSpec, o: PilotOutcome) {
  return {
    size: spec.size,
    share: spec.share,
    sample: spec.sample,
    seed: spec.seed,
    stopIf: spec.stopIf,
    chosen: o.size,
    sent: o.sent,
    failed: o.failed,
    bounced: o.bounced,
    pending: o.pending,
    stopped: pilotStopReason(o, spec.stopIf),
    failures: o.failures.map((f) => ({ id: f.id, email: f.email, sendStatus: f.sendStatus, smtpResponse: f.smtpResponse ?? undefined, error: f.error ?? undefined })),
  };
}

export function campaignRouter(deps: CampaignRouterDeps): Router {
  const { sql, logger } = deps;
  const router = Router();
  const link = (caller: Caller, workflowId: string) => temporalLink(deps, caller, workflowId);

  router.post('/campaigns', route({ scope: 'campaigns:write', summary: 'Create a campaign, or a follow-up of one (recipientsFrom.campaign); honours an Idempotency-Key header', body: createCampaignRequestSchema, response: campaignCreatedResponse, status: 201 }, async ({ caller, body }, req, res) => {
    // A follow-up (recipientsFrom.campaign) fills what it leaves out from its original.
    const input = await resolveCampaignInput(sql, caller.tenant, body, deps);
    const idempotencyKey = idempotencyKeyOf(req);
    const review = await checkAgainstInstallation(deps, caller, input);
    const draft = draftCampaign(input, review);
    const earlier = await storeCampaign(sql, caller, draft, idempotencyKey);
    if (earlier) {
      const c = await replayedCampaign(sql, caller, draft, earlier);
      res.status(200).set('Idempotent-Replayed', 'true').json({ id: c.id, status: c.status, workflowId: c.workflowId, temporalUrl: link(caller, c.workflowId) });
      return;
    }
    await startOrTakeBack(deps, caller, draft);
    logger.info({ campaignId: draft.id, source: draft.source.type, by: caller.principal }, 'campaign created');
    res.status(201).json({ id: draft.id, status: 'building', workflowId: draft.workflowId, temporalUrl: link(caller, draft.workflowId) });
  }));

  /**
   * The send rate of the last five minutes (from three sends on) when it is under the campaign's
   * per-minute limit (its throttle or its account's, the configured `default` account's included),
   * else that limit, turned into a finishing time.
   */
  async function estimate(c: campaigns.CampaignRow, pending: number) {
    // Over the span the sends really cover: a campaign sending for 40 s has a 40 s window, not 5 minutes.
    const { n, seconds } = await recentSends(sql, c.id, 5);
    // n sends span n - 1 intervals up to the last one: counting n would overstate a young campaign's rate.
    const observed = n >= 3 ? ((n - 1) / Math.max(seconds ?? 0, 1)) * 60 : 0;
    // The rest goes no faster than the limit, whatever the first sends did: slots a stall or an
    // earlier campaign left unused are taken up in a burst (reserveSlot's catch-up), which shows a
    // young campaign above its limit.
    const { messagesPerMinute: limit } = await perMinuteLimitOf(deps, c);
    const basis: 'observed' | 'limit' = observed > 0 && !(limit && observed > limit) ? 'observed' : 'limit';
    const perMinute = basis === 'observed' ? observed : limit;
    if (!perMinute) return undefined;
    return { at: new Date(Date.now() + (pending / perMinute) * 60_000), perMinute: Math.round(perMinute * 10) / 10, basis };
  }

  /** How far the build has read, and its finishing time at the pace so far (from creation). */
  function buildProgress(c: campaigns.CampaignRow) {
    const p = c.buildProgress ?? { read: 0 };
    const f = p.fraction;
    const elapsed = Date.now() - c.createdAt.getTime();
    return {
      read: p.read,
      percent: f === undefined ? undefined : Math.floor(f * 1000) / 10,
      eta: f !== undefined && f >= 0.01 && f < 1 ? new Date(Date.now() + (elapsed * (1 - f)) / f) : undefined,
    };
  }

  router.get('/campaigns/:id', route({ scope: 'campaigns:read', summary: 'A campaign with its counts and review', params: { id: campaignParam }, load: campaignLoader(sql), response: campaignResponse }, async ({ caller, loaded: c }, _req, res) => {
    // One pass over the list for every count on the page (it is polled while the campaign sends).
    const summary = await recipientSummary(sql, c.id);
    const { counts, statuses: countsByStatus, replies } = summary;
    const [slowed, hold] = await Promise.all([slowedUntil(sql, throttleKey(c.tenant, c.account)), accountHold(sql, holdKey(c.tenant, c.account))]);
    // The shared `default` account slows down for everyone, but the reply that slowed it may be another tenant's.
    const sharedSlowdown = c.account === 'default' && c.tenant !== 'default';
    const eta = c.status === 'sending' && counts.pending > 0 ? await estimate(c, counts.pending) : undefined;
    const build = c.status === 'building' ? buildProgress(c) : undefined;
    const [schedule, outsideWindow, links, pilot] = await Promise.all([
      campaignSchedule(deps, c, { remaining: summary.remaining }),
      windowReason(deps, c),
      followUpLinks(sql, c),
      c.definition.pilot ? pilotOutcome(sql, c.id) : undefined,
    ]);
    res.json({
      ...links,
      id: c.id,
      name: c.name,
      status: c.status,
      pausedIn: c.status === 'paused' ? (c.pausedIn ?? undefined) : undefined,
      counts,
      countsByStatus,
      replies,
      error: c.error ?? undefined,
      // At pilot_sent the pilot's own reason is said from the outcome as it is now: a bounce that
      // came in since may have reached the stop share, and continue then needs force.
      reason: c.status === 'pilot_sent' && pilot && isPilotSentReason(c.statusReason) ? pilotSentReason(pilot, c.definition.pilot?.stopIf) : (c.statusReason ?? outsideWindow),
      account: {
        name: c.account,
        ...(slowed ? { slowedDownUntil: slowed.until, slowDownReason: sharedSlowdown ? 'the SMTP server asked to send more slowly' : slowed.reason } : {}),
        ...(hold ? { heldSince: hold.since, holdReason: hold.reason } : {}),
      },
      build,
      eta,
      schedule,
      review: c.decidedAt ? { by: c.decidedBy, note: c.decisionNote ?? undefined, at: c.decidedAt } : undefined,
      reviewPolicy: { distinctReviewer: c.definition.review?.distinctReviewer ?? false },
      pilot: c.definition.pilot && pilot ? pilotView(c.definition.pilot, pilot) : undefined,
      tenant: c.tenant,
      createdBy: c.createdBy ?? undefined,
      workflowId: c.workflowId,
      temporalUrl: link(caller, c.workflowId),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    });
  }));

  return router;
}
