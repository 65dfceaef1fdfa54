import type { CampaignDefinition } from '../contract/campaign.js';
import { personOf } from '../db/keys.js';
import type { Db } from '../db/sql.js';
import { tenantPolicy } from '../db/tenants.js';

/** The decisions four eyes guards: approving a campaign, and letting it go on after its pilot. */
export type GuardedDecision = 'approve' | 'continue';

interface GuardedCampaign {
  tenant: string;
  definition: Pick<CampaignDefinition, 'review'>;
  createdBy: string | null;
}

/** A decider the API authenticated: the key's principal and the person behind it. */
export interface KnownDecider {
  principal: string;
  person: string;
}

const verb = (d: GuardedDecision) => (d === 'approve' ? 'approved' : 'continued after its pilot');

/**
 * The four-eyes rule, in one place for the API's early answer and the activity that records the
 * decision: a campaign that needs a distinct reviewer (its own setting or its tenant's) is decided
 * through the API (where the decider is known) by a person other than its creator. Why `decider`
 * may not decide, or undefined when they may.
 */
export async function fourEyesRefusal(db: Db, c: GuardedCampaign, decision: GuardedDecision, decider: KnownDecider | undefined): Promise<string | undefined> {
  const policy = await tenantPolicy(db, c.tenant, []);
  if (!(c.definition.review?.distinctReviewer ?? false) && !policy.fourEyesRequired) return undefined;
  if (!decider) return `four-eyes rule: this campaign is ${verb(decision)} through the API, where the decider is known`;
  const creator = c.createdBy ? await personOf(db, c.tenant, c.createdBy) : undefined;
  if (creator !== undefined && decider.person === creator) {
    return `four-eyes rule: this campaign must be ${verb(decision)} by someone other than its creator (${decider.principal} acts for ${decider.person}, who created it)`;
  }
  return undefined;
}
