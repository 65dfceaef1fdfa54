import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, eventually, startHarness, type Harness } from './helpers/harness.js';
import { scrapeMetrics, untilSteady } from './helpers/metrics.js';

// GET /metrics of a worker and API that really sent a campaign (real Temporal, Postgres, SMTP
// sink, Dovecot): the counters say what happened, and no label carries an ID, address or secret.

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const scrape = () => scrapeMetrics(h.metricsUrl);

test('the counters follow a campaign with one refused recipient, and carry nothing private', async () => {
  h.sink.faults.rcpt = (address) => (address === 'customer2@example.com' ? { code: 550, message: '5.1.1 no such user' } : undefined);
  const id = await createCampaign(h, campaignBody(4));
  await approve(h, id);
  await waitForStatus(h, id, 'completed');
  await eventually(async () => (await scrape()).value('campaign_mailer_sent_copies_total') === 3 || undefined, 30_000, 'three Sent copies counted');

  const m = await scrape();
  const account = { account: 'default/default' };
  assert.equal(m.value('campaign_mailer_recipients_built_total', { status: 'ready' }), 4);
  assert.equal(m.value('campaign_mailer_smtp_transactions_total', { ...account, outcome: 'sent' }), 3);
  assert.equal(m.value('campaign_mailer_smtp_transactions_total', { ...account, outcome: 'refused' }), 1);
  assert.equal(m.value('campaign_mailer_smtp_transaction_seconds_count', account), 4);
  assert.equal(m.value('campaign_mailer_sent_copies_total', { ...account, outcome: 'appended' }), 3);
  assert.equal(m.value('campaign_mailer_throttle_wait_seconds_count', account), 4);
  // API requests by route pattern and status
  assert.equal(m.value('campaign_mailer_http_request_seconds_count', { method: 'POST', route: '/api/v1/campaigns', status: '201' }), 1);
  assert.equal(m.value('campaign_mailer_http_request_seconds_count', { method: 'POST', route: '/api/v1/campaigns/:id/approve', status: '200' }), 1);
  assert.ok(m.value('campaign_mailer_http_request_seconds_count', { method: 'GET', route: '/api/v1/campaigns/:id', status: '200' }) >= 1);
  assert.ok(m.value('process_cpu_user_seconds_total') > 0, 'the process figures are there too');

  for (const privateText of [id, 'customer1@example.com', API_KEY, 'test-imap-password', h.imapUser]) {
    assert.ok(!m.text.includes(privateText), `the metrics do not contain ${privateText}`);
  }
  h.sink.faults = {};
});

test('an unknown path on the metrics port is a 404', async () => {
  const res = await fetch(h.metricsUrl.replace(/\/metrics$/, '/other'));
  assert.equal(res.status, 404);
});

test('a build whose database writes are held reads only a few batches ahead, then completes the exact list', async () => {
  // The recipients table is locked against writes (a slow or busy database): the build reads and
  // renders its list only a little way past the batch it cannot write, instead of holding the
  // whole list in memory; once the lock goes, every entry is written once, in list order.
  const n = 6000;
  const waiting = async () => (await scrape()).value('campaign_mailer_build_rows_waiting');
  let id = '';
  const seen: number[] = [];
  await h.sql.begin(async (tx) => {
    await tx`LOCK TABLE recipients IN EXCLUSIVE MODE`;
    id = await createCampaign(h, campaignBody(n));
    // Until the reading has stopped: the same figure for two seconds, once the first batch waits.
    seen.push(...(await untilSteady(waiting)));
  });
  const most = Math.max(...seen);
  assert.ok(most >= 500, `the build read its list while the writes were held (at most ${most} entries waiting)`);
  assert.ok(most <= 2500, `at most four batches and the one just read wait for the held write, not the list of ${n} (${most})`);

  const built = await waitForStatus(h, id, 'awaiting_review', 60_000);
  assert.equal(built.counts.total, n);
  const rows = await h.sql<{ id: number; email: string }[]>`SELECT id, email FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
  assert.equal(rows.length, n);
  assert.ok(rows.every((r, i) => r.id === i + 1 && r.email === `customer${i + 1}@example.com`), 'every entry once, in list order');
  await eventually(async () => (await waiting()) === 0 || undefined, 10_000, 'nothing left waiting once the build is done');
});
