import type { S3Location } from '../s3/locations.js';
import type { Db } from './sql.js';

/** A tenant's stored row: its settings and who changed them last. */
export interface TenantRow extends TenantSettings {
  id: string;
  createdAt: Date;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** What the installation allows a tenant, with its S3 locations resolved. */
export interface TenantPolicy {
  tenant: string;
  s3Locations: S3Location[];
  /** Where the locations come from: the tenant's settings, or S3_ALLOWED_LOCATIONS (tenant `default` only). */
  s3LocationsFrom: 'settings' | 'configuration';
  reviewSkipAllowed: boolean;
  fourEyesRequired: boolean;
  /** Whether its campaigns may send through the installation's `default` account, and from which domains (empty: any). */
  defaultAccount: { allowed: boolean; fromDomains: string[] };
  /** Where its reviewers may send test messages besides their own address: addresses, or `@domain`. */
  testSendRecipients: string[];
}

/** The settings PUT /tenants/:tenant replaces. */
export interface TenantSettings {
  s3Locations: S3Location[] | null;
  reviewSkipAllowed: boolean;
  fourEyesRequired: boolean;
  /** Null: not set (allowed for tenant `default` alone). */
  defaultAccountAllowed: boolean | null;
  defaultAccountFromDomains: string[];
  testSendRecipients: string[];
}

const DEFAULT_TENANT = 'default';

export async function getTenant(db: Db, id: string): Promise<TenantRow | undefined> {
  const [row] = await db<TenantRow[]>`
    SELECT id, s3_locations, review_skip_allowed, four_eyes_required, default_account_allowed,
           default_account_from_domains, test_send_recipients, created_at, updated_at, updated_by
    FROM tenants WHERE id = ${id}`;
  return row;
}

/** Replaces a tenant's settings, creating the tenant if it is new. */
export async function putTenantSettings(
  db: Db,
  id: string,
  s: TenantSettings & { updatedBy: string },
): Promise<TenantRow> {
  const [row] = await db<TenantRow[]>`
    INSERT INTO tenants (id, s3_locations, review_skip_allowed, four_eyes_required, default_account_allowed,
                         default_account_from_domains, test_send_recipients, updated_at, updated_by)
    VALUES (${id}, ${s.s3Locations === null ? null : db.json(s.s3Locations as never)}, ${s.reviewSkipAllowed},
            ${s.fourEyesRequired}, ${s.defaultAccountAllowed}, ${s.defaultAccountFromDomains}, ${s.testSendRecipients},
            now(), ${s.updatedBy})
    ON CONFLICT (id) DO UPDATE SET
      s3_locations = EXCLUDED.s3_locations, review_skip_allowed = EXCLUDED.review_skip_allowed,
      four_eyes_required = EXCLUDED.four_eyes_required, default_account_allowed = EXCLUDED.default_account_allowed,
      default_account_from_domains = EXCLUDED.default_account_from_domains,
      test_send_recipients = EXCLUDED.test_send_recipients, updated_at = now(), updated_by = EXCLUDED.updated_by
    RETURNING id, s3_locations, review_skip_allowed, four_eyes_required, default_account_allowed,
              default_account_from_domains, test_send_recipients, created_at, updated_at, updated_by`;
  return row!;
}

export function policyOf(id: string, row: TenantRow | undefined, configured: readonly S3Location[]): TenantPolicy {
  const fromConfig = id === DEFAULT_TENANT && (row?.s3Locations ?? null) === null;
  return {
    tenant: id,
    s3Locations: fromConfig ? [...configured] : (row?.s3Locations ?? []),
    s3LocationsFrom: fromConfig ? 'configuration' : 'settings',
    reviewSkipAllowed: row?.reviewSkipAllowed ?? false,
    fourEyesRequired: row?.fourEyesRequired ?? false,
    // The installation's own tenant sends through its own account unless the admin says otherwise.
    defaultAccount: { allowed: row?.defaultAccountAllowed ?? id === DEFAULT_TENANT, fromDomains: row?.defaultAccountFromDomains ?? [] },
    testSendRecipients: row?.testSendRecipients ?? [],
  };
}

/** The tenant's policy as it stands now: read again for every check, since the admin may narrow it at any time. */
export async function tenantPolicy(db: Db, id: string, configured: readonly S3Location[]): Promise<TenantPolicy> {
  return policyOf(id, await getTenant(db, id), configured);
}
