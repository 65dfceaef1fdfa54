import type { CampaignListCounts } from '../contract/statuses.js';
import type { Db } from './sql.js';

/** The counts of several campaigns in one query (the campaign list's progress). */
export async function countsOfCampaigns(db: Db, ids: readonly string[]): Promise<Map<string, CampaignListCounts>> {
  if (ids.length === 0) return new Map();
  const rows = await db<({ campaignId: string } & CampaignListCounts)[]>`
    SELECT campaign_id AS "campaignId",
           count(*)::int AS total,
           count(*) FILTER (WHERE send_status IN ('pending', 'sending'))::int AS pending,
           count(*) FILTER (WHERE send_status = 'sent')::int AS sent,
           count(*) FILTER (WHERE send_status = 'failed')::int AS failed,
           count(*) FILTER (WHERE send_status = 'skipped')::int AS skipped,
           count(*) FILTER (WHERE send_status = 'cancelled')::int AS cancelled,
           count(*) FILTER (WHERE send_status = 'bounced')::int AS bounced,
           count(*) FILTER (WHERE copy_status = 'appended')::int AS appended
    FROM recipients WHERE campaign_id = ANY(${ids as string[]}::uuid[])
    GROUP BY campaign_id`;
  return new Map(rows.map(({ campaignId, ...counts }) => [campaignId, counts]));
}

/** Messages sent per minute over the last `minutes` minutes (every minute present, zeros included). */
export async function sentPerMinute(db: Db, campaignId: string, minutes: number): Promise<{ minute: Date; sent: number }[]> {
  return db<{ minute: Date; sent: number }[]>`
    WITH span AS (
      SELECT generate_series(date_trunc('minute', now()) - make_interval(mins => ${minutes - 1}), date_trunc('minute', now()), interval '1 minute') AS minute
    )
    , sent AS (
      SELECT date_trunc('minute', sent_at) AS minute, count(*)::int AS n FROM recipients
      WHERE campaign_id = ${campaignId} AND send_status = 'sent'
        AND sent_at >= date_trunc('minute', now()) - make_interval(mins => ${minutes - 1})
      GROUP BY 1
    )
    SELECT span.minute, coalesce(sent.n, 0)::int AS sent
    FROM span LEFT JOIN sent USING (minute) ORDER BY span.minute`;
}
