import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.9: attachment glob patterns are tenant text compiled into regular expressions. Only
// `*`, `**`, `?` and character classes are accepted; extglobs, braces and the rest are a 422 on
// the field, and a pattern matching more than 100 objects attaches none of them.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
  const puts = [
    ['st/C1/2026-10.pdf', 'one'],
    ['st/C2/7.pdf', 'two'],
    ['deep/x/y/C1.pdf', 'deep'],
    ...Array.from({ length: 101 }, (_, i) => [`many/C3/${String(i).padStart(3, '0')}.pdf`, `n${i}`]),
    ...Array.from({ length: 20 }, (_, i) => [`pre/${String(i).padStart(2, '0')}${'a'.repeat(58)}`, `p${i}`]),
  ];
  for (let i = 0; i < puts.length; i += 16) await Promise.all(puts.slice(i, i + 16).map(([k, v]) => h.putObject(k!, v!)));
});
after(async () => {
  await h?.close();
});

const body = (attachments: unknown[], recipients = [{ email: 'ann@example.com', name: 'Ann', vars: { id: 'C1' } }]) => ({
  name: 'Globs',
  from: 'Acme <billing@acme.test>',
  subject: 'Statement',
  text: 'Dear {{ name }}',
  attachments,
  recipients,
});

describe('attachment globs', () => {
  test('extglobs, braces, escapes and negation are a 422 naming the key, answered at once', async () => {
    for (const key of [
      'x/@(a|a|a|a)@(*)*(*)*(*)*(*)b',
      'st/{{ id }}/+(a|b).pdf',
      'st/{a,b}/*.pdf',
      '!st/*.pdf',
      'st/(x|y)/*.pdf',
      'st/\\*.pdf',
      'st/[[:alpha:]]*.pdf',
    ]) {
      const started = Date.now();
      const res = await h.api('POST', '/api/v1/campaigns', body([{ bucket: h.bucket, key }]));
      assert.equal(res.status, 422, `${key}: ${JSON.stringify(res.body)}`);
      const problem = res.body.problems.find((p: { path: string }) => p.path === 'attachments.0.key');
      assert.ok(problem, `${key}: ${JSON.stringify(res.body.problems)}`);
      assert.match(problem.message, /only \*, \*\*, \? and \[\.\.\.\] classes|a class is like/);
      assert.ok(Date.now() - started < 2000, `${key} refused without matching anything`);
    }
  });

  test('*, **, ? and [...] classes are accepted and match', async () => {
    const id = await createCampaign(
      h,
      body(
        [
          { bucket: h.bucket, key: 'st/{{ id }}/2026-1?.pdf' },
          { bucket: h.bucket, key: 'deep/**/{{ id }}.pdf' },
          { bucket: h.bucket, key: 'st/C[0-9]/[!x]*.pdf', required: false, maxMatches: 5 },
        ],
        [{ email: 'ann@example.com', name: 'Ann', vars: { id: 'C1' } }],
      ),
    );
    await waitForStatus(h, id, 'awaiting_review');
    const [row] = await h.sql<{ buildStatus: string; buildReasons: string[]; attachments: { key: string }[] }[]>`
      SELECT build_status, build_reasons, attachments FROM recipients WHERE campaign_id = ${id}`;
    assert.deepEqual(row!.attachments.map((a) => a.key).sort(), ['deep/x/y/C1.pdf', 'st/C1/2026-10.pdf', 'st/C1/2026-10.pdf', 'st/C2/7.pdf'].sort());
    assert.equal(row!.buildStatus, 'ready', JSON.stringify(row!.buildReasons));
  });

  test('a pattern matching more than 100 objects blocks the recipient and attaches nothing', async () => {
    const id = await createCampaign(h, body([{ bucket: h.bucket, key: 'many/{{ id }}/*.pdf', maxMatches: 100 }], [{ email: 'cat@example.com', name: 'Cat', vars: { id: 'C3' } }]));
    await waitForStatus(h, id, 'awaiting_review');
    const [row] = await h.sql<{ buildStatus: string; buildReasons: string[]; attachments: unknown[] }[]>`
      SELECT build_status, build_reasons, attachments FROM recipients WHERE campaign_id = ${id}`;
    assert.equal(row!.buildStatus, 'blocked');
    assert.match(row!.buildReasons.join('; '), /^attachment-too-many: s3:\/\/[^ ]+\/many\/C3\/\*\.pdf matches more than 100 objects/);
    assert.deepEqual(row!.attachments, []);
  });

  test('a worst case for backtracking builds in seconds; more wildcards than allowed is a 422 on the field', async () => {
    const tooMany = await h.api('POST', '/api/v1/campaigns', body([{ bucket: h.bucket, key: 'pre/*?*?*?*?*?*?*?*?Z' }]));
    assert.equal(tooMany.status, 422, JSON.stringify(tooMany.body));
    const problem = tooMany.body.problems.find((p: { path: string }) => p.path === 'attachments.0.key');
    assert.match(problem?.message ?? '', /has 16 wildcards; a pattern may have at most 12/);

    // Twelve wildcards against twenty 60-character keys: a backtracking matcher takes minutes here.
    const started = Date.now();
    const id = await createCampaign(
      h,
      body([{ bucket: h.bucket, key: 'pre/*?*?*?*?*?*?Z', required: false }], [{ email: 'dan@example.com', name: 'Dan', vars: { id: 'D1' } }]),
    );
    await waitForStatus(h, id, 'awaiting_review', 30_000);
    const health = Date.now();
    assert.equal((await h.api('GET', '/healthz')).status, 200);
    assert.ok(Date.now() - health < 1000, 'the API answers at once');
    const [row] = await h.sql<{ buildStatus: string; buildReasons: string[] }[]>`
      SELECT build_status, build_reasons FROM recipients WHERE campaign_id = ${id}`;
    assert.equal(row!.buildStatus, 'needs_review', JSON.stringify(row!.buildReasons));
    assert.match(row!.buildReasons.join('; '), /^attachment-optional-missing: s3:\/\/[^ ]+\/pre\/\*\?\*\?\*\?\*\?\*\?\*\?Z does not exist/);
    assert.ok(Date.now() - started < 30_000);
  });
});

