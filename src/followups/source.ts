import type { FollowUpSource } from '../db/campaigns.js';
import type { Db } from '../db/sql.js';
import { SourceError, type SourceProgress } from '../build/recipient-source.js';

// The recipient source of a follow-up campaign: the recipients of another campaign of the same
// tenant whose send status is one of those chosen, read from PostgreSQL a page at a time.

const PAGE = 500;

interface PreviousRecipient {
  id: number;
  email: string;
  name: string | null;
  vars: Record<string, unknown>;
  cc: string[];
  bcc: string[];
}

/**
 * The original campaign's recipients as list entries (email, name, cc, bcc, vars), in list order.
 * The campaign must be the tenant's: the API checked it at creation, the build checks again.
 */
export async function* followUpRecipients(db: Db, tenant: string, source: FollowUpSource, progress: SourceProgress): AsyncGenerator<unknown> {
  const [original] = await db<{ n: number }[]>`
    SELECT (SELECT count(*)::int FROM recipients WHERE campaign_id = c.id AND send_status = ANY(${source.sendStatus}::text[])) AS n
    FROM campaigns c WHERE c.id = ${source.campaignId} AND c.tenant = ${tenant}`;
  if (!original) throw new SourceError(`the campaign ${source.campaignId} to send again from does not exist`);
  progress.bytesTotal = original.n;
  for (let after = 0; ; ) {
    const rows = await db<PreviousRecipient[]>`
      SELECT id, email, name, vars, cc, bcc FROM recipients
      WHERE campaign_id = ${source.campaignId} AND send_status = ANY(${source.sendStatus}::text[]) AND id > ${after}
      ORDER BY id LIMIT ${PAGE}`;
    for (const r of rows) {
      progress.bytesRead++;
      yield {
        email: r.email,
        vars: r.vars,
        ...(r.name !== null ? { name: r.name } : {}),
        ...(r.cc.length ? { cc: r.cc } : {}),
        ...(r.bcc.length ? { bcc: r.bcc } : {}),
      };
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Shows the reviewer why each address is sent again: a `previous-send: <status>: <SMTP reply or
 * error>` reason from the original campaign, and `ready` becomes `warning` so the review lists it.
 * Matched by address (case-insensitive); run again after a retried build, it adds nothing twice.
 */
export async function markPreviousOutcomes(db: Db, campaignId: string, source: FollowUpSource): Promise<void> {
  await db`
    UPDATE recipients r SET
      build_status = CASE WHEN r.build_status = 'ready' THEN 'warning' ELSE r.build_status END,
      build_reasons = r.build_reasons || ('previous-send: ' || o.send_status || COALESCE(': ' || o.said, '')),
      updated_at = now()
    FROM (
      SELECT DISTINCT ON (lower(email)) lower(email) AS email, send_status,
             CASE WHEN send_status = 'failed' THEN COALESCE(smtp_response, error) ELSE COALESCE(error, smtp_response) END AS said
      FROM recipients
      WHERE campaign_id = ${source.campaignId} AND send_status = ANY(${source.sendStatus}::text[])
      ORDER BY lower(email), id
    ) o
    WHERE r.campaign_id = ${campaignId} AND lower(r.email) = o.email
      AND NOT EXISTS (SELECT 1 FROM unnest(r.build_reasons) AS reason WHERE reason LIKE 'previous-send:%')`;
}
