import type { Db } from './sql.js';

export interface SuppressionRow {
  email: string;
  reason: string | null;
  createdAt: Date;
}

export async function addSuppression(db: Db, tenant: string, email: string, reason?: string): Promise<SuppressionRow> {
  const [row] = await db<SuppressionRow[]>`
    INSERT INTO suppressions (tenant, email, reason) VALUES (${tenant}, ${email.toLowerCase()}, ${reason ?? null})
    ON CONFLICT (tenant, email) DO UPDATE SET reason = COALESCE(EXCLUDED.reason, suppressions.reason)
    RETURNING email, reason, created_at`;
  return row!;
}

/** Removes an address; the row removed (its reason says why it was there), or undefined. */
export async function removeSuppression(db: Db, tenant: string, email: string): Promise<SuppressionRow | undefined> {
  const [row] = await db<SuppressionRow[]>`
    DELETE FROM suppressions WHERE tenant = ${tenant} AND email = ${email.toLowerCase()}
    RETURNING email, reason, created_at`;
  return row;
}

export async function listSuppressions(db: Db, tenant: string, after: string, limit: number): Promise<SuppressionRow[]> {
  return db<SuppressionRow[]>`
    SELECT email, reason, created_at FROM suppressions
    WHERE tenant = ${tenant} AND email > ${after} ORDER BY email LIMIT ${limit}`;
}

/** Which of `emails` (any case) are on the tenant's list, lower-cased, with the reason given. */
export async function suppressedAmong(db: Db, tenant: string, emails: string[]): Promise<{ email: string; reason: string | null }[]> {
  if (emails.length === 0) return [];
  return db<{ email: string; reason: string | null }[]>`
    SELECT email, reason FROM suppressions WHERE tenant = ${tenant} AND email = ANY(${emails.map((e) => e.toLowerCase())}::text[])`;
}

/**
 * Adds an address unless it is on the tenant's list already; answers whether it was added, so
 * a repeated unsubscribe or bounce changes nothing and is audited once.
 */
export async function addSuppressionOnce(db: Db, tenant: string, email: string, reason: string): Promise<boolean> {
  const rows = await db`
    INSERT INTO suppressions (tenant, email, reason) VALUES (${tenant}, ${email.toLowerCase()}, ${reason})
    ON CONFLICT (tenant, email) DO NOTHING RETURNING email`;
  return rows.length > 0;
}

/** The tenant and address of the recipient an unsubscribe link names, if it exists. */
export async function linkRecipient(db: Db, campaignId: string, recipientId: number): Promise<{ tenant: string; email: string; linkKey: Buffer | null } | undefined> {
  const [row] = await db<{ tenant: string; email: string; linkKey: Buffer | null }[]>`
    SELECT c.tenant, r.email, c.link_key FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
    WHERE r.campaign_id = ${campaignId} AND r.id = ${recipientId}`;
  return row;
}
