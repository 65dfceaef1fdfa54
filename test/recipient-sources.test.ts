import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { campaignResponse } from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';
import type { Harness } from './helpers/harness.js';
import { allReviewRows, assertEveryStatus, create, csv, definition, rows, startReviewHarness, statusesByEmail, waitForStatus } from './helpers/review-fixtures.js';

// Recipient sources (CSV in the request, CSV/JSON/JSON Lines in S3, inline), every build status
// with its reason, build progress and campaign-level build errors, against real moto S3,
// Postgres, Temporal and the SMTP sink.

let h: Harness;
before(async () => {
  h = await startReviewHarness();
});
after(async () => {
  await h?.close();
});

describe('every build status and reason', () => {
  test('from recipientsCsv', async () => {
    const csvId = await create(h, { ...definition(h), recipientsCsv: csv });
    await waitForStatus(h, csvId, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(h, csvId), rows);
    const { out, counts } = await allReviewRows(h, csvId, 2);
    assert.deepEqual(counts, { ready: 1, warning: 1, needs_review: 2, blocked: 4, excluded: 2 });
    // paged two at a time, the review lists exactly the blocked and needs_review recipients
    assert.deepEqual(
      out.map((r) => r.email),
      rows.filter((r) => r.expect[0] === 'blocked' || r.expect[0] === 'needs_review').map((r) => r.email),
    );
    assert.ok(out.every((r) => r.reasons.length > 0));
  });

  test('from a CSV object in S3', async () => {
    await h.putObject('lists/october.csv', csv);
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.csv' } } });
    await waitForStatus(h, id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(h, id), rows);
  });

  /** The rows as JSON recipients; an empty cell is no variable at all, as in the CSV. */
  const jsonRows = () =>
    rows.map((r) => ({ email: r.email, name: r.name, vars: { customerId: r.customerId, ...(r.balance ? { balance: r.balance } : {}) } }));

  test('from a JSON array in S3', async () => {
    await h.putObject('lists/october.json', JSON.stringify(jsonRows(), null, 2));
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.json' } } });
    await waitForStatus(h, id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(h, id), rows);
  });

  test('from a JSON object with a recipients array, told apart by its opening alone', async () => {
    await h.putObject('lists/october-object', JSON.stringify({ exportedAt: '2026-10-31', recipients: jsonRows(), footer: { n: rows.length } }));
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october-object' } } });
    await waitForStatus(h, id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(h, id), rows);
  });

  test('from JSON Lines by Content-Type, and by an explicit format whatever the key says', async () => {
    const lines = jsonRows().map((r) => JSON.stringify(r)).join('\n');
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: 'lists/export-1', Body: lines, ContentType: 'application/x-ndjson' }));
    const byType = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/export-1' } } });
    await h.putObject('lists/october.txt', JSON.stringify(jsonRows()));
    const byFormat = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/october.txt', format: 'json' } } });
    for (const id of [byType, byFormat]) {
      await waitForStatus(h, id, 'awaiting_review');
      assertEveryStatus(await statusesByEmail(h, id), rows);
    }
  });

  test('a JSON list entry that is not a recipient object is blocked with the reason, the rest build', async () => {
    await h.putObject('lists/odd.json', JSON.stringify([{ email: 'ok@example.com', name: 'Ok', vars: { customerId: 'C1', balance: '1' } }, 42, { email: 'v@example.com', vars: 'not an object' }]));
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/odd.json' } } });
    await waitForStatus(h, id, 'awaiting_review');
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
    const id = await create(h, { name: 'big', from: 'a@acme.test', subject: 'Hi {{ k }}', text: 'x', recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/big.json' } } });
    await waitForStatus(h, id, 'awaiting_review');
    const [count] = await h.sql<{ n: number; last: string }[]>`
      SELECT count(*)::int AS n, max(email) FILTER (WHERE id = ${n}) AS last FROM recipients WHERE campaign_id = ${id} AND build_status = 'ready'`;
    assert.deepEqual(count, { n, last: `c${n - 1}@example.com` });
  });

  test('from inline recipients (an invalid address is refused by the API there)', async () => {
    const bad = await h.api('POST', '/api/v1/campaigns', { ...definition(h), recipients: [{ email: 'not-an-address' }] });
    assert.equal(bad.status, 422);
    const inline = rows.filter((r) => r.expect[1] !== 'invalid-address');
    const id = await create(h, {
      ...definition(h),
      recipients: inline.map((r) => ({
        email: r.email,
        name: r.name,
        vars: r.balance === '' ? { customerId: r.customerId } : { customerId: r.customerId, balance: r.balance },
      })),
    });
    await waitForStatus(h, id, 'awaiting_review');
    assertEveryStatus(await statusesByEmail(h, id), inline);
  });

});

test('a long build shows how far it has read, then its counts', async () => {
  const n = 10_000;
  const lines = ['email,name,k'];
  for (let i = 0; i < n; i++) lines.push(`p${i}@example.com,P ${i},${i}`);
  await h.putObject('lists/progress.csv', lines.join('\n'));
  const id = await create(h, { name: 'progress', from: 'a@acme.test', subject: 'Hi {{ k }}', text: 'x', recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/progress.csv' } } });
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

describe('campaign-level build errors', () => {
  test('an unreadable S3 list fails the build with the reason', async () => {
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/missing.csv' } } });
    const failed = await waitForStatus(h, id, 'failed');
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
      const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key, ...(format ? { format } : {}) } } });
      const failed = await waitForStatus(h, id, 'failed');
      assert.match(failed.error, reason, key);
      const [left] = await h.sql`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id}`;
      assert.equal(left!.n, 0, `${key}: no half-built list`);
    }
  });

  test('CSV text the build could not read is a 422 naming recipientsCsv at create, and nothing is stored', async () => {
    const stored = async () => (await h.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM campaigns`)[0]!.n;
    const before = await stored();
    const cases: [string, RegExp][] = [
      ['mail,name\nann@example.com,Ann\n', /^has no "email" column in its header row$/],
      ['\uFEFF Name , E-mail\nAnn,ann@example.com\n', /^has no "email" column in its header row$/],
      ['email,"name\nann@example.com,Ann\n', /^is not valid CSV: /],
    ];
    for (const [text, message] of cases) {
      const res = await h.api('POST', '/api/v1/campaigns', { ...definition(h), recipientsCsv: text });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(res.body.problems.map((p: { path: string }) => p.path), ['recipientsCsv'], JSON.stringify(res.body));
      assert.match(res.body.problems[0].message, message);
    }
    assert.equal(await stored(), before, 'no campaign stored');
    // The header as the build reads it: names trimmed and a BOM dropped, so this one is accepted.
    const ok = await h.api('POST', '/api/v1/campaigns', { ...definition(h), recipientsCsv: '\uFEFF email , name\nann@example.com,Ann\n' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await waitForStatus(h, ok.body.id, 'awaiting_review');
  });

  test('a CSV object in S3 without an "email" column fails the build with the reason', async () => {
    await h.putObject('lists/no-email.csv', 'mail,name\nann@example.com,Ann\n');
    const id = await create(h, { ...definition(h), recipientsFrom: { s3: { bucket: h.bucket, key: 'lists/no-email.csv' } } });
    const failed = await waitForStatus(h, id, 'failed');
    assert.match(failed.error, /lists\/no-email\.csv has no "email" column in its header row/);
  });

  test('a list with no recipients fails the build', async () => {
    const id = await create(h, { ...definition(h), recipientsCsv: 'email,name\n' });
    const failed = await waitForStatus(h, id, 'failed');
    assert.match(failed.error, /empty/);
  });
});
