import type { z } from 'zod';
import { reviewPolicySchema, type CampaignDefinition } from '../contract/campaign.js';
import type { TenantPolicy } from '../db/tenants.js';

type ReviewPolicy = z.output<typeof reviewPolicySchema>;

/**
 * The review a campaign gets: what it asked for, made as strict as its tenant's settings require
 * and never looser. A tenant that does not allow skipping review, or requires four eyes, makes
 * review required; four eyes makes a distinct reviewer required. The API applies it when the
 * campaign is created, the build again with the tenant's settings as they stand then.
 */
export function effectiveReview(policy: Pick<TenantPolicy, 'reviewSkipAllowed' | 'fourEyesRequired'>, asked: CampaignDefinition['review']): ReviewPolicy {
  const a = reviewPolicySchema.parse(asked ?? {});
  return {
    ...a,
    required: a.required || !policy.reviewSkipAllowed || policy.fourEyesRequired,
    distinctReviewer: a.distinctReviewer || policy.fourEyesRequired,
  };
}
