import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { CuttingProxy } from './helpers/faulty-s3.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';

// A recipient list whose S3 connection is reset part-way: the build fails that attempt with a
// retryable error, the worker (this very process) keeps running and sending other campaigns, and
// the retry resumes and ends with the exact list.

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
