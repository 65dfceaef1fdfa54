import { createHash } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import type { CampaignRow } from '../db/campaigns.js';
import { listDigest } from '../db/recipients.js';

/** JSON with object keys sorted, so the same definition hashes the same whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * A fingerprint of what an approval would send: the campaign's definition and, for every
 * recipient in list order, its address, variables, build status and reasons, the reviewer's
 * decision and its attachments with their pinned ETags. A decision made in another tab, a
 * rebuilt list or another file version changes it, so an approval bound to it is refused.
 * The list is hashed in PostgreSQL, so no recipient rows travel to the API process.
 */
export async function reviewFingerprint(sql: Sql, c: CampaignRow): Promise<string> {
  const list = await listDigest(sql, c.id);
  return createHash('sha256')
    .update(canonicalJson({ v: 1, campaign: c.id, definition: c.definition, recipients: list.n, list: list.digest ?? '' }))
    .digest('base64url')
    .slice(0, 32);
}
