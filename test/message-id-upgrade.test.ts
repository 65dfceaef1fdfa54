import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// A message attempted before Message-IDs carried a MAC keeps the id its ledger row holds: its retry
// sends under that id, the ledger keeps one row for it, and its Sent copy (rebuilt byte for byte
// and deduplicated by Message-ID) is filed. New messages carry the MAC.

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('a message first attempted under an old-format Message-ID keeps it through its retry and its Sent copy', async () => {
  const id = await createCampaign(h, campaignBody(2, { name: 'id upgrade' }));
  await waitForStatus(h, id, 'awaiting_review');
  const oldId = `<${id}.1.v1@acme.test>`;
  // As an attempt before the upgrade left it: the SMTP server refused it for now (a 4xx), to be retried.
  await h.sql`
    INSERT INTO delivery_ledger (message_id, campaign_id, recipient_id, state, message_date, smtp_response, account, finished_at)
    SELECT ${oldId}, id, 1, 'failed', COALESCE(message_date, date_trunc('second', now())), '451 4.3.0 try later', account, now()
    FROM campaigns WHERE id = ${id}`;
  await h.sql`UPDATE recipients SET message_id = ${oldId} WHERE campaign_id = ${id} AND id = 1`;

  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
  const done = await waitForStatus(h, id, 'completed', 90_000);
  assert.deepEqual([done.counts.sent, done.counts.appended], [2, 2], 'both sent, both copies filed');

  const sent = messagesFor(h, id).map((m) => m.messageId).sort();
  assert.equal(sent.length, 2);
  assert.ok(sent.includes(oldId), `the retried message keeps its id: ${sent.join(', ')}`);
  const fresh = sent.find((m) => m !== oldId)!;
  assert.match(fresh, new RegExp(`^<${id}\\.2\\.v1\\.[a-z2-7]{24}@acme\\.test>$`), 'a new message carries the MAC');
  const ledger = await h.sql<{ recipientId: number; messageId: string; state: string }[]>`
    SELECT recipient_id, message_id, state FROM delivery_ledger WHERE campaign_id = ${id} ORDER BY recipient_id`;
  assert.deepEqual(ledger.map((r) => [r.recipientId, r.messageId, r.state]), [[1, oldId, 'sent'], [2, fresh, 'sent']]);
});
