import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, sentCountsTo, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

// A worker killed while a campaign waits at pilot_sent: nothing more goes out while it is dead or
// when a new worker takes over, and continue then sends each remaining recipient exactly once.

let h: Harness;
let worker: WorkerProcess;
before(async () => {
  h = await startHarness({ inProcessWorker: false });
  worker = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
  await worker.start();
});
after(async () => {
  await worker?.stop();
  await h?.close();
});


test('a worker SIGKILLed at pilot_sent: nothing more is sent, and continue sends each remaining recipient once', async () => {
  const body = campaignBody(8, { pilot: { size: 3 } });
  body.recipients = body.recipients.map((r, i) => ({ ...r, email: `crash-${i + 1}@example.com` }));
  const id = await createCampaign(h, body);
  await waitForStatus(h, id, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
  const waiting = await waitForStatus(h, id, 'pilot_sent');
  assert.equal(waiting.pilot.sent, 3);

  await worker.kill();
  // Dead, then replaced: the new worker replays the campaign to where it waits, and sends nothing.
  await new Promise((r) => setTimeout(r, 2000));
  await worker.start();
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual([...sentCountsTo(h, 'crash').keys()].sort(), ['crash-1@example.com', 'crash-2@example.com', 'crash-3@example.com']);
  assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`)).body.status, 'pilot_sent');

  const cont = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
  assert.equal(cont.status, 200, JSON.stringify(cont.body));
  const done = await waitForStatus(h, id, 'completed', 90_000);
  assert.equal(done.counts.sent, 8);
  const got = sentCountsTo(h, 'crash');
  assert.equal(got.size, 8);
  assert.ok([...got.values()].every((n) => n === 1), `each once: ${JSON.stringify([...got])}`);
});
