// The workflow tier: the real workflow code on Temporal's time-skipping test server, with the
// activities replaced by plain objects typed from the worker's own `Activities`. Each file gets
// one server and one pair of workers (time is the server's, so files never share one); the tests
// of a file share its task queue, one test at a time, and each test leaves the server as it
// found it: when `tier.run` returns, every gate the test made is open and every workflow it
// started has ended (see `endLeftovers`), or the test fails naming what is still open.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { ConnectionPlugin } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../src/activities/index.js';
import { cancelSignal, statusQuery, type CampaignProgress } from '../../src/contract/messages.js';
import type { CampaignStatus } from '../../src/contract/statuses.js';
import { campaignWorkflowId, sendTaskQueue } from '../../src/contract/workflow-ids.js';
import type { campaignWorkflow } from '../../src/workflows/campaign.js';
import { WORKFLOWS_PATH } from '../../src/worker/create.js';
import { resolveTimeSkippingServer } from './time-skipping.js';

async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  // Errors only: the workers' state changes and the test server's missing capabilities are noise here.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
  const path = await resolveTimeSkippingServer();
  // The server lives for one file: the JIT's quick tier and a serial GC cost it a third less CPU
  // than the JVM's defaults (a 600-child fan-out: 29 s instead of 42 s on the 2-core machine).
  process.env.JAVA_TOOL_OPTIONS ??= '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
  return TestWorkflowEnvironment.createTimeSkipping({
    ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
    plugins: [quietKeepalive],
  });
}

/**
 * The client's connection pings the server every 30 s, idle or not (the SDK's default); the
 * test server (a Java gRPC server) allows one ping per 5 minutes and none without a call in
 * flight, and after a few answers with GOAWAY "too many pings", which ends the connection with
 * whatever call is in flight on it (a time-skipping sleep, a result wait). Time-skipping sleeps
 * that stalled for about three minutes were each followed by that refusal in the log; whether
 * the pings start the stall or only show it is not settled. Pinging every 6 minutes, and only
 * with a call in flight, keeps within what the server permits.
 */
const quietKeepalive: ConnectionPlugin = {
  name: 'workflow-tier-keepalive',
  configureConnection: (options) => ({
    ...options,
    channelArgs: { ...options.channelArgs, 'grpc.keepalive_time_ms': 360_000, 'grpc.keepalive_permit_without_calls': 0 },
  }),
};

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
    choosePilot: () => ({ size: 0 }),
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
  /** The activity calls running now, by name: a stub still running when its test ends is a leak. */
  const running = new Map<string, number>();
  const names = Object.keys(defaultStubs()) as (keyof Activities)[];
  const activities = Object.fromEntries(
    names.map((name) => [
      name,
      async (input: unknown) => {
        if (!current) throw new Error(`${name} called between tests`);
        running.set(name, (running.get(name) ?? 0) + 1);
        try {
          return await (current[name] as (i: unknown) => Promise<unknown>)(input);
        } finally {
          running.set(name, running.get(name)! - 1);
          if (running.get(name) === 0) running.delete(name);
        }
      },
    ]),
  ) as unknown as Activities;
  const taskQueue = `wf-${randomUUID()}`;
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities }),
    // Room for far more sends than a campaign's window, so that only the workflow bounds them.
    Worker.create({ connection: env.nativeConnection, taskQueue: sendTaskQueue(taskQueue), activities, maxConcurrentActivityTaskExecutions: 1000 }),
  ]);
  const workersRunning = Promise.all(workers.map((w) => w.run()));
  workersRunning.catch(() => undefined); // awaited by close
  return {
    env,
    async run<T>(a: Activities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
      current = a;
      let result: T;
      try {
        result = await fn(taskQueue);
      } catch (err) {
        // The test failed: its own error is the one to see; what it left open is still ended,
        // with this test's stubs installed, so that the next test starts from a clean server.
        try {
          await endLeftovers(env, running);
        } catch (cleanup) {
          process.stderr.write(`[workflow tier] after a failed test: ${String(cleanup)}\n`);
        } finally {
          current = undefined;
        }
        throw err;
      }
      try {
        await endLeftovers(env, running);
      } finally {
        current = undefined;
      }
      return result;
    },
    async close() {
      for (const w of workers) w.shutdown();
      // A worker stops once its activities have; one still held (a failed test's, say) must not
      // keep the file from ending, so the server goes after a bounded wait and says why.
      const stopped = await Promise.race([workersRunning.then(() => true), delay(WORKER_STOP_MS).then(() => false)]);
      if (!stopped) process.stderr.write(`[workflow tier] the workers had not stopped ${WORKER_STOP_MS / 1000} s after shutdown; the server is torn down under them\n`);
      await env.teardown();
    },
  };
}

/** How long (wall clock) the workers may take to stop at the end of a file. */
const WORKER_STOP_MS = 20_000;

/** How long (wall clock) the end of a test may take to bring what it left open to an end. */
const LEFTOVER_BOUND_MS = 15_000;
/** After this long, what the product's cancel has not ended is asked to cancel as Temporal cancels a workflow. */
const TEMPORAL_CANCEL_AFTER_MS = 5_000;
/** The product's own cancel, as a person's would come: campaigns and deliveries know it. */
const ENDS_BY_CANCEL_SIGNAL = new Set(['campaignWorkflow', 'deliveryWorkflow']);

/**
 * The end of every test, while its stubs are still installed: every gate it made is opened, and
 * every workflow still open on the server (the file's server holds only this test's: the tests
 * of a file run one at a time and each ends here) is brought to an end. A campaign or a delivery
 * is cancelled as a person cancels it (the cancel Signal; a delivery child is a workflow of its
 * own here, as its parent abandons it on close); anything else, or anything the cancel Signal has
 * not ended within 5 s, gets a Temporal cancellation request. Never terminated: a terminated
 * workflow with an activity task outstanding leaves the server's clock locked. Time may skip
 * meanwhile, so that timers and retries run out; whatever is still open after 15 s (or a stub
 * still running) fails the test with its ID.
 *
 * Without this a workflow left by one test kept running into the next: its timers fired when that
 * test let time skip, its activities called that test's stubs, an activity held at a gate locked
 * the server's clock (a 10 s wait ran on the wall clock), and its 10-year run timeout (the test
 * server's default) was the next timer the clock jumped to.
 */
async function endLeftovers(env: TestWorkflowEnvironment, running: Map<string, number>): Promise<void> {
  for (const g of gates) g.open();
  gates.clear();
  const open = async () =>
    (await env.client.workflowService.listOpenWorkflowExecutions({ namespace: 'default', maximumPageSize: 1000 })).executions ?? [];
  let left = await open();
  if (left.length === 0 && running.size === 0) return;
  const asked = new Set<string>();
  const cancelled = new Set<string>();
  const { testService } = env.connection;
  // Polled, not each handle's result(): a long poll on the test server sometimes misses a close.
  await testService?.unlockTimeSkipping({});
  try {
    const started = Date.now();
    while ((left.length > 0 || running.size > 0) && Date.now() - started < LEFTOVER_BOUND_MS) {
      const late = Date.now() - started >= TEMPORAL_CANCEL_AFTER_MS;
      for (const e of left) {
        const { workflowId, runId } = e.execution ?? {};
        if (!workflowId) continue;
        const key = `${workflowId}/${runId}`;
        const handle = env.client.workflow.getHandle(workflowId, runId ?? undefined);
        // A workflow that closed since it was listed answers not found: nothing to do then.
        if (ENDS_BY_CANCEL_SIGNAL.has(e.type?.name ?? '') && !late) {
          if (!asked.has(key)) await handle.signal(cancelSignal, { by: 'the workflow tier, at the end of a test' }).catch(() => undefined);
          asked.add(key);
        } else if (!cancelled.has(key)) {
          await handle.cancel().catch(() => undefined);
          cancelled.add(key);
        }
      }
      await delay(50);
      left = await open();
    }
  } finally {
    await testService?.lockTimeSkipping({});
  }
  const ended = new Set([...asked, ...cancelled]);
  if (ended.size > 0) process.stderr.write(`[workflow tier] the test left ${ended.size} workflow(s) open; cancelled: ${[...ended].join(', ')}\n`);
  if (left.length === 0 && running.size === 0) return;
  const described = await Promise.all(
    left.map(async (e) => {
      const d = await env.client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: e.execution });
      const activities = (d.pendingActivities ?? []).map((p) => `${p.activityType?.name} (attempt ${p.attempt})`);
      return `${e.type?.name} ${e.execution?.workflowId}: still open${activities.length ? `, activities pending: ${activities.join(', ')}` : ''}`;
    }),
  );
  const stubs = [...running].map(([name, n]) => `${name} stub still running (${n})`);
  throw new Error(
    `the test left work that did not end within ${LEFTOVER_BOUND_MS / 1000} s of a cancel (a test bug: end it, or open its gate): ${[...described, ...stubs].join('; ')}`,
  );
}

/** Starts a campaign as the API does (its deterministic ID), on the worker's task queue. */
export async function startCampaign(env: TestWorkflowEnvironment, taskQueue: string, campaignId = randomUUID()) {
  return env.client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    workflowId: campaignWorkflowId(campaignId),
    taskQueue,
    args: [{ campaignId }],
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

/** Every gate not yet opened at the end of its test: `tier.run` opens them when the test ends. */
const gates = new Set<Gate>();

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  const g: Gate = {
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
  gates.add(g);
  return g;
}
