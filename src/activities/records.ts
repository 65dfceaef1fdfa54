import { ApplicationFailure } from '@temporalio/activity';
import { CAMPAIGN_NOT_FOUND } from '../contract/failures.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { Db } from '../db/sql.js';
import { UnknownAccountError, type LiveAccount } from '../mail/account-pool.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
import { policyOf, type TenantRow } from '../db/tenants.js';
import { scopedStore } from '../s3/locations.js';
import { tenantS3 } from '../s3/tenant-s3.js';
import type { ActivityDeps } from './deps.js';

// What the activities read before they act: a record that must exist (else a non-retryable
// CampaignNotFound), the campaign's live account, a recipient's message as it is sent.

export async function existingCampaign(sql: Db, campaignId: string): Promise<campaigns.CampaignRow> {
  const campaign = await campaigns.getCampaign(sql, campaignId);
  if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
  return campaign;
}

async function existingRecipient(sql: Db, campaignId: string, recipientId: number): Promise<recipients.RecipientRow> {
  const r = await recipients.getRecipient(sql, campaignId, recipientId);
  if (!r) throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
  return r;
}

/** The campaign's account; the reason as a string when it no longer exists. */
export async function accountOf(deps: ActivityDeps, campaign: { tenant: string; account: string }): Promise<LiveAccount | string> {
  try {
    return await deps.accounts.get(campaign.tenant, campaign.account);
  } catch (err) {
    if (err instanceof UnknownAccountError) return err.message;
    throw err;
  }
}

/**
 * A recipient's message with the campaign's Date header, read through the tenant's S3 locations as
 * they stand now. `messageId`: the id the ledger holds for it, once it was attempted (kept for good).
 */
export async function recipientMessage(deps: ActivityDeps, campaignId: string, recipientId: number, messageDate: Date, messageId?: string) {
  const campaign = await existingCampaign(deps.sql, campaignId);
  const r = await existingRecipient(deps.sql, campaignId, recipientId);
  const built = await composeRecipientMessage(campaign, r, await tenantS3(deps, campaign.tenant), deps, { date: messageDate, messageId });
  return { campaign, recipient: r, ...built };
}

/**
 * The same message from records the caller has read already (the send path reads the campaign,
 * the recipient and the tenant's settings in one statement): its S3 locations are the tenant's
 * row as read there, a moment ago.
 */
export async function messageFromRecords(
  deps: ActivityDeps,
  records: { campaign: campaigns.CampaignRow; recipient: recipients.RecipientRow; tenant: TenantRow | undefined },
  messageDate: Date,
  messageId?: string,
): Promise<RecipientMessage> {
  const { campaign, recipient } = records;
  const s3 = scopedStore(deps.s3, policyOf(campaign.tenant, records.tenant, deps.s3Locations ?? []).s3Locations);
  const built = await composeRecipientMessage(campaign, recipient, s3, deps, { date: messageDate, messageId });
  return { campaign, recipient, ...built };
}

export type RecipientMessage = Awaited<ReturnType<typeof recipientMessage>>;
