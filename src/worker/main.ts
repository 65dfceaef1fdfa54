import { loadConfigOrExit, workerEnvSchema } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { connectClient, connectWorker } from '../temporal.js';
import { ensureBounceSchedules } from '../bounces/schedule.js';
import { surviveClosedPostgresSockets } from '../db/connection-guard.js';
import { createWorker, defaultSendSlots } from './create.js';
import { createWorkerDeps } from './deps.js';

const config = loadConfigOrExit(workerEnvSchema);
const logger = createLogger('worker', config.LOG_LEVEL);
surviveClosedPostgresSockets(logger);

const metrics = createMetrics();
const metricsServer = config.METRICS_PORT ? await serveMetrics(metrics, config.METRICS_PORT, config.METRICS_HOST) : undefined;
if (metricsServer) logger.info(`metrics on http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics`);
const deps = createWorkerDeps(config, logger, metrics);
const connection = await connectWorker(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps,
  workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH,
  sendSlots: config.SMTP_SEND_SLOTS,
});
logger.info(
  {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    sendSlots: config.SMTP_SEND_SLOTS ?? defaultSendSlots(config.SMTP_MAX_CONNECTIONS),
    sentCopies: config.IMAP_URL ? 'on' : 'off',
  },
  'worker polling',
);
// The bounce check Schedules of the configured account and every stored one (idempotent).
const scheduler = await connectClient(config);
await ensureBounceSchedules({ client: scheduler, sql: deps.sql, taskQueue: config.TEMPORAL_TASK_QUEUE, defaultImap: !!config.IMAP_URL, logger });
await scheduler.connection.close();
// Worker.run handles SIGINT/SIGTERM: it stops polling, lets running activities finish, then returns.
await worker.run();
metricsServer?.close();
await deps.close();
await connection.close();
