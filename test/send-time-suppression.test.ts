import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { deliveryWorkflowId } from '../src/contract/workflow-ids.js';

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

test('addresses suppressed during the review (To, Cc or Bcc) are not mailed: those recipients end skipped with the reason', async () => {
  const body = campaignBody(4, { name: 'unsubscribed during review' });
  body.recipients[1] = { ...body.recipients[1]!, cc: ['carol@example.com'] } as (typeof body.recipients)[number];
  body.recipients[2] = { ...body.recipients[2]!, bcc: ['dave@example.com'] } as (typeof body.recipients)[number];
  const id = await createCampaign(h, body);
  await waitForStatus(h, id, 'awaiting_review');
  // At build time nobody was suppressed: every recipient is ready.
  const built = await h.api('GET', `/api/v1/campaigns/${id}/recipients`);
  assert.deepEqual(built.body.items.map((r: { buildStatus: string }) => r.buildStatus), ['ready', 'ready', 'ready', 'ready']);

  // A week of review: meanwhile three people unsubscribe (one by a differently cased address).
  for (const [email, reason] of [['customer1@example.com', 'unsubscribed'], ['carol@example.com', 'complaint'], ['Dave@Example.com', undefined]] as const) {
    const res = await h.api('POST', '/api/v1/suppressions', { email, ...(reason ? { reason } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
  const done = await waitForStatus(h, id, 'completed', 60_000);

  const sent = messagesFor(h, id);
  assert.deepEqual(sent.map((m) => m.to), [['customer4@example.com']], 'only the recipient with no suppressed address was mailed');
  const items: { id: number; email: string; sendStatus: string; error?: string }[] = (await h.api('GET', `/api/v1/campaigns/${id}/recipients`)).body.items;
  assert.deepEqual(items.map((r) => r.sendStatus), ['skipped', 'skipped', 'skipped', 'sent']);
  assert.match(items[0]!.error!, /^suppressed: to customer1@example\.com is on the suppression list \(unsubscribed\)/);
  assert.match(items[1]!.error!, /^suppressed: cc carol@example\.com .*\(complaint\)/);
  assert.match(items[2]!.error!, /^suppressed: bcc dave@example\.com /);
  assert.equal(done.countsByStatus.send.skipped, 3);
  assert.equal(done.counts.sent, 1);
  // The record has the address and the reason; workflow history has neither.
  for (const r of items.slice(0, 3)) {
    const history = await h.client.workflow.getHandle(deliveryWorkflowId(id, r.id)).fetchHistory();
    // Payloads are base64 (or bytes): read them as the text they hold.
    const text = JSON.stringify(history, (k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
    );
    assert.match(text, /outcome\W+skipped/);
    for (const secret of ['customer1@example.com', 'customer2@example.com', 'customer3@example.com', 'carol@example.com', 'dave@example.com', 'unsubscribed', 'complaint']) {
      assert.ok(!text.toLowerCase().includes(secret), `${secret} is not in the history of recipient ${r.id}`);
    }
  }
  const [ledger] = await h.sql`SELECT count(*)::int AS n FROM delivery_ledger WHERE campaign_id = ${id}`;
  assert.equal(ledger!.n, 1, 'no SMTP transaction was even begun for a suppressed recipient');
});
