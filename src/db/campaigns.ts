import { randomBytes } from 'node:crypto';
import type { CampaignDefinition, ListFormat } from '../contract/campaign.js';
import type { CampaignCounts, CampaignStatus, SendStatus } from '../contract/statuses.js';
import type { Db } from './sql.js';

export interface CampaignRow {
  id: string;
  name: string;
  status: CampaignStatus;
  /** While paused: the status beneath the pause (pilot_sent still takes a continue or a reject). */
  pausedIn: CampaignStatus | null;
  definition: CampaignDefinition;
  workflowId: string;
  error: string | null;
  messageDate: Date | null;
  statusReason: string | null;
  account: string;
  decidedBy: string | null;
  decisionNote: string | null;
  decidedAt: Date | null;
  tenant: string;
  /** The principal who created it (null for campaigns from before keys had principals). */
  createdBy: string | null;
  seq: string;
  createdAt: Date;
  updatedAt: Date;
  buildProgress: BuildProgress | null;
  /** The random key its unsubscribe links are signed with; null for campaigns made before there was one. */
  linkKey: Buffer | null;
}

/** How far a build has read its list: entries read, and the share of the source read when known. */
export interface BuildProgress {
  read: number;
  fraction?: number;
}

/** A list read as text: inline, CSV or an S3 object (src/activities/recipient-source.ts). */
export type ListRecipientSource =
  | { type: 'inline'; recipients: unknown[] }
  | { type: 'csv'; text: string }
  | { type: 's3'; bucket: string; key: string; format?: ListFormat };

/** Another campaign's recipients in the given send statuses (src/followups). */
export interface FollowUpSource {
  type: 'campaign';
  campaignId: string;
  sendStatus: SendStatus[];
  /** false: only recipients who have not replied (`auto_replied` counts as not); true: only those who replied. */
  replied?: boolean;
  /** Each message carries In-Reply-To and References of the one its recipient got from the original. */
  threaded?: boolean;
}

export type RecipientSource = ListRecipientSource | FollowUpSource;

export async function insertCampaign(
  db: Db,
  c: {
    id: string;
    name: string;
    definition: CampaignDefinition;
    source: RecipientSource;
    workflowId: string;
    tenant?: string;
    createdBy?: string;
    account?: string;
  },
): Promise<void> {
  await db`
    INSERT INTO campaigns (id, name, definition, source, workflow_id, tenant, created_by, account, link_key)
    VALUES (${c.id}, ${c.name}, ${db.json(c.definition as never)}, ${db.json(c.source as never)}, ${c.workflowId},
            ${c.tenant ?? 'default'}, ${c.createdBy ?? null}, ${c.account ?? 'default'}, ${randomBytes(32)})`;
}

export async function deleteCampaign(db: Db, id: string): Promise<void> {
  await db`DELETE FROM campaigns WHERE id = ${id}`;
}

export async function setBuildProgress(db: Db, id: string, progress: BuildProgress): Promise<void> {
  await db`UPDATE campaigns SET build_progress = ${db.json(progress as unknown as Parameters<typeof db.json>[0])} WHERE id = ${id}`;
}

export async function getCampaign(db: Db, id: string): Promise<CampaignRow | undefined> {
  const [row] = await db<CampaignRow[]>`
    SELECT ${campaignColumns(db)} FROM campaigns WHERE id = ${id}`;
  return row;
}

const campaignColumns = (db: Db) => db`
  id, name, status, paused_in, definition, workflow_id, error, message_date, status_reason, account, decided_by, decision_note, decided_at,
  tenant, created_by, build_progress, link_key,
  seq::text AS seq, created_at, updated_at`;

/** The campaign if it belongs to `tenant`: another tenant's campaign is as absent as a missing one. */
export async function getTenantCampaign(db: Db, tenant: string, id: string): Promise<CampaignRow | undefined> {
  const [row] = await db<CampaignRow[]>`
    SELECT ${campaignColumns(db)} FROM campaigns WHERE id = ${id} AND tenant = ${tenant}`;
  return row;
}

/** Newest first; `beforeSeq` is the position of the last campaign of the previous page. */
export async function listCampaigns(
  db: Db,
  tenant: string,
  f: { status?: CampaignStatus; beforeSeq?: number; limit: number },
): Promise<CampaignRow[]> {
  return db<CampaignRow[]>`
    SELECT ${campaignColumns(db)} FROM campaigns
    WHERE tenant = ${tenant}
      ${f.status ? db`AND status = ${f.status}` : db``}
      ${f.beforeSeq ? db`AND seq < ${f.beforeSeq}` : db``}
    ORDER BY seq DESC
    LIMIT ${f.limit}`;
}

export async function getCampaignSource(db: Db, id: string): Promise<RecipientSource | undefined> {
  const [row] = await db<{ source: RecipientSource }[]>`SELECT source FROM campaigns WHERE id = ${id}`;
  return row?.source;
}

export async function setCampaignStatus(
  db: Db,
  id: string,
  status: CampaignStatus,
  extra: { error?: string; reason?: string; pausedIn?: CampaignStatus } = {},
): Promise<void> {
  await db`
    UPDATE campaigns SET status = ${status}, error = COALESCE(${extra.error ?? null}, error),
           status_reason = ${extra.reason ?? null}, paused_in = ${status === 'paused' ? (extra.pausedIn ?? null) : null}, updated_at = now()
    WHERE id = ${id}`;
}

/** The campaign's status alone (one read by primary key): what a send waiting for its slot checks every second. */
export async function campaignStatus(db: Db, id: string): Promise<CampaignStatus | undefined> {
  const [row] = await db<{ status: CampaignStatus }[]>`SELECT status FROM campaigns WHERE id = ${id}`;
  return row?.status;
}

/**
 * The campaign's status, read under a share lock held to the end of the transaction: a review
 * decision (which updates the row first) waits for it, and it waits for a decision in progress.
 */
export async function lockCampaignStatus(db: Db, id: string): Promise<CampaignStatus | undefined> {
  const [row] = await db<{ status: CampaignStatus }[]>`SELECT status FROM campaigns WHERE id = ${id} FOR SHARE`;
  return row?.status;
}

/** What a change of status or a review decision reads first, with the row locked to the end of the transaction. */
export interface LockedCampaign {
  status: CampaignStatus;
  pausedIn: CampaignStatus | null;
  tenant: string;
  account: string;
  createdBy: string | null;
  definition: CampaignDefinition;
  decidedAt: Date | null;
}

/** The campaign's row, locked for update: changes of its status (and its recipients') wait in line. */
export async function lockCampaign(db: Db, id: string): Promise<LockedCampaign | undefined> {
  const [row] = await db<LockedCampaign[]>`
    SELECT status, paused_in, tenant, account, created_by, definition, decided_at FROM campaigns WHERE id = ${id} FOR UPDATE`;
  return row;
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

/** Fixes the Date header every message of the campaign carries; the first call wins. */
export async function fixMessageDate(db: Db, id: string, date: Date): Promise<Date> {
  const [row] = await db<{ messageDate: Date }[]>`
    UPDATE campaigns SET message_date = COALESCE(message_date, ${date}) WHERE id = ${id} RETURNING message_date`;
  return row!.messageDate;
}
