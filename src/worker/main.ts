import { loadConfigOrExit, workerEnvSchema } from '../config.js';
import { createLogger } from '../logger.js';
import { connectWorker } from '../temporal.js';
import { createWorker } from './create.js';
import { createWorkerDeps } from './deps.js';

const config = loadConfigOrExit(workerEnvSchema);
const logger = createLogger('worker', config.LOG_LEVEL);

const deps = createWorkerDeps(config, logger);
const connection = await connectWorker(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps,
  workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH,
});
logger.info(
  { taskQueue: config.TEMPORAL_TASK_QUEUE, sentCopies: config.IMAP_URL ? 'on' : 'off' },
  'worker polling',
);
// Worker.run handles SIGINT/SIGTERM: it stops polling, lets running activities finish, then returns.
await worker.run();
await deps.close();
await connection.close();
