import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEnv, workerEnvSchema } from '../../src/config.js';
import { workerTuning } from '../../src/worker/tuning.js';

const base = { TEMPORAL_ADDRESS: 'localhost:7233', DATABASE_URL: 'postgres://u:p@localhost/db', SMTP_URL: 'smtp://localhost:587' };

test('unset knobs follow from SMTP_MAX_CONNECTIONS', () => {
  // The defaults of SMTP_MAX_CONNECTIONS=3 are the SDK's and the worker's former fixed values.
  assert.deepEqual(workerTuning({ maxConnections: 3 }), { sendSlots: 6, workflowSlots: 40, activitySlots: 50, cachedWorkflows: 500 });
  assert.deepEqual(workerTuning({ maxConnections: 20 }), { sendSlots: 40, workflowSlots: 160, activitySlots: 320, cachedWorkflows: 2000 });
  assert.deepEqual(workerTuning({ maxConnections: 1 }), { sendSlots: 2, workflowSlots: 40, activitySlots: 50, cachedWorkflows: 500 });
});

test('a knob that is set wins; workflow slots never exceed the cache', () => {
  const t = workerTuning({ maxConnections: 3, sendSlots: 10, activitySlots: 7, cachedWorkflows: 30, workflowSlots: 100 });
  assert.deepEqual(t, { sendSlots: 10, workflowSlots: 30, activitySlots: 7, cachedWorkflows: 30 });
  assert.equal(workerTuning({ maxConnections: 3, cachedWorkflows: 0, workflowSlots: 100 }).workflowSlots, 100, 'no cache: no bound');
});

test('the knobs are configuration, checked like every variable', () => {
  const c = parseEnv(workerEnvSchema, { ...base, WORKER_WORKFLOW_SLOTS: '12', WORKER_ACTIVITY_SLOTS: '80', WORKER_CACHED_WORKFLOWS: '0' });
  assert.deepEqual([c.WORKER_WORKFLOW_SLOTS, c.WORKER_ACTIVITY_SLOTS, c.WORKER_CACHED_WORKFLOWS, c.WORKER_SHUTDOWN_GRACE_SECONDS], [12, 80, 0, 60]);
  assert.throws(() => parseEnv(workerEnvSchema, { ...base, WORKER_WORKFLOW_SLOTS: '1' }), /WORKER_WORKFLOW_SLOTS: must be at least 2/);
  assert.throws(() => parseEnv(workerEnvSchema, { ...base, WORKER_ACTIVITY_SLOTS: 'many' }), /WORKER_ACTIVITY_SLOTS: must be a number/);
});
