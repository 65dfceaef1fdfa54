import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_TRANSITION } from '../../src/contract/failures.js';
import { CampaignState } from '../../src/workflows/campaign-state.js';

// The campaign's state machine alone: no workflow context, no server.

const refused = (fn: () => void, status: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, INVALID_TRANSITION);
    assert.equal(err.nonRetryable, true);
    assert.deepEqual(err.details, [{ status }]);
    return true;
  });

describe('CampaignState', () => {
  test('status: cancel outranks pause, pause outranks the phase', () => {
    const c = new CampaignState('c1', false);
    assert.equal(c.status, 'building');
    c.phase = 'sending';
    c.paused = true;
    assert.equal(c.status, 'paused');
    c.cancelRequested = true;
    assert.equal(c.status, 'cancelled', 'a cancel recorded before honest-cancel reads cancelled at once');
    c.honestCancel = true;
    assert.equal(c.status, 'cancelling');
    c.cancelFinished = true;
    assert.equal(c.status, 'cancelled');
  });

  test('final: the ending phases and any cancel', () => {
    const c = new CampaignState('c1', false);
    for (const phase of ['building', 'awaiting_review', 'scheduled', 'sending'] as const) {
      c.phase = phase;
      assert.equal(c.final, false, phase);
    }
    for (const phase of ['rejected', 'completed', 'failed', 'expired'] as const) {
      c.phase = phase;
      assert.equal(c.final, true, phase);
    }
    c.phase = 'sending';
    c.cancelRequested = true;
    assert.equal(c.final, true);
  });

  test('review: only a campaign awaiting review and not yet decided can be decided', () => {
    const c = new CampaignState('c1', false);
    refused(() => c.assertAwaitingReview(), 'building');
    c.phase = 'awaiting_review';
    c.assertAwaitingReview();
    c.decision = { approved: true, by: 'ann' };
    assert.throws(() => c.assertAwaitingReview(), /already decided/);
    c.decision = undefined;
    c.cancelRequested = true;
    refused(() => c.assertAwaitingReview(), 'cancelled');
  });

  test('pause, resume and cancel are allowed only where the state machine allows them', () => {
    const c = new CampaignState('c1', false);
    refused(() => c.assertCanPause(), 'building');
    c.assertCanCancel();
    c.phase = 'awaiting_review';
    refused(() => c.assertCanPause(), 'awaiting_review');
    for (const phase of ['scheduled', 'sending'] as const) {
      c.phase = phase;
      c.paused = false;
      c.assertCanPause();
      refused(() => c.assertCanResume(), phase);
      c.paused = true;
      refused(() => c.assertCanPause(), 'paused');
      c.assertCanResume();
      c.assertCanCancel();
    }
    c.cancelRequested = true;
    refused(() => c.assertCanCancel(), 'cancelled');
    refused(() => c.assertCanResume(), 'cancelled');
    const done = new CampaignState('c2', false);
    done.phase = 'completed';
    refused(() => done.assertCanCancel(), 'completed');
  });

  test('carryOver restores the same fan-out in the next run', () => {
    const c = new CampaignState('c1', true);
    Object.assign(c, { phase: 'sending', paused: true, reason: 'paused by ann', cursor: 1234, copiesPending: 3, started: 1000, finished: 990 });
    c.recipients = { total: 5000, sendable: 4900, blocked: 100 };
    c.inFlight = new Set([1230, 1234]);
    const next = new CampaignState('c1', true, structuredClone(c.carryOver()));
    assert.deepEqual(next.progress(), c.progress());
    assert.deepEqual([...next.inFlight], [1230, 1234]);
    assert.equal(next.cursor, 1234);
    assert.equal(next.decisionRecorded, true, 'a continued run never waits for review again');
    assert.equal(next.resumes, 0);
    c.resumes = 2;
    assert.equal(new CampaignState('c1', true, structuredClone(c.carryOver())).resumes, 2, 'a send\'s stale pause is still known for stale after continue-as-new');
  });

  test('details: the status, the reason, the counts and a progress bar', () => {
    const c = new CampaignState('c1', false);
    assert.match(c.details(), /^\*\*building\*\*\n\nBuilding and checking the recipient list\.$/);
    Object.assign(c, { phase: 'sending', started: 10, finished: 5, reason: 'resumed by ann' });
    c.recipients = { total: 12, sendable: 10, blocked: 2 };
    c.inFlight = new Set([6, 7, 8, 9, 10]);
    const details = c.details();
    assert.match(details, /^\*\*sending\*\* — resumed by ann/);
    assert.match(details, /Recipients: 12 in the list, 10 ready to send, 2 blocked\./);
    assert.match(details, /`█{10}░{10}` 50% — 5 of 10 done/);
    assert.match(details, /In flight: 5\./);
  });

  test('progress is what the status query answers', () => {
    const c = new CampaignState('c1', false);
    c.phase = 'scheduled';
    c.startAt = '2030-01-01T09:00:00.000Z';
    assert.deepEqual(c.progress(), {
      campaignId: 'c1',
      status: 'scheduled',
      reason: undefined,
      recipients: { total: 0, sendable: 0, blocked: 0 },
      delivery: { started: 0, finished: 0, inFlight: 0, copiesPending: 0 },
      startAt: '2030-01-01T09:00:00.000Z',
    });
  });
});
