import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { campaignIdSchema, createCampaignSchema, decisionSchema } from '../contract/campaign.js';
import { campaignWorkflowId } from '../contract/statuses.js';
import * as campaigns from '../db/campaigns.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { slowedUntil } from '../delivery/throttle.js';
import { ApiError, notFound } from './errors.js';
import { decide, startCampaignWorkflow } from './lifecycle.js';

export interface CampaignRouterDeps {
  sql: Sql;
  client: Client;
  taskQueue: string;
  namespace: string;
  temporalUiUrl?: string;
  logger: Logger;
}

export function campaignRouter(deps: CampaignRouterDeps): Router {
  const { sql, client, logger } = deps;
  const router = Router();

  const temporalLink = (workflowId: string) =>
    deps.temporalUiUrl
      ? `${deps.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(workflowId)}`
      : undefined;

  async function loadCampaign(rawId: string) {
    const id = campaignIdSchema.safeParse(rawId);
    const campaign = id.success ? await campaigns.getCampaign(sql, id.data) : undefined;
    if (!campaign) throw notFound('campaign');
    return campaign;
  }

  router.post('/campaigns', async (req, res) => {
    const input = createCampaignSchema.parse(req.body ?? {});
    const id = randomUUID();
    const workflowId = campaignWorkflowId(id);
    const { recipients, name, ...definition } = input;
    await campaigns.insertCampaign(sql, {
      id,
      name,
      definition,
      source: { type: 'inline', recipients },
      workflowId,
    });
    try {
      await startCampaignWorkflow(client, { campaignId: id, taskQueue: deps.taskQueue, name, recipients: recipients.length });
    } catch (err) {
      // Without its workflow the record would sit in `building` for ever: take it back.
      await campaigns.deleteCampaign(sql, id);
      logger.error({ err, campaignId: id }, 'could not start the campaign workflow');
      throw new ApiError(503, 'the campaign could not be started: Temporal did not accept the workflow; nothing was created');
    }
    logger.info({ campaignId: id, recipients: recipients.length }, 'campaign created');
    res.status(201).json({ id, status: 'building', workflowId, temporalUrl: temporalLink(workflowId) });
  });

  router.get('/campaigns/:id', async (req, res) => {
    const c = await loadCampaign(req.params.id);
    const counts = await campaigns.campaignCounts(sql, c.id);
    const slowed = await slowedUntil(sql, `account:${c.account}`);
    res.json({
      id: c.id,
      name: c.name,
      status: c.status,
      counts,
      error: c.error ?? undefined,
      reason: c.statusReason ?? undefined,
      account: { name: c.account, ...(slowed ? { slowedDownUntil: slowed.until, slowDownReason: slowed.reason } : {}) },
      review: c.decidedAt ? { by: c.decidedBy, note: c.decisionNote ?? undefined, at: c.decidedAt } : undefined,
      workflowId: c.workflowId,
      temporalUrl: temporalLink(c.workflowId),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    });
  });

  for (const action of ['approve', 'reject'] as const) {
    router.post(`/campaigns/:id/${action}`, async (req, res) => {
      const c = await loadCampaign(req.params.id);
      const body = decisionSchema.parse(req.body ?? {});
      const outcome = await decide(client, c.id, action === 'approve', { by: res.locals.principal, note: body.note });
      if (outcome.ok) {
        logger.info({ campaignId: c.id, action, by: res.locals.principal }, 'review decision');
        res.json({ status: outcome.status });
        return;
      }
      if (outcome.reason === 'timeout') {
        throw new ApiError(503, 'no worker answered in time; the decision was not recorded, try again');
      }
      // The workflow's own answer wins; a closed workflow answers through its final record.
      const current = (await campaigns.getCampaign(sql, c.id))?.status ?? c.status;
      const message = outcome.reason === 'conflict' ? outcome.message : `the campaign is ${current}, not awaiting review`;
      throw new ApiError(409, message, { status: outcome.reason === 'conflict' ? (outcome.status ?? current) : current });
    });
  }

  return router;
}
