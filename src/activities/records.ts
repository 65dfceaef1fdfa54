import { ApplicationFailure } from '@temporalio/activity';
import { CAMPAIGN_NOT_FOUND } from '../contract/failures.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { Db } from '../db/sql.js';
import { UnknownAccountError, type LiveAccount } from '../mail/account-pool.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
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
  const built = await composeRecipientMessage(campaign, r, await tenantS3(deps, campaign.tenant), { date: messageDate, messageId });
  return { campaign, recipient: r, ...built };
}

export type RecipientMessage = Awaited<ReturnType<typeof recipientMessage>>;
