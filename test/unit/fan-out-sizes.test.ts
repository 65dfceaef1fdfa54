import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fanOutSizes } from '../../src/workflows/fan-out-sizes.js';

// The campaign workflow's fan-out sizes (src/workflows/campaign.ts reads them here). The fan-out
// test (test/workflows/fan-out.test.ts) runs with smaller ones; these are the sizes a campaign the
// API starts gets, and the bounds that keep any input within Temporal's limits.

test('a campaign started without sizes (as the API and every recorded history start it) keeps 100 at once and 1,000 starts a run', () => {
  assert.deepEqual(fanOutSizes({}), { window: 100, startsPerRun: 1000 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: undefined, startsPerRun: undefined }), { window: 100, startsPerRun: 1000 });
});

test('sizes within bounds are used as given', () => {
  assert.deepEqual(fanOutSizes({ fanOutWindow: 10, startsPerRun: 100 }), { window: 10, startsPerRun: 100 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: 1, startsPerRun: 1 }), { window: 1, startsPerRun: 1 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: 100, startsPerRun: 1000 }), { window: 100, startsPerRun: 1000 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: 10 }), { window: 10, startsPerRun: 1000 });
  assert.deepEqual(fanOutSizes({ startsPerRun: 500 }), { window: 100, startsPerRun: 500 });
});

test('out-of-bounds sizes are clamped: a window of 1 to 100, whole, and from the window to 1,000 starts a run', () => {
  assert.deepEqual(fanOutSizes({ fanOutWindow: 5000, startsPerRun: 1_000_000 }), { window: 100, startsPerRun: 1000 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: 0, startsPerRun: 0 }), { window: 1, startsPerRun: 1 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: -3, startsPerRun: -3 }), { window: 1, startsPerRun: 1 });
  assert.deepEqual(fanOutSizes({ fanOutWindow: 10.7, startsPerRun: 99.9 }), { window: 10, startsPerRun: 99 });
  // Fewer starts a run than the window would leave a run unable to fill it.
  assert.deepEqual(fanOutSizes({ fanOutWindow: 50, startsPerRun: 20 }), { window: 50, startsPerRun: 50 });
  assert.deepEqual(fanOutSizes({ startsPerRun: 20 }), { window: 100, startsPerRun: 100 });
});

test('unreadable sizes (not a finite number) are the defaults', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '10', null, true, {}]) {
    assert.deepEqual(fanOutSizes({ fanOutWindow: bad, startsPerRun: bad }), { window: 100, startsPerRun: 1000 }, String(bad));
  }
});

test('clamped sizes clamp to themselves, so every run of a continue-as-new chain uses the same', () => {
  for (const input of [{}, { fanOutWindow: 10, startsPerRun: 100 }, { fanOutWindow: 0, startsPerRun: 5000 }, { fanOutWindow: 7.5, startsPerRun: 3 }]) {
    const once = fanOutSizes(input);
    assert.deepEqual(fanOutSizes({ fanOutWindow: once.window, startsPerRun: once.startsPerRun }), once);
  }
});
