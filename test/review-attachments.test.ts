import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Harness } from './helpers/harness.js';
import { builtFromCsv, create, definition, MAX_MESSAGE_BYTES, messagesFor, pdf, startReviewHarness, statusesByEmail, waitForStatus } from './helpers/review-fixtures.js';

// Attachments from S3 as the review sees them: a unique file that would go to two addresses, the
// exact size of a too-large message, and a file replaced after the build, against real moto S3,
// Postgres, Temporal and the SMTP sink.

let h: Harness;
before(async () => {
  h = await startReviewHarness();
});
after(async () => {
  await h?.close();
});

test('a unique attachment that would go to two addresses sends both to review', async () => {
  const list = [
    { email: 'ann@example.com', name: 'Ann', vars: { customerId: 'C1', balance: '1' } },
    { email: 'amy@example.com', name: 'Amy', vars: { customerId: 'C1', balance: '2' } }, // Ann's statement: the wrong file
    { email: 'Ann@Example.com', name: 'Ann again', vars: { customerId: 'C1', balance: '1' } }, // a duplicate, excluded
    { email: 'fay@example.com', name: 'Fay', vars: { customerId: 'C6', balance: '3' } },
  ];
  const statement = (unique: boolean) => ({ ...definition(h), attachments: [{ bucket: h.bucket, key: 'statements/{{ customerId }}/*.pdf', unique }] });
  const id = await create(h, { ...statement(true), recipients: list });
  await waitForStatus(h, id, 'awaiting_review');
  const got = await statusesByEmail(h, id);
  const reason = `attachment-shared: s3://${h.bucket}/statements/C1/2026-10.pdf would go to 2 addresses: amy@example.com, ann@example.com`;
  assert.deepEqual(got.get('ann@example.com'), { email: 'ann@example.com', buildStatus: 'needs_review', buildReasons: [reason] });
  assert.deepEqual(got.get('amy@example.com'), { email: 'amy@example.com', buildStatus: 'needs_review', buildReasons: [reason] });
  assert.equal(got.get('Ann@Example.com')!.buildStatus, 'excluded');
  assert.deepEqual(got.get('fay@example.com'), { email: 'fay@example.com', buildStatus: 'ready', buildReasons: [] });

  // without `unique`, a shared file is the campaign's intent (a brochure per region, say)
  const plain = await create(h, { ...statement(false), recipients: list });
  await waitForStatus(h, plain, 'awaiting_review');
  const plainGot = await statusesByEmail(h, plain);
  assert.equal(plainGot.get('ann@example.com')!.buildStatus, 'ready');
  assert.equal(plainGot.get('amy@example.com')!.buildStatus, 'ready');
});


test('too-large states the exact size of the message the send would build', async () => {
  const { id: csvId } = await builtFromCsv(h);
  const [big] = await h.sql<{ id: number; buildReasons: string[] }[]>`
    SELECT id, build_reasons FROM recipients WHERE campaign_id = ${csvId} AND email = 'big@example.com'`;
  const preview = await h.api('GET', `/api/v1/campaigns/${csvId}/recipients/${big!.id}/preview`);
  assert.equal(preview.status, 200, JSON.stringify(preview.body));
  assert.ok(preview.body.size > MAX_MESSAGE_BYTES);
  assert.deepEqual(
    big!.buildReasons.filter((x) => x.startsWith('too-large:')),
    [`too-large: the message is ${preview.body.size} bytes, over the limit of ${MAX_MESSAGE_BYTES}`],
  );
});


test('an attachment replaced in S3 after the build is never sent: the reviewed version or nothing', async () => {
  await h.putObject('pinned/P1.pdf', pdf('P1 as reviewed'));
  await h.putObject('pinned/P2.pdf', pdf('P2 as reviewed'));
  const id = await create(h, {
    name: 'Pinned attachments',
    from: 'billing@acme.test',
    subject: 'Statement {{ customerId }}',
    text: 'Attached.',
    attachments: [{ bucket: h.bucket, key: 'pinned/{{ customerId }}.pdf' }],
    recipients: [
      { email: 'p1@example.com', vars: { customerId: 'P1' } },
      { email: 'p2@example.com', vars: { customerId: 'P2' } },
    ],
  });
  await waitForStatus(h, id, 'awaiting_review');
  const [p1] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND email = 'p1@example.com'`;
  assert.equal((await h.api('GET', `/api/v1/campaigns/${id}/recipients/${p1!.id}/preview`)).status, 200);

  await h.putObject('pinned/P1.pdf', pdf('P1 replaced after review'));
  const preview = await h.api('GET', `/api/v1/campaigns/${id}/recipients/${p1!.id}/preview`);
  assert.equal(preview.status, 409);
  assert.match(preview.body.error, /^attachment-changed: s3:\/\/.*pinned\/P1\.pdf has changed since the list was built/);
  const before = h.sink.messages.length;
  const test = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@acme.test', recipientId: p1!.id });
  assert.equal(test.status, 409, JSON.stringify(test.body));
  assert.match(test.body.error, /attachment-changed: .*nothing was sent/);
  assert.equal(h.sink.messages.length, before);

  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
  const done = await waitForStatus(h, id, 'completed');
  assert.deepEqual([done.counts.sent, done.counts.failed], [1, 1]);
  assert.deepEqual(messagesFor(h, id).map((m) => m.to[0]), ['p2@example.com']);
  const [failed] = await h.sql`SELECT send_status, error FROM recipients WHERE campaign_id = ${id} AND id = ${p1!.id}`;
  assert.equal(failed!.sendStatus, 'failed');
  assert.match(failed!.error, /^attachment-changed: .*pinned\/P1\.pdf has changed since the list was built .*; not sent$/);
});
