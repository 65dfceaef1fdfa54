import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { controlSchema, decisionSchema } from '../contract/campaign.js';
import { transitionResponse } from '../contract/responses.js';
import { appendAudit } from '../db/audit.js';
import * as campaigns from '../db/campaigns.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { loadCampaign } from './campaign-access.js';
import { ApiError } from './errors.js';
import { transition, type LifecycleAction } from './lifecycle.js';
import { callerOf, route, type Scope } from './scopes.js';

const ACTIONS: Record<LifecycleAction, { scope: Scope; summary: string; allowedFrom: string }> = {
  approve: { scope: 'campaigns:review', summary: 'Approve a campaign awaiting review', allowedFrom: 'awaiting review' },
  reject: { scope: 'campaigns:review', summary: 'Reject a campaign awaiting review', allowedFrom: 'awaiting review' },
  pause: { scope: 'campaigns:write', summary: 'Pause a campaign: no new sends until it is resumed', allowedFrom: 'running' },
  resume: { scope: 'campaigns:write', summary: 'Resume a paused campaign where it stopped', allowedFrom: 'paused' },
  cancel: { scope: 'campaigns:write', summary: 'Cancel a campaign: nothing more is sent; unsent recipients become cancelled', allowedFrom: 'open' },
};

/**
 * POST /campaigns/:id/{approve,reject,pause,resume,cancel}: each is an Update the workflow may
 * refuse, so the answer is the workflow's own: 200 { status } or 409 { error, status }.
 */
export function campaignActionRouter({ sql, client, logger }: { sql: Sql; client: Client; logger: Logger }): Router {
  const router = Router();

  for (const [action, spec] of Object.entries(ACTIONS) as [LifecycleAction, (typeof ACTIONS)[LifecycleAction]][]) {
    const review = action === 'approve' || action === 'reject';
    const schema = review ? decisionSchema : controlSchema;
    router.post(`/campaigns/:id/${action}`, route({ scope: spec.scope, summary: spec.summary, body: schema, response: transitionResponse }), async (req, res) => {
      const caller = callerOf(res);
      const c = await loadCampaign(sql, caller, req.params.id as string);
      const body = schema.parse(req.body ?? {}) as { note?: string; reason?: string };
      if (action === 'approve' && c.definition.review?.distinctReviewer && c.createdBy === caller.principal) {
        throw new ApiError(403, 'four-eyes rule: this campaign must be approved by someone other than its creator', {
          status: c.status,
          createdBy: c.createdBy,
        });
      }
      const arg = review ? { by: caller.principal, note: body.note } : { by: caller.principal, reason: body.reason };
      const outcome = await transition(client, c.id, action, arg);
      if (outcome.ok) {
        // The change itself is recorded by the workflow's activity; this row says who asked for it.
        // The transition has happened whatever becomes of this row: the caller hears the truth
        // (200), and a lost row is logged as an error rather than turned into a misleading 500.
        await appendAudit(sql, {
          tenant: caller.tenant,
          principal: caller.principal,
          action: `campaign.${action}`,
          campaignId: c.id,
          details: { status: outcome.status, ...(body.note ? { note: body.note } : {}), ...(body.reason ? { reason: body.reason } : {}) },
        }).catch((err: unknown) => logger.error({ err, campaignId: c.id, action, by: caller.principal }, 'audit row not written'));
        logger.info({ campaignId: c.id, action, by: caller.principal }, 'campaign transition');
        res.json({ status: outcome.status });
        return;
      }
      if (outcome.reason === 'timeout') {
        throw new ApiError(503, `no worker answered in time; the ${action} was not recorded, try again`);
      }
      // The workflow's own answer wins; a closed workflow answers through its final record.
      const current = (await campaigns.getCampaign(sql, c.id))?.status ?? c.status;
      if (outcome.reason === 'conflict') {
        throw new ApiError(409, outcome.message, { status: outcome.status ?? current });
      }
      throw new ApiError(409, `the campaign is ${current}, not ${spec.allowedFrom}`, { status: current });
    });
  }

  return router;
}
