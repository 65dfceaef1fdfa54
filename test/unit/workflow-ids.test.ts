import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bounceCheckWorkflowId } from '../../src/contract/workflow-ids.js';

test('bounce checks of different mailboxes never share a workflow id', () => {
  const ids = ['a-b/c', 'a/b-c', 'a/b_c', 'a_b/c', 'default'].map((m) => bounceCheckWorkflowId('campaign-mailer', m));
  assert.equal(new Set(ids).size, ids.length, ids.join(', '));
  assert.equal(bounceCheckWorkflowId('campaign-mailer', 'acme/billing'), 'bounce-check:campaign-mailer:acme/billing');
});
