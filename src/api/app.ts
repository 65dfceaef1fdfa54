import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { auditRouter } from './audit.js';
import { authenticate } from './auth.js';
import { campaignActionRouter } from './campaign-actions.js';
import { campaignViewRouter } from './campaign-views.js';
import { campaignRouter } from './campaigns.js';
import { errorMiddleware } from './errors.js';
import { keyRouter } from './keys.js';
import { reviewRouter } from './review.js';
import { suppressionRouter } from './suppressions.js';
import type { S3Store } from '../s3/client.js';
import { accountRouter } from './accounts.js';
import { openApiDocument } from './openapi.js';
import { registeredRoutes } from './routes.js';
import type { S3Location } from '../s3/locations.js';
import { tenantRouter } from './tenants.js';

export interface AppDeps {
  sql: Sql;
  client: Client;
  apiKey: string;
  taskQueue: string;
  namespace: string;
  temporalUiUrl?: string;
  /** Seals stored account passwords; without it accounts can hold no passwords. */
  masterKey?: string;
  logger: Logger;
  /** Attachment bytes for previews. */
  s3?: S3Store;
  /** S3_ALLOWED_LOCATIONS: what tenant `default` may read while its settings name no locations. */
  s3Locations?: readonly S3Location[];
  /** Request counts and times by route pattern (never by URL: IDs would explode the labels). */
  metrics?: Metrics;
}

/** The HTTP app, separate from `listen` so tests can mount it on any port. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const { metrics } = deps;
  if (metrics) {
    app.use((req, res, next) => {
      const end = metrics.httpSeconds.startTimer({ method: req.method });
      res.once('finish', () => {
        const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        end({ route, status: String(res.statusCode) });
      });
      next();
    });
  }

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

  // Public, like the health checks: it describes the API, it holds nothing of anyone's.
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument(registeredRoutes(v1), { basePath: '/api/v1', version: '1' }));
  });

  const v1 = express.Router();
  // Sets res.locals.auth (tenant, principal, scopes); each route then demands its scope.
  v1.use(authenticate({ apiKey: deps.apiKey, sql: deps.sql }));
  v1.use(express.json({ limit: '20mb' }));
  v1.use(campaignViewRouter(deps));
  v1.use(campaignRouter(deps));
  v1.use(campaignActionRouter(deps));
  v1.use(keyRouter(deps));
  v1.use(accountRouter(deps));
  v1.use(reviewRouter(deps));
  v1.use(suppressionRouter(deps));
  v1.use(auditRouter(deps));
  v1.use(tenantRouter(deps));
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
