import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { createCampaignRequestSchema } from '../contract/campaign.js';
import { followUpLinks, followUpSource, resolveCampaignInput } from '../followups/resolve.js';
import { campaignCreatedResponse, campaignResponse } from '../contract/responses.js';
import { campaignWorkflowId } from '../contract/workflow-ids.js';
import { appendAudit } from '../db/audit.js';
import * as campaigns from '../db/campaigns.js';
import type { RecipientSource } from '../db/campaigns.js';
import { statusCounts } from '../db/recipients.js';
import { claimIdempotencyKey, type IdempotencyRow } from '../db/idempotency.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { getAccount } from '../db/accounts.js';
import { accountHold, holdKey, slowedUntil, throttleKey } from '../db/send-slots.js';
import { loadCampaign, temporalLink } from './campaign-access.js';
import { ApiError } from './errors.js';
import { startCampaignWorkflow } from './lifecycle.js';
import { tenantPolicy } from '../db/tenants.js';
import type { S3Location } from '../s3/locations.js';
import { checkCampaignAgainstPolicy } from './tenants.js';
import { callerOf, route } from './scopes.js';

export interface CampaignRouterDeps {
  sql: Sql;
  client: Client;
  taskQueue: string;
  namespace: string;
  temporalUiUrl?: string;
  logger: Logger;
  /** Recipients one campaign may have (an inline list is checked here, every list again by the build). */
  maxRecipients?: number;
  /** S3_ALLOWED_LOCATIONS, for tenant `default`. */
  s3Locations?: readonly S3Location[];
}

const idempotencyKeySchema = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export function campaignRouter(deps: CampaignRouterDeps): Router {
  const { sql, client, logger } = deps;
  const router = Router();
  const link = (workflowId: string) => temporalLink(deps, workflowId);

  router.post('/campaigns', route({ scope: 'campaigns:write', summary: 'Create a campaign, or a follow-up of one (recipientsFrom.campaign); honours an Idempotency-Key header', body: createCampaignRequestSchema, response: campaignCreatedResponse, status: 201 }), async (req, res) => {
    const caller = callerOf(res);
    const rawKey = req.get('idempotency-key');
    const idempotencyKey = rawKey === undefined ? undefined : idempotencyKeySchema.safeParse(rawKey);
    if (idempotencyKey && !idempotencyKey.success) {
      throw new ApiError(422, 'the request is not valid', {
        problems: [{ path: 'Idempotency-Key', message: idempotencyKey.error.issues[0]?.message ?? 'is not valid' }],
      });
    }
    // A follow-up (recipientsFrom.campaign) fills what it leaves out from its original.
    const input = await resolveCampaignInput(sql, caller.tenant, req.body);
    const maxRecipients = deps.maxRecipients ?? Infinity;
    if (input.recipients && input.recipients.length > maxRecipients) {
      throw new ApiError(422, 'the request is not valid', {
        problems: [{ path: 'recipients', message: `has ${input.recipients.length} recipients, more than the ${maxRecipients} a campaign may have` }],
      });
    }
    if (input.account !== 'default' && !(await getAccount(sql, caller.tenant, input.account))) {
      throw new ApiError(422, 'the request is not valid', { problems: [{ path: 'account', message: `no account named ${input.account}` }] });
    }
    // The tenant's S3 locations and review rules (422 / 403); four eyes where the tenant requires it.
    const review = checkCampaignAgainstPolicy(await tenantPolicy(sql, caller.tenant, deps.s3Locations ?? []), input);
    const id = randomUUID();
    const workflowId = campaignWorkflowId(id);
    const { recipients, recipientsCsv, recipientsFrom, name, ...asked } = input;
    const definition = review === undefined ? asked : { ...asked, review };
    const source: RecipientSource = recipients
      ? { type: 'inline', recipients }
      : recipientsCsv !== undefined
        ? { type: 'csv', text: recipientsCsv }
        : recipientsFrom?.campaign
          ? followUpSource(recipientsFrom)
          : { type: 's3', ...recipientsFrom!.s3! };
    const bodySha256 = createHash('sha256').update(canonicalJson(input)).digest('hex');

    const earlier: IdempotencyRow | undefined = await sql.begin(async (tx) => {
      await campaigns.insertCampaign(tx, {
        id,
        name,
        definition,
        source,
        workflowId,
        tenant: caller.tenant,
        createdBy: caller.principal,
        account: input.account,
      });
      if (idempotencyKey?.success) {
        const claim = await claimIdempotencyKey(tx, { tenant: caller.tenant, key: idempotencyKey.data, bodySha256, campaignId: id });
        // Someone already used this key: roll this campaign back and answer with theirs.
        if (claim) throw new Replay(claim);
      }
      await appendAudit(tx, {
        tenant: caller.tenant,
        principal: caller.principal,
        action: 'campaign.create',
        campaignId: id,
        details: { name, source: source.type, recipients: recipients?.length, distinctReviewer: definition.review?.distinctReviewer ?? false, ...(source.type === 'campaign' ? { followUpOf: source.campaignId, sendStatus: source.sendStatus } : {}) },
      });
      return undefined as IdempotencyRow | undefined;
    }).catch((err: unknown) => {
      if (err instanceof Replay) return err.claim;
      throw err;
    });
    if (earlier) {
      if (earlier.bodySha256 !== bodySha256) {
        throw new ApiError(409, 'this Idempotency-Key was already used with a different request body', {
          campaignId: earlier.campaignId,
        });
      }
      const c = await campaigns.getTenantCampaign(sql, caller.tenant, earlier.campaignId);
      if (!c) throw new ApiError(409, 'this Idempotency-Key belongs to a campaign that no longer exists; use a new key');
      res.status(200).set('Idempotent-Replayed', 'true').json({ id: c.id, status: c.status, workflowId: c.workflowId, temporalUrl: link(c.workflowId) });
      return;
    }

    try {
      await startCampaignWorkflow(client, {
        campaignId: id,
        taskQueue: deps.taskQueue,
        name,
        recipients: recipients?.length,
        tenant: caller.tenant,
        account: input.account,
      });
    } catch (err) {
      // Without its workflow the record would sit in `building` for ever: take it back.
      await sql.begin(async (tx) => {
        await campaigns.deleteCampaign(tx, id);
        await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'campaign.create_aborted', campaignId: id, details: { reason: 'Temporal did not accept the workflow' } });
      });
      logger.error({ err, campaignId: id }, 'could not start the campaign workflow');
      throw new ApiError(503, 'the campaign could not be started: Temporal did not accept the workflow; nothing was created');
    }
    logger.info({ campaignId: id, source: source.type, by: caller.principal }, 'campaign created');
    res.status(201).json({ id, status: 'building', workflowId, temporalUrl: link(workflowId) });
  });

  /**
   * The send rate of the last five minutes (from three sends on), else the lowest configured limit that is known here
   * (the campaign's throttle, a stored account's limit), turned into a finishing time.
   */
  async function estimate(c: campaigns.CampaignRow, pending: number) {
    // Over the span the sends really cover: a campaign sending for 40 s has a 40 s window, not 5 minutes.
    const [row] = await sql<{ n: number; seconds: number | null }[]>`
      SELECT count(*)::int AS n, extract(epoch FROM now() - min(finished_at))::float8 AS seconds FROM delivery_ledger
      WHERE campaign_id = ${c.id} AND state = 'sent' AND finished_at > now() - interval '5 minutes'`;
    const n = row?.n ?? 0;
    // n sends span n - 1 intervals up to the last one: counting n would overstate a young campaign's rate.
    let perMinute = n >= 3 ? ((n - 1) / Math.max(row!.seconds ?? 0, 1)) * 60 : 0;
    let basis: 'observed' | 'limit' = 'observed';
    if (perMinute === 0) {
      const stored = c.account === 'default' ? undefined : await getAccount(sql, c.tenant, c.account);
      const limits = [c.definition.throttle?.messagesPerMinute, stored?.limits.messagesPerMinute].filter((x): x is number => !!x);
      if (limits.length === 0) return undefined;
      perMinute = Math.min(...limits);
      basis = 'limit';
    }
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

  router.get('/campaigns/:id', route({ scope: 'campaigns:read', summary: 'A campaign with its counts and review', response: campaignResponse }), async (req, res) => {
    const c = await loadCampaign(sql, callerOf(res), req.params.id as string);
    const [counts, countsByStatus] = await Promise.all([campaigns.campaignCounts(sql, c.id), statusCounts(sql, c.id)]);
    const [slowed, hold] = await Promise.all([slowedUntil(sql, throttleKey(c.tenant, c.account)), accountHold(sql, holdKey(c.tenant, c.account))]);
    // The shared `default` account slows down for everyone, but the reply that slowed it may be another tenant's.
    const sharedSlowdown = c.account === 'default' && c.tenant !== 'default';
    const eta = c.status === 'sending' && counts.pending > 0 ? await estimate(c, counts.pending) : undefined;
    const build = c.status === 'building' ? buildProgress(c) : undefined;
    const links = await followUpLinks(sql, c);
    res.json({
      ...links,
      id: c.id,
      name: c.name,
      status: c.status,
      counts,
      countsByStatus,
      error: c.error ?? undefined,
      reason: c.statusReason ?? undefined,
      account: {
        name: c.account,
        ...(slowed ? { slowedDownUntil: slowed.until, slowDownReason: sharedSlowdown ? 'the SMTP server asked to send more slowly' : slowed.reason } : {}),
        ...(hold ? { heldSince: hold.since, holdReason: hold.reason } : {}),
      },
      build,
      eta,
      review: c.decidedAt ? { by: c.decidedBy, note: c.decisionNote ?? undefined, at: c.decidedAt } : undefined,
      reviewPolicy: { distinctReviewer: c.definition.review?.distinctReviewer ?? false },
      tenant: c.tenant,
      createdBy: c.createdBy ?? undefined,
      workflowId: c.workflowId,
      temporalUrl: link(c.workflowId),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    });
  });

  return router;
}

class Replay extends Error {
  constructor(readonly claim: IdempotencyRow) {
    super('replay');
  }
}

/** JSON with object keys sorted, so the same body hashes the same whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
