import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { bearer, createKey, startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
let original: string;
before(async () => {
  h = await startHarness({ imap: false });
  original = await campaignWithFailures();
});
after(async () => {
  await h?.close();
});

const REFUSED = new Set(['customer2@example.com', 'customer4@example.com']);

/** A campaign of five whose second and fourth recipients the SMTP server refuses for good. */
async function campaignWithFailures(): Promise<string> {
  h.sink.faults.rcpt = (address) => (REFUSED.has(address) ? { code: 550, message: '5.1.1 <' + address + '>: Recipient address rejected: User unknown' } : undefined);
  try {
    const id = await createCampaign(h, campaignBody(5, { name: 'November statements' }));
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    const done = await waitForStatus(h, id, 'completed', 90_000);
    assert.equal(done.counts.failed, 2);
    assert.equal(done.counts.sent, 3);
    return id;
  } finally {
    h.sink.faults = {};
  }
}

test('a follow-up of only its source sends the same content again to the failed recipients, after review, each showing its SMTP reply', async () => {
  const res = await h.api('POST', '/api/v1/campaigns', { recipientsFrom: { campaign: original, sendStatus: ['failed'] } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const followUp = res.body.id as string;
  await waitForStatus(h, followUp, 'awaiting_review');

  // The reviewer sees exactly the two failed recipients and why each failed.
  const review = await h.api('GET', `/api/v1/campaigns/${followUp}/review`);
  assert.equal(review.status, 200);
  assert.deepEqual(review.body.counts, { ready: 0, warning: 2, needs_review: 0, blocked: 0, excluded: 0 });
  assert.deepEqual(review.body.items.map((r: { email: string }) => r.email), ['customer2@example.com', 'customer4@example.com']);
  for (const r of review.body.items as { email: string; reasons: string[] }[]) {
    assert.equal(r.reasons.length, 1, JSON.stringify(r));
    assert.match(r.reasons[0]!, new RegExp(`^previous-send: failed: 550 5\\.1\\.1 <${r.email.replace('.', '\\.')}>: Recipient address rejected`));
  }

  // Linked both ways.
  const [a, b] = await Promise.all([h.api('GET', `/api/v1/campaigns/${followUp}`), h.api('GET', `/api/v1/campaigns/${original}`)]);
  assert.equal(a.body.followUpOf, original);
  assert.equal(a.body.name, 'November statements (follow-up)');
  assert.deepEqual(b.body.followUps.map((f: { id: string }) => f.id), [followUp]);
  assert.equal(b.body.followUpOf, undefined);

  // The same content: the preview renders the original's templates with each recipient's variables.
  const first = review.body.items[0].id as number;
  const preview = await h.api('GET', `/api/v1/campaigns/${followUp}/recipients/${first}/preview`);
  assert.equal(preview.body.subject, 'Your statement, Customer 2');
  assert.match(preview.body.text, /your balance is 20 EUR/);

  // Nothing is sent before approval; after it, exactly the two.
  assert.equal(messagesFor(h, followUp).length, 0);
  assert.equal((await h.api('POST', `/api/v1/campaigns/${followUp}/approve`, {})).status, 200);
  const done = await waitForStatus(h, followUp, 'completed', 60_000);
  assert.equal(done.counts.sent, 2);
  assert.deepEqual(messagesFor(h, followUp).map((m) => m.to).sort(), [['customer2@example.com'], ['customer4@example.com']]);

  const audit = await h.api('GET', `/api/v1/audit?campaign=${followUp}&action=campaign.create`);
  assert.equal(audit.body.items[0].details.followUpOf, original);
  assert.deepEqual(audit.body.items[0].details.sendStatus, ['failed']);
});

test('any field of a follow-up may be overridden, and sendStatus chooses whom it sends to', async () => {
  const res = await h.api('POST', '/api/v1/campaigns', {
    name: 'Second notice',
    subject: 'Reminder: your statement, {{ name }}',
    recipientsFrom: { campaign: original, sendStatus: ['failed', 'sent'] },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.id as string;
  const built = await waitForStatus(h, id, 'awaiting_review');
  assert.equal(built.name, 'Second notice');
  // Every one of them carries its previous outcome: the reviewer sees who would get the message twice.
  assert.equal(built.countsByStatus.build.warning, 5);
  const review = await h.api('GET', `/api/v1/campaigns/${id}/review`);
  const reasons = review.body.items.map((r: { reasons: string[] }) => r.reasons[0]!.replace(/^(previous-send: \w+: \d+).*$/, '$1'));
  assert.deepEqual(reasons, ['previous-send: sent: 250', 'previous-send: failed: 550', 'previous-send: sent: 250', 'previous-send: failed: 550', 'previous-send: sent: 250']);
  const preview = await h.api('GET', `/api/v1/campaigns/${id}/recipients/1/preview`);
  assert.equal(preview.body.subject, 'Reminder: your statement, Customer 1');
  assert.match(preview.body.text, /your balance is 10 EUR/, 'the text is still the original\'s');
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/reject`, {})).status, 200);
});

test('another tenant\'s campaign cannot be sent again: a 404 exactly like reading it', async () => {
  const other = await createKey(h, { name: 'other-writer', scopes: ['campaigns:write', 'campaigns:read'], tenant: 'other' });
  const read = await h.api('GET', `/api/v1/campaigns/${original}`, undefined, bearer(other.key));
  const follow = await h.api('POST', '/api/v1/campaigns', { recipientsFrom: { campaign: original } }, bearer(other.key));
  assert.equal(read.status, 404);
  assert.equal(follow.status, 404);
  assert.deepEqual(follow.body, read.body);
  const [row] = await h.sql`SELECT count(*)::int AS n FROM campaigns WHERE tenant = 'other'`;
  assert.equal(row!.n, 0, 'nothing was created');
});

test('a bad follow-up source is a 422 naming the field', async () => {
  const cases: [unknown, string][] = [
    [{ recipientsFrom: { campaign: 'not-a-uuid' } }, 'recipientsFrom.campaign'],
    [{ recipientsFrom: { campaign: original, sendStatus: ['lost'] } }, 'recipientsFrom.sendStatus.0'],
    [{ recipientsFrom: { campaign: original, sendStatus: [] } }, 'recipientsFrom.sendStatus'],
    [{ recipientsFrom: { campaign: original, s3: { bucket: h.bucket, key: 'x.csv' } } }, 'recipientsFrom'],
    [{ ...campaignBody(1), recipientsFrom: { campaign: original } }, 'recipientsFrom'],
    [{ recipientsFrom: { campaign: original }, subject: 'line\nbreak' }, 'subject'],
  ];
  for (const [body, path] of cases) {
    const res = await h.api('POST', '/api/v1/campaigns', body);
    assert.equal(res.status, 422, `${JSON.stringify(body).slice(0, 120)} → ${res.status} ${JSON.stringify(res.body)}`);
    assert.ok(res.body.problems.some((p: { path: string }) => p.path === path), `${path} in ${JSON.stringify(res.body.problems)}`);
  }
  // An unknown campaign id is a 404, like reading it.
  const missing = await h.api('POST', '/api/v1/campaigns', { recipientsFrom: { campaign: '00000000-0000-4000-8000-000000000000' } });
  assert.equal(missing.status, 404);
});
