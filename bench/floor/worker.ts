// The floor's worker process, set up as src/worker/main.ts sets up the product's: one worker on
// the task queue for the workflows, one on its send queue for the activity, with the slots and
// cache src/worker/tuning.ts derives from the same SMTP connection count.
//   FLOOR_TASK_QUEUE, FLOOR_BUNDLE_PATH (prebuilt bench/floor/workflows.ts), TEMPORAL_ADDRESS,
//   SMTP_MAX_CONNECTIONS
import { NativeConnection, Worker } from '@temporalio/worker';
import { sendTaskQueue } from '../../src/contract/workflow-ids.js';
import { workerTuning } from '../../src/worker/tuning.js';
import * as activities from './activities.js';

const taskQueue = process.env.FLOOR_TASK_QUEUE ?? 'floor';
const tuning = workerTuning({ maxConnections: Number(process.env.SMTP_MAX_CONNECTIONS ?? 3) });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const main = await Worker.create({
  connection,
  taskQueue,
  activities,
  workflowBundle: { codePath: process.env.FLOOR_BUNDLE_PATH! },
  maxConcurrentActivityTaskExecutions: tuning.activitySlots,
  maxConcurrentWorkflowTaskExecutions: tuning.workflowSlots,
  maxCachedWorkflows: tuning.cachedWorkflows,
});
const sends = await Worker.create({
  connection,
  taskQueue: sendTaskQueue(taskQueue),
  activities,
  maxConcurrentActivityTaskExecutions: tuning.sendSlots,
});
process.stdout.write(`floor worker polling ${JSON.stringify(tuning)}\n`);
// SIGTERM stops both (the SDK handles it); run() returns when they have.
await Promise.all([main.run(), sends.run()]);
await connection.close();
