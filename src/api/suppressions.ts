import { Router } from 'express';
import { z } from 'zod';
import { suppressionSchema } from '../contract/campaign.js';
import type { Sql } from '../db/sql.js';
import * as suppressions from '../db/suppressions.js';
import { queryInt } from '../contract/input.js';
import { notFound } from './errors.js';
import { callerOf, route } from './scopes.js';

const listQuery = z.object({
  limit: queryInt({ min: 1, max: 1000, default: 100 }),
  after: z.string().max(320).default(''),
});

/** Addresses the tenant's campaigns never send to: the build marks them excluded. */
export function suppressionRouter({ sql }: { sql: Sql }): Router {
  const router = Router();

  router.get('/suppressions', route({ scope: 'campaigns:read', summary: 'The suppression list, by address, paged', query: listQuery }), async (req, res) => {
    const q = listQuery.parse(req.query);
    const rows = await suppressions.listSuppressions(sql, callerOf(res).tenant, q.after.toLowerCase(), q.limit);
    res.json({
      suppressions: rows.map((r) => ({ email: r.email, reason: r.reason ?? undefined, createdAt: r.createdAt })),
      next: rows.length === q.limit ? rows[rows.length - 1]!.email : undefined,
    });
  });

  router.post('/suppressions', route({ scope: 'campaigns:write', summary: 'Suppress an address', body: suppressionSchema, status: 201 }), async (req, res) => {
    const body = suppressionSchema.parse(req.body ?? {});
    const row = await suppressions.addSuppression(sql, callerOf(res).tenant, body.email, body.reason);
    res.status(201).json({ email: row.email, reason: row.reason ?? undefined, createdAt: row.createdAt });
  });

  router.delete('/suppressions/:email', route({ scope: 'campaigns:write', summary: 'Remove an address from the suppression list', status: 204 }), async (req, res) => {
    const removed = await suppressions.removeSuppression(sql, callerOf(res).tenant, String(req.params.email));
    if (!removed) throw notFound('suppression');
    res.status(204).end();
  });

  return router;
}
