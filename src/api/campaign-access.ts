import * as campaigns from '../db/campaigns.js';
import type { Sql } from '../db/sql.js';
import { notFound } from './errors.js';
import type { Caller } from './scopes.js';

/** The caller's campaign, or a 404 alike for a missing or other tenant's id (`campaignParam` answers a malformed one). */
export async function loadCampaign(sql: Sql, caller: Caller, id: string): Promise<campaigns.CampaignRow> {
  const campaign = await campaigns.getTenantCampaign(sql, caller.tenant, id);
  if (!campaign) throw notFound('campaign');
  return campaign;
}

/** The `load` of a route whose `:id` is a campaign: the caller's campaign, before its query and body are read. */
export const campaignLoader =
  (sql: Sql) =>
  ({ caller, params }: { caller: Caller; params: { id: string } }): Promise<campaigns.CampaignRow> =>
    loadCampaign(sql, caller, params.id);

/**
 * The campaign's page in the Temporal Web UI, when its URL is configured, for an operator only
 * (the installation's API_KEY): the UI shows every tenant's workflows and its Signals approve,
 * pause and cancel any campaign, so a tenant's key is never pointed at it.
 */
export function temporalLink(o: { temporalUiUrl?: string; namespace: string }, caller: Caller, workflowId: string): string | undefined {
  return o.temporalUiUrl && caller.bootstrap
    ? `${o.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(o.namespace)}/workflows/${encodeURIComponent(workflowId)}`
    : undefined;
}
