import { Router } from 'express';
import { isGlobTemplate, keyProblem } from '../../contract/key-patterns.js';
import { effectiveReview } from '../../review/policy.js';
import type { CampaignDefinition, CreateCampaignInput } from '../../contract/campaign.js';
import { tenantSettingsResponse, tenantSettingsSchema } from '../../contract/tenants.js';
import { appendAudit } from '../../db/audit.js';
import * as tenants from '../../db/tenants.js';
import { templateLocationProblem } from '../../s3/locations.js';
import { ApiError, notFound, type Problem } from '../errors.js';
import { tenantParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Caller } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

const view = (p: tenants.TenantPolicy, row: tenants.TenantRow | undefined) => ({
  tenant: p.tenant,
  s3Locations: p.s3Locations,
  s3LocationsFrom: p.s3LocationsFrom,
  review: { skipAllowed: p.reviewSkipAllowed, fourEyesRequired: p.fourEyesRequired },
  defaultAccount: p.defaultAccount,
  testSend: { recipients: p.testSendRecipients },
  updatedAt: row?.updatedAt ?? undefined,
  updatedBy: row?.updatedBy ?? undefined,
});

/**
 * /tenants/:tenant: what the installation allows a tenant. Only the configured API_KEY changes
 * it; a tenant's own keys:admin key may read its own, and another tenant's is a 404.
 */
export function tenantRouter({ sql, logger, s3Locations }: Pick<ResolvedDeps, 'sql' | 'logger' | 's3Locations'>): Router {
  const router = Router();
  const configured = s3Locations;

  /** The tenant the caller names: its own, or any for the configured API_KEY; another's is a 404. */
  const target = ({ caller, params }: { caller: Caller; params: { tenant: string } }) => {
    if (!caller.bootstrap && params.tenant !== caller.tenant) return Promise.reject(notFound('tenant'));
    return Promise.resolve(params.tenant);
  };
  const params = { tenant: tenantParam };
  /** Only the configured API_KEY changes a tenant's settings: checked before the body is read. */
  const adminTarget: typeof target = async (input) => {
    const id = await target(input);
    if (!input.caller.bootstrap) {
      throw new ApiError(403, "a tenant's settings belong to the installation's admin: only the configured API_KEY may change them");
    }
    return id;
  };

  router.get('/tenants/:tenant', route({ scope: 'keys:admin', summary: "A tenant's settings: its S3 locations and review rules", params, load: target, response: tenantSettingsResponse }, async ({ loaded: id }, _req, res) => {
    const row = await tenants.getTenant(sql, id);
    if (!row) throw notFound('tenant');
    res.json(view(tenants.policyOf(id, row, configured), row));
  }));

  router.put('/tenants/:tenant', route({ scope: 'keys:admin', summary: "Replace a tenant's settings (the configured API_KEY only); creates the tenant", params, load: adminTarget, body: tenantSettingsSchema, response: tenantSettingsResponse }, async ({ caller, loaded: id, body: input }, _req, res) => {
    const row = await sql.begin(async (tx) => {
      const before = await tenants.getTenant(tx, id);
      const after = await tenants.putTenantSettings(tx, id, {
        s3Locations: input.s3Locations ?? null,
        reviewSkipAllowed: input.review.skipAllowed,
        fourEyesRequired: input.review.fourEyesRequired,
        defaultAccountAllowed: input.defaultAccount?.allowed ?? null,
        defaultAccountFromDomains: input.defaultAccount?.fromDomains ?? [],
        testSendRecipients: input.testSend.recipients,
        updatedBy: caller.principal,
      });
      const settingsOf = (r: tenants.TenantRow) => ({
        s3Locations: r.s3Locations,
        reviewSkipAllowed: r.reviewSkipAllowed,
        fourEyesRequired: r.fourEyesRequired,
        defaultAccountAllowed: r.defaultAccountAllowed,
        defaultAccountFromDomains: r.defaultAccountFromDomains,
        testSendRecipients: r.testSendRecipients,
      });
      await appendAudit(tx, {
        tenant: id,
        principal: caller.principal,
        action: 'tenant.update',
        subject: id,
        details: { before: before ? settingsOf(before) : null, after: settingsOf(after) },
      });
      return after;
    });
    logger.info({ tenant: id, by: caller.principal }, 'tenant settings changed');
    res.json(view(tenants.policyOf(id, row, configured), row));
  }));

  return router;
}

/**
 * What a new campaign may ask of its tenant: S3 reads inside the tenant's locations (a 422 naming
 * the field), and review at least as strict as the tenant's rules (a 403 naming the setting).
 * Answers the review policy to store: four eyes where the tenant requires it.
 */
/**
 * The installation's `default` account is shared: a tenant sends through it only when the admin
 * allows it, and only From the domains the admin lists (when it lists any).
 */
function sharedAccountProblem(policy: tenants.TenantPolicy, input: CreateCampaignInput): Problem | undefined {
  if (input.account !== 'default') return undefined;
  const { allowed, fromDomains } = policy.defaultAccount;
  if (!allowed) {
    return { path: 'account', message: `tenant ${policy.tenant} may not send through the installation's default account: use one of its own accounts, or ask the admin to allow it (PUT /tenants/${policy.tenant} defaultAccount)` };
  }
  const domain = input.from.address.slice(input.from.address.lastIndexOf('@') + 1).toLowerCase();
  if (fromDomains.length > 0 && !fromDomains.includes(domain)) {
    return { path: 'from', message: `${domain} is not a From domain tenant ${policy.tenant} may use on the default account (${fromDomains.join(', ')})` };
  }
  return undefined;
}

export function checkCampaignAgainstPolicy(policy: tenants.TenantPolicy, input: CreateCampaignInput): CampaignDefinition['review'] {
  // A key that could climb out of its prefix is bad input (422); a location the tenant may not read
  // is a refusal of a valid request (403), naming the field all the same.
  const invalid: Problem[] = [];
  const denied: Problem[] = [];
  const check = (path: string, bucket: string, key: string, glob: boolean) => {
    const bad = keyProblem(key);
    if (bad) return void invalid.push({ path, message: bad });
    const problem = templateLocationProblem(policy.s3Locations, bucket, key, { glob });
    if (problem) denied.push({ path, message: problem.startsWith('is outside') ? `s3://${bucket}/${key} ${problem}` : problem });
  };
  const s3 = input.recipientsFrom?.s3;
  if (s3) check('recipientsFrom.s3.key', s3.bucket, s3.key, false);
  (input.attachments ?? []).forEach((a, i) => check(`attachments.${i}.key`, a.bucket, a.key, isGlobTemplate(a.key)));
  if (invalid.length > 0) throw new ApiError(422, 'the request is not valid', { problems: invalid });
  if (denied.length > 0) throw new ApiError(403, 'the request names S3 locations this tenant may not read', { problems: denied });

  const shared = sharedAccountProblem(policy, input);
  if (shared) throw new ApiError(403, shared.message, { problems: [shared], setting: 'defaultAccount' });

  if (input.review?.required === false) {
    if (!policy.reviewSkipAllowed) {
      throw new ApiError(403, `review.required: false is not allowed: tenant ${policy.tenant} has review.skipAllowed = false (a tenant setting only the installation's admin changes)`, {
        setting: 'review.skipAllowed',
      });
    }
    if (policy.fourEyesRequired) {
      throw new ApiError(403, `review.required: false is not allowed: tenant ${policy.tenant} has review.fourEyesRequired = true`, {
        setting: 'review.fourEyesRequired',
      });
    }
  }
  // Stored as asked unless the tenant's four eyes make it stricter (the build applies the rule again).
  return policy.fourEyesRequired ? effectiveReview(policy, input.review) : input.review;
}
