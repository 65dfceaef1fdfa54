import type { CampaignRow } from './campaigns.js';
import type { LedgerRow } from './ledger.js';
import type { RecipientRow } from './recipients.js';
import type { Sql } from './sql.js';
import type { TenantRow } from './tenants.js';

// The send activity's common path in three statements: what the send needs (loadSend), the
// claim right before SMTP (claimSend), the outcome (ledger.recordOutcome). Each is one statement,
// so one round trip and no BEGIN/COMMIT.

/** Everything one send attempt reads before it renders, read at once as the attempt registers. */
export interface SendLoad {
  campaign: CampaignRow;
  recipient: RecipientRow;
  /** The campaign's tenant's row (undefined when it has no settings stored). */
  tenant: TenantRow | undefined;
  /** The ledger's row of this recipient, when an attempt claimed it before. */
  ledger: LedgerRow | undefined;
  /** The account's hold (holdKey in send-slots.ts), when it is held. */
  hold: { since: Date; reason: string } | undefined;
  /** False when a later attempt had registered already: this one must not send. */
  mine: boolean;
}

const CAMPAIGN = ['id', 'name', 'status', 'definition', 'workflow_id', 'error', 'message_date', 'status_reason', 'account', 'decided_by', 'decision_note', 'decided_at', 'tenant', 'created_by', 'build_progress', 'link_key', 'created_at', 'updated_at'];
const LEDGER = ['message_id', 'campaign_id', 'recipient_id', 'state', 'attempts', 'message_date', 'sha256', 'size', 'smtp_response', 'started_at', 'finished_at', 'owner'];
const TENANT = ['id', 's3_locations', 'review_skip_allowed', 'four_eyes_required', 'default_account_allowed', 'default_account_from_domains', 'test_send_recipients', 'created_at', 'updated_at', 'updated_by'];

const prefixed = (table: string, columns: string[]) => columns.map((c) => `${table}.${c} AS "${table}.${c}"`).join(', ');

/**
 * The row split by its columns' prefixes in one pass (`c.id` goes to `c` as `id`; the
 * recipient's own columns, unprefixed, to ''): one pass over the 60-odd columns, not one per part.
 */
function parts(row: Record<string, unknown>): Record<string, Record<string, unknown> | undefined> & { '': Record<string, unknown> } {
  const out: Record<string, Record<string, unknown>> & { '': Record<string, unknown> } = { '': {} };
  for (const k in row) {
    const dot = k.indexOf('.');
    if (dot < 0) out[''][k] = row[k];
    else (out[k.slice(0, dot)] ??= {})[k.slice(dot + 1)] = row[k];
  }
  return out;
}

/** A joined row's columns, or undefined when the join found none (its `presentBy` column is null). */
const present = <T>(columns: Record<string, unknown> | undefined, presentBy: string): T | undefined =>
  columns && columns[presentBy] !== null ? (columns as T) : undefined;

// The statement's fixed text, built once (column lists only; every value is a parameter).
const LOAD_COLUMNS = `recipients.*, ${prefixed('c', CAMPAIGN)}, c.seq::text AS "c.seq", ${prefixed('l', LEDGER)}, ${prefixed('t', TENANT)},
  h.held_since AS "h.since", h.held_reason AS "h.reason"`;

/**
 * Raises the recipient's send rank to `rank` (registerAttempt's rule: the later attempt ranks
 * higher, and an older one stops before SMTP) and reads, in the same statement, the campaign, the
 * recipient, its ledger row, the tenant's settings and the account's hold. Undefined when the
 * campaign or the recipient does not exist.
 */
export async function loadSend(sql: Sql, campaignId: string, recipientId: number, rank: number): Promise<SendLoad | undefined> {
  const [row] = await sql<Record<string, unknown>[]>`
    UPDATE recipients SET send_rank = GREATEST(COALESCE(recipients.send_rank, 0), ${rank}::bigint)
    FROM campaigns c
      LEFT JOIN tenants t ON t.id = c.tenant
      LEFT JOIN delivery_ledger l ON l.campaign_id = c.id AND l.recipient_id = ${recipientId}
      LEFT JOIN send_slots h ON h.held_since IS NOT NULL AND h.key =
        CASE WHEN c.account = 'default' AND c.tenant = 'default' THEN 'account:default' ELSE 'account:' || c.tenant || '/' || c.account END
    WHERE recipients.campaign_id = ${campaignId} AND recipients.id = ${recipientId} AND c.id = recipients.campaign_id
    RETURNING ${sql.unsafe(LOAD_COLUMNS)}, recipients.send_rank = ${rank}::bigint AS "x.mine"`;
  if (!row) return undefined;
  const { '': recipient, c, t, l, h } = parts(row);
  return {
    campaign: c as unknown as CampaignRow,
    recipient: recipient as unknown as RecipientRow,
    tenant: present<TenantRow>(t, 'id'),
    ledger: present<LedgerRow>(l, 'messageId'),
    hold: h?.since ? { since: h.since as Date, reason: h.reason as string } : undefined,
    mine: row['x.mine'] === true,
  };
}

export interface SendClaim {
  messageId: string;
  campaignId: string;
  recipientId: number;
  tenant: string;
  /** Every address of the message (To, Cc, Bcc): none may be on the tenant's suppression list. */
  addresses: string[];
  messageDate: Date;
  sha256: string;
  size: number;
  account: string;
  rank: number;
  owner: string;
  /** Take the message over from an earlier attempt that is (or was) inside SMTP. */
  takeOver?: boolean;
}

export type SendClaimResult =
  /** The ledger row is this attempt's (`sending`) and so is the recipient: start SMTP now. */
  | { kind: 'claimed' }
  /** A later attempt has registered (or the recipient is gone): never start SMTP. */
  | { kind: 'replaced' }
  /** The campaign is not sending any more. */
  | { kind: 'stopped'; status: string }
  /** Addresses of the message on the tenant's suppression list, as listed there. */
  | { kind: 'suppressed'; hits: { email: string; reason: string | null }[] }
  /** The ledger row would not take this attempt: sent, unknown, or another attempt is inside SMTP. */
  | { kind: 'taken' };

/**
 * The last step before SMTP, one statement: under the recipient row's lock, while this attempt
 * still holds the recipient's send rank, the campaign is sending and no address is suppressed
 * (all read now, right before SMTP), the ledger row becomes this attempt's (`sending`) unless the
 * message went out, its outcome is unknown, or another attempt is inside (or died inside) SMTP
 * (`takeOver` says to take it anyway); the recipient is marked `sending` with it. The ledger's
 * conflict rule reads the row's latest committed version, so two attempts never both claim it.
 */
export async function claimSend(sql: Sql, c: SendClaim): Promise<SendClaimResult> {
  const addresses = c.addresses.map((a) => a.toLowerCase());
  const [row] = await sql<{ mine: boolean | null; status: string | null; hits: { email: string; reason: string | null }[] | null; claimed: boolean }[]>`
    WITH r AS (
      SELECT send_rank = ${c.rank}::bigint AS mine FROM recipients
      WHERE campaign_id = ${c.campaignId} AND id = ${c.recipientId} FOR UPDATE
    ), k AS (
      SELECT status FROM campaigns WHERE id = ${c.campaignId}
    ), s AS (
      SELECT email, reason FROM suppressions WHERE tenant = ${c.tenant} AND email = ANY(${addresses}::text[])
    ), go AS (
      SELECT 1 FROM r, k WHERE r.mine AND k.status NOT IN ('paused', 'cancelled', 'cancelling') AND NOT EXISTS (SELECT 1 FROM s)
    ), led AS (
      INSERT INTO delivery_ledger (message_id, campaign_id, recipient_id, state, message_date, sha256, size, account, owner_rank, owner)
      SELECT ${c.messageId}, ${c.campaignId}, ${c.recipientId}, 'sending', ${c.messageDate}, ${c.sha256}, ${c.size}, ${c.account},
             ${c.rank}::bigint, ${c.owner}
      FROM go
      ON CONFLICT (message_id) DO UPDATE SET
        state = 'sending', attempts = delivery_ledger.attempts + 1, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
        owner_rank = EXCLUDED.owner_rank, owner = EXCLUDED.owner, started_at = now(), finished_at = NULL
      WHERE delivery_ledger.state IN ('failed', 'sending')
        AND (delivery_ledger.state = 'failed' OR delivery_ledger.owner_rank = EXCLUDED.owner_rank OR ${c.takeOver === true})
      RETURNING 1
    ), rec AS (
      UPDATE recipients SET send_status = 'sending', message_id = ${c.messageId}, error = NULL, updated_at = now()
      WHERE campaign_id = ${c.campaignId} AND id = ${c.recipientId} AND EXISTS (SELECT 1 FROM led)
      RETURNING 1
    )
    SELECT (SELECT mine FROM r) AS mine, (SELECT status FROM k) AS status,
           (SELECT json_agg(json_build_object('email', email, 'reason', reason)) FROM s) AS hits,
           EXISTS (SELECT 1 FROM rec) AS claimed`;
  if (row!.claimed) return { kind: 'claimed' };
  if (!row!.mine) return { kind: 'replaced' };
  if (row!.status === null || ['paused', 'cancelled', 'cancelling'].includes(row!.status)) return { kind: 'stopped', status: row!.status ?? 'missing' };
  if (row!.hits) return { kind: 'suppressed', hits: row!.hits };
  return { kind: 'taken' };
}
