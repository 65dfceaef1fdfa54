import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type State } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { sendTaskQueue } from '../contract/workflow-ids.js';
import { workerTuning, type WorkerTuning } from './tuning.js';

// The workflow sources webpack bundles (TypeScript). Through tsx this file is
// src/worker/create.ts and they are beside it; compiled (`npm run build:server`) it is
// dist/worker/create.js and they are still the project's src/workflows. The image copies no
// sources: its worker runs the bundle it built (WORKFLOW_BUNDLE_PATH), and workflowSources() says so.
const compiled = import.meta.url.endsWith('.js');
export const WORKFLOWS_PATH = fileURLToPath(new URL(compiled ? '../../src/workflows/index.ts' : '../workflows/index.ts', import.meta.url));

/** WORKFLOWS_PATH when the sources are there to bundle; otherwise an error that says what to do. */
export function workflowSources(): string {
  if (existsSync(WORKFLOWS_PATH)) return WORKFLOWS_PATH;
  throw new Error(
    `the workflow sources are not at ${WORKFLOWS_PATH} to bundle: set WORKFLOW_BUNDLE_PATH to a prebuilt bundle ` +
      '(`node dist/cli.js bundle <file>` where the sources are; the image has one at /app/workflow-bundle.js)',
  );
}

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt workflow bundle (from bundleWorkflowCode); bundled from source when absent. */
  workflowBundlePath?: string;
  /** Replace some activities, e.g. to inject faults in tests. */
  activityOverrides?: Partial<ReturnType<typeof createActivities>>;
  /**
   * SMTP sends this process runs at once (the send task queue's activity slots). Default: twice
   * the default account's connections, one send in each connection and one getting ready.
   */
  sendSlots?: number;
  /** Slots and cache of the worker (src/worker/tuning.ts); derived from the account's connections when absent. */
  tuning?: Partial<WorkerTuning>;
  /**
   * Seconds a stopping worker lets running activities finish before cancelling them. Default 0,
   * the SDK's (cancel at once: tests, `npm run dev`); `npm run worker` passes WORKER_SHUTDOWN_GRACE_SECONDS.
   */
  shutdownGraceSeconds?: number;
}

/** The worker of one process: workflows and bookkeeping on the task queue, sends on its send queue. */
export interface CampaignWorker {
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
}

export async function createWorker(o: WorkerOptions): Promise<CampaignWorker> {
  const activities = { ...createActivities(o.deps), ...o.activityOverrides };
  const tuning = workerTuning({ maxConnections: o.deps.accounts.default.limits.maxConnections, sendSlots: o.sendSlots, ...o.tuning });
  // On SIGTERM or shutdown() both stop polling at once and give running activities this long to
  // finish (a send in the middle of its SMTP transaction completes and reports), then cancel them.
  const graceMs = (o.shutdownGraceSeconds ?? 0) * 1000;
  const stopping = o.shutdownGraceSeconds === undefined ? {} : { shutdownGraceTime: graceMs, shutdownForceTime: graceMs + 30_000 };
  const main = await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    activities,
    ...(o.workflowBundlePath ? { workflowBundle: { codePath: o.workflowBundlePath } } : { workflowsPath: workflowSources() }),
    maxConcurrentActivityTaskExecutions: tuning.activitySlots,
    maxConcurrentWorkflowTaskExecutions: tuning.workflowSlots,
    maxCachedWorkflows: tuning.cachedWorkflows,
    ...stopping,
  });
  // A send polled is a send that starts at once: the worker takes no more than its connections
  // can serve, and the rest wait in Temporal's queue (for any worker), not in this process past
  // their heartbeat deadline.
  const sends = await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: sendTaskQueue(o.taskQueue),
    activities,
    maxConcurrentActivityTaskExecutions: tuning.sendSlots,
    ...stopping,
  });
  return {
    async run() {
      // Both stop together: a signal (SIGINT/SIGTERM) or shutdown() stops each, and a worker that
      // fails stops the other so the process does not run half a worker.
      const runs = [main.run(), sends.run()];
      const stopBoth = () => {
        for (const w of [main, sends]) if (w.getState() === 'RUNNING') w.shutdown();
      };
      const settled = await Promise.allSettled(runs.map((r) => r.finally(stopBoth)));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown() {
      for (const w of [main, sends]) if (w.getState() === 'RUNNING') w.shutdown();
    },
    getState() {
      return main.getState();
    },
  };
}
