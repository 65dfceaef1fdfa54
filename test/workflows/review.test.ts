import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FOUR_EYES_REFUSED, INVALID_TRANSITION } from '../../src/contract/failures.js';
import { approveSignal, approveUpdate, rejectUpdate } from '../../src/contract/messages.js';
import { startCampaign, startWorkflowTier, stubActivities, until, untilStatus, withFreshServer, type ActivityStubs, type WorkflowTier } from '../helpers/workflow-env.js';

// The review gate on the time-skipping server: deadlines are skipped, not waited for.

let tier: WorkflowTier;
let env: TestWorkflowEnvironment;
before(async () => {
  tier = await startWorkflowTier();
  env = tier.env;
});
after(async () => tier?.close());
/** For a test whose clock must skip hours after earlier tests ran delivery children: see FRESH_CLOCK. */
const onFreshServer = (body: () => Promise<void>) => withFreshServer(tier, (t) => void ((tier = t), (env = t.env)), body);

const needsReview = (o: { expiresAfter?: string; distinctReviewer?: boolean } = {}): Partial<ActivityStubs> => ({
  buildRecipients: () => ({ total: 1, sendable: 1, blocked: 0, review: { required: true, expiresAfter: o.expiresAfter ?? '7 days', distinctReviewer: o.distinctReviewer } }),
});

const failureOf = (err: unknown): ApplicationFailure => {
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
};

describe('review', () => {
  test('a campaign nobody reviews expires after its deadline and sends nothing', async () => {
    const stubs = stubActivities(needsReview({ expiresAfter: '3 days' }));
    const wallStart = Date.now();
    const virtualStart = await env.currentTimeMs();
    const result = await tier.run(stubs.activities, async (queue) => (await startCampaign(env, queue)).result());
    assert.deepEqual(result, { status: 'expired' });
    assert.deepEqual(stubs.inputs('expireCampaign').map((i) => i.after), ['3 days']);
    assert.deepEqual(stubs.order('sendMessage', 'nextRecipients'), []);
    const virtualElapsed = (await env.currentTimeMs()) - virtualStart;
    const wallElapsed = Date.now() - wallStart;
    assert.ok(virtualElapsed >= 3 * 24 * 3600_000, 'three days passed on the server');
    // Skipped, not waited: a thousand times faster than the wall clock (a fixed bound in seconds
    // is what a loaded machine's worker start alone can exceed).
    assert.ok(wallElapsed * 1000 < virtualElapsed, `and not on the wall clock (${wallElapsed} ms of wall time)`);
  });

  test('review not required: recorded as such and sent at once', async () => {
    const stubs = stubActivities();
    const result = await tier.run(stubs.activities, async (queue) => (await startCampaign(env, queue)).result());
    assert.deepEqual(result, { status: 'completed' });
    assert.equal(stubs.inputs('recordDecision')[0]?.by, 'review not required');
    assert.deepEqual(stubs.order('recordDecision', 'sendMessage', 'completeCampaign'), ['recordDecision', 'sendMessage', 'completeCampaign']);
  });

  test('approve: the Update answers sending, the decision is recorded and audited, the campaign sends', async () => {
    const stubs = stubActivities(needsReview());
    const result = await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      assert.equal(stubs.inputs('setCampaignStatus').at(-1)?.status, 'awaiting_review');
      assert.deepEqual(await handle.executeUpdate(approveUpdate, { args: [{ by: 'ann', note: 'fine' }] }), { status: 'sending' });
      const again = await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] }).catch((e: unknown) => e);
      assert.equal(failureOf(again).type, INVALID_TRANSITION, 'a second decision is refused');
      return handle.result();
    });
    assert.deepEqual(result, { status: 'completed' });
    const [decision] = stubs.inputs('recordDecision');
    assert.equal(decision?.approved, true);
    assert.equal(decision?.by, 'ann');
    assert.equal(decision?.audit?.action, 'approve');
    assert.equal(decision?.audit?.via, 'update');
    assert.equal(stubs.inputs('sendMessage').length, 1);
  });

  test('reject: the campaign ends rejected and sends nothing', async () => {
    const stubs = stubActivities(needsReview());
    const result = await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      assert.deepEqual(await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ann', note: 'typo' }] }), { status: 'rejected' });
      return handle.result();
    });
    assert.deepEqual(result, { status: 'rejected' });
    assert.equal(stubs.inputs('recordDecision')[0]?.approved, false);
    assert.deepEqual(stubs.order('nextRecipients', 'sendMessage'), []);
  });

  test('an approval decided after the deadline cannot be: the campaign has expired', () => onFreshServer(async () => {
    const stubs = stubActivities(needsReview({ expiresAfter: '1 hour' }));
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      await env.sleep('2 hours');
      await untilStatus(handle, 'expired');
      await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ by: 'ann' }] }));
      assert.deepEqual(await handle.result(), { status: 'expired' });
    });
    assert.deepEqual(stubs.order('recordDecision'), []);
  }));
});

describe('four eyes', () => {
  test('an approve Signal is refused when the campaign needs a distinct reviewer; the refusal is audited', async () => {
    const stubs = stubActivities(needsReview({ distinctReviewer: true }));
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      await handle.signal(approveSignal, { by: 'mallory' });
      await until(() => stubs.inputs('setCampaignStatus').some((s) => s.audit?.action === 'approve_refused'), 'the refusal is recorded');
      const refusal = stubs.inputs('setCampaignStatus');
      const progress = await untilStatus(handle, 'awaiting_review');
      assert.match(progress.reason ?? '', /approve signal from "mallory" was refused: this campaign needs a distinct reviewer/);
      assert.equal(refusal.at(-1)?.audit?.action, 'approve_refused');
      assert.equal(refusal.at(-1)?.audit?.via, 'signal');
      assert.deepEqual(stubs.order('recordDecision'), [], 'nothing was decided');
      // Through the API (an Update) the approver is known, and the campaign goes on.
      assert.deepEqual(await handle.executeUpdate(approveUpdate, { args: [{ by: 'ann', requestId: 'req-1' }] }), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
  });

  test('recordDecision refusing an approval: the Update fails four-eyes, the campaign still awaits review', async () => {
    let refuse = true;
    const stubs = stubActivities({
      ...needsReview(),
      recordDecision: ({ approved }) => (approved && refuse ? { refused: 'four-eyes rule: ann acts for ann, who created this campaign' } : {}),
    });
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      const err = await handle.executeUpdate(approveUpdate, { args: [{ by: 'ann' }] }).catch((e: unknown) => e);
      const failure = failureOf(err);
      assert.equal(failure.type, FOUR_EYES_REFUSED);
      assert.match(failure.message, /four-eyes rule/);
      await untilStatus(handle, 'awaiting_review');
      refuse = false;
      assert.deepEqual(await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] }), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.deepEqual(stubs.inputs('recordDecision').map((d) => d.by), ['ann', 'bob']);
  });

  test('an approve Signal refused by recordDecision leaves the reason where the reviewer looks', async () => {
    const stubs = stubActivities({ ...needsReview(), recordDecision: ({ approved }) => (approved ? { refused: 'four-eyes rule: turned on after the build' } : {}) });
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      await handle.signal(approveSignal, { by: 'mallory' });
      await until(() => stubs.inputs('setCampaignStatus').some((s) => /refused/.test(s.reason ?? '')), 'the refusal is recorded');
      const progress = await untilStatus(handle, 'awaiting_review');
      assert.match(progress.reason ?? '', /approve signal from "mallory" was refused: four-eyes rule: turned on after the build/);
      assert.deepEqual(await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ann' }] }), { status: 'rejected' });
      assert.deepEqual(await handle.result(), { status: 'rejected' });
    });
  });
});
