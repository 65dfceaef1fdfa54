// What the review test files share: S3 objects and a recipient list with one row per build status
// and reason, a campaign definition that attaches from them, and small API helpers. Each test file
// starts its own harness with `startReviewHarness()`; nothing here holds state between tests.
import assert from 'node:assert/strict';
import { createCampaign as create, waitForStatus } from './campaigns.js';
import { startHarness, type Harness } from './harness.js';

export const MAX_MESSAGE_BYTES = 200_000;

export const pdf = (label: string) => Buffer.from(`%PDF-1.4\n% statement ${label}\n${'x'.repeat(500)}\n%%EOF\n`);
export const objects: Record<string, Buffer> = {
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

/** A harness with `objects` in its bucket and sup@example.com suppressed. */
export async function startReviewHarness(): Promise<Harness> {
  const h = await startHarness({ env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } });
  for (const [key, body] of Object.entries(objects)) await h.putObject(key, body);
  const sup = await h.api('POST', '/api/v1/suppressions', { email: 'Sup@Example.com', reason: 'asked to stop' });
  assert.equal(sup.status, 201, JSON.stringify(sup.body));
  return h;
}

/** One row per build status and reason; `expect` is [status, reason code]. */
export const rows: { email: string; name: string; customerId: string; balance: string; expect: [string, string] }[] = [
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

export const csv = ['email,name,customerId,balance', ...rows.map((r) => `${r.email},${r.name},${r.customerId},${r.balance}`)].join('\n');

export const definition = (h: Harness) => ({
  name: 'October statements',
  from: 'Acme Billing <billing@acme.test>',
  subject: 'Statement {{ customerId }} for {{ name }}',
  html: '<p>Dear {{ name }},</p><p>Your balance is <b>{{ balance }}</b>.</p>',
  attachments: [
    { bucket: h.bucket, key: 'statements/{{ customerId }}/*.pdf', required: true, maxMatches: 1 },
    { bucket: h.bucket, key: 'extras/{{ customerId }}.txt', required: false },
  ],
});

export { create, waitForStatus };

export const messagesFor = (h: Harness, id: string) => h.sink.messages.filter((m) => m.messageId?.includes(id));

export async function allReviewRows(h: Harness, id: string, limit = 100) {
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
export async function statusesByEmail(h: Harness, id: string) {
  const list = await h.sql<{ email: string; buildStatus: string; buildReasons: string[] }[]>`
    SELECT email, build_status, build_reasons FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
  return new Map(list.map((r) => [r.email, r]));
}

export function assertEveryStatus(got: Map<string, { buildStatus: string; buildReasons: string[] }>, expected: typeof rows) {
  for (const r of expected) {
    const row = got.get(r.email);
    assert.ok(row, `${r.email} is in the list`);
    const [status, code] = r.expect;
    assert.equal(row.buildStatus, status, `${r.email}: ${row.buildReasons.join('; ')}`);
    if (code) assert.ok(row.buildReasons.some((x) => x.startsWith(`${code}:`)), `${r.email} has reason ${code}: ${row.buildReasons.join('; ')}`);
    else assert.deepEqual(row.buildReasons, []);
  }
}

/** A campaign built from `csv`, awaiting review, and the id of each of its recipients by email. */
export async function builtFromCsv(h: Harness): Promise<{ id: string; rid(email: string): number }> {
  const id = await create(h, { ...definition(h), recipientsCsv: csv });
  await waitForStatus(h, id, 'awaiting_review');
  const ids = await h.sql<{ id: number; email: string }[]>`SELECT id, email FROM recipients WHERE campaign_id = ${id}`;
  return { id, rid: (email: string) => ids.find((r) => r.email === email)!.id };
}
