import { Router } from 'express';
import { z } from 'zod';
import { suppressionSchema } from '../contract/campaign.js';
import type { Sql } from '../db/sql.js';
import * as suppressions from '../db/suppressions.js';
import { notFound } from './errors.js';

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(320).default(''),
});

/** Addresses no campaign sends to: the build marks them excluded. */
export function suppressionRouter({ sql }: { sql: Sql }): Router {
  const router = Router();

  router.get('/suppressions', async (req, res) => {
    const q = listQuery.parse(req.query);
    const rows = await suppressions.listSuppressions(sql, q.after.toLowerCase(), q.limit);
    res.json({
      suppressions: rows.map((r) => ({ email: r.email, reason: r.reason ?? undefined, createdAt: r.createdAt })),
      next: rows.length === q.limit ? rows[rows.length - 1]!.email : undefined,
    });
  });

  router.post('/suppressions', async (req, res) => {
    const body = suppressionSchema.parse(req.body ?? {});
    const row = await suppressions.addSuppression(sql, body.email, body.reason);
    res.status(201).json({ email: row.email, reason: row.reason ?? undefined, createdAt: row.createdAt });
  });

  router.delete('/suppressions/:email', async (req, res) => {
    const removed = await suppressions.removeSuppression(sql, req.params.email);
    if (!removed) throw notFound('suppression');
    res.status(204).end();
  });

  return router;
}
