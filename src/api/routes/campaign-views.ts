import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { campaignStatusSchema } from '../../contract/campaign.js';
import { campaignListResponse, recipientListResponse } from '../../contract/responses.js';
import { BUILD_STATUSES, COPY_STATUSES, SEND_STATUSES } from '../../contract/statuses.js';
import * as campaigns from '../../db/campaigns.js';
import { countsOfCampaigns } from '../../db/campaign-stats.js';
import { listRecipients, type RecipientRow } from '../../db/recipients.js';
import { campaignLoader, temporalLink } from '../campaign-access.js';
import { bigintCursor, intCursor, page, pageQuery } from '../paging.js';
import { campaignParam } from '../params.js';
import { route } from '../route-spec.js';
import type { ResolvedDeps } from '../deps.js';

const listCampaignsQuery = pageQuery(bigintCursor, { status: campaignStatusSchema.optional() });

const listRecipientsQuery = pageQuery(intCursor, {
  /** The send status; `buildStatus` and `copyStatus` filter on the other two. */
  status: z.enum(SEND_STATUSES).optional(),
  buildStatus: z.enum(BUILD_STATUSES).optional(),
  copyStatus: z.enum(COPY_STATUSES).optional(),
});

const REPORT_COLUMNS = [
  'recipient_id',
  'email',
  'name',
  'build_status',
  'build_reasons',
  'send_status',
  'copy_status',
  'pilot',
  'message_id',
  'smtp_response',
  'error',
  'sent_at',
  'appended_at',
  /** `replied` or `auto_replied` (an out-of-office), empty when no answer was found; and when it was found. */
  'replied',
  'replied_at',
  'updated_at',
] as const;

const REPORT_PAGE = 500;
/** A download whose client reads nothing for this long is cut, so it holds no memory for ever. */
const REPORT_STALL_MS = 60_000;

const iso = (d: Date | null) => (d ? d.toISOString() : '');

function reportRow(r: RecipientRow & { updatedAt?: Date }): string[] {
  return [
    String(r.id),
    r.email,
    r.name ?? '',
    r.buildStatus,
    r.buildReasons.join('; '),
    r.sendStatus,
    r.copyStatus,
    r.pilot ? 'true' : 'false',
    r.messageId ?? '',
    r.smtpResponse ?? '',
    r.error ?? '',
    iso(r.sentAt),
    iso(r.appendedAt),
    r.replyKind ?? '',
    iso(r.repliedAt),
    iso(r.updatedAt ?? null),
  ];
}

const recipientView = (r: RecipientRow & { updatedAt?: Date }) => ({
  id: r.id,
  email: r.email,
  name: r.name ?? undefined,
  buildStatus: r.buildStatus,
  buildReasons: r.buildReasons,
  sendStatus: r.sendStatus,
  copyStatus: r.copyStatus,
  pilot: r.pilot || undefined,
  messageId: r.messageId ?? undefined,
  smtpResponse: r.smtpResponse ?? undefined,
  error: r.error ?? undefined,
  sentAt: r.sentAt ?? undefined,
  appendedAt: r.appendedAt ?? undefined,
  reply: r.replyKind ? { kind: r.replyKind, at: r.repliedAt!, messageId: r.replyMessageId ?? undefined } : undefined,
  updatedAt: r.updatedAt,
});

/** Read-only views: the campaign list, a campaign's recipients, and its CSV report. */
export function campaignViewRouter(deps: Pick<ResolvedDeps, 'sql' | 'namespace' | 'temporalUiUrl' | 'logger'>): Router {
  const { sql, logger } = deps;
  const router = Router();
  const load = campaignLoader(sql);

  router.get('/campaigns', route({ scope: 'campaigns:read', summary: "The tenant's campaigns, newest first", query: listCampaignsQuery, response: campaignListResponse }, async ({ caller, query: q }, _req, res) => {
    const rows = await campaigns.listCampaigns(sql, caller.tenant, { status: q.status, beforeSeq: q.cursor, limit: q.limit + 1 });
    const { items, nextCursor } = page(rows, q.limit, (c) => c.seq);
    const counts = await countsOfCampaigns(sql, items.map((c) => c.id));
    res.json({
      items: items.map((c) => ({
        id: c.id,
        name: c.name,
        status: c.status,
        error: c.error ?? undefined,
        counts: counts.get(c.id) ?? { total: 0, pending: 0, sent: 0, failed: 0, skipped: 0, cancelled: 0, bounced: 0, appended: 0 },
        createdBy: c.createdBy ?? undefined,
        workflowId: c.workflowId,
        temporalUrl: temporalLink(deps, caller, c.workflowId),
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      })),
      nextCursor,
    });
  }));

  router.get('/campaigns/:id/recipients', route({ scope: 'campaigns:read', summary: "A campaign's recipients in list order", params: { id: campaignParam }, load, query: listRecipientsQuery, response: recipientListResponse }, async ({ loaded: c, query: q }, _req, res) => {
    const rows = await listRecipients(sql, c.id, {
      sendStatus: q.status,
      buildStatus: q.buildStatus,
      copyStatus: q.copyStatus,
      afterId: q.cursor,
      limit: q.limit + 1,
    });
    const { items, nextCursor } = page(rows, q.limit, (r) => r.id);
    res.json({ items: items.map(recipientView), nextCursor });
  }));

  // No filters: a query (`?status=sent`) is a 422, not the whole report taken for a filtered one.
  router.get('/campaigns/:id/report.csv', route({ scope: 'campaigns:read', summary: 'One CSV row per recipient: statuses, Message-ID, SMTP reply, times', params: { id: campaignParam }, load, produces: 'text/csv' }, async ({ loaded: c }, _req, res) => {
    res.status(200).set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="campaign-${c.id}.csv"`,
    });
    const csv = stringify({ header: true, columns: [...REPORT_COLUMNS], escape_formulas: true });
    // The client may leave at any moment, or stop reading: then no 'drain' ever comes, so every
    // wait for one also ends when the client goes or after REPORT_STALL_MS without progress.
    const left = new AbortController();
    res.once('close', () => left.abort());
    pipeline(csv, res).catch(() => {
      // the client left or the answer was cut short below: nothing more can reach anyone
    });
    try {
      // A page of rows at a time by key (no cursor, no transaction): a PostgreSQL connection is
      // held only while a page is read, never while the client is being waited for.
      let afterId = 0;
      for (;;) {
        const rows = await listRecipients(sql, c.id, { afterId, limit: REPORT_PAGE });
        for (const r of rows) {
          if (!csv.write(reportRow(r))) {
            await once(csv, 'drain', { signal: AbortSignal.any([left.signal, AbortSignal.timeout(REPORT_STALL_MS)]) });
          }
        }
        if (rows.length < REPORT_PAGE) break;
        afterId = rows[rows.length - 1]!.id;
      }
      csv.end();
    } catch (err) {
      if (left.signal.aborted) {
        csv.destroy();
        return;
      }
      // Headers are gone: all that can be done is to cut the answer short so it is not mistaken for whole.
      const stalled = (err as Error).name === 'TimeoutError';
      if (stalled) logger.warn({ campaignId: c.id }, 'report.csv: the client stopped reading; the download is cut');
      else logger.error({ err, campaignId: c.id }, 'report.csv failed midway');
      csv.destroy();
      res.destroy();
    }
  }));

  return router;
}
