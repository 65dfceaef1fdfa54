import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

let h: Harness;
let worker: WorkerProcess;
before(async () => {
  // 120 a minute: slow enough that three kill cycles land mid-campaign however fast the machine is.
  h = await startHarness({ inProcessWorker: false, env: { SMTP_MESSAGES_PER_MINUTE: '120' } });
  worker = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
  await worker.start();
});
after(async () => {
  await worker?.stop();
  await h?.close();
});

test('a worker SIGKILLed three times mid-campaign: every recipient gets exactly one message and one Sent copy', async () => {
  const n = 60;
  const id = await createCampaign(h, campaignBody(n));
  await approve(h, id);
  for (let kill = 1; kill <= 3; kill++) {
    const before = messagesFor(h, id).length;
    await eventually(async () => messagesFor(h, id).length >= before + 8, 90_000, `progress before kill ${kill}`);
    // SMTP cannot close the window between the end of DATA and the server's reply (see the
    // DELIVERY_UNKNOWN_POLICY test); these kills land anywhere else: mid-throttle, mid-IMAP,
    // mid-workflow-task, mid-Postgres-write.
    await eventually(async () => {
      const [row] = await h.sql`SELECT count(*)::int AS n FROM delivery_ledger WHERE campaign_id = ${id} AND state = 'sending'`;
      return row!.n === 0;
    }, 10_000, 'a moment outside an SMTP transaction');
    await worker.kill();
    const atKill = messagesFor(h, id).length;
    assert.ok(atKill < n, `kill ${kill} happened mid-campaign (${atKill}/${n} sent)`);
    await worker.start();
  }
  const done = await waitForStatus(h, id, 'completed', 180_000);
  assert.deepEqual(done.counts, { total: n, pending: 0, sent: n, failed: 0, appended: n });
  assertOncePerRecipient(h, id, n);
  const copies = (await h.sentFolder()).filter((c) => c.messageId.includes(id));
  assert.equal(copies.length, n, 'Sent copies in total');
  assert.equal(new Set(copies.map((c) => c.messageId)).size, n, 'distinct Sent copies');
});
