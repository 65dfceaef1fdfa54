import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { simpleParser } from 'mailparser';
import * as campaigns from '../src/db/campaigns.js';
import type { Harness } from './helpers/harness.js';
import { builtFromCsv, create, csv, definition, messagesFor, objects, startReviewHarness, waitForStatus } from './helpers/review-fixtures.js';

// The preview a reviewer sees is the bytes that are sent; per-recipient decisions only while the
// campaign awaits review, against real moto S3, Postgres, Temporal and the SMTP sink.

let h: Harness;
before(async () => {
  h = await startReviewHarness();
});
after(async () => {
  await h?.close();
});

test('preview equals the sent bytes, attachments byte for byte; approval sends only what may go', async () => {
  const { id: csvId, rid } = await builtFromCsv(h);

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
  await waitForStatus(h, csvId, 'completed');
  const sent = messagesFor(h, csvId);
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

test('a decision racing an approval waits for it and answers 409, so no 200 is given for a skipped recipient', async () => {
  const id = await create(h, { ...definition(h), recipientsCsv: csv });
  await waitForStatus(h, id, 'awaiting_review');
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
