import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { z } from 'zod';
import { approveSchema, continueSchema, controlSchema, decisionSchema } from '../../contract/campaign.js';
import { transitionResponse } from '../../contract/responses.js';
import * as campaigns from '../../db/campaigns.js';
import { deleteDecisionRequest, insertDecisionRequest } from '../../db/decision-requests.js';
import { fourEyesRefusal } from '../../review/four-eyes.js';
import { pilotStopReason } from '../../contract/pilot.js';
import { pilotOutcome } from '../../db/recipients.js';
import { campaignLoader } from '../campaign-access.js';
import { ApiError } from '../errors.js';
import { reviewFingerprint } from '../fingerprint.js';
import { transition, type LifecycleAction } from '../lifecycle.js';
import { campaignParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Scope } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

const ACTIONS: Record<LifecycleAction, { scope: Scope; summary: string; allowedFrom: string }> = {
  approve: { scope: 'campaigns:review', summary: 'Approve a campaign awaiting review', allowedFrom: 'awaiting review' },
  reject: { scope: 'campaigns:review', summary: 'Reject a campaign awaiting review or waiting after its pilot batch', allowedFrom: 'awaiting review or pilot_sent' },
  continue: { scope: 'campaigns:review', summary: 'Send the rest of a campaign after its pilot batch (`force`: although the pilot reached its stopIf share)', allowedFrom: 'pilot_sent' },
  pause: { scope: 'campaigns:write', summary: 'Pause a campaign: no new sends until it is resumed', allowedFrom: 'running' },
  resume: { scope: 'campaigns:write', summary: 'Resume a paused campaign where it stopped', allowedFrom: 'paused' },
  cancel: { scope: 'campaigns:write', summary: 'Cancel a campaign: nothing more is sent; unsent recipients become cancelled', allowedFrom: 'open' },
};

/**
 * POST /campaigns/:id/{approve,reject,continue,pause,resume,cancel}: each is an Update the workflow may
 * refuse, so the answer is the workflow's own: 200 { status } or 409 { error, status }.
 */
export function campaignActionRouter({ sql, client, logger }: Pick<ResolvedDeps, 'sql' | 'client' | 'logger'>): Router {
  const router = Router();
  const load = campaignLoader(sql);

  for (const [action, spec] of Object.entries(ACTIONS) as [LifecycleAction, (typeof ACTIONS)[LifecycleAction]][]) {
    const review = action === 'approve' || action === 'reject' || action === 'continue';
    const schema: z.ZodType<{ note?: string; reason?: string; fingerprint?: string; force?: boolean }> =
      action === 'approve' ? approveSchema : action === 'continue' ? continueSchema : review ? decisionSchema : controlSchema;
    router.post(`/campaigns/:id/${action}`, route({ scope: spec.scope, summary: spec.summary, params: { id: campaignParam }, load, body: schema, response: transitionResponse }, async ({ caller, loaded: c, body }, _req, res) => {
      if (action === 'approve' || action === 'continue') {
        // Four eyes compares people: a second key its creator made acts for the same person.
        const refused = await fourEyesRefusal(sql, c, action, caller);
        if (refused) throw new ApiError(403, refused, { status: c.status, createdBy: c.createdBy ?? undefined });
      }
      if (action === 'continue' && !body.force && c.status === 'pilot_sent' && c.definition.pilot?.stopIf) {
        // Bounces keep arriving after the pilot is out: the stop rule is asked again with them.
        const stopped = pilotStopReason(await pilotOutcome(sql, c.id), c.definition.pilot.stopIf);
        if (stopped) throw new ApiError(409, `${stopped}; continue with force to send the rest anyway`, { status: c.status });
      }
      if (action === 'approve') {
        // Bound to what the reviewer saw: a list, decision or definition changed since is a 409.
        if (body.fingerprint !== undefined && c.status === 'awaiting_review') {
          const current = await reviewFingerprint(sql, c);
          if (current !== body.fingerprint) {
            throw new ApiError(409, 'what would be sent changed since this review was loaded (a recipient decision, the list or the definition): reload the review and check it again', {
              status: c.status,
              fingerprint: current,
            });
          }
        }
      }
      // The workflow's activity writes the audit row in the transaction of the change, under the
      // caller recorded here: one row per decision, whichever path a decision comes by.
      const requestId = randomUUID();
      await insertDecisionRequest(sql, { id: requestId, tenant: caller.tenant, campaignId: c.id, action, principal: caller.principal, person: caller.person });
      const arg = review ? { by: caller.principal, note: body.note, requestId, ...(body.force ? { force: true } : {}) } : { by: caller.principal, reason: body.reason, requestId };
      const outcome = await transition(client, c.id, action, arg);
      if (outcome.ok) {
        logger.info({ campaignId: c.id, action, by: caller.principal }, 'campaign transition');
        res.json({ status: outcome.status });
        return;
      }
      if (outcome.reason === 'forbidden') {
        throw new ApiError(403, outcome.message, { status: outcome.status ?? c.status, createdBy: c.createdBy ?? undefined });
      }
      // A late Update after a timeout may still be recorded, under this caller; a refused one never is.
      if (outcome.reason !== 'timeout') await deleteDecisionRequest(sql, requestId);
      if (outcome.reason === 'timeout') {
        throw new ApiError(503, `no worker answered in time; the ${action} was not recorded, try again`);
      }
      // The workflow's own answer wins; a closed workflow answers through its final record.
      const current = (await campaigns.getCampaign(sql, c.id))?.status ?? c.status;
      if (outcome.reason === 'conflict') {
        throw new ApiError(409, outcome.message, { status: outcome.status ?? current });
      }
      throw new ApiError(409, `the campaign is ${current}, not ${spec.allowedFrom}`, { status: current });
    }));
  }

  return router;
}
