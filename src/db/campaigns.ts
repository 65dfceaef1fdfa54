import type { CampaignDefinition } from '../contract/campaign.js';
import type { CampaignCounts, CampaignStatus } from '../contract/statuses.js';
import type { Db } from './sql.js';

export interface CampaignRow {
  id: string;
  name: string;
  status: CampaignStatus;
  definition: CampaignDefinition;
  workflowId: string;
  error: string | null;
  statusReason: string | null;
  account: string;
  decidedBy: string | null;
  decisionNote: string | null;
  decidedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type RecipientSource = { type: 'inline'; recipients: unknown[] };

export async function insertCampaign(
  db: Db,
  c: { id: string; name: string; definition: CampaignDefinition; source: RecipientSource; workflowId: string },
): Promise<void> {
  await db`
    INSERT INTO campaigns (id, name, definition, source, workflow_id)
    VALUES (${c.id}, ${c.name}, ${db.json(c.definition as never)}, ${db.json(c.source as never)}, ${c.workflowId})`;
}

export async function deleteCampaign(db: Db, id: string): Promise<void> {
  await db`DELETE FROM campaigns WHERE id = ${id}`;
}

export async function getCampaign(db: Db, id: string): Promise<CampaignRow | undefined> {
  const [row] = await db<CampaignRow[]>`
    SELECT id, name, status, definition, workflow_id, error, status_reason, account, decided_by, decision_note, decided_at,
           created_at, updated_at
    FROM campaigns WHERE id = ${id}`;
  return row;
}

export async function getCampaignSource(db: Db, id: string): Promise<RecipientSource | undefined> {
  const [row] = await db<{ source: RecipientSource }[]>`SELECT source FROM campaigns WHERE id = ${id}`;
  return row?.source;
}

export async function setCampaignStatus(
  db: Db,
  id: string,
  status: CampaignStatus,
  extra: { error?: string; reason?: string } = {},
): Promise<void> {
  await db`
    UPDATE campaigns SET status = ${status}, error = COALESCE(${extra.error ?? null}, error),
           status_reason = ${extra.reason ?? null}, updated_at = now()
    WHERE id = ${id}`;
}

export async function getCampaignStatus(db: Db, id: string): Promise<CampaignStatus | undefined> {
  const [row] = await db<{ status: CampaignStatus }[]>`SELECT status FROM campaigns WHERE id = ${id}`;
  return row?.status;
}

export async function recordDecision(
  db: Db,
  id: string,
  d: { by: string; note?: string; at: Date },
): Promise<void> {
  await db`
    UPDATE campaigns SET decided_by = ${d.by}, decision_note = ${d.note ?? null}, decided_at = ${d.at},
           updated_at = now()
    WHERE id = ${id}`;
}

export async function campaignCounts(db: Db, id: string): Promise<CampaignCounts> {
  const [row] = await db<{ total: number; pending: number; sent: number; failed: number; appended: number }[]>`
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE send_status IN ('pending', 'sending'))::int AS pending,
           count(*) FILTER (WHERE send_status = 'sent')::int AS sent,
           count(*) FILTER (WHERE send_status = 'failed')::int AS failed,
           count(*) FILTER (WHERE copy_status = 'appended')::int AS appended
    FROM recipients WHERE campaign_id = ${id}`;
  return row ?? { total: 0, pending: 0, sent: 0, failed: 0, appended: 0 };
}
