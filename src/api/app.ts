import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { requireApiKey } from './auth.js';
import { campaignRouter } from './campaigns.js';
import { errorMiddleware } from './errors.js';
import { reviewRouter } from './review.js';
import { suppressionRouter } from './suppressions.js';
import type { S3Store } from '../s3/client.js';

export interface AppDeps {
  sql: Sql;
  client: Client;
  apiKey: string;
  taskQueue: string;
  namespace: string;
  temporalUiUrl?: string;
  logger: Logger;
  /** Attachment bytes for previews. */
  s3: S3Store;
}

/** The HTTP app, separate from `listen` so tests can mount it on any port. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      deps.sql`SELECT 1`.then(
        () => 'ok',
        () => 'unreachable',
      ),
      deps.client.connection.withDeadline(Date.now() + 3000, () => deps.client.workflowService.getSystemInfo({})).then(
        () => 'ok',
        () => 'unreachable',
      ),
    ]);
    const ready = postgres === 'ok' && temporal === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', postgres, temporal });
  });

  const v1 = express.Router();
  v1.use(requireApiKey(deps.apiKey));
  v1.use((_req, res, next) => {
    // One configured key for now; its principal is what decisions are recorded under.
    res.locals.principal = 'api-key';
    next();
  });
  v1.use(express.json({ limit: '20mb' }));
  v1.use(campaignRouter(deps));
  v1.use(reviewRouter(deps));
  v1.use(suppressionRouter(deps));
  v1.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use('/api/v1', v1);

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use(errorMiddleware(deps.logger));
  return app;
}
