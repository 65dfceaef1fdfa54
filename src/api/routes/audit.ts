import { Router } from 'express';
import { z } from 'zod';
import { auditListResponse } from '../../contract/responses.js';
import { AUDIT_ACTIONS, listAudit } from '../../db/audit.js';
import { bigintCursor, page, pageQuery } from '../paging.js';
import { route } from '../route-spec.js';
import type { ResolvedDeps } from '../deps.js';

const auditQuery = pageQuery(bigintCursor, {
  campaign: z.uuid({ error: 'is not a campaign id' }).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  principal: z.string().min(1).max(200).optional(),
});

/** GET /audit: the tenant's audit log, newest first. */
export function auditRouter({ sql }: Pick<ResolvedDeps, 'sql'>): Router {
  const router = Router();
  // Who did what is for those who administer keys: it names every principal of the tenant.
  router.get('/audit', route({ scope: 'keys:admin', summary: "The tenant's audit log, newest first", query: auditQuery, response: auditListResponse }, async ({ caller, query: q }, _req, res) => {
    const rows = await listAudit(sql, caller.tenant, {
      campaignId: q.campaign,
      action: q.action,
      principal: q.principal,
      before: q.cursor,
      limit: q.limit + 1,
    });
    const { items, nextCursor } = page(rows, q.limit, (r) => r.id);
    res.json({
      items: items.map((r) => ({
        id: r.id,
        at: r.at,
        principal: r.principal,
        action: r.action,
        campaignId: r.campaignId ?? undefined,
        subject: r.subject ?? undefined,
        details: r.details,
      })),
      nextCursor,
    });
  }));
  return router;
}
