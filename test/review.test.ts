import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import * as campaigns from '../src/db/campaigns.js';
import { campaignResponse } from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';

// Recipient sources, build statuses with reasons, attachments from S3, the review endpoints and
// the review gate, against real moto S3, Postgres, Temporal and the SMTP sink.

const MAX_MESSAGE_BYTES = 200_000;
let h: Harness;

const pdf = (label: string) => Buffer.from(`%PDF-1.4\n% statement ${label}\n${'x'.repeat(500)}\n%%EOF\n`);
const objects: Record<string, Buffer> = {
  'statements/C1/2026-10.pdf': pdf('C1'),
  'extras/C1.txt': Buffer.from('extra for C1'),
  // C2 has no statement at all: required attachment missing
  'statements/C3/2026-10.pdf': pdf('C3 a'),
  'statements/C3/2026-10-corrected.pdf': pdf('C3 b'),
  'extras/C3.txt': Buffer.from('extra for C3'),
  'statements/C4/2026-10.pdf': pdf('C4'), // no extras/C4.txt: optional attachment missing
  'extras/C4-other.txt': Buffer.from('not a match'),
  'statements/C6/2026-10.pdf': pdf('C6'),
  'extras/C6.txt': Buffer.from('extra for C6'),
  'statements/C7/2026-10.pdf': Buffer.alloc(0), // empty: a warning
  'extras/C7.txt': Buffer.from('extra for C7'),
  'statements/C8/2026-10.pdf': Buffer.alloc(300_000, 7), // over MAX_MESSAGE_BYTES once encoded
  'extras/C8.txt': Buffer.from('extra for C8'),
};

before(async () => {
  h = await startHarness({ env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } });
  for (const [key, body] of Object.entries(objects)) await h.putObject(key, body);
  const sup = await h.api('POST', '/api/v1/suppressions', { email: 'Sup@Example.com', reason: 'asked to stop' });
  assert.equal(sup.status, 201, JSON.stringify(sup.body));
});
after(async () => {
  await h?.close();
});

/** One row per build status and reason; `expect` is [status, reason code]. */
const rows: { email: string; name: string; customerId: string; balance: string; expect: [string, string] }[] = [
  { email: 'ann@example.com', name: 'Ann', customerId: 'C1', balance: '10', expect: ['ready', ''] },
  { email: 'not-an-address', name: 'Nobody', customerId: 'C1', balance: '10', expect: ['blocked', 'invalid-address'] },
  { email: 'bob@example.com', name: 'Bob', customerId: 'C2', balance: '20', expect: ['blocked', 'attachment-missing'] },
  { email: 'cat@example.com', name: 'Cat', customerId: 'C3', balance: '30', expect: ['needs_review', 'attachment-ambiguous'] },
  { email: 'dan@example.com', name: 'Dan', customerId: 'C4', balance: '40', expect: ['needs_review', 'attachment-optional-missing'] },
  { email: 'ANN@Example.com', name: 'Ann again', customerId: 'C1', balance: '10', expect: ['excluded', 'duplicate'] },
  { email: 'sup@example.com', name: 'Sup', customerId: 'C1', balance: '10', expect: ['excluded', 'suppressed'] },
  { email: 'eve@example.com', name: 'Eve', customerId: 'C6', balance: '', expect: ['blocked', 'missing-variable'] },
  { email: 'fay@example.com', name: 'Fay', customerId: 'C7', balance: '70', expect: ['warning', 'attachment-empty'] },
  { email: 'big@example.com', name: 'Big', customerId: 'C8', balance: '80', expect: ['blocked', 'too-large'] },
];

const csv = ['email,name,customerId,balance', ...rows.map((r) => `${r.email},${r.name},${r.customerId},${r.balance}`)].join('\n');

const definition = () => ({
  name: 'October statements',
  from: 'Acme Billing <billing@acme.test>',
  subject: 'Statement {{ customerId }} for {{ name }}',
  html: '<p>Dear {{ name }},</p><p>Your balance is <b>{{ balance }}</b>.</p>',
  attachments: [
    { bucket: h.bucket, key: 'statements/{{ customerId }}/*.pdf', required: true, maxMatches: 1 },
    { bucket: h.bucket, key: 'extras/{{ customerId }}.txt', required: false },
  ],
});

async function create(body: unknown): Promise<string> {
  const res = await h.api('POST', '/api/v1/campaigns', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

async function waitForStatus(id: string, status: string, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const res = await h.api('GET', `/api/v1/campaigns/${id}`);
      return res.body.status === status ? res.body : undefined;
    },
    timeoutMs,
    `campaign ${id} to be ${status}`,
  );
}

const messagesFor = (id: string) => h.sink.messages.filter((m) => m.messageId?.includes(id));

async function allReviewRows(id: string, limit = 100) {
  const out: any[] = [];
  let cursor = '';
  for (;;) {
    const res = await h.api('GET', `/api/v1/campaigns/${id}/review?limit=${limit}${cursor && `&cursor=${cursor}`}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(...res.body.items);
    if (res.body.nextCursor === undefined) return { out, counts: res.body.counts };
    cursor = res.body.nextCursor;
  }
}

/** Every recipient's status and first reason, read from the database by email. */
async function statusesByEmail(id: string) {
  const list = await h.sql<{ email: string; buildStatus: string; buildReasons: string[] }[]>`
    SELECT email, build_status, build_reasons FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
  return new Map(list.map((r) => [r.email, r]));
}

function assertEveryStatus(got: Map<string, { buildStatus: string; buildReasons: string[] }>, expected: typeof rows) {
  for (const r of expected) {
    const row = got.get(r.email);
    assert.ok(row, `${r.email} is in the list`);
    const [status, code] = r.expect;
    assert.equal(row.buildStatus, status, `${r.email}: ${row.buildReasons.join('; ')}`);
    if (code) assert.ok(row.buildReasons.some((x) => x.startsWith(`${code}:`)), `${r.email} has reason ${code}: ${row.buildReasons.join('; ')}`);
    else assert.deepEqual(row.buildReasons, []);
  }
}

describe('every build status and reason', () => {
  let csvId: string;

  test('from recipientsCsv', async () => {
    csvId = await create({ ...definition(), recipientsCsv: csv });
    await waitForStatus(csvId, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(csvId), rows);
    const { out, counts } = await allReviewRows(csvId, 2);
    assert.deepEqual(counts, { ready: 1, warning: 1, needs_review: 2, blocked: 4, excluded: 2 });
    // paged two at a time, the review lists exactly the blocked and needs_review recipients
    assert.deepEqual(
      out.map((r) => r.email),
      rows.filter((r) => r.expect[0] === 'blocked' || r.expect[0] === 'needs_review').map((r) => r.email),
    );
    assert.ok(out.every((r) => r.reasons.length > 0));
  });

  test('a unique attachment that would go to two addresses sends both to review', async () => {
    const list = [
      { email: 'ann@example.com', name: 'Ann', vars: { customerId: 'C1', balance: '1' } },
      { email: 'amy@example.com', name: 'Amy', vars: { customerId: 'C1', balance: '2' } }, // Ann's statement: the wrong file
      { email: 'Ann@Example.com', name: 'Ann again', vars: { customerId: 'C1', balance: '1' } }, // a duplicate, excluded
      { email: 'fay@example.com', name: 'Fay', vars: { customerId: 'C6', balance: '3' } },
    ];
    const statement = (unique: boolean) => ({ ...definition(), attachments: [{ bucket: h.bucket, key: 'statements/{{ customerId }}/*.pdf', unique }] });
    const id = await create({ ...statement(true), recipients: list });
    await waitForStatus(id, 'awaiting_review');
    const got = await statusesByEmail(id);
    const reason = `attachment-shared: s3://${h.bucket}/statements/C1/2026-10.pdf would go to 2 addresses: amy@example.com, ann@example.com`;
    assert.deepEqual(got.get('ann@example.com'), { email: 'ann@example.com', buildStatus: 'needs_review', buildReasons: [reason] });
    assert.deepEqual(got.get('amy@example.com'), { email: 'amy@example.com', buildStatus: 'needs_review', buildReasons: [reason] });
    assert.equal(got.get('Ann@Example.com')!.buildStatus, 'excluded');
    assert.deepEqual(got.get('fay@example.com'), { email: 'fay@example.com', buildStatus: 'ready', buildReasons: [] });

    // without `unique`, a shared file is the campaign's intent (a brochure per region, say)
    const plain = await create({ ...statement(false), recipients: list });
    await waitForStatus(plain, 'awaiting_review');
    const plainGot = await statusesByEmail(plain);
    assert.equal(plainGot.get('ann@example.com')!.buildStatus, 'ready');
    assert.equal(plainGot.get('amy@example.com')!.buildStatus, 'ready');
  });

  test('too-large states the exact size of the message the send would build', async () => {
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

  test('from a CSV object in S3', async () => {
    await h.putObject('lists/october.csv', csv);
    const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.csv' } } });
    await waitForStatus(id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(id), rows);
  });

  /** The rows as JSON recipients; an empty cell is no variable at all, as in the CSV. */
  const jsonRows = () =>
    rows.map((r) => ({ email: r.email, name: r.name, vars: { customerId: r.customerId, ...(r.balance ? { balance: r.balance } : {}) } }));

  test('from a JSON array in S3', async () => {
    await h.putObject('lists/october.json', JSON.stringify(jsonRows(), null, 2));
    const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.json' } } });
    await waitForStatus(id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(id), rows);
  });

  test('from a JSON object with a recipients array, told apart by its opening alone', async () => {
    await h.putObject('lists/october-object', JSON.stringify({ exportedAt: '2026-10-31', recipients: jsonRows(), footer: { n: rows.length } }));
    const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october-object' } } });
    await waitForStatus(id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(id), rows);
  });

  test('from JSON Lines by Content-Type, and by an explicit format whatever the key says', async () => {
    const lines = jsonRows().map((r) => JSON.stringify(r)).join('\n');
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: 'lists/export-1', Body: lines, ContentType: 'application/x-ndjson' }));
    const byType = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/export-1' } } });
    await h.putObject('lists/october.txt', JSON.stringify(jsonRows()));
    const byFormat = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.txt', format: 'json' } } });
    for (const id of [byType, byFormat]) {
      await waitForStatus(id, 'awaiting_review');
      assertEveryStatus(await statusesByEmail(id), rows);
    }
  });

  test('a JSON list entry that is not a recipient object is blocked with the reason, the rest build', async () => {
    await h.putObject('lists/odd.json', JSON.stringify([{ email: 'ok@example.com', name: 'Ok', vars: { customerId: 'C1', balance: '1' } }, 42, { email: 'v@example.com', vars: 'not an object' }]));
    const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/odd.json' } } });
    await waitForStatus(id, 'awaiting_review');
    const list = await h.sql<{ id: number; buildStatus: string; buildReasons: string[] }[]>`
      SELECT id, build_status, build_reasons FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
    assert.deepEqual(list.map((r) => r.buildStatus), ['ready', 'blocked', 'blocked']);
    assert.deepEqual(list[1]!.buildReasons, ['invalid-recipient: the list entry is a number, not an object with an "email"']);
    assert.match(list[2]!.buildReasons[0]!, /^invalid-recipient: vars /);
  });

  test('a 5,000-element JSON array streams through the build', async () => {
    const n = 5000;
    const big = JSON.stringify({ recipients: Array.from({ length: n }, (_, i) => ({ email: `c${i}@example.com`, vars: { k: i } })) });
    await h.putObject('lists/big.json', big);
    const id = await create({ name: 'big', from: 'a@acme.test', subject: 'Hi {{ k }}', text: 'x', recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/big.json' } } });
    await waitForStatus(id, 'awaiting_review');
    const [count] = await h.sql<{ n: number; last: string }[]>`
      SELECT count(*)::int AS n, max(email) FILTER (WHERE id = ${n}) AS last FROM recipients WHERE campaign_id = ${id} AND build_status = 'ready'`;
    assert.deepEqual(count, { n, last: `c${n - 1}@example.com` });
  });

  test('from inline recipients (an invalid address is refused by the API there)', async () => {
    const bad = await h.api('POST', '/api/v1/campaigns', { ...definition(), recipients: [{ email: 'not-an-address' }] });
    assert.equal(bad.status, 422);
    const inline = rows.filter((r) => r.expect[1] !== 'invalid-address');
    const id = await create({
      ...definition(),
      recipients: inline.map((r) => ({
        email: r.email,
        name: r.name,
        vars: r.balance === '' ? { customerId: r.customerId } : { customerId: r.customerId, balance: r.balance },
      })),
    });
    await waitForStatus(id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(id), inline);
  });

  test('preview equals the sent bytes, attachments byte for byte; approval sends only what may go', async () => {
    const ids = await h.sql<{ id: number; email: string }[]>`SELECT id, email FROM recipients WHERE campaign_id = ${csvId}`;
    const rid = (email: string) => ids.find((r) => r.email === email)!.id;

    const json = await h.api('GET', `/api/v1/campaigns/${csvId}/recipients/${rid('ann@example.com')}/preview`);
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.subject, 'Statement C1 for Ann');
    assert.match(json.body.text, /Your balance is 10/, 'text derived from html');
    assert.deepEqual(json.body.attachments, [
      { filename: '2026-10.pdf', size: objects['statements/C1/2026-10.pdf']!.length },
      { filename: 'C1.txt', size: objects['extras/C1.txt']!.length },
    ]);

    const previews = new Map<string, Buffer>();
    for (const email of ['ann@example.com', 'fay@example.com', 'cat@example.com']) {
      const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${csvId}/recipients/${rid(email)}/preview`, {
        headers: { authorization: 'Bearer test-key-0123456789abcdef', accept: 'message/rfc822' },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /message\/rfc822/);
      previews.set(email, Buffer.from(await res.arrayBuffer()));
    }

    // decisions: only needs_review recipients, only while awaiting review
    const notReview = await h.api('POST', `/api/v1/campaigns/${csvId}/recipients/${rid('ann@example.com')}/decision`, { include: true });
    assert.equal(notReview.status, 409);
    const badBody = await h.api('POST', `/api/v1/campaigns/${csvId}/recipients/${rid('cat@example.com')}/decision`, { include: 'yes' });
    assert.equal(badBody.status, 422);
    assert.equal(badBody.body.problems[0].path, 'include');
    const include = await h.api('POST', `/api/v1/campaigns/${csvId}/recipients/${rid('cat@example.com')}/decision`, { include: true });
    assert.equal(include.status, 200, JSON.stringify(include.body));
    // dan stays undecided and must not be sent
    const [decided] = await h.sql`SELECT principal, subject, details FROM audit_log WHERE campaign_id = ${csvId} AND action = 'recipient.decision'`;
    assert.deepEqual([decided?.principal, decided?.subject, decided?.details.include], ['admin', String(rid('cat@example.com')), true]);

    const approve = await h.api('POST', `/api/v1/campaigns/${csvId}/approve`, {});
    assert.equal(approve.status, 200, JSON.stringify(approve.body));
    await waitForStatus(csvId, 'completed');
    const sent = messagesFor(csvId);
    assert.deepEqual(sent.map((m) => m.to.join(',')).sort(), ['ann@example.com', 'cat@example.com', 'fay@example.com']);
    for (const m of sent) {
      assert.ok(previews.get(m.to[0]!)!.equals(m.raw), `the bytes sent to ${m.to[0]} are the preview's bytes`);
    }
    const ann = await simpleParser(sent.find((m) => m.to[0] === 'ann@example.com')!.raw);
    assert.ok(ann.attachments[0]!.content.equals(objects['statements/C1/2026-10.pdf']!));
    assert.ok(ann.attachments[1]!.content.equals(objects['extras/C1.txt']!));
    const cat = await simpleParser(sent.find((m) => m.to[0] === 'cat@example.com')!.raw);
    assert.deepEqual(cat.attachments.map((a) => a.filename).sort(), ['2026-10-corrected.pdf', '2026-10.pdf', 'C3.txt']);

    const late = await h.api('POST', `/api/v1/campaigns/${csvId}/recipients/${rid('dan@example.com')}/decision`, { include: true });
    assert.equal(late.status, 409);
    assert.equal(late.body.status, 'completed');
  });
});

test('a decision racing an approval waits for it and answers 409, so no 200 is given for a skipped recipient', async () => {
  const id = await create({ ...definition(), recipientsCsv: csv });
  await waitForStatus(id, 'awaiting_review');
  const [cat] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND email = 'cat@example.com'`;
  let decision: Promise<{ status: number; body: any }> | undefined;
  let settled = false;
  // The approval's own first writes, held open: the decision must wait for them to commit.
  await h.sql.begin(async (tx) => {
    await campaigns.recordDecision(tx, id, { by: 'racing approver', at: new Date() });
    await campaigns.setCampaignStatus(tx, id, 'sending');
    decision = h.api('POST', `/api/v1/campaigns/${id}/recipients/${cat!.id}/decision`, { include: true });
    void decision.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(settled, false, 'the decision waits for the approval to commit');
  });
  const answer = await decision!;
  assert.equal(answer.status, 409, JSON.stringify(answer.body));
  assert.equal(answer.body.status, 'sending');
  const [row] = await h.sql`SELECT included FROM recipients WHERE campaign_id = ${id} AND id = ${cat!.id}`;
  assert.equal(row!.included, null, 'the refused decision wrote nothing');
  const audit = await h.sql`SELECT 1 FROM audit_log WHERE campaign_id = ${id} AND action = 'recipient.decision'`;
  assert.equal(audit.length, 0);
  // the workflow itself still awaits review; close it so nothing is left running
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/reject`, {})).status, 200);
});

test('a long build shows how far it has read, then its counts', async () => {
  const n = 10_000;
  const lines = ['email,name,k'];
  for (let i = 0; i < n; i++) lines.push(`p${i}@example.com,P ${i},${i}`);
  await h.putObject('lists/progress.csv', lines.join('\n'));
  const id = await create({ name: 'progress', from: 'a@acme.test', subject: 'Hi {{ k }}', text: 'x', recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/progress.csv' } } });
  const seen: { read: number; percent?: number; eta?: string }[] = [];
  let last: any;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    last = (await h.api('GET', `/api/v1/campaigns/${id}`)).body;
    if (last.status !== 'building') break;
    assertConforms(campaignResponse, last, 'a building campaign');
    seen.push(last.build);
  }
  assert.equal(last.status, 'awaiting_review');
  assert.equal(last.build, undefined, 'a built campaign shows counts, not build progress');
  assert.equal(last.counts.total, n);
  const midway = seen.filter((b) => b.read > 0 && b.percent! > 0 && b.percent! < 100);
  assert.ok(midway.length > 0, `the build was seen part way: ${JSON.stringify(seen.slice(-5))}`);
  assert.ok(midway.some((b) => b.eta !== undefined), 'with a finishing time');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.read >= seen[i - 1]!.read, 'progress only moves forward');
});

test('an attachment replaced in S3 after the build is never sent: the reviewed version or nothing', async () => {
  await h.putObject('pinned/P1.pdf', pdf('P1 as reviewed'));
  await h.putObject('pinned/P2.pdf', pdf('P2 as reviewed'));
  const id = await create({
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
  await waitForStatus(id, 'awaiting_review');
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
  const done = await waitForStatus(id, 'completed');
  assert.deepEqual([done.counts.sent, done.counts.failed], [1, 1]);
  assert.deepEqual(messagesFor(id).map((m) => m.to[0]), ['p2@example.com']);
  const [failed] = await h.sql`SELECT send_status, error FROM recipients WHERE campaign_id = ${id} AND id = ${p1!.id}`;
  assert.equal(failed!.sendStatus, 'failed');
  assert.match(failed!.error, /^attachment-changed: .*pinned\/P1\.pdf has changed since the list was built .*; not sent$/);
});

describe('campaign-level build errors', () => {
  test('an unreadable S3 list fails the build with the reason', async () => {
    const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/missing.csv' } } });
    const failed = await waitForStatus(id, 'failed');
    assert.match(failed.error, /s3:\/\/.*lists\/missing\.csv cannot be read/);
  });

  test('a JSON list that cannot be read as recipients fails the build with the reason', async () => {
    const cases: [string, string, string | undefined, RegExp][] = [
      ['lists/broken.json', '[{"email": "a@example.com"}, {"email": ', undefined, /lists\/broken\.json is not valid JSON: /],
      ['lists/no-recipients.json', '{"people": [{"email": "a@example.com"}]}', undefined, /lists\/no-recipients\.json has no recipients: its "recipients" array is missing or empty/],
      ['lists/recipients-object.json', '{"recipients": {"email": "a@example.com"}}', undefined, /lists\/recipients-object\.json is not valid JSON with a "recipients" array: /],
      ['lists/scalar.txt', '42', 'json', /lists\/scalar\.txt is not a JSON array or object of recipients/],
      ['lists/empty.json', '[]', undefined, /the recipient list is empty/],
      // broken after two full batches: nothing of it stays behind
      ['lists/broken-late.json', JSON.stringify(Array.from({ length: 1200 }, (_, i) => ({ email: `r${i}@example.com` }))).slice(0, -30), undefined, /broken-late\.json is not valid JSON: /],
    ];
    for (const [key, body, format, reason] of cases) {
      await h.putObject(key, body);
      const id = await create({ ...definition(), recipientsFrom: { s3: { bucket: h.bucket, key, ...(format ? { format } : {}) } } });
      const failed = await waitForStatus(id, 'failed');
      assert.match(failed.error, reason, key);
      const [left] = await h.sql`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id}`;
      assert.equal(left!.n, 0, `${key}: no half-built list`);
    }
  });

  test('a list with no recipients fails the build', async () => {
    const id = await create({ ...definition(), recipientsCsv: 'email,name\n' });
    const failed = await waitForStatus(id, 'failed');
    assert.match(failed.error, /empty/);
  });
});

describe('test-send', () => {
  test('reaches only the test address and changes no status', async () => {
    const id = await create({
      name: 'Test send',
      from: 'billing@acme.test',
      subject: 'Hello {{ name }}',
      text: 'Hi {{ name }}',
      cc: ['audit@acme.test'],
      bcc: ['archive@acme.test'],
      replyTo: 'help@acme.test',
      recipients: [{ email: 'real@example.com', name: 'Real', cc: ['boss@example.com'] }],
    });
    await waitForStatus(id, 'awaiting_review');
    const before = h.sink.messages.length;
    const res = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@acme.test' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [audited] = await h.sql`SELECT details FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.test_send'`;
    assert.equal(audited?.details.to, 'qa@acme.test');
    const fresh = h.sink.messages.slice(before);
    assert.equal(fresh.length, 1);
    assert.deepEqual(fresh[0]!.to, ['qa@acme.test']);
    const parsed = await simpleParser(fresh[0]!.raw);
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '', 'qa@acme.test');
    assert.equal(parsed.cc, undefined);
    assert.ok(!fresh[0]!.raw.toString().includes('real@example.com'));
    assert.equal(parsed.subject, 'Hello Real');
    assert.equal(parsed.messageId, res.body.messageId);
    assert.match(res.body.messageId, new RegExp(`^<campaign-${id}-test-[0-9a-f-]{36}\\.${id}\\.1\\.v1@acme\\.test>$`), 'a retry of this test send carries the same id');
    const after = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(after.body.status, 'awaiting_review');
    assert.equal(after.body.counts.sent, 0);

    // the real send carries every Cc and Bcc in the envelope, Bcc never in the header
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    await waitForStatus(id, 'completed');
    const [real] = messagesFor(id).filter((m) => !m.messageId?.includes('test-'));
    assert.deepEqual(real!.to.sort(), ['archive@acme.test', 'audit@acme.test', 'boss@example.com', 'real@example.com']);
    const realParsed = await simpleParser(real!.raw);
    assert.equal(realParsed.bcc, undefined);
    assert.equal(realParsed.replyTo?.text, 'help@acme.test');
  });
});

describe('the review gate', () => {
  const small = (extra: Record<string, unknown>) => ({
    name: 'Gate',
    from: 'billing@acme.test',
    subject: 'Hello',
    text: 'Hi {{ email }}',
    recipients: [{ email: 'one@example.com' }, { email: 'two@example.com' }],
    ...extra,
  });

  test('a campaign nobody reviews ends expired and sends nothing', async () => {
    const id = await create(small({ review: { expiresAfter: '2 seconds' } }));
    await waitForStatus(id, 'awaiting_review');
    const expired = await waitForStatus(id, 'expired', 30_000);
    assert.match(expired.error, /no review decision within 2 seconds/);
    assert.equal(messagesFor(id).length, 0);
    const late = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {});
    assert.equal(late.status, 409);
  });

  test('review.required false goes straight to sending where the tenant allows skipping review', async () => {
    // Skipping review is the installation admin's call for the tenant, not the creator's.
    const allow = await h.api('PUT', '/api/v1/tenants/default', { review: { skipAllowed: true } });
    assert.equal(allow.status, 200, JSON.stringify(allow.body));
    const id = await create(small({ review: { required: false } }));
    await waitForStatus(id, 'completed');
    assert.deepEqual(messagesFor(id).map((m) => m.to[0]).sort(), ['one@example.com', 'two@example.com']);
  });

  test('a bad review setting is a 422 naming the field', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', small({ review: { expiresAfter: 'soon' } }));
    assert.equal(res.status, 422);
    assert.equal(res.body.problems[0].path, 'review.expiresAfter');
  });
});

describe('suppressions', () => {
  test('list, add and delete', async () => {
    const list = await h.api('GET', '/api/v1/suppressions');
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((s: any) => s.email === 'sup@example.com' && s.reason === 'asked to stop'));
    const bad = await h.api('POST', '/api/v1/suppressions', { email: 'nope' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].path, 'email');
    assert.equal((await h.api('POST', '/api/v1/suppressions', { email: 'gone@example.com' })).status, 201);
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/Gone@Example.com')).status, 204);
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/gone@example.com')).status, 404);
  });
});
