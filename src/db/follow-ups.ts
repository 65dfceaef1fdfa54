import type { CampaignStatus } from '../contract/statuses.js';
import type { Db } from './sql.js';

export interface FollowUpRow {
  id: string;
  name: string;
  status: CampaignStatus;
  createdAt: Date;
}

/** The campaign a follow-up resends from, if `id` is one. */
export async function followUpOf(db: Db, id: string): Promise<string | undefined> {
  const [row] = await db<{ of: string }[]>`
    SELECT source->>'campaignId' AS of FROM campaigns WHERE id = ${id} AND source->>'type' = 'campaign'`;
  return row?.of;
}

/** The tenant's follow-ups of campaign `id`, oldest first. */
export async function followUpsOf(db: Db, tenant: string, id: string): Promise<FollowUpRow[]> {
  return db<FollowUpRow[]>`
    SELECT id, name, status, created_at FROM campaigns
    WHERE tenant = ${tenant} AND source->>'type' = 'campaign' AND source->>'campaignId' = ${id}
    ORDER BY seq`;
}
