import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import type { CampaignDefinition, CreateCampaignInput } from '../contract/campaign.js';
import { campaignWorkflowId } from '../contract/workflow-ids.js';
import { INT4_MAX } from '../contract/input.js';
import { getAccount } from '../db/accounts.js';
import { appendAudit } from '../db/audit.js';
import * as campaigns from '../db/campaigns.js';
import type { RecipientSource } from '../db/campaigns.js';
import { claimIdempotencyKey, type IdempotencyRow } from '../db/idempotency.js';
import type { Sql } from '../db/sql.js';
import { tenantPolicy } from '../db/tenants.js';
import type { ResolvedDeps } from './deps.js';
import { ApiError } from './errors.js';
import { startCampaignWorkflow } from './lifecycle.js';
import type { Caller } from './scopes.js';
import { checkCampaignAgainstPolicy } from './routes/tenants.js';
import { followUpDetails, followUpSource } from '../followups/resolve.js';
import { csvTextHeaderProblem } from '../build/csv-header.js';

// The steps of POST /campaigns, in the order the handler takes them: check what the request
// asks against the installation, draft the record, store it (or find the earlier one an
// Idempotency-Key names), then start its workflow, taking the record back if Temporal refuses.

/** What creating a campaign uses: its `limits.recipientsPerCampaign` checks an inline list here (every list again at build). */
export type CreateDeps = Pick<ResolvedDeps, 'sql' | 'client' | 'taskQueue' | 'logger' | 'limits' | 's3Locations'>;

/** What is stored for a new campaign, with the hash that tells a replayed request from another. */
export interface CampaignDraft {
  id: string;
  workflowId: string;
  name: string;
  account: string;
  definition: CampaignDefinition;
  source: RecipientSource;
  inlineRecipients?: number;
  bodySha256: string;
}

const idempotencyKeySchema = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const invalid = (path: string, message: string) => new ApiError(422, 'the request is not valid', { problems: [{ path, message }] });

/** The Idempotency-Key header, when given: a 422 naming it when it is not one. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const raw = req.get('idempotency-key');
  if (raw === undefined) return undefined;
  const key = idempotencyKeySchema.safeParse(raw);
  if (!key.success) throw invalid('Idempotency-Key', key.error.issues[0]?.message ?? 'is not valid');
  return key.data;
}

/**
 * What the request asks of the installation: no more inline recipients than a campaign may have,
 * CSV text with a header the build reads, a stored account of the tenant's, S3 reads inside its
 * locations and review as strict as its rules. Answers the review policy to store.
 */
export async function checkAgainstInstallation(deps: CreateDeps, caller: Caller, input: CreateCampaignInput): Promise<CampaignDefinition['review']> {
  const maxRecipients = deps.limits.recipientsPerCampaign;
  if (input.recipients && input.recipients.length > maxRecipients) {
    throw invalid('recipients', `has ${input.recipients.length} recipients, more than the ${maxRecipients} a campaign may have`);
  }
  // CSV text is all here: a header the build could not read is refused now, not as a failed build.
  const csvProblem = input.recipientsCsv === undefined ? undefined : csvTextHeaderProblem(input.recipientsCsv);
  if (csvProblem) throw invalid('recipientsCsv', csvProblem);
  if (input.account !== 'default' && !(await getAccount(deps.sql, caller.tenant, input.account))) {
    throw invalid('account', `no account named ${input.account}`);
  }
  return checkCampaignAgainstPolicy(await tenantPolicy(deps.sql, caller.tenant, deps.s3Locations), input);
}

export function draftCampaign(input: CreateCampaignInput, review: CampaignDefinition['review']): CampaignDraft {
  const id = randomUUID();
  const { recipients, recipientsCsv, recipientsFrom, name, ...asked } = input;
  // A random pilot sample keeps its seed with the campaign: the same recipients however often it is picked.
  if (asked.pilot?.sample === 'random' && asked.pilot.seed === undefined) asked.pilot = { ...asked.pilot, seed: randomInt(INT4_MAX) };
  const source: RecipientSource = recipients
    ? { type: 'inline', recipients }
    : recipientsCsv !== undefined
      ? { type: 'csv', text: recipientsCsv }
      : recipientsFrom?.campaign
        ? followUpSource(recipientsFrom)
        : { type: 's3', ...recipientsFrom!.s3! };
  return {
    id,
    workflowId: campaignWorkflowId(id),
    name,
    account: input.account,
    definition: review === undefined ? asked : { ...asked, review },
    source,
    inlineRecipients: recipients?.length,
    bodySha256: createHash('sha256').update(canonicalJson(input)).digest('hex'),
  };
}

/**
 * Stores the campaign with its audit row, in one transaction. Where the Idempotency-Key was used
 * before, nothing is stored and the earlier use is answered instead.
 */
export async function storeCampaign(sql: Sql, caller: Caller, d: CampaignDraft, idempotencyKey: string | undefined): Promise<IdempotencyRow | undefined> {
  return sql
    .begin(async (tx) => {
      await campaigns.insertCampaign(tx, { id: d.id, name: d.name, definition: d.definition, source: d.source, workflowId: d.workflowId, tenant: caller.tenant, createdBy: caller.principal, account: d.account });
      if (idempotencyKey !== undefined) {
        const claim = await claimIdempotencyKey(tx, { tenant: caller.tenant, key: idempotencyKey, bodySha256: d.bodySha256, campaignId: d.id });
        // Someone already used this key: roll this campaign back and answer with theirs.
        if (claim) throw new Replay(claim);
      }
      await appendAudit(tx, {
        tenant: caller.tenant,
        principal: caller.principal,
        action: 'campaign.create',
        campaignId: d.id,
        details: { name: d.name, source: d.source.type, recipients: d.inlineRecipients, distinctReviewer: d.definition.review?.distinctReviewer ?? false, ...followUpDetails(d.source) },
      });
      return undefined as IdempotencyRow | undefined;
    })
    .catch((err: unknown) => {
      if (err instanceof Replay) return err.claim;
      throw err;
    });
}

/** The campaign an earlier request with the same key and body created; another body is a 409. */
export async function replayedCampaign(sql: Sql, caller: Caller, d: CampaignDraft, earlier: IdempotencyRow): Promise<campaigns.CampaignRow> {
  if (earlier.bodySha256 !== d.bodySha256) {
    throw new ApiError(409, 'this Idempotency-Key was already used with a different request body', { campaignId: earlier.campaignId });
  }
  const c = await campaigns.getTenantCampaign(sql, caller.tenant, earlier.campaignId);
  if (!c) throw new ApiError(409, 'this Idempotency-Key belongs to a campaign that no longer exists; use a new key');
  return c;
}

/** Starts the campaign's workflow; without it the record would sit in `building` for ever, so a refusal takes it back (503). */
export async function startOrTakeBack(deps: CreateDeps, caller: Caller, d: CampaignDraft): Promise<void> {
  try {
    await startCampaignWorkflow(deps.client, { campaignId: d.id, taskQueue: deps.taskQueue, name: d.name, recipients: d.inlineRecipients, tenant: caller.tenant, account: d.account });
  } catch (err) {
    await deps.sql.begin(async (tx) => {
      await campaigns.deleteCampaign(tx, d.id);
      await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'campaign.create_aborted', campaignId: d.id, details: { reason: 'Temporal did not accept the workflow' } });
    });
    deps.logger.error({ err, campaignId: d.id }, 'could not start the campaign workflow');
    throw new ApiError(503, 'the campaign could not be started: Temporal did not accept the workflow; nothing was created');
  }
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
