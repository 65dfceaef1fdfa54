import type { Db } from './sql.js';

export const AUDIT_ACTIONS = [
  'campaign.create',
  'campaign.create_aborted',
  'campaign.approve',
  'campaign.approve_refused',
  'campaign.reject',
  'campaign.pause',
  'campaign.resume',
  'campaign.cancel',
  'campaign.continue',
  'campaign.continue_refused',
  'campaign.test_send',
  'recipient.decision',
  'account.create',
  'account.update',
  'account.delete',
  'account.reseal',
  'key.create',
  'key.revoke',
  'tenant.update',
  'suppression.unsubscribe',
  'suppression.bounce',
  'suppression.add',
  'suppression.remove',
] as const;
type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  tenant: string;
  principal: string;
  action: AuditAction;
  campaignId?: string;
  /** What else the action was about: a key id, a recipient id, an account id. */
  subject?: string;
  details?: Record<string, unknown>;
  /** One row per request id: a retried writer adds nothing the second time. */
  requestId?: string;
}

export interface AuditRow {
  id: string;
  at: Date;
  tenant: string;
  principal: string;
  action: AuditAction;
  campaignId: string | null;
  subject: string | null;
  details: Record<string, unknown>;
}

/** Appends one row; pass the transaction that makes the change so both commit or neither. */
export async function appendAudit(db: Db, e: AuditEntry): Promise<void> {
  await db`
    INSERT INTO audit_log (tenant, principal, action, campaign_id, subject, details, request_id)
    VALUES (${e.tenant}, ${e.principal}, ${e.action}, ${e.campaignId ?? null}, ${e.subject ?? null},
            ${db.json((e.details ?? {}) as never)}, ${e.requestId ?? null})
    ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING`;
}

/** Newest first; `before` is the id of the last row of the previous page. */
export async function listAudit(
  db: Db,
  tenant: string,
  f: { campaignId?: string; action?: string; principal?: string; before?: number; limit: number },
): Promise<AuditRow[]> {
  return db<AuditRow[]>`
    SELECT id::text AS id, at, tenant, principal, action, campaign_id, subject, details
    FROM audit_log
    WHERE tenant = ${tenant}
      ${f.campaignId ? db`AND campaign_id = ${f.campaignId}` : db``}
      ${f.action ? db`AND action = ${f.action}` : db``}
      ${f.principal ? db`AND principal = ${f.principal}` : db``}
      ${f.before ? db`AND id < ${f.before}` : db``}
    ORDER BY id DESC
    LIMIT ${f.limit}`;
}
