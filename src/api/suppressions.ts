import { Router } from 'express';
import { suppressionSchema } from '../contract/campaign.js';
import { suppressionListResponse, suppressionResponse } from '../contract/responses.js';
import type { Sql } from '../db/sql.js';
import * as suppressions from '../db/suppressions.js';
import { notFound } from './errors.js';
import { emailCursor, page, pageQuery } from './paging.js';
import { suppressionParam } from './params.js';
import { route } from './route.js';

const listSuppressionsQuery = pageQuery(emailCursor, {}, { afterAlias: true });

const view = (r: suppressions.SuppressionRow) => ({ email: r.email, reason: r.reason ?? undefined, createdAt: r.createdAt });

/** Addresses the tenant's campaigns never send to: the build marks them excluded. */
export function suppressionRouter({ sql }: { sql: Sql }): Router {
  const router = Router();

  router.get('/suppressions', route({ scope: 'campaigns:read', summary: 'The suppression list, by address, paged', query: listSuppressionsQuery, response: suppressionListResponse }, async ({ caller, query: q }, _req, res) => {
    const rows = await suppressions.listSuppressions(sql, caller.tenant, (q.cursor ?? '').toLowerCase(), q.limit + 1);
    const { items, nextCursor } = page(rows, q.limit, (r) => r.email);
    res.json({ items: items.map(view), nextCursor });
  }));

  router.post('/suppressions', route({ scope: 'campaigns:write', summary: 'Suppress an address', body: suppressionSchema, response: suppressionResponse, status: 201 }, async ({ caller, body }, _req, res) => {
    const row = await suppressions.addSuppression(sql, caller.tenant, body.email, body.reason);
    res.status(201).json(view(row));
  }));

  router.delete('/suppressions/:email', route({ scope: 'campaigns:write', summary: 'Remove an address from the suppression list', params: { email: suppressionParam }, status: 204 }, async ({ caller, params }, _req, res) => {
    const removed = await suppressions.removeSuppression(sql, caller.tenant, params.email);
    if (!removed) throw notFound('suppression');
    res.status(204).end();
  }));

  return router;
}
