import { loadConfigOrExit, orExitOnConfigError, workerEnvSchema } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { connectAtStart, connectClient, connectWorker, temporalTarget } from '../temporal.js';
import { ensureBounceSchedules } from '../bounces/check-schedules.js';
import { surviveClosedPostgresSockets } from '../db/connection-guard.js';
import { Runtime } from '@temporalio/worker';
import { createWorker } from './create.js';
import { sdkLogger, sdkTelemetry } from './sdk-logs.js';
import { createWorkerDeps } from './deps.js';
import { workerTuning } from './tuning.js';

const config = loadConfigOrExit(workerEnvSchema);
// The raw environment, so a namespace from the Temporal profile is not hidden by the default.
const target = orExitOnConfigError(() => temporalTarget(process.env));
const logger = createLogger('worker', config.LOG_LEVEL);
// Before anything connects: the SDK's own log goes through the same logger, its core's (Rust) too.
Runtime.install({ logger: sdkLogger(logger), telemetryOptions: sdkTelemetry });
surviveClosedPostgresSockets(logger);

const metrics = createMetrics();
const metricsServer = config.METRICS_PORT ? await serveMetrics(metrics, config.METRICS_PORT, config.METRICS_HOST) : undefined;
if (metricsServer) logger.info(`metrics on http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics`);
const deps = createWorkerDeps(config, logger, metrics);
const startup = { address: target.connectionOptions.address, waitSeconds: config.STARTUP_WAIT_SECONDS, logger };
const connection = await connectAtStart(() => connectWorker(process.env), startup);
const tuning = workerTuning({
  maxConnections: config.SMTP_MAX_CONNECTIONS,
  sendSlots: config.SMTP_SEND_SLOTS,
  workflowSlots: config.WORKER_WORKFLOW_SLOTS,
  activitySlots: config.WORKER_ACTIVITY_SLOTS,
  cachedWorkflows: config.WORKER_CACHED_WORKFLOWS,
});
const worker = await createWorker({
  connection,
  namespace: target.namespace,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps,
  workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
  tuning,
  shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
});
logger.info(
  { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: target.namespace, ...tuning, sentCopies: config.IMAP_URL ? 'on' : 'off' },
  'worker polling',
);
// The bounce check Schedules of the configured account and every stored one (idempotent), set up
// beside the running worker: while PostgreSQL is away they are tried again, and the worker runs.
const scheduler = await connectAtStart((ms) => connectClient(process.env, ms), startup);
const schedules = { done: false, stopping: false };
void (async () => {
  for (let delayMs = 5000; !schedules.stopping; delayMs = Math.min(60_000, delayMs * 2)) {
    try {
      await ensureBounceSchedules({ client: scheduler, sql: deps.sql, taskQueue: config.TEMPORAL_TASK_QUEUE, defaultImap: !!config.IMAP_URL, logger, bounceChecks: { every: config.BOUNCE_CHECK_EVERY } });
      schedules.done = true;
      return await scheduler.connection.close().catch(() => {});
    } catch (err) {
      logger.warn(`could not set up the bounce check Schedules: ${(err as Error).message}; trying again in ${delayMs / 1000} s`);
      await new Promise((r) => setTimeout(r, delayMs).unref());
    }
  }
})();
// Worker.run handles SIGINT/SIGTERM: both workers stop polling, running activities get
// WORKER_SHUTDOWN_GRACE_SECONDS to finish and report, then run() returns and the process exits 0.
await worker.run();
schedules.stopping = true;
if (!schedules.done) await scheduler.connection.close();
logger.info('worker stopped');
metricsServer?.close();
await deps.close();
await connection.close();
