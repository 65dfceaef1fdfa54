import { campaignIdSchema } from '../contract/campaign.js';
import * as campaigns from '../db/campaigns.js';
import type { Sql } from '../db/sql.js';
import { notFound } from './errors.js';
import type { Caller } from './scopes.js';

/** The caller's campaign, or a 404 alike for a missing, malformed or other tenant's id. */
export async function loadCampaign(sql: Sql, caller: Caller, rawId: string): Promise<campaigns.CampaignRow> {
  const id = campaignIdSchema.safeParse(rawId);
  const campaign = id.success ? await campaigns.getTenantCampaign(sql, caller.tenant, id.data) : undefined;
  if (!campaign) throw notFound('campaign');
  return campaign;
}

/** The campaign's page in the Temporal Web UI, when its URL is configured. */
export function temporalLink(o: { temporalUiUrl?: string; namespace: string }, workflowId: string): string | undefined {
  return o.temporalUiUrl
    ? `${o.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(o.namespace)}/workflows/${encodeURIComponent(workflowId)}`
    : undefined;
}
