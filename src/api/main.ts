import { apiEnvSchema, loadConfigOrExit, orExitOnConfigError } from '../config.js';
import { surviveClosedPostgresSockets } from '../db/connection-guard.js';
import { createSql } from '../db/sql.js';
import { createLogger } from '../logger.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { connectAtStart, connectClient, temporalTarget } from '../temporal.js';
import { createS3Store } from '../s3/client.js';
import { appSettingsFrom, createApp } from './app.js';
import { listen } from './listen.js';
import { closeGracefully } from './shutdown.js';

const config = loadConfigOrExit(apiEnvSchema);
// The raw environment, so a namespace from the Temporal profile is not hidden by the default.
const target = orExitOnConfigError(() => temporalTarget(process.env));
const logger = createLogger('api', config.LOG_LEVEL);
surviveClosedPostgresSockets(logger);
const sql = createSql(config.DATABASE_URL);
const startup = { address: target.connectionOptions.address, waitSeconds: config.STARTUP_WAIT_SECONDS, logger };
const client = await connectAtStart((ms) => connectClient(process.env, ms), startup);
const s3 = createS3Store(config);
const metrics = createMetrics();
const metricsServer = config.METRICS_PORT ? await serveMetrics(metrics, config.METRICS_PORT, config.METRICS_HOST) : undefined;
if (metricsServer) logger.info(`metrics on http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics`);

const app = createApp({
  sql,
  client,
  apiKey: config.API_KEY,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  namespace: target.namespace,
  temporalUiUrl: config.TEMPORAL_UI_URL,
  masterKey: config.MASTER_KEY,
  logger,
  s3,
  s3Locations: config.S3_ALLOWED_LOCATIONS,
  metrics,
  ...appSettingsFrom(config),
});
const server = await listen(app, config.PORT, config.HOST).catch((err: Error) => {
  logger.fatal(`API ${err.message}`);
  process.exit(1);
});
logger.info(`API listening on http://${config.HOST}:${config.PORT}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down: no new connections, finishing the requests in flight');
    metricsServer?.close();
    // 70 s: longer than any request waits (a test-send waits up to 60 s for a worker); only a slow
    // report download can be cut.
    void closeGracefully(server, 70_000).then(async ({ cut }) => {
      if (cut) logger.warn('connections still busy after 70 s were cut');
      await client.connection.close();
      s3.close();
      await sql.end({ timeout: 5 });
      logger.info('API stopped');
      process.exit(0);
    });
  });
}
