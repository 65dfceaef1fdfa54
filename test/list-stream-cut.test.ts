import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { CuttingProxy } from './helpers/faulty-s3.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { scrapeMetrics, untilSteady } from './helpers/metrics.js';

// A recipient list whose S3 connection is reset part-way: the build fails that attempt with a
// retryable error, the worker (this very process) keeps running and sending other campaigns, and
// the retry resumes and ends with the exact list. And an attachment folder whose listing stalls:
// the build reads on meanwhile, then writes the exact list.

let h: Harness;
let proxy: CuttingProxy;
before(async () => {
  const s3 = new URL(process.env.CM_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:1');
  proxy = await CuttingProxy.start(Number(s3.port));
  h = await startHarness({ imap: false, env: { S3_ENDPOINT: proxy.endpoint } });
});
after(async () => {
  await h?.close();
  await proxy?.close();
});

// Long enough that every cut below (60-150 KB) falls inside the list: the CSV is about 175 KB,
// the JSON documents about 340 KB.
const N = 4000;
const { recipients: _inline, ...definition } = campaignBody(0);

async function listRows(id: string) {
  return h.sql<{ id: number; email: string; vars: Record<string, unknown>; updatedAt: Date }[]>`
    SELECT id, email, vars, updated_at FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
}

function assertExactList(rows: { id: number; email: string; vars: Record<string, unknown> }[]) {
  assert.equal(rows.length, N, 'one row per list entry');
  rows.forEach((r, i) => {
    assert.equal(r.id, i + 1);
    assert.equal(r.email, `customer${i + 1}@example.com`);
    assert.equal(String(r.vars.balance), String((i + 1) * 10));
  });
}

test('a CSV list cut part-way twice is retried and resumed to the exact list while another campaign keeps sending', async () => {
  const csv = ['email,name,balance', ...Array.from({ length: N }, (_, i) => `customer${i + 1}@example.com,Customer ${i + 1},${(i + 1) * 10}`)].join('\n');
  await h.putObject('lists/big.csv', csv);

  // The first attempt's answer stops after ~60 KB (about 1,300 rows) until we cut it; the second
  // attempt's is reset at ~120 KB straight away; the third reads to the end.
  const firstHeld = proxy.holdAt(60_000);
  const secondCut = proxy.cutAt(120_000);
  const id = await createCampaign(h, { ...definition, recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/big.csv' } } });

  // Meanwhile another campaign on the same worker sends.
  const other = await createCampaign(h, campaignBody(20));
  await approve(h, other);

  const held = await firstHeld;
  await eventually(async () => (await listRows(id)).length >= 1000, 60_000, 'the first attempt to write its whole batches');
  const writtenBeforeCut = (await listRows(id)).length;
  held.cut();
  await secondCut;

  const built = await waitForStatus(h, id, 'awaiting_review', 120_000);
  assert.equal(built.counts.total, N);
  const rows = await listRows(id);
  assertExactList(rows);
  // The rows written before the cut were kept, not deleted and built again.
  const cutAt = proxy.cutTimes[0]!;
  assert.ok(writtenBeforeCut >= 1000, `${writtenBeforeCut} rows before the cut`);
  assert.equal(rows.filter((r) => r.updatedAt.getTime() < cutAt).length, writtenBeforeCut, 'rows from before the cut are the same rows');
  assert.equal(proxy.cutTimes.length, 2, 'both connections were cut');

  // The build failed twice and was retried: the workflow history shows three attempts.
  const history = await h.client.workflow.getHandle(`campaign-${id}`).fetchHistory();
  const buildEvent = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildRecipients')!;
  const started = history.events!.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(buildEvent.eventId))!;
  assert.equal(started.activityTaskStartedEventAttributes!.attempt, 3, 'the build took three attempts');
  const failure = started.activityTaskStartedEventAttributes!.lastFailure?.message ?? '';
  assert.match(failure, /failed part-way/, 'the last failure is a read error, not a list error');

  // The worker runs in this process: an uncaught stream error would have ended it (and this test).
  assert.equal(h.worker?.getState(), 'RUNNING');
  const done = await waitForStatus(h, other, 'completed', 90_000);
  assert.equal(done.counts.sent, 20);
  assertOncePerRecipient(h, other, 20);
});

test('a JSON document and a JSON Lines list cut part-way end with the exact list', async () => {
  const entries = Array.from({ length: N }, (_, i) => ({ email: `customer${i + 1}@example.com`, name: `Customer ${i + 1}`, vars: { balance: (i + 1) * 10 } }));
  await h.putObject('lists/big.json', JSON.stringify({ recipients: entries }));
  await h.putObject('lists/big.jsonl', entries.map((e) => JSON.stringify(e)).join('\n'));
  for (const key of ['lists/big.json', 'lists/big.jsonl']) {
    const cut = proxy.cutAt(150_000);
    const id = await createCampaign(h, { ...definition, recipientsFrom: { s3: { bucket: h.bucket, key } } });
    await cut;
    await waitForStatus(h, id, 'awaiting_review', 120_000);
    assertExactList(await listRows(id));
  }
});

test('while an attachment folder is being listed the build reads on past it, then writes the exact list', async () => {
  // The folder's listing is held (a slow or stalled S3): the batches wait for their attachments,
  // and meanwhile the build reads and renders the rest of the list (far past the few batches it
  // reads ahead of a slow database) instead of waiting; once the listing answers, every entry is
  // written once, in list order, with what the listing says about its attachment.
  const n = 6000;
  for (let i = 1; i <= 3; i++) await h.putObject(`statements/C${i}.pdf`, `statement ${i}`);
  const body = campaignBody(n, { attachments: [{ bucket: h.bucket, key: 'statements/{{ customerId }}.pdf' }] });
  body.recipients.forEach((r, i) => Object.assign(r.vars, { customerId: `C${i + 1}` }));
  // A list this long has its folder listed at the first look-up: the build's first S3 request.
  const listing = proxy.holdAt(100);
  const id = await createCampaign(h, body);
  const held = await listing;
  const waiting = async () => (await scrapeMetrics(h.metricsUrl)).value('campaign_mailer_build_rows_waiting');
  const seen = await untilSteady(waiting);
  const [row] = await h.sql<{ written: number }[]>`SELECT count(*)::int AS written FROM recipients WHERE campaign_id = ${id}`;
  held.cut();
  assert.equal(row!.written, 0, 'nothing is written before the listing answers');
  assert.equal(Math.max(...seen), n, `the whole list was read and rendered while the listing was held (${Math.max(...seen)} of ${n})`);

  const built = await waitForStatus(h, id, 'awaiting_review', 120_000);
  assert.equal(built.counts.total, n);
  const rows = await h.sql<{ id: number; email: string; buildStatus: string; buildReasons: string[]; attachments: { key: string }[] }[]>`
    SELECT id, email, build_status, build_reasons, attachments FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
  assert.equal(rows.length, n);
  rows.forEach((r, i) => {
    assert.equal(r.id, i + 1);
    assert.equal(r.email, `customer${i + 1}@example.com`);
    if (i < 3) {
      assert.equal(r.buildStatus, 'ready', JSON.stringify(r));
      assert.deepEqual(r.attachments.map((a) => a.key), [`statements/C${i + 1}.pdf`]);
    } else {
      assert.equal(r.buildStatus, 'blocked');
      assert.deepEqual(r.buildReasons, [`attachment-missing: s3://${h.bucket}/statements/C${i + 1}.pdf does not exist`]);
    }
  });
  await eventually(async () => (await waiting()) === 0 || undefined, 10_000, 'nothing left waiting once the build is done');
});
