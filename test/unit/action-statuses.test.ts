import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTION_STATUSES, allows, CAMPAIGN_STATUSES, type CampaignAction } from '../../src/contract/statuses.js';
import { CampaignState, type Phase } from '../../src/workflows/campaign-state.js';

// ACTION_STATUSES is the one rule of which status allows which action: the workflow's validators
// read it, so the console's buttons (which read it too) offer exactly what the workflow accepts.

const PHASES: Phase[] = ['building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'pilot_sent', 'completed', 'failed', 'expired'];
const VALIDATORS: Record<Exclude<CampaignAction, 'testSend'>, (c: CampaignState) => void> = {
  approve: (c) => c.assertAwaitingReview(),
  reject: (c) => c.assertCanReject(),
  continue: (c) => c.assertCanContinue(),
  pause: (c) => c.assertCanPause(),
  resume: (c) => c.assertCanResume(),
  cancel: (c) => c.assertCanCancel(),
};
const accepts = (validate: (c: CampaignState) => void, c: CampaignState) => {
  try {
    validate(c);
    return true;
  } catch {
    return false;
  }
};
/** Every state the validators can meet with no decision under way: each phase, paused or not, cancelled or not. */
function* states(): Generator<CampaignState> {
  for (const phase of PHASES) {
    for (const paused of [false, true]) {
      for (const cancel of ['none', 'cancelling', 'cancelled'] as const) {
        const c = new CampaignState('c1', false);
        c.phase = phase;
        c.paused = paused;
        c.cancelRequested = cancel !== 'none';
        c.honestCancel = cancel === 'cancelling';
        yield c;
      }
    }
  }
}

test('the statuses of each action are campaign statuses, and reject is approve\'s and continue\'s', () => {
  for (const list of Object.values(ACTION_STATUSES)) for (const s of list) assert.ok(CAMPAIGN_STATUSES.includes(s), s);
  assert.deepEqual([...ACTION_STATUSES.reject].sort(), [...ACTION_STATUSES.approve, ...ACTION_STATUSES.continue].sort());
  assert.deepEqual(ACTION_STATUSES.cancel, ['building', 'awaiting_review', 'scheduled', 'sending', 'paused', 'pilot_sent']);
  assert.deepEqual(ACTION_STATUSES.testSend, ['awaiting_review']);
});

test('a campaign not paused: the workflow accepts an action exactly in the statuses the rule gives it', () => {
  for (const c of states()) {
    if (c.paused) continue;
    for (const [action, validate] of Object.entries(VALIDATORS)) {
      assert.equal(accepts(validate, c), allows(action as CampaignAction, c.status), `${action} at ${c.status} (phase ${c.phase})`);
    }
  }
});

test('a paused campaign: resume and cancel as the rule says of paused; a review or a pilot\'s answer as of the status beneath the pause', () => {
  for (const c of states()) {
    if (!c.paused || c.cancelRequested) continue;
    assert.equal(c.status, 'paused');
    assert.equal(accepts(VALIDATORS.resume, c), true, c.phase);
    assert.equal(accepts(VALIDATORS.pause, c), false, c.phase);
    // Cancel: allowed at paused, unless the campaign ended beneath the pause (histories before completed-not-paused).
    assert.equal(accepts(VALIDATORS.cancel, c), allows('cancel', c.phase), c.phase);
    for (const action of ['approve', 'reject', 'continue'] as const) {
      assert.equal(accepts(VALIDATORS[action], c), allows(action, c.phase), `${action} paused at ${c.phase}`);
    }
  }
});
