import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { QueueCounts } from '../../src/api/campaign-plan.js';
import { startFastApp, type FastApp } from '../helpers/fast-app.js';

// The expected schedule plans a campaign behind what its account is sending. The other campaigns'
// lists are counted once for every reader within a few seconds, never once per GET; a campaign's
// own remaining messages and the set of campaigns ahead are always read fresh.

let f: FastApp;
before(async () => {
  // The default account at 60 a minute: 120 queued messages are two minutes of sending.
  f = await startFastApp({ defaultAccountLimits: { messagesPerMinute: 60 } });
});
after(async () => {
  await f?.close();
});

async function campaign(n: number): Promise<string> {
  const res = await f.api('POST', '/api/v1/campaigns', {
    name: `Queue ${n}`,
    from: 'Acme <billing@acme.test>',
    subject: 'Hello {{ name }}',
    text: 'Dear {{ name }}',
    recipients: [{ email: 'someone@example.com' }],
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.id as string;
  await f.sql`INSERT INTO recipients (campaign_id, id, email, build_status)
    SELECT ${id}, g, 'r' || g || '@example.com', 'ready' FROM generate_series(1, ${n}::int) g`;
  return id;
}

async function startOf(id: string): Promise<number> {
  const res = await f.api('GET', `/api/v1/campaigns/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.ok(res.body.schedule, `a schedule for a campaign in ${res.body.status}`);
  return Date.parse(res.body.schedule.start);
}

test('a campaign awaiting review is planned behind what its account is sending, and not once the other is done', async () => {
  const ahead = await campaign(120);
  await f.sql`UPDATE campaigns SET status = 'sending', decided_at = now() WHERE id = ${ahead}`;
  const behind = await campaign(3);
  await f.sql`UPDATE campaigns SET status = 'awaiting_review' WHERE id = ${behind}`;

  const queued = await startOf(behind);
  assert.ok(queued - Date.now() > 100_000, `starts ${Math.round((queued - Date.now()) / 1000)} s from now, after the 120 queued at 60/min`);

  // The campaign ahead completes: the next read plans the other at once (the set ahead is read fresh).
  await f.sql`UPDATE recipients SET send_status = 'sent' WHERE campaign_id = ${ahead}`;
  await f.sql`UPDATE campaigns SET status = 'completed' WHERE id = ${ahead}`;
  const alone = await startOf(behind);
  assert.ok(alone - Date.now() < 5_000, `starts ${Math.round((alone - Date.now()) / 1000)} s from now with nothing ahead`);
});

test("the other campaigns' lists are counted once for many readers, then again once the reuse time is over", async () => {
  const a = await campaign(10);
  const b = await campaign(20);
  const counts = new QueueCounts(1_000);
  assert.equal(await counts.remaining(f.sql, [a, b]), 30);
  await f.sql`UPDATE recipients SET send_status = 'sent' WHERE campaign_id = ${a} AND id <= 4`;
  // Read again at once: the count is reused (never more than was really left).
  assert.equal(await counts.remaining(f.sql, [a, b]), 30);
  assert.equal(counts.counted, 1);
  // A campaign not counted yet is counted alone, in one statement.
  const c = await campaign(5);
  assert.equal(await counts.remaining(f.sql, [a, b, c]), 35);
  assert.equal(counts.counted, 2);
  // After the reuse time the lists are counted again.
  await new Promise((r) => setTimeout(r, 1_100));
  assert.equal(await counts.remaining(f.sql, [a, b, c]), 31);
  assert.equal(counts.counted, 3);
});
