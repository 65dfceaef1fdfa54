import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { approve, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

// The one window SMTP cannot close: the server has the whole message, the worker dies before it
// reads the reply. The ledger shows `sending`; DELIVERY_UNKNOWN_POLICY decides what a retry does.
const harnesses: Harness[] = [];
const workers: WorkerProcess[] = [];
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  for (const h of harnesses) await h.close();
});

async function crashAfterData(policy: 'hold' | 'resend') {
  const h = await startHarness({ inProcessWorker: false, imap: false, env: { DELIVERY_UNKNOWN_POLICY: policy, SMTP_MAX_CONNECTIONS: '1' } });
  harnesses.push(h);
  const worker = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
  workers.push(worker);
  await worker.start();
  const id = await createCampaign(h, campaignBody(4));
  let victim: string | undefined;
  h.sink.faults.data = (m) => {
    if (!victim && m.to.includes('customer2@example.com')) {
      victim = m.messageId;
      worker.killNow(); // the server keeps the message; the worker never hears the 250
    }
    return undefined;
  };
  await approve(h, id);
  await eventually(async () => victim !== undefined && worker.exited, 30_000, 'the crash after DATA');
  await worker.start();
  const done = await waitForStatus(h, id, 'completed', 120_000);
  const copies = messagesFor(h, id).filter((m) => m.messageId === victim).length;
  const others = messagesFor(h, id).filter((m) => m.messageId !== victim);
  assert.equal(new Set(others.map((m) => m.messageId)).size, 3);
  assert.equal(others.length, 3, 'the other recipients once each');
  const [row] = await h.sql`SELECT send_status, error FROM recipients WHERE campaign_id = ${id} AND id = 2`;
  const [ledger] = await h.sql`SELECT state, attempts FROM delivery_ledger WHERE campaign_id = ${id} AND recipient_id = 2`;
  return { done, copies, row: row!, ledger: ledger! };
}

test('policy hold: the message is not sent again, and the recipient says why', async () => {
  const { done, copies, row, ledger } = await crashAfterData('hold');
  assert.equal(copies, 1, 'the server got it once');
  assert.equal(row.sendStatus, 'failed');
  assert.match(row.error, /delivery outcome unknown: .*not resent \(DELIVERY_UNKNOWN_POLICY=hold\)/);
  assert.equal(ledger.state, 'unknown');
  assert.deepEqual([done.counts.sent, done.counts.failed], [3, 1]);
});

test('policy resend (the default): the message is sent again, so the server has it twice', async () => {
  const { done, copies, row, ledger } = await crashAfterData('resend');
  assert.equal(copies, 2, 'the documented risk of resend: one duplicate');
  assert.equal(row.sendStatus, 'sent');
  assert.deepEqual([ledger.state, ledger.attempts], ['sent', 2]);
  assert.equal(done.counts.sent, 4);
});
