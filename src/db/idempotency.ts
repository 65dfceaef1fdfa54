import type { Db } from './sql.js';

export interface IdempotencyRow {
  tenant: string;
  key: string;
  bodySha256: string;
  campaignId: string;
}

/**
 * Claims `key` for `campaignId`. Answers undefined when it was claimed; otherwise the earlier claim
 * (a concurrent request with the same key waits on the primary key until the first commits).
 */
export async function claimIdempotencyKey(
  db: Db,
  c: { tenant: string; key: string; bodySha256: string; campaignId: string },
): Promise<IdempotencyRow | undefined> {
  const inserted = await db`
    INSERT INTO idempotency_keys (tenant, key, body_sha256, campaign_id)
    VALUES (${c.tenant}, ${c.key}, ${c.bodySha256}, ${c.campaignId})
    ON CONFLICT (tenant, key) DO NOTHING
    RETURNING key`;
  if (inserted.length > 0) return undefined;
  const [row] = await db<IdempotencyRow[]>`
    SELECT tenant, key, body_sha256, campaign_id FROM idempotency_keys WHERE tenant = ${c.tenant} AND key = ${c.key}`;
  return row;
}
