import { Router } from 'express';
import { z } from 'zod';
import { meResponse, sentPerMinuteResponse } from '../../contract/responses.js';
import { sentPerMinute } from '../../db/campaign-stats.js';
import { campaignLoader } from '../campaign-access.js';
import { campaignParam } from '../params.js';
import { route } from '../route-spec.js';
import { perMinuteLimitOf, type ScheduleDeps } from '../campaign-plan.js';
import type { ResolvedDeps } from '../deps.js';

const sentPerMinuteQuery = z.object({ minutes: z.coerce.number().int().min(1).max(1440).default(60) }).strict();

/** What the console needs beyond the campaign routes: who is calling, and the send rate over time. */
export function consoleApiRouter(deps: Pick<ResolvedDeps, 'sql' | keyof ScheduleDeps>): Router {
  const { sql } = deps;
  const router = Router();

  // Declared under campaigns:read, the scope every console user holds; it answers only about the caller.
  router.get('/me', route({ scope: 'campaigns:read', summary: 'The calling key: tenant, principal, person and scopes', response: meResponse }, ({ caller }, _req, res) => {
    res.json({ tenant: caller.tenant, principal: caller.principal, person: caller.person, scopes: [...caller.scopes].sort() });
  }));

  router.get(
    '/campaigns/:id/sent-per-minute',
    route({ scope: 'campaigns:read', summary: "Messages sent per minute (oldest first) and the campaign's known per-minute limit", params: { id: campaignParam }, load: campaignLoader(sql), query: sentPerMinuteQuery, response: sentPerMinuteResponse }, async ({ loaded: c, query: q }, _req, res) => {
      const series = await sentPerMinute(sql, c.id, q.minutes);
      const limit = await perMinuteLimitOf(deps, c);
      res.json({ minutes: series.map((m) => ({ at: m.minute.toISOString(), sent: m.sent })), limit });
    }),
  );

  return router;
}
