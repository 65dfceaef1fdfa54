import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker/create.js';
import { loadRecordedHistories } from './helpers/histories.js';

// Campaigns live for days, so today's workflow code meets histories written by earlier releases.
// Every history kept under test/histories must replay without a non-determinism error.
test('recorded histories of released workflow shapes replay on the current code', async () => {
  const histories = await loadRecordedHistories();
  assert.ok(histories.some((h) => h.workflowId.endsWith('-campaign.binpb')), 'a campaign history is recorded');
  assert.ok(histories.some((h) => h.workflowId.endsWith('-delivery.binpb')), 'a delivery history is recorded');
  const options = process.env.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(options, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${result.error}`);
    replayed++;
  }
  assert.equal(replayed, histories.length);
});
