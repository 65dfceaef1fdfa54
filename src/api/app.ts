import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { ApiConfig } from '../config.js';
import { templatesFrom } from '../mail/templates.js';
import { pingDatabase } from '../db/sql.js';
import type { Metrics } from '../metrics.js';
import { auditRouter } from './routes/audit.js';
import type { Caller } from './scopes.js';
import { authenticate } from './auth.js';
import { campaignActionRouter } from './routes/campaign-actions.js';
import { campaignViewRouter } from './routes/campaign-views.js';
import { campaignRouter } from './routes/campaigns.js';
import { errorMiddleware } from './errors.js';
import { keyRouter } from './routes/keys.js';
import { reviewRouter } from './routes/review.js';
import { suppressionRouter } from './routes/suppressions.js';
import { accountRouter } from './routes/accounts.js';
import { openApiDocument } from './openapi.js';
import { registeredRoutes } from './route-table.js';
import { CHECK_RESPONSES } from './route-spec.js';
import { methodGuard } from './methods.js';
import { tenantRouter } from './routes/tenants.js';
import { consoleApiRouter } from './routes/console-api.js';
import { consoleRouter } from './routes/console.js';
import { unsubscribePaths, unsubscribeRouter } from './routes/unsubscribe.js';
import { unsubscribeLinksFrom } from '../unsubscribe/token.js';
import { messageIdsFrom } from '../mail/message-id.js';
import { resolveDeps, type ApiLimits, type AppDeps, type ResolvedDeps } from './deps.js';

/** The AppDeps that come from the API's configuration. */
export function appSettingsFrom(
  config: ApiConfig,
): Pick<AppDeps, 'previousMasterKeys' | 'allowPrivateHosts' | 'limits' | 'defaultAccountLimits' | 'templates' | 'unsubscribeLinks' | 'messageIds' | 'bounceChecks'> {
  return {
    templates: templatesFrom(config),
    unsubscribeLinks: unsubscribeLinksFrom(config),
    messageIds: messageIdsFrom(config),
    bounceChecks: { every: config.BOUNCE_CHECK_EVERY },
    previousMasterKeys: config.MASTER_KEY_PREVIOUS,
    allowPrivateHosts: config.ALLOW_PRIVATE_HOSTS,
    limits: {
      requestsPerMinute: config.RATE_LIMIT_PER_MINUTE,
      requestsPerTenantPerMinute: config.RATE_LIMIT_PER_TENANT_PER_MINUTE,
      authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      publicRequestsPerMinute: config.PUBLIC_REQUESTS_PER_MINUTE,
      accountsPerTenant: config.MAX_ACCOUNTS_PER_TENANT,
      recipientsPerCampaign: config.MAX_RECIPIENTS_PER_CAMPAIGN,
      previewAttachmentBytes: config.PREVIEW_MAX_ATTACHMENT_BYTES,
      pageItems: config.PAGE_MAX_ITEMS,
      previewRenderMs: config.PREVIEW_RENDER_MS,
    },
    defaultAccountLimits: {
      messagesPerMinute: config.SMTP_MESSAGES_PER_MINUTE || undefined,
      messagesPerDay: config.SMTP_MESSAGES_PER_DAY || undefined,
      sendWindow: config.SMTP_SEND_WINDOW,
    },
  };
}

/**
 * A budget per minute (429 with Retry-After over it). `counts` chooses which answers use it (all
 * by default); each refusal says which budget it is.
 */
function perMinute(o: { limit: number; key: (req: Request, res: Response) => string; counts?: (res: Response) => boolean; refusal: (limit: number) => string }) {
  return rateLimit({
    windowMs: 60_000,
    limit: o.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: o.key,
    ...(o.counts ? { skipSuccessfulRequests: true, requestWasSuccessful: (_req: Request, res: Response) => !o.counts!(res) } : {}),
    handler: (_req, res) => {
      res.status(429).json({ error: o.refusal(o.limit) });
    },
  });
}

/** The request budgets (README, configuration): what needs no key, failed authentications, each key, each tenant. */
function requestBudgets(limits: ApiLimits) {
  const perAddress = (req: Request) => ipKeyGenerator(req.ip ?? '');
  return {
    // What needs no key is limited per client address (before anything is looked up).
    keyless: perMinute({
      limit: limits.publicRequestsPerMinute,
      key: (req) => `public:${perAddress(req)}`,
      refusal: (n) => `too many requests: at most ${n} a minute from one address; retry after the time in Retry-After`,
    }),
    // Before any key is looked up: an address that keeps presenting wrong keys is refused for the
    // rest of the minute (only 401s count, so callers with a valid key never use this budget).
    authFailures: perMinute({
      limit: limits.authFailuresPerMinute,
      key: (req) => `auth:${perAddress(req)}`,
      counts: (res) => res.statusCode === 401,
      refusal: (n) => `too many failed authentications: at most ${n} a minute from one address; retry after the time in Retry-After`,
    }),
    // One budget per key: a caller that floods the API waits, the others do not; and one per
    // tenant, so that keys minted by a keys:admin key share their tenant's.
    perKey: perMinute({
      limit: limits.requestsPerMinute,
      key: (_req, res) => {
        const caller = res.locals.auth as Caller;
        return caller.keyId ? `key:${caller.keyId}` : `${caller.tenant}/${caller.principal}`;
      },
      refusal: (n) => `too many requests: at most ${n} a minute per key; retry after the time in Retry-After`,
    }),
    perTenant: perMinute({
      limit: limits.requestsPerTenantPerMinute,
      key: (_req, res) => `tenant:${(res.locals.auth as Caller).tenant}`,
      refusal: (n) => `too many requests: at most ${n} a minute for the tenant, all its keys together; retry after the time in Retry-After`,
    }),
  };
}

/** How long requests take, by route and status (`campaign_mailer_http_request_seconds`). */
function timeRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpSeconds.startTimer({ method: req.method });
    res.once('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status: String(res.statusCode) });
    });
    next();
  };
}

/** GET /readyz: whether PostgreSQL and Temporal answer. */
function readiness(deps: Pick<ResolvedDeps, 'sql' | 'client'>): RequestHandler {
  return async (_req, res) => {
    const up = (p: Promise<unknown>) => p.then(() => 'ok', () => 'unreachable');
    const [postgres, temporal] = await Promise.all([
      up(pingDatabase(deps.sql)),
      up(deps.client.connection.withDeadline(Date.now() + 3000, () => deps.client.workflowService.getSystemInfo({}))),
    ]);
    const ready = postgres === 'ok' && temporal === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', postgres, temporal });
  };
}

/** /api/v1: the budgets, authentication, then one router per concern. */
function apiV1(deps: ResolvedDeps, budgets: ReturnType<typeof requestBudgets>): Router {
  const v1 = express.Router();
  v1.use(budgets.authFailures);
  // Sets res.locals.auth (tenant, principal, scopes); each route then demands its scope.
  v1.use(authenticate({ apiKey: deps.apiKey, sql: deps.sql }));
  v1.use(budgets.perKey, budgets.perTenant);
  const { pageItems } = deps.limits;
  v1.use((req, res, next) => {
    // Every list route pages with `limit`: one check caps them all.
    const limit = req.method === 'GET' ? Number(req.query.limit) : NaN;
    if (limit > pageItems) {
      res.status(422).json({ error: 'the request is not valid', problems: [{ path: 'limit', message: `must be at most ${pageItems}` }] });
      return;
    }
    next();
  });
  v1.use(methodGuard(v1));
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
  v1.use(consoleApiRouter(deps));
  v1.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  return v1;
}

/** The HTTP app, separate from `listen` so tests can mount it on any port. */
export function createApp(given: AppDeps): Express {
  const deps = resolveDeps(given);
  const budgets = requestBudgets(deps.limits);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set(CHECK_RESPONSES, deps.checkResponses);
  if (deps.metrics) app.use(timeRequests(deps.metrics));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', budgets.keyless, readiness(deps));

  const v1 = apiV1(deps, budgets);
  // Public, like the health checks: it describes the API, it holds nothing of anyone's.
  app.get('/api/v1/openapi.json', (_req, res) => {
    const doc = openApiDocument(registeredRoutes(v1), { basePath: '/api/v1', version: '1' });
    res.json({ ...doc, paths: { ...doc.paths, ...unsubscribePaths() } });
  });
  app.use('/api/v1', v1);
  // One-click unsubscribe links (RFC 8058): public, checked by their HMAC instead of a key.
  app.use('/unsubscribe', budgets.keyless);
  app.use(unsubscribeRouter(deps));
  // The reviewer and operator console: static files that talk only to /api/v1.
  app.use(consoleRouter());

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use(errorMiddleware(deps.logger));
  return app;
}
