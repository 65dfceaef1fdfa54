import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { campaignWorkflowId } from '../src/contract/workflow-ids.js';
import { approveUpdate, cancelUpdate, pauseUpdate, rejectUpdate, resumeUpdate } from '../src/contract/messages.js';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Every decision is audited from the workflow's side, whichever way it came: through REST (one
// row, under the caller the API authenticated), or as an Update sent straight to Temporal with
// @temporalio/client (a row under `update:<what the sender wrote>`, never under a key's name).

let h: Harness;

before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

async function audit(id: string) {
  const res = await h.api('GET', `/api/v1/audit?campaign=${id}&limit=100`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.items as { action: string; principal: string; details: Record<string, unknown> }[]).reverse();
}

test('an approve Update sent straight to Temporal writes an audit row', async () => {
  const id = await createCampaign(h, campaignBody(1));
  await waitForStatus(h, id, 'awaiting_review');
  const answer = await h.client.workflow.getHandle(campaignWorkflowId(id)).executeUpdate(approveUpdate, { args: [{ by: 'ops-console', note: 'checked by phone' }] });
  assert.equal(answer.status, 'sending');
  await waitForStatus(h, id, 'completed');
  const rows = await audit(id);
  assert.deepEqual(rows.map((r) => `${r.action} ${r.principal}`), ['campaign.create admin', 'campaign.approve update:ops-console']);
  assert.equal(rows[1]!.details.via, 'temporal-update');
  assert.equal(rows[1]!.details.note, 'checked by phone');
});

test('a request id the API never issued does not make a direct Update look like a REST call', async () => {
  const id = await createCampaign(h, campaignBody(1));
  await waitForStatus(h, id, 'awaiting_review');
  await h.client.workflow.getHandle(campaignWorkflowId(id)).executeUpdate(rejectUpdate, { args: [{ by: 'admin', requestId: randomUUID() }] });
  await waitForStatus(h, id, 'rejected');
  const rows = await audit(id);
  assert.deepEqual(rows.map((r) => `${r.action} ${r.principal}`), ['campaign.create admin', 'campaign.reject update:admin']);
  assert.equal(rows[1]!.details.via, 'temporal-update');
});

test('pause, resume and cancel Updates sent straight to Temporal are audited too', async () => {
  const id = await createCampaign(h, campaignBody(20, { throttle: { messagesPerMinute: 30 } }));
  await waitForStatus(h, id, 'awaiting_review');
  const handle = h.client.workflow.getHandle(campaignWorkflowId(id));
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, { note: 'fine' })).status, 200);
  assert.equal((await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ops', reason: 'complaint' }] })).status, 'paused');
  assert.equal((await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ops' }] })).status, 'sending');
  // `cancelling` while a send already inside SMTP finishes, then `cancelled`.
  const cancelled = (await handle.executeUpdate(cancelUpdate, { args: [{ by: 'ops', reason: 'enough' }] })).status;
  assert.ok(['cancelling', 'cancelled'].includes(cancelled), cancelled);
  await waitForStatus(h, id, 'cancelled');
  const rows = await audit(id);
  assert.deepEqual(rows.map((r) => `${r.action} ${r.principal}`), [
    'campaign.create admin',
    'campaign.approve admin',
    'campaign.pause update:ops',
    'campaign.resume update:ops',
    'campaign.cancel update:ops',
  ]);
  assert.equal(rows[1]!.details.via, 'api', 'the REST approval is one row, written by the workflow side under the API caller');
  assert.equal(rows[1]!.details.note, 'fine');
  assert.equal(rows[2]!.details.reason, 'complaint');
});

test('a REST decision is exactly one row under its caller', async () => {
  const id = await createCampaign(h, campaignBody(2));
  await waitForStatus(h, id, 'awaiting_review');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/reject`, { note: 'wrong list' })).status, 200);
  const rows = await audit(id);
  assert.deepEqual(rows.map((r) => `${r.action} ${r.principal}`), ['campaign.create admin', 'campaign.reject admin']);
  assert.equal(rows[1]!.details.via, 'api');
  assert.equal(rows[1]!.details.note, 'wrong list');
  assert.equal(rows[1]!.details.status, 'rejected');
});
