import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SendResult } from '../../src/activities/index.js';
import { pickPilot } from '../../src/build/pilot-sample.js';
import { pilotSchema, type PilotSpec } from '../../src/contract/campaign.js';
import { FOUR_EYES_REFUSED, INVALID_TRANSITION } from '../../src/contract/failures.js';
import { approveUpdate, cancelUpdate, continueSignal, continueUpdate, pauseUpdate, rejectUpdate, resumeUpdate, statusQuery } from '../../src/contract/messages.js';
import { gate, startCampaign, startWorkflowTier, stubActivities, until, untilStatus, type Gate, type WorkflowTier } from '../helpers/workflow-env.js';

// A pilot batch, then the rest, on the time-skipping server. The stubs keep the pilot marks and
// the send outcomes as Postgres would; choosePilot picks with the product's own rule.

let tier: WorkflowTier;
let env: TestWorkflowEnvironment;
before(async () => {
  tier = await startWorkflowTier();
  env = tier.env;
});
after(async () => tier?.close());

interface WorldOptions {
  recipients?: number;
  pilot: Partial<PilotSpec>;
  /** Recipients whose send fails for good (a 5xx about the recipient). */
  fails?: number[];
  distinctReviewer?: boolean;
  /** recordPilotDecision refuses a continue (the four-eyes rule in the record) while this is true. */
  refuseContinue?: () => boolean;
  /** Each send waits here inside SMTP, when given. */
  smtp?: Gate;
}

function world(o: WorldOptions) {
  const n = o.recipients ?? 10;
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const spec = pilotSchema.parse(o.pilot);
  const pilot = new Set<number>();
  const written: string[] = [];
  /** Every send, in order: each recipient must appear once. */
  const sends: number[] = [];
  const failed = new Set(o.fails ?? []);
  const stubs = stubActivities({
    buildRecipients: () => ({
      total: n,
      sendable: n,
      blocked: 0,
      review: { required: true, expiresAfter: '7 days', distinctReviewer: o.distinctReviewer },
      pilot: { stopIf: spec.stopIf },
    }),
    setCampaignStatus: ({ status }) => void written.push(status),
    choosePilot: () => {
      for (const id of pickPilot(ids, spec)) pilot.add(id);
      return { size: pilot.size, left: n - pilot.size };
    },
    nextRecipients: ({ afterId, limit, pilot: only }) =>
      ids
        .filter((id) => id > afterId && !sends.includes(id) && (only === undefined || pilot.has(id) === only))
        .slice(0, limit)
        .map((id) => ({ id, masked: `r***${id}@example.com` })),
    sendMessage: async ({ recipientId }): Promise<SendResult> => {
      await o.smtp?.pass();
      sends.push(recipientId);
      return failed.has(recipientId)
        ? { outcome: 'failed' }
        : { outcome: 'sent' };
    },
    pilotOutcome: () => {
      const bad = [...pilot].filter((id) => failed.has(id)).length;
      return { size: pilot.size, sent: pilot.size - bad, failed: bad, bounced: 0, pending: 0 };
    },
    recordPilotDecision: ({ action }) => {
      if (action === 'continue' && o.refuseContinue?.()) return { refused: 'four-eyes rule: ann acts for ann, who created it' };
      written.push(action === 'continue' ? 'sending' : 'rejected');
      return {};
    },
    finishCancel: () => {
      written.push('cancelled');
      return 0;
    },
    completeCampaign: () => {
      written.push('completed');
      return { total: n } as never;
    },
  });
  return { stubs, written, sends, pilot };
}

const failureOf = (err: unknown): ApplicationFailure => {
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
};

/** Starts the campaign, approves it and waits until its pilot batch is out. */
async function toPilotSent(queue: string) {
  const handle = await startCampaign(env, queue);
  await untilStatus(handle, 'awaiting_review');
  assert.deepEqual(await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob', requestId: 'r-1' }] }), { status: 'sending' });
  const progress = await untilStatus(handle, 'pilot_sent');
  return { handle, progress };
}

const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

describe('paused while the pilot batch goes out', () => {
  /** Approves, pauses while the pilot's one send is inside SMTP, and waits until the pilot_sent beneath the pause is in the record. */
  async function toPausedPilotSent(queue: string, w: ReturnType<typeof world>, smtp: Gate) {
    const handle = await startCampaign(env, queue);
    await untilStatus(handle, 'awaiting_review');
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
    await until(() => smtp.waiting === 1, 'the pilot send is inside SMTP');
    assert.deepEqual(await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann' }] }), { status: 'paused' });
    smtp.open();
    await until(() => w.stubs.inputs('setCampaignStatus').some((i) => i.pausedIn === 'pilot_sent'), 'pilot_sent beneath the pause, in the record');
    assert.equal((await handle.query(statusQuery)).status, 'paused');
    return handle;
  }
  const beneath = (w: ReturnType<typeof world>) => w.stubs.inputs('setCampaignStatus').map((i) => `${i.status}${i.pausedIn ? `/${i.pausedIn}` : ''}`);

  test('the record keeps the status beneath the pause; a reject ends the campaign rejected, not paused', async () => {
    const smtp = gate();
    const w = world({ pilot: { size: 1 }, smtp });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await toPausedPilotSent(queue, w, smtp);
        assert.deepEqual(await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', note: 'wrong list' }] }), { status: 'rejected' });
        assert.deepEqual(await handle.result(), { status: 'rejected' });
      });
    } finally {
      smtp.open();
    }
    assert.deepEqual(beneath(w), ['awaiting_review', 'sending', 'paused/sending', 'paused/pilot_sent']);
    assert.deepEqual(w.sends, [1], 'only the pilot went out');
    assert.equal(w.stubs.inputs('recordPilotDecision')[0]?.action, 'reject');
  });

  test('a continue beneath the pause is taken and the campaign stays paused; resume sends the rest once each', async () => {
    const smtp = gate();
    const w = world({ pilot: { size: 1 }, smtp });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await toPausedPilotSent(queue, w, smtp);
        assert.deepEqual(await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }), { status: 'paused' });
        assert.deepEqual(w.sends, [1], 'nothing more goes out while paused');
        assert.deepEqual(await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ann' }] }), { status: 'sending' });
        assert.deepEqual(await handle.result(), { status: 'completed' });
      });
    } finally {
      smtp.open();
    }
    assert.deepEqual(sorted(w.sends), Array.from({ length: 10 }, (_, i) => i + 1), 'every recipient once');
    assert.deepEqual(beneath(w).slice(0, 5), ['awaiting_review', 'sending', 'paused/sending', 'paused/pilot_sent', 'sending']);
  });
});

describe('pilot batch', () => {
  test('size: the first N in list order go, the campaign waits at pilot_sent; continue sends the rest once each', async () => {
    const w = world({ pilot: { size: 3 } });
    const result = await tier.run(w.stubs.activities, async (queue) => {
      const { handle, progress } = await toPilotSent(queue);
      assert.deepEqual(sorted(w.sends), [1, 2, 3], 'only the pilot batch was sent');
      assert.deepEqual(progress.pilot, { size: 3, stage: 'pilot' });
      assert.match(progress.reason ?? '', /pilot batch of 3 was sent/);
      assert.deepEqual(await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob', requestId: 'r-2' }] }), { status: 'sending' });
      const again = await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }).catch((e: unknown) => e);
      assert.equal(failureOf(again).type, INVALID_TRANSITION, 'a second continue is refused');
      return handle.result();
    });
    assert.deepEqual(result, { status: 'completed' });
    assert.deepEqual(sorted(w.sends), Array.from({ length: 10 }, (_, i) => i + 1), 'every recipient once');
    assert.equal(new Set(w.sends).size, w.sends.length);
    assert.deepEqual(w.written, ['awaiting_review', 'sending', 'pilot_sent', 'sending', 'completed']);
    const [decision] = w.stubs.inputs('recordPilotDecision');
    assert.equal(decision?.action, 'continue');
    assert.equal(decision?.audit.via, 'update');
    assert.equal(decision?.audit.apiRequest, 'r-2');
  });

  test('share: a share of the list, rounded up, at least one', async () => {
    const w = world({ recipients: 30, pilot: { share: 0.05 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle, progress } = await toPilotSent(queue);
      assert.equal(progress.pilot?.size, 2, '5% of 30 is 1.5: two');
      assert.deepEqual(sorted(w.sends), [1, 2]);
      await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.equal(w.sends.length, 30);
    assert.deepEqual(pickPilot([7, 8, 9], pilotSchema.parse({ share: 0.01 })), [7], 'at least one');
  });

  test('a pilot that takes the whole list completes after it, saying so: nothing is left to continue', async () => {
    for (const pilot of [{ size: 10 }, { size: 25 }, { share: 0.95 }, { size: 10, stopIf: { failedShare: 0.1 } }]) {
      const w = world({ pilot, fails: pilot.stopIf ? [4] : [] });
      const result = await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await untilStatus(handle, 'awaiting_review');
        await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
        const done = await untilStatus(handle, 'completed');
        assert.match(done.reason ?? '', /^the pilot batch of 10 was the whole list \((10|9) sent, (0|1) failed or bounced\); nothing was left to continue$/, JSON.stringify(pilot));
        return handle.result();
      });
      assert.deepEqual(result, { status: 'completed' }, JSON.stringify(pilot));
      assert.deepEqual(sorted(w.sends), Array.from({ length: 10 }, (_, i) => i + 1), 'every recipient once');
      assert.deepEqual(w.written, ['awaiting_review', 'sending', 'completed'], `${JSON.stringify(pilot)}: never at pilot_sent`);
      assert.match(w.stubs.inputs('completeCampaign')[0]?.reason ?? '', /was the whole list/, 'the record says why');
      assert.equal(w.stubs.inputs('recordPilotDecision').length, 0);
    }
  });

  test('random sample: the same seed picks the same recipients, another seed others', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
    const a = pickPilot(ids, pilotSchema.parse({ size: 20, sample: 'random', seed: 42 }));
    assert.deepEqual(pickPilot(ids, pilotSchema.parse({ size: 20, sample: 'random', seed: 42 })), a);
    assert.notDeepEqual(pickPilot(ids, pilotSchema.parse({ size: 20, sample: 'random', seed: 43 })), a);
    assert.equal(new Set(a).size, 20);
    assert.notDeepEqual(a, ids.slice(0, 20), 'not the first ones');
    const w = world({ recipients: 50, pilot: { size: 5, sample: 'random', seed: 7 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      assert.deepEqual(sorted(w.sends), pickPilot(Array.from({ length: 50 }, (_, i) => i + 1), pilotSchema.parse({ size: 5, sample: 'random', seed: 7 })));
      await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.deepEqual(sorted(w.sends), Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test('stopIf: a pilot at the failed share stops with the share as its reason; continue needs force', async () => {
    const w = world({ pilot: { size: 5, stopIf: { failedShare: 0.2 } }, fails: [2] });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle, progress } = await toPilotSent(queue);
      assert.match(progress.reason ?? '', /1 of 5 pilot recipients failed or bounced \(20%\), at least the stopIf share of 20%/);
      const err = await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }).catch((e: unknown) => e);
      const failure = failureOf(err);
      assert.equal(failure.type, INVALID_TRANSITION);
      assert.match(failure.message, /20%.*continue with force/);
      // A Signal without force is ignored as well.
      await handle.signal(continueSignal, { by: 'bob' });
      await untilStatus(handle, 'pilot_sent');
      assert.deepEqual(sorted(w.sends), [1, 2, 3, 4, 5]);
      assert.deepEqual(await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob', force: true }] }), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.equal(w.sends.length, 10);
    assert.match(w.stubs.inputs('recordPilotDecision')[0]?.audit.reason ?? '', /forced/);
  });

  test('below the stopIf share the pilot waits as usual', async () => {
    const w = world({ pilot: { size: 5, stopIf: { failedShare: 0.5 } }, fails: [2] });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle, progress } = await toPilotSent(queue);
      assert.equal(progress.pilot?.stopped, undefined);
      await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
  });

  test('a continue Signal sends the rest, like the Update', async () => {
    const w = world({ pilot: { size: 2 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      await handle.signal(continueSignal, { by: 'ops' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.equal(w.sends.length, 10);
    assert.equal(w.stubs.inputs('recordPilotDecision')[0]?.audit.via, 'signal');
  });

  test('continue is refused before the pilot is out', async () => {
    const w = world({ pilot: { size: 2 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      const err = await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }).catch((e: unknown) => e);
      assert.equal(failureOf(err).type, INVALID_TRANSITION);
      assert.deepEqual(failureOf(err).details, [{ status: 'awaiting_review' }]);
      await handle.executeUpdate(cancelUpdate, { args: [{ by: 'bob' }] });
      await handle.result();
    });
  });
});

describe('ending at pilot_sent', () => {
  test('reject: the campaign ends rejected and nothing more is sent', async () => {
    const w = world({ pilot: { size: 3 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      assert.deepEqual(await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', note: 'wrong link' }] }), { status: 'rejected' });
      assert.deepEqual(await handle.result(), { status: 'rejected' });
      assert.match((await handle.query(statusQuery)).reason ?? '', /rejected after the pilot by bob: wrong link/);
    });
    assert.deepEqual(sorted(w.sends), [1, 2, 3]);
    assert.deepEqual(w.written, ['awaiting_review', 'sending', 'pilot_sent', 'rejected']);
    assert.equal(w.stubs.inputs('recordPilotDecision')[0]?.action, 'reject');
  });

  test('cancel: the campaign ends cancelled and nothing more is sent', async () => {
    const w = world({ pilot: { size: 3 } });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      assert.deepEqual(await handle.executeUpdate(cancelUpdate, { args: [{ by: 'bob' }] }), { status: 'cancelled' });
      assert.deepEqual(await handle.result(), { status: 'cancelled' });
      const err = await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }).catch((e: unknown) => e);
      assert.ok(err instanceof Error, 'a closed campaign takes no continue');
    });
    assert.deepEqual(sorted(w.sends), [1, 2, 3]);
    assert.deepEqual(w.written, ['awaiting_review', 'sending', 'pilot_sent', 'cancelling', 'cancelled']);
  });
});

describe('four eyes on continue', () => {
  test('refused by the record (the creator): the Update fails four-eyes, the campaign still waits; another person continues', async () => {
    let refuse = true;
    const w = world({ pilot: { size: 2 }, refuseContinue: () => refuse });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      const err = await handle.executeUpdate(continueUpdate, { args: [{ by: 'ann' }] }).catch((e: unknown) => e);
      assert.equal(failureOf(err).type, FOUR_EYES_REFUSED);
      await untilStatus(handle, 'pilot_sent');
      assert.deepEqual(sorted(w.sends), [1, 2]);
      refuse = false;
      assert.deepEqual(await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob' }] }), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.deepEqual(w.stubs.inputs('recordPilotDecision').map((d) => d.audit.by), ['ann', 'bob']);
  });

  test('a continue Signal is refused when the campaign needs a distinct reviewer; the refusal is audited', async () => {
    const w = world({ pilot: { size: 2 }, distinctReviewer: true });
    await tier.run(w.stubs.activities, async (queue) => {
      const { handle } = await toPilotSent(queue);
      await handle.signal(continueSignal, { by: 'mallory' });
      await until(() => w.stubs.inputs('setCampaignStatus').some((s) => s.audit?.action === 'continue_refused'), 'the refusal is recorded');
      const progress = await untilStatus(handle, 'pilot_sent');
      assert.match(progress.reason ?? '', /continue signal from "mallory" was refused/);
      assert.deepEqual(w.stubs.order('recordPilotDecision'), []);
      assert.deepEqual(sorted(w.sends), [1, 2]);
      assert.deepEqual(await handle.executeUpdate(continueUpdate, { args: [{ by: 'bob', requestId: 'r-9' }] }), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
  });
});
