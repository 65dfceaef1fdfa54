import { defineSearchAttributeKey } from '@temporalio/common';

// Custom search attributes, so the Temporal UI can answer "all paused campaigns of tenant X" with
// one query: CampaignStatus = "paused" AND Tenant = "x". The dev server registers them at start;
// a production namespace needs them once:
//   temporal operator search-attribute create --namespace <ns> \
//     --name CampaignId --type Keyword --name CampaignStatus --type Keyword \
//     --name Tenant --type Keyword --name Account --type Keyword
export const CampaignIdAttr = defineSearchAttributeKey('CampaignId', 'KEYWORD');
export const CampaignStatusAttr = defineSearchAttributeKey('CampaignStatus', 'KEYWORD');
export const TenantAttr = defineSearchAttributeKey('Tenant', 'KEYWORD');
export const AccountAttr = defineSearchAttributeKey('Account', 'KEYWORD');

export const CAMPAIGN_SEARCH_ATTRIBUTES = [CampaignIdAttr, CampaignStatusAttr, TenantAttr, AccountAttr];
