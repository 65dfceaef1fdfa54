import { BUILD_STATUSES, COPY_STATUSES, FINAL_SEND_STATUSES, SEND_STATUSES, type AnswerKind, type BuildStatus, type CampaignCounts, type CopyStatus, type SendStatus } from '../contract/statuses.js';
import type { Db } from './sql.js';

export interface RecipientRow {
  campaignId: string;
  id: number;
  email: string;
  name: string | null;
  vars: Record<string, unknown>;
  cc: string[];
  bcc: string[];
  attachments: ResolvedAttachment[];
  included: boolean | null;
  buildStatus: BuildStatus;
  buildReasons: string[];
  sendStatus: SendStatus;
  copyStatus: CopyStatus;
  messageId: string | null;
  smtpResponse: string | null;
  error: string | null;
  sentAt: Date | null;
  appendedAt: Date | null;
  /** One of the campaign's pilot batch, sent before the rest. */
  pilot: boolean;
  /** An answer found in the account's INBOX (src/bounces/replies.ts): its kind, when it was found, its Message-ID. */
  replyKind: AnswerKind | null;
  repliedAt: Date | null;
  replyMessageId: string | null;
  /** A threaded follow-up: the Message-ID this recipient got from the campaign it follows up, its In-Reply-To. */
  threadMessageId: string | null;
  /** A threaded follow-up: its References, space-separated, ending with threadMessageId (null on rows made before it was kept). */
  threadReferences: string | null;
}

export interface ResolvedAttachment {
  bucket: string;
  key: string;
  filename: string;
  size: number;
  /** From a `unique` spec: this object must not go to any other address of the campaign. */
  unique?: boolean;
  /** The version built and previewed; the send reads exactly this version or nothing. */
  etag?: string;
}

export interface NewRecipient {
  id: number;
  email: string;
  name: string | null;
  vars: Record<string, unknown>;
  cc?: string[];
  bcc?: string[];
  attachments?: ResolvedAttachment[];
  buildStatus: BuildStatus;
  buildReasons: string[];
  /** A threaded follow-up: the Message-ID of the original's message to this address (see PreviousRecipient). */
  threadMessageId?: string | null;
  /** Its References (see RecipientRow). */
  threadReferences?: string | null;
}

/** Inserts a batch; rows already present (an activity retried after a crash) are left as they are. */
export async function insertRecipients(db: Db, campaignId: string, rows: NewRecipient[]): Promise<void> {
  if (rows.length === 0) return;
  await db`
    INSERT INTO recipients ${db(
      rows.map((r) => ({
        campaign_id: campaignId,
        id: r.id,
        email: r.email,
        name: r.name,
        vars: db.json(r.vars as never),
        cc: r.cc ?? [],
        bcc: r.bcc ?? [],
        attachments: db.json((r.attachments ?? []) as never),
        build_status: r.buildStatus,
        build_reasons: r.buildReasons,
        thread_message_id: r.threadMessageId ?? null,
        thread_references: r.threadReferences ?? null,
      })),
    )}
    ON CONFLICT (campaign_id, id) DO NOTHING`;
}

/** How many list entries a build has written: batches go in whole and in list order. */
export async function writtenCount(db: Db, campaignId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`SELECT coalesce(max(id), 0)::int AS n FROM recipients WHERE campaign_id = ${campaignId}`;
  return row?.n ?? 0;
}

export async function getRecipient(db: Db, campaignId: string, id: number): Promise<RecipientRow | undefined> {
  const [row] = await db<RecipientRow[]>`
    SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND id = ${id}`;
  return row;
}

/**
 * The rule for a recipient that may be sent once the campaign is approved: built ready or with
 * warnings, or sent to review and included by the reviewer.
 */
export const sendable = (db: Db) => db`(build_status IN ('ready', 'warning') OR (build_status = 'needs_review' AND included IS TRUE))`;

/** Sendable recipients after `afterId`, in list order: the cursor the fan-out walks. */
export async function sendableRecipients(
  db: Db,
  campaignId: string,
  afterId: number,
  limit: number,
  /** true: the pilot batch only; false: all but the pilot batch; left out: everyone. */
  pilot?: boolean,
): Promise<{ id: number; email: string }[]> {
  return db<{ id: number; email: string }[]>`
    SELECT id, email FROM recipients
    WHERE campaign_id = ${campaignId} AND id > ${afterId}
      AND ${sendable(db)} AND send_status = 'pending'
      ${pilot === undefined ? db`` : db`AND pilot = ${pilot}`}
    ORDER BY id LIMIT ${limit}`;
}

/** Every sendable recipient's id, in list order: what a pilot batch is picked from. */
export async function sendableIds(db: Db, campaignId: string): Promise<number[]> {
  const rows = await db<{ id: number }[]>`
    SELECT id FROM recipients WHERE campaign_id = ${campaignId} AND ${sendable(db)} AND send_status = 'pending' ORDER BY id`;
  return rows.map((r) => r.id);
}

/** Marks exactly `ids` as the campaign's pilot batch (a repeated call marks the same ones). */
export async function markPilot(db: Db, campaignId: string, ids: number[]): Promise<void> {
  await db`
    UPDATE recipients SET pilot = (id = ANY(${ids}::int[])), updated_at = now()
    WHERE campaign_id = ${campaignId} AND (pilot OR id = ANY(${ids}::int[]))`;
}

export interface PilotOutcome {
  size: number;
  sent: number;
  failed: number;
  bounced: number;
  /** Still to be sent (or being sent). */
  pending: number;
  /** The pilot's failures and bounces with the SMTP reply, in list order (the first 100). */
  failures: { id: number; email: string; sendStatus: SendStatus; smtpResponse: string | null; error: string | null }[];
}

/** How the pilot batch went so far: counts by outcome and the replies of its failures. */
export async function pilotOutcome(db: Db, campaignId: string): Promise<PilotOutcome> {
  const [counts] = await db<{ size: number; sent: number; failed: number; bounced: number; pending: number }[]>`
    SELECT count(*)::int AS size,
           count(*) FILTER (WHERE send_status = 'sent')::int AS sent,
           count(*) FILTER (WHERE send_status = 'failed')::int AS failed,
           count(*) FILTER (WHERE send_status = 'bounced')::int AS bounced,
           count(*) FILTER (WHERE send_status IN ('pending', 'sending'))::int AS pending
    FROM recipients WHERE campaign_id = ${campaignId} AND pilot`;
  const failures = await db<PilotOutcome['failures']>`
    SELECT id, email, send_status, smtp_response, error FROM recipients
    WHERE campaign_id = ${campaignId} AND pilot AND send_status IN ('failed', 'bounced')
    ORDER BY id LIMIT 100`;
  return { ...(counts ?? { size: 0, sent: 0, failed: 0, bounced: 0, pending: 0 }), failures: [...failures] };
}

export async function deliveryProgress(
  db: Db,
  campaignId: string,
  ids: number[],
): Promise<{ settled: number[]; copiesPending: number }> {
  const settled = await db<{ id: number }[]>`
    SELECT id FROM recipients
    WHERE campaign_id = ${campaignId} AND id = ANY(${ids}::int[])
      AND send_status = ANY(${FINAL_SEND_STATUSES as SendStatus[]})`;
  const [copies] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${campaignId} AND copy_status = 'pending'`;
  return { settled: settled.map((r) => r.id), copiesPending: copies?.n ?? 0 };
}

/** Records every recipient that is still waiting to be sent as cancelled; returns how many. */
export async function cancelUnsent(db: Db, campaignId: string): Promise<number> {
  const rows = await db`
    UPDATE recipients SET send_status = 'cancelled', updated_at = now()
    WHERE campaign_id = ${campaignId} AND send_status = 'pending'
    RETURNING id`;
  return rows.length;
}

/** Once a decision is made: every pending recipient the decision does not send is skipped (all of them on a rejection). */
export async function skipUnsent(db: Db, campaignId: string, o: { approved: boolean }): Promise<void> {
  await db`
    UPDATE recipients SET send_status = 'skipped', updated_at = now()
    WHERE campaign_id = ${campaignId} AND send_status = 'pending'
      AND (${!o.approved} OR NOT ${sendable(db)})`;
}

export async function updateSendStatus(
  db: Db,
  campaignId: string,
  id: number,
  s: {
    sendStatus: SendStatus;
    copyStatus?: CopyStatus;
    messageId?: string;
    smtpResponse?: string | null;
    error?: string | null;
    sentAt?: Date | null;
  },
): Promise<void> {
  await db`
    UPDATE recipients SET
      send_status = ${s.sendStatus},
      copy_status = COALESCE(${s.copyStatus ?? null}, copy_status),
      message_id = COALESCE(${s.messageId ?? null}, message_id),
      smtp_response = COALESCE(${s.smtpResponse ?? null}, smtp_response),
      error = ${s.error ?? null},
      sent_at = COALESCE(${s.sentAt ?? null}, sent_at),
      updated_at = now()
    WHERE campaign_id = ${campaignId} AND id = ${id}`;
}

export async function updateCopyStatus(
  db: Db,
  campaignId: string,
  id: number,
  s: { copyStatus: CopyStatus; error?: string | null; appendedAt?: Date | null },
): Promise<void> {
  await db`
    UPDATE recipients SET
      copy_status = ${s.copyStatus},
      error = COALESCE(${s.error ?? null}, error),
      appended_at = COALESCE(${s.appendedAt ?? null}, appended_at),
      updated_at = now()
    WHERE campaign_id = ${campaignId} AND id = ${id}`;
}

/**
 * Marks every repeat of an address (case-insensitive) after its first occurrence, and every
 * suppressed address, as excluded. Done in SQL after the list is written, so the build never
 * holds the whole list in memory.
 */
export async function excludeDuplicatesAndSuppressed(db: Db, campaignId: string): Promise<void> {
  // The duplicates are found once (materialised) and only they are joined back by primary key: a
  // freshly written list has no statistics yet, and the planner then re-ran the window per row,
  // which kept a 5,000-row build in this statement for minutes.
  await db`
    WITH d AS MATERIALIZED (
      SELECT id, first_id FROM (
        SELECT id, min(id) OVER (PARTITION BY lower(email)) AS first_id
        FROM recipients WHERE campaign_id = ${campaignId} AND email <> ''
      ) w WHERE id <> first_id
    )
    UPDATE recipients r SET build_status = 'excluded',
      build_reasons = ARRAY['duplicate: the address already appears as recipient #' || d.first_id]
    FROM d
    WHERE r.campaign_id = ${campaignId} AND r.id = d.id`;
  await db`
    UPDATE recipients r SET build_status = 'excluded',
      build_reasons = ARRAY['suppressed: the address is on the suppression list'] || r.build_reasons
    FROM suppressions s, campaigns c
    WHERE r.campaign_id = ${campaignId} AND c.id = r.campaign_id AND s.tenant = c.tenant
      AND lower(r.email) = s.email AND r.build_status <> 'excluded'`;
}

/**
 * A `unique` attachment that would go to more than one address sends every recipient it would go
 * to (that is not already blocked or excluded) to review, naming the other addresses.
 */
export async function flagSharedAttachments(db: Db, campaignId: string): Promise<void> {
  await db`
    WITH att AS (
      SELECT DISTINCT r.id, lower(r.email) AS email, a->>'bucket' AS bucket, a->>'key' AS key
      FROM recipients r, jsonb_array_elements(r.attachments) a
      WHERE r.campaign_id = ${campaignId} AND r.build_status IN ('ready', 'warning', 'needs_review')
        AND (a->>'unique')::boolean IS TRUE
    ), shared_keys AS (
      SELECT bucket, key, count(DISTINCT email) AS n, (array_agg(DISTINCT email ORDER BY email))[1:4] AS some
      FROM att GROUP BY bucket, key HAVING count(DISTINCT email) > 1
    ), shared AS (
      SELECT att.id, array_agg(format('attachment-shared: s3://%s/%s would go to %s addresses: %s%s',
               k.bucket, k.key, k.n, array_to_string(k.some, ', '), CASE WHEN k.n > 4 THEN ', ...' ELSE '' END)) AS reasons
      FROM att JOIN shared_keys k USING (bucket, key)
      GROUP BY att.id
    )
    UPDATE recipients r SET build_status = 'needs_review', build_reasons = r.build_reasons || s.reasons
    FROM shared s
    WHERE r.campaign_id = ${campaignId} AND r.id = s.id`;
}

export async function deleteRecipients(db: Db, campaignId: string): Promise<void> {
  await db`DELETE FROM recipients WHERE campaign_id = ${campaignId}`;
}

/** Recipients with one of `statuses`, in list order after `afterId`: a page of the review. */
export async function recipientsByBuildStatus(
  db: Db,
  campaignId: string,
  statuses: BuildStatus[],
  afterId: number,
  limit: number,
): Promise<RecipientRow[]> {
  return db<RecipientRow[]>`
    SELECT * FROM recipients
    WHERE campaign_id = ${campaignId} AND build_status = ANY(${statuses}) AND id > ${afterId}
    ORDER BY id LIMIT ${limit}`;
}

/** For a review: the needs_review recipients still undecided, and how many an approval now would send (`sendable`). */
export async function reviewTally(db: Db, campaignId: string): Promise<{ undecided: number; sendable: number }> {
  const [row] = await db<{ undecided: number; sendable: number }[]>`
    SELECT count(*) FILTER (WHERE build_status = 'needs_review' AND included IS NULL)::int AS undecided,
           count(*) FILTER (WHERE ${sendable(db)})::int AS sendable
    FROM recipients WHERE campaign_id = ${campaignId}`;
  return row ?? { undecided: 0, sendable: 0 };
}

export async function setIncluded(db: Db, campaignId: string, id: number, included: boolean): Promise<void> {
  await db`UPDATE recipients SET included = ${included}, updated_at = now() WHERE campaign_id = ${campaignId} AND id = ${id}`;
}

export interface RecipientFilter {
  sendStatus?: SendStatus;
  buildStatus?: BuildStatus;
  copyStatus?: CopyStatus;
}

const where = (db: Db, campaignId: string, f: RecipientFilter) => db`
  WHERE campaign_id = ${campaignId}
    ${f.sendStatus ? db`AND send_status = ${f.sendStatus}` : db``}
    ${f.buildStatus ? db`AND build_status = ${f.buildStatus}` : db``}
    ${f.copyStatus ? db`AND copy_status = ${f.copyStatus}` : db``}`;

/** A page of recipients in list order; `afterId` is the last id of the previous page. */
export async function listRecipients(
  db: Db,
  campaignId: string,
  f: RecipientFilter & { afterId?: number; limit: number },
): Promise<RecipientRow[]> {
  return db<RecipientRow[]>`
    SELECT * FROM recipients ${where(db, campaignId, f)}
      ${f.afterId ? db`AND id > ${f.afterId}` : db``}
    ORDER BY id LIMIT ${f.limit}`;
}

export interface StatusCounts {
  build: Record<BuildStatus, number>;
  send: Record<SendStatus, number>;
  copy: Record<CopyStatus, number>;
}

/** How many recipients are in each build, send and Sent-copy status; every status is present. */
export async function statusCounts(db: Db, campaignId: string): Promise<StatusCounts> {
  return (await recipientSummary(db, campaignId)).statuses;
}

/** A campaign's recipients counted every way GET /campaigns/:id shows them. */
export interface RecipientSummary {
  statuses: StatusCounts;
  counts: CampaignCounts;
  replies: { replied: number; autoReplied: number };
  /** Sendable recipients not sent (nor failed, nor skipped) yet: what the account still has to send for it. */
  remaining: number;
}

/**
 * Every count of a campaign's recipients from one pass over them (the counts by status, the
 * progress, the answers, what is left to send), not one pass per count: the page a console polls
 * reads the list once.
 */
export async function recipientSummary(db: Db, campaignId: string): Promise<RecipientSummary> {
  const rows = await db<{ buildStatus: BuildStatus; sendStatus: SendStatus; copyStatus: CopyStatus; replyKind: AnswerKind | null; sendable: boolean; n: number }[]>`
    SELECT build_status, send_status, copy_status, reply_kind, ${sendable(db)} AS sendable, count(*)::int AS n
    FROM recipients WHERE campaign_id = ${campaignId}
    GROUP BY build_status, send_status, copy_status, reply_kind, sendable`;
  const zero = <T extends string>(all: readonly T[]) => Object.fromEntries(all.map((s) => [s, 0])) as Record<T, number>;
  const out: RecipientSummary = {
    statuses: { build: zero(BUILD_STATUSES), send: zero(SEND_STATUSES), copy: zero(COPY_STATUSES) },
    counts: { total: 0, pending: 0, sent: 0, failed: 0, appended: 0 },
    replies: { replied: 0, autoReplied: 0 },
    remaining: 0,
  };
  for (const r of rows) {
    out.statuses.build[r.buildStatus] += r.n;
    out.statuses.send[r.sendStatus] += r.n;
    out.statuses.copy[r.copyStatus] += r.n;
    const unsent = r.sendStatus === 'pending' || r.sendStatus === 'sending';
    out.counts.total += r.n;
    if (unsent) out.counts.pending += r.n;
    if (r.sendStatus === 'sent') out.counts.sent += r.n;
    if (r.sendStatus === 'failed') out.counts.failed += r.n;
    if (r.copyStatus === 'appended') out.counts.appended += r.n;
    if (r.replyKind === 'replied') out.replies.replied += r.n;
    if (r.replyKind === 'auto_replied') out.replies.autoReplied += r.n;
    if (unsent && r.sendable) out.remaining += r.n;
  }
  return out;
}

/**
 * An md5 of the whole list as a review sees it (every recipient in list order: address,
 * variables, build status and reasons, decision, attachments) and its length, computed in
 * PostgreSQL so no rows travel.
 */
export async function listDigest(db: Db, campaignId: string): Promise<{ digest: string | null; n: number }> {
  const [row] = await db<{ digest: string | null; n: number }[]>`
    SELECT md5(string_agg(
             concat_ws(E'\\x1f', id::text, email, coalesce(name, ''), vars::text, cc::text, bcc::text,
                       build_status, array_to_string(build_reasons, E'\\x1e'), coalesce(included::text, 'undecided'),
                       attachments::text),
             E'\\n' ORDER BY id)) AS digest,
           count(*)::int AS n
    FROM recipients WHERE campaign_id = ${campaignId}`;
  return { digest: row?.digest ?? null, n: row?.n ?? 0 };
}
