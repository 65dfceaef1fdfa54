import { Router } from 'express';
import { suppressionSchema } from '../../contract/campaign.js';
import { suppressionListResponse, suppressionResponse } from '../../contract/responses.js';
import { appendAudit } from '../../db/audit.js';
import * as suppressions from '../../db/suppressions.js';
import { notFound } from '../errors.js';
import { emailCursor, page, pageQuery } from '../paging.js';
import { suppressionParam } from '../params.js';
import { route } from '../route-spec.js';
import type { ResolvedDeps } from '../deps.js';

const listSuppressionsQuery = pageQuery(emailCursor, {}, { afterAlias: true });

const view = (r: suppressions.SuppressionRow) => ({ email: r.email, reason: r.reason ?? undefined, createdAt: r.createdAt });

/** Addresses the tenant's campaigns never send to: the build marks them excluded. Every change is audited. */
export function suppressionRouter({ sql }: Pick<ResolvedDeps, 'sql'>): Router {
  const router = Router();

  router.get('/suppressions', route({ scope: 'campaigns:read', summary: 'The suppression list, by address, paged', query: listSuppressionsQuery, response: suppressionListResponse }, async ({ caller, query: q }, _req, res) => {
    const rows = await suppressions.listSuppressions(sql, caller.tenant, (q.cursor ?? '').toLowerCase(), q.limit + 1);
    const { items, nextCursor } = page(rows, q.limit, (r) => r.email);
    res.json({ items: items.map(view), nextCursor });
  }));

  router.post('/suppressions', route({ scope: 'campaigns:write', summary: 'Suppress an address', body: suppressionSchema, response: suppressionResponse, status: 201 }, async ({ caller, body }, _req, res) => {
    const row = await sql.begin(async (tx) => {
      const added = await suppressions.addSuppression(tx, caller.tenant, body.email, body.reason);
      await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'suppression.add', subject: added.email, details: { reason: body.reason ?? null } });
      return added;
    });
    res.status(201).json(view(row));
  }));

  router.delete('/suppressions/:email', route({ scope: 'campaigns:write', summary: 'Remove an address from the suppression list', params: { email: suppressionParam }, status: 204 }, async ({ caller, params }, _req, res) => {
    const removed = await sql.begin(async (tx) => {
      const row = await suppressions.removeSuppression(tx, caller.tenant, params.email);
      // The reason it was there goes with the removal: an undone unsubscribe or bounce is visible.
      if (row) await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'suppression.remove', subject: row.email, details: { reason: row.reason, suppressedAt: row.createdAt.toISOString() } });
      return row;
    });
    if (!removed) throw notFound('suppression');
    res.status(204).end();
  }));

  return router;
}
