import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SendResult } from '../../src/activities/index.js';
import type { CampaignInput } from '../../src/workflows/campaign.js';
import { startCampaign, startWorkflowTier, stubActivities, type WorkflowTier } from '../helpers/workflow-env.js';

// The sliding window of delivery children and continue-as-new, with real delivery children on
// the time-skipping server and every activity stubbed: the recipients are an in-memory list.
// The campaign runs with a smaller window and run length than its defaults (input the API never
// sets; test/unit/fan-out-sizes.test.ts checks the defaults of 100 and 1,000 and the bounds), so
// the same rules are checked with a few hundred children instead of thousands. The full size, by
// hand: FANOUT_WINDOW=100 FANOUT_STARTS_PER_RUN=1000 FANOUT_RECIPIENTS=5000 npx tsx test/run.ts
// test/workflows/fan-out.test.ts (about 50 children a second here).

let tier: WorkflowTier;
let env: TestWorkflowEnvironment;
before(async () => {
  tier = await startWorkflowTier();
  env = tier.env;
});
after(async () => tier?.close());

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * The campaign's window and its starts per run (its input's fanOutWindow and startsPerRun). Not a
 * multiple of the window: here every page is a full window (its sends finish together), and the
 * page that reaches a run's share runs past it, and a list of exactly a run's share ends with a
 * short page, as at the full size, where pages vary.
 */
const WINDOW = Number(process.env.FANOUT_WINDOW ?? 10);
const STARTS_PER_RUN = Number(process.env.FANOUT_STARTS_PER_RUN ?? 95);
/** Enough for three runs, the first two continuing as new with children still in flight (250 here). */
const RECIPIENTS = Number(process.env.FANOUT_RECIPIENTS ?? 2 * STARTS_PER_RUN + 6 * WINDOW);
/**
 * Ten events a start (a run uses about six here, about four and a half at the full size): at the
 * campaign's default 1,000 starts a run, 10,000, far below Temporal's 51,200 events and its
 * warning at 10,240.
 */
const MAX_EVENTS_PER_RUN = 10 * STARTS_PER_RUN;

/**
 * Holds sends in flight until `size` of them are held, or none has come for a moment: each wave
 * shows how many the campaign lets run at once (the worker would run up to 1,000).
 */
function waves(size: number, idleMs = 200) {
  let held: (() => void)[] = [];
  let idle: NodeJS.Timeout | undefined;
  const release = () => {
    clearTimeout(idle);
    for (const go of held) go();
    held = [];
  };
  return {
    pass: () =>
      new Promise<void>((resolve) => {
        held.push(resolve);
        clearTimeout(idle);
        if (held.length >= size) release();
        else idle = setTimeout(release, idleMs);
      }),
  };
}

/** One fan-out of `count` recipients to its end: every run's starts and events, the pages read, the sends. */
async function fanOut(count: number) {
  const list = Array.from({ length: count }, (_, i) => ({ id: i + 1, masked: `r***${i + 1}@example.com` }));
  const sends = new Map<number, number>();
  /** Recipients whose send has finished, as the record has them. */
  const settled = new Set<number>();
  /** Every page the campaign read: what it asked for and how many it got. */
  const pages: { afterId: number; limit: number; got: number }[] = [];
  let sending = 0;
  let peakSending = 0;
  const wave = waves(WINDOW);
  const stubs = stubActivities({
    buildRecipients: () => ({ total: count, sendable: count, blocked: 0, review: { required: false, expiresAfter: '7 days' } }),
    // Ids ascend from 1, as the record's do: the page after `afterId`.
    nextRecipients: ({ afterId, limit }) => {
      const page = list.slice(afterId, afterId + limit);
      pages.push({ afterId, limit, got: page.length });
      return page;
    },
    sendMessage: async ({ recipientId }): Promise<SendResult> => {
      sends.set(recipientId, (sends.get(recipientId) ?? 0) + 1);
      peakSending = Math.max(peakSending, ++sending);
      try {
        await wave.pass();
      } finally {
        sending--;
      }
      settled.add(recipientId);
      return { outcome: 'sent' };
    },
    // What the campaign asks the record when no report has come for a while.
    deliveryProgress: ({ ids }) => ({ settled: ids.filter((id) => settled.has(id)), copiesPending: 0 }),
  });
  const wallStart = Date.now();
  const handle = await tier.run(stubs.activities, async (queue) => {
    const handle = await startCampaign(env, queue, undefined, { fanOutWindow: WINDOW, startsPerRun: STARTS_PER_RUN });
    // Not handle.result(): following a continue-as-new chain by long poll sometimes misses the
    // last run's close on the test server. Its latest run is described until it has closed.
    const { testService } = env.connection;
    assert.ok(testService, 'the time-skipping server');
    await testService.unlockTimeSkipping({});
    try {
      for (;;) {
        const { status } = await env.client.workflow.getHandle(handle.workflowId).describe();
        if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW') break;
        await delay(200);
      }
    } finally {
      await testService.lockTimeSkipping({});
    }
    assert.deepEqual(await env.client.workflow.getHandle(handle.workflowId).result(), { status: 'completed' });
    return handle;
  });
  const wallSeconds = (Date.now() - wallStart) / 1000;

  // Every run of the campaign, from the first along its continue-as-new chain.
  const runs: { events: number; starts: number; suggested: boolean; next?: CampaignInput }[] = [];
  let runId: string | undefined = handle.firstExecutionRunId;
  while (runId) {
    const history: { events?: HistoryEvent[] | null } = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const continued = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
    const next = continued?.input?.payloads?.[0];
    runs.push({
      events: events.length,
      starts: events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length,
      suggested: events.some((e) => e.workflowTaskStartedEventAttributes?.suggestContinueAsNew),
      // The input the run handed the next one.
      ...(next ? { next: defaultPayloadConverter.fromPayload<CampaignInput>(next) } : {}),
    });
    runId = continued?.newExecutionRunId ?? undefined;
  }
  console.log(
    `fan-out of ${count} in ${wallSeconds.toFixed(1)} s: ${runs.length} runs, ` +
      runs
        .map((r, i) => {
          const carried = r.next ? `, ${r.next.continued?.inFlight.length ?? 0} in flight carried over` : '';
          return `run ${i + 1}: ${r.starts} starts, ${r.events} events${r.suggested ? ' (continue-as-new suggested)' : ''}${carried}`;
        })
        .join('; ') +
      `; at most ${peakSending} sends at once`,
  );

  return { runs, pages, sends, peakSending, stubs };
}

test(`${RECIPIENTS} recipients: at most ${WINDOW} in flight, a new run after ${STARTS_PER_RUN} starts, bounded histories, each sent once`, async () => {
  const { runs, sends, peakSending, stubs } = await fanOut(RECIPIENTS);

  assert.ok(peakSending <= WINDOW, `at most ${WINDOW} sends at once (${peakSending})`);
  assert.ok(peakSending >= WINDOW / 2, `the window fills (${peakSending} at once)`);

  assert.ok(runs.length >= Math.ceil(RECIPIENTS / (STARTS_PER_RUN + WINDOW)), `continued as new (${runs.length} runs)`);
  for (const [i, run] of runs.slice(0, -1).entries()) {
    // After STARTS_PER_RUN starts, or sooner when the server suggests it (its history count threshold).
    assert.ok(run.starts >= STARTS_PER_RUN || run.suggested, `run ${i + 1} continued after ${STARTS_PER_RUN} starts (${run.starts})`);
    assert.ok(run.starts <= STARTS_PER_RUN + WINDOW, `run ${i + 1} started no more than a page after that (${run.starts})`);
    // The next run keeps the sizes.
    assert.equal(run.next?.fanOutWindow, WINDOW, `run ${i + 1} passed on the window`);
    assert.equal(run.next?.startsPerRun, STARTS_PER_RUN, `run ${i + 1} passed on the starts per run`);
  }
  assert.ok(
    runs.some((r) => (r.next?.continued?.inFlight.length ?? 0) > 0),
    'a run continued as new with children still in flight',
  );
  for (const [i, run] of runs.entries()) assert.ok(run.events < MAX_EVENTS_PER_RUN, `run ${i + 1}: ${run.events} events`);
  assert.equal(
    runs.reduce((n, r) => n + r.starts, 0),
    RECIPIENTS,
    'each recipient was handed to one child',
  );

  assert.equal(sends.size, RECIPIENTS, 'every recipient was sent');
  assert.deepEqual(
    [...sends].filter(([, n]) => n !== 1),
    [],
    'none twice',
  );
  assert.equal(stubs.inputs('completeCampaign').length, 1);
});

test(`a run that starts the list's last recipients finishes them: no continue-as-new only to read an empty page`, async () => {
  // Exactly a run's share: the run that starts the last recipient has started all it may. It used to
  // continue as new with the last sends in flight, and the new run read an empty page and waited
  // for them (at 2,000 recipients on the bench, a third run and about 2 s of a draining window).
  const { runs, pages, sends, stubs } = await fanOut(STARTS_PER_RUN);
  assert.equal(sends.size, STARTS_PER_RUN, 'every recipient was sent');
  assert.equal(stubs.inputs('completeCampaign').length, 1);
  const last = pages.find((p) => p.got > 0 && p.afterId + p.got === STARTS_PER_RUN);
  assert.ok(last, 'a page handed out the last recipient');
  if (last.got < last.limit) {
    // A short page ends the list: the run that read it finishes its sends. (A run may still
    // continue as new before the end, when Temporal suggests it; the next one starts the rest.)
    assert.deepEqual(pages.filter((p) => p.got === 0), [], 'no empty page was read');
    assert.deepEqual(runs.filter((r) => r.starts === 0), [], `no run without a start (${runs.map((r) => r.starts).join(', ')})`);
  } else {
    // A page exactly as long as asked cannot tell the end: one more page, in a new run.
    console.log(`the last page was exactly full (${last.got}): the end is found by an empty page`);
    assert.ok(runs.length <= 2, `at most one run more (${runs.length})`);
  }
});
