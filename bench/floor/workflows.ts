// The Temporal floor: the product's workflow shape with nothing of the product in it. A parent
// keeps a sliding window of WINDOW children open (refilled when half have reported), each child
// runs one no-op activity on the send task queue and reports to the parent by Signal, and the
// parent continues as new after MAX_STARTS_PER_RUN starts, carrying the children still in flight.
// Bundled and run by bench/floor/worker.ts; the delivery benchmark times it next to the product.
import { condition, continueAsNew, defineSignal, getExternalWorkflowHandle, ParentClosePolicy, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities.js';

const WINDOW = 100;
const MAX_STARTS_PER_RUN = 1000;

export const floorReport = defineSignal<[number]>('floorReport');

export interface FloorInput {
  total: number;
  sendQueue: string;
  next?: number;
  inFlight?: number[];
  /** The window and the starts per run (the campaign's defaults, 100 and 1,000, when absent): smaller in a test. */
  window?: number;
  startsPerRun?: number;
}

export async function floorChild(parentId: string, index: number, sendQueue: string): Promise<void> {
  const { floorSend } = proxyActivities<typeof activities>({ startToCloseTimeout: '20 seconds', taskQueue: sendQueue });
  await floorSend(index);
  await getExternalWorkflowHandle(parentId).signal(floorReport, index);
}

export async function floorParent(input: FloorInput): Promise<number> {
  const parentId = workflowInfo().workflowId;
  const inFlight = new Set(input.inFlight ?? []);
  setHandler(floorReport, (index) => void inFlight.delete(index));
  const window = input.window ?? WINDOW;
  const startsPerRun = input.startsPerRun ?? MAX_STARTS_PER_RUN;
  let next = input.next ?? 0;
  let startedThisRun = 0;
  for (;;) {
    // As the campaign does (its starts-per-run bound): a run that has started its share starts no
    // more. Children that report while a page starts would otherwise keep the window below half
    // and the run from ever reaching its continue-as-new: at 20,000 one run started over 9,000
    // children and ended at Temporal's limit of 51,200 history events.
    const runFull = startedThisRun >= startsPerRun;
    if (next < input.total && inFlight.size <= window / 2 && !runFull) {
      const starts: Promise<unknown>[] = [];
      for (; next < input.total && inFlight.size < window; next++, startedThisRun++) {
        inFlight.add(next);
        starts.push(
          startChild(floorChild, {
            workflowId: `${parentId}-c-${next}`,
            args: [parentId, next, input.sendQueue],
            parentClosePolicy: ParentClosePolicy.ABANDON,
          }),
        );
      }
      await Promise.all(starts);
      continue;
    }
    if (next >= input.total && inFlight.size === 0) return input.total;
    // As the campaign does: a new run once this one has started enough, carrying the window; a run
    // whose list has ended only waits for its last reports and finishes.
    if (runFull && next < input.total) return continueAsNew<typeof floorParent>({ ...input, next, inFlight: [...inFlight] });
    const size = inFlight.size;
    await condition(() => inFlight.size < size);
  }
}
