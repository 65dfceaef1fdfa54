import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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
