// The workflow tier: the real workflow code on Temporal's time-skipping test server, with the
// activities replaced by plain objects typed from the worker's own `Activities`. Each test gets
// a fresh task queue; each file one server (time is the server's, so files never share one).
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../src/activities/index.js';
import { statusQuery, type CampaignProgress } from '../../src/contract/messages.js';
import type { CampaignStatus } from '../../src/contract/statuses.js';
import { campaignWorkflowId, sendTaskQueue } from '../../src/contract/workflow-ids.js';
import type { CampaignInput, campaignWorkflow } from '../../src/workflows/campaign.js';
import { WORKFLOWS_PATH } from '../../src/worker/create.js';
import { resolveTimeSkippingServer, TEST_SERVER_JVM_OPTIONS } from './time-skipping.js';

let runtimeInstalled = false;

async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  // Errors only: the workers' state changes and the test server's missing capabilities are noise here.
  // Once per process: a file may start a second server (FRESH_CLOCK).
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
    runtimeInstalled = true;
  }
  const path = await resolveTimeSkippingServer();
  process.env.JAVA_TOOL_OPTIONS ??= TEST_SERVER_JVM_OPTIONS;
  // The SDK gives the server 5 s to listen and then gives up; a JVM that starts beside a loaded
  // run can take longer (seen with the checks' empty caches and three files at a time), and the
  // whole file then failed in its first hook. Only that failure is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping(path ? { server: { executable: { type: 'existing-path', path } } } : {});
    } catch (err) {
      if (attempt === 3 || !/did not start within/.test(String(err))) throw err;
      console.error(`the time-skipping server did not start in time (attempt ${attempt}); starting it again`);
    }
  }
}

/** What an activity was called with, in call order. */
interface ActivityCall {
  name: keyof Activities;
  input: unknown;
}

type Stub<F> = F extends (input: infer I) => Promise<infer R> ? (input: I) => R | Promise<R> : never;
export type ActivityStubs = { [K in keyof Activities]: Stub<Activities[K]> };

/** Every activity answering as a quiet, successful world would; a test overrides what its rule needs. */
function defaultStubs(): ActivityStubs {
  return {
    buildRecipients: () => ({ total: 1, sendable: 1, blocked: 0, review: { required: false, expiresAfter: '7 days' } }),
    checkBounces: () => ({ read: 0, bounces: 0, suppressed: 0 }),
    setCampaignStatus: () => undefined,
    recordDecision: () => ({}),
    expireCampaign: () => undefined,
    choosePilot: () => ({ size: 0, left: 0 }),
    pilotOutcome: () => ({ size: 0, sent: 0, failed: 0, bounced: 0, pending: 0 }),
    recordPilotDecision: () => ({}),
    nextRecipients: ({ afterId, limit }) => (afterId === 0 && limit > 0 ? [{ id: 1, masked: 'a***@example.com' }] : []),
    deliveryProgress: () => ({ settled: [], copiesPending: 0 }),
    cancelUnsent: () => 0,
    finishCancel: () => 0,
    abandonBuild: () => undefined,
    markCancelled: () => undefined,
    markSendFailed: () => undefined,
    markCopyFailed: () => undefined,
    completeCampaign: () => ({}) as Awaited<ReturnType<Activities['completeCampaign']>>,
    sendMessage: () => ({ outcome: 'sent', messageId: '<m@example.com>', copyRequested: false }),
    recordSendOutcome: () => undefined,
    appendToSent: () => ({ appended: true }),
    testSend: ({ to }) => ({ messageId: '<test@example.com>', response: `250 accepted for ${to}` }),
  };
}

export interface StubbedActivities {
  activities: Activities;
  calls: ActivityCall[];
  /** The inputs of every call of one activity, in order. */
  inputs<K extends keyof Activities>(name: K): Parameters<Activities[K]>[0][];
  /** The names of the calls so far, in order, optionally only those in `names`. */
  order(...names: (keyof Activities)[]): (keyof Activities)[];
}

export function stubActivities(overrides: Partial<ActivityStubs> = {}): StubbedActivities {
  const stubs: ActivityStubs = { ...defaultStubs(), ...overrides };
  const calls: ActivityCall[] = [];
  const activities = Object.fromEntries(
    Object.entries(stubs).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        calls.push({ name: name as keyof Activities, input });
        return (fn as (i: unknown) => unknown)(input);
      },
    ]),
  ) as unknown as Activities;
  return {
    activities,
    calls,
    inputs: (name) => calls.filter((c) => c.name === name).map((c) => c.input) as never,
    order: (...names) => calls.map((c) => c.name).filter((n) => names.length === 0 || names.includes(n)),
  };
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/** One workflow bundle per process: the runner's prebuilt one, or one built here. */
function workflowBundle(): Promise<WorkflowBundleOption> {
  const prebuilt = process.env.WORKFLOW_BUNDLE_PATH;
  bundle ??= prebuilt
    ? Promise.resolve({ codePath: prebuilt })
    : bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } });
  return bundle;
}

export interface WorkflowTier {
  env: TestWorkflowEnvironment;
  /** Runs `fn` with these activities behind the file's workers (one test at a time). */
  run<T>(activities: Activities, fn: (taskQueue: string) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One time-skipping server and one pair of workers per test file (its task queue and its send
 * queue, as in production). A worker takes a second to start, so the workers stay up and each
 * test hands them its own activity stubs.
 */
export async function startWorkflowTier(): Promise<WorkflowTier> {
  const env = await startTimeSkipping();
  let current: Activities | undefined;
  const names = Object.keys(defaultStubs()) as (keyof Activities)[];
  const activities = Object.fromEntries(
    names.map((name) => [
      name,
      (input: unknown) => {
        if (!current) throw new Error(`${name} called between tests`);
        return (current[name] as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  ) as unknown as Activities;
  const taskQueue = `wf-${randomUUID()}`;
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities, shutdownForceTime: SHUTDOWN_FORCE }),
    // Room for far more sends than a campaign's window, so that only the workflow bounds them.
    Worker.create({ connection: env.nativeConnection, taskQueue: sendTaskQueue(taskQueue), activities, maxConcurrentActivityTaskExecutions: 1000, shutdownForceTime: SHUTDOWN_FORCE }),
  ]);
  const running = Promise.all(workers.map((w) => w.run()));
  running.catch(() => undefined); // awaited by close
  return {
    env,
    async run(a, fn) {
      current = a;
      try {
        return await fn(taskQueue);
      } finally {
        current = undefined;
      }
    },
    async close() {
      for (const w of workers) w.shutdown();
      // An activity still held by a gate no test will open (a test that failed midway, or a
      // send left in flight) never ends: the workers give up on it after SHUTDOWN_FORCE.
      await running.catch((err: Error) => console.error(`the file's workers were stopped by force: ${err.message}`));
      await env.teardown();
    },
  };
}

/**
 * FRESH_CLOCK: runs one test on a time-skipping server of its own, for a test that needs the
 * server's clock to skip after earlier tests in its file ran delivery children. The test server
 * leaks a time-skipping lock when a child workflow closes after its parent has: it locks to tell
 * the parent and only the parent's handling unlocks, which a closed parent refuses (`Completed
 * workflow`), so from then on its clock runs at the wall clock's pace and a skip of hours never
 * ends. A campaign may close a moment before its last delivery child (they are ABANDONed), so any
 * earlier test with children can leave that lock behind. `use` points the file's variables at
 * the server given, and back at `current` after.
 */
export async function withFreshServer(current: WorkflowTier, use: (tier: WorkflowTier) => void, body: () => Promise<void>): Promise<void> {
  const own = await startWorkflowTier();
  use(own);
  try {
    await body();
  } finally {
    use(current);
    await own.close();
  }
}

/**
 * How long a file's workers wait at its end for activities still running; without a bound, one
 * held at a gate kept the file from ever ending (and the whole run with it).
 */
const SHUTDOWN_FORCE = '10 seconds';

/**
 * Starts a campaign as the API does (its deterministic ID), on the worker's task queue; `more`
 * adds input the API never sets (the fan-out's sizes).
 */
export async function startCampaign(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  campaignId = randomUUID(),
  more: Omit<CampaignInput, 'campaignId'> = {},
) {
  return env.client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    workflowId: campaignWorkflowId(campaignId),
    taskQueue,
    args: [{ ...more, campaignId }],
  });
}

type CampaignHandle = Awaited<ReturnType<typeof startCampaign>>;

/** Waits (on the wall clock, briefly) until the campaign's status query answers `status`. */
export async function untilStatus(handle: CampaignHandle, status: CampaignStatus, timeoutMs = 10_000): Promise<CampaignProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await handle.query(statusQuery);
    if (progress.status === status) return progress;
    if (Date.now() > deadline) throw new Error(`the campaign is ${progress.status}, not ${status}, after ${timeoutMs} ms`);
    await delay(20);
  }
}

/** Waits until `check` holds, on the wall clock (for activity stubs to have been called, say). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(10);
  }
}

/**
 * A closed door a stubbed activity waits at until the test opens it: a send held in flight, a
 * build still running. While an activity waits here the time-skipping server does not skip
 * time (an activity in progress holds its clock), so a test opens the gate within a second or so.
 */
export interface Gate {
  /** Resolves once the gate is open. */
  pass(): Promise<void>;
  open(): void;
  /** How many calls wait at the gate now. */
  readonly waiting: number;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  return {
    async pass() {
      waiting++;
      try {
        await opened;
      } finally {
        waiting--;
      }
    },
    open: () => open(),
    get waiting() {
      return waiting;
    },
  };
}
