import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as floorActivities from '../bench/floor/activities.js';
import type { floorParent } from '../bench/floor/workflows.js';
import { sendTaskQueue } from '../src/contract/workflow-ids.js';

// The bench's floor (bench/floor/): Temporal alone in the campaign's shape. Like the campaign, a
// run starts no more children once it has started its share, so it continues as new even while
// its children report as fast as it starts them (they do nothing). Before, children that reported
// while a page was starting kept the window below half, the run skipped its continue-as-new, and
// at 20,000 recipients one run started over 9,000 children and ended at Temporal's limit of
// 51,200 history events. On the test run's real Temporal dev server: on the time-skipping server
// this file hung once in a full run (its children are abandoned and close after their parent's
// runs, which that server handles badly; see test/helpers/workflow-env.ts).

let client: Client;
let connection: Connection;
let native: NativeConnection;
let workers: Worker[];
let running: Promise<unknown>;
const taskQueue = `floor-${randomUUID()}`;

before(async () => {
  const address = process.env.CM_TEST_TEMPORAL_ADDRESS;
  assert.ok(address, 'run through test/run.ts, which starts the Temporal dev server');
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  native = await NativeConnection.connect({ address });
  workers = await Promise.all([
    Worker.create({ connection: native, taskQueue, workflowsPath: fileURLToPath(new URL('../bench/floor/workflows.ts', import.meta.url)), activities: floorActivities }),
    Worker.create({ connection: native, taskQueue: sendTaskQueue(taskQueue), activities: floorActivities, maxConcurrentActivityTaskExecutions: 100 }),
  ]);
  running = Promise.all(workers.map((w) => w.run()));
});
after(async () => {
  for (const w of workers ?? []) w.shutdown();
  await running;
  await native?.close();
  await connection?.close();
});

/** The children each run of `workflowId` started, run by run, following its continue-as-new chain. */
async function startsPerRun(workflowId: string, firstRunId: string): Promise<number[]> {
  const out: number[] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    out.push(events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length);
    runId = events!.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return out;
}

test('each run of the floor starts its share of children, a page past it at most, then continues as new; the last run finishes', async () => {
  const total = 120;
  const window = 4;
  const share = 10;
  const workflowId = `floor-${randomUUID()}`;
  const handle = await client.workflow.start<typeof floorParent>('floorParent', {
    taskQueue,
    workflowId,
    args: [{ total, sendQueue: sendTaskQueue(taskQueue), window, startsPerRun: share }],
  });
  assert.equal(await handle.result(), total);
  const runs = await startsPerRun(workflowId, handle.firstExecutionRunId);
  assert.equal(runs.reduce((a, b) => a + b, 0), total, `every child started once: ${runs.join(', ')}`);
  for (const [i, started] of runs.entries()) {
    assert.ok(started <= share + window - 1, `run ${i + 1} started ${started} children, more than its share of ${share} and a page: ${runs.join(', ')}`);
  }
  assert.ok(runs.length >= Math.ceil(total / (share + window - 1)), `${runs.length} runs: ${runs.join(', ')}`);
});

/** Pids of the processes whose parent is `ppid` and whose command line contains `part`. */
async function childrenOf(ppid: number, part: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && (await readFile(`/proc/${name}/cmdline`, 'utf8')).includes(part)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

test('a bench stopped with SIGTERM (a job runner, no terminal to stop its group) stops the worker it started before it exits', { timeout: 180_000 }, async (t) => {
  const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'floor'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, TEMPORAL_ADDRESS: process.env.CM_TEST_TEMPORAL_ADDRESS, BENCH_N: '100000', BENCH_REPEAT: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  bench.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  bench.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => bench.once('exit', (code) => r(code)));
  const started = new Date(Date.now() - 1000);
  t.after(async () => {
    if (bench.exitCode === null) bench.kill('SIGKILL');
    // The floor's parent and its children have no worker left: end them on the shared server.
    for await (const w of client.workflow.list({ query: `WorkflowType IN ('floorParent', 'floorChild') AND ExecutionStatus = 'Running' AND StartTime > '${started.toISOString()}'` })) {
      if (w.taskQueue === 'floor-1') await client.workflow.getHandle(w.workflowId, w.runId).terminate('the bench test is over').catch(() => undefined);
    }
  });
  let workers: number[] = [];
  for (const t0 = Date.now(); workers.length === 0; ) {
    assert.ok(bench.exitCode === null, `the bench ended before starting its floor worker:\n${output}`);
    assert.ok(Date.now() - t0 < 150_000, `no floor worker after 150 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
    workers = await childrenOf(bench.pid!, 'floor/worker.js');
  }
  // Let the floor get going: the worker is then busy with its children when the bench is stopped.
  await new Promise((r) => setTimeout(r, 2000));
  bench.kill('SIGTERM');
  assert.equal(await exited, 143, output);
  assert.match(output, /benchmark interrupted \(SIGTERM\): stopping its workers and servers/);
  for (const pid of workers) assert.equal(alive(pid), false, `floor worker ${pid} still runs after the bench exited:\n${output}`);
});
