import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Harness } from './helpers/harness.js';
import { create, messagesFor, startReviewHarness, waitForStatus } from './helpers/review-fixtures.js';

// The review gate: an unreviewed campaign expires, review.required false where the tenant allows
// it, and a bad review setting is refused, against real Postgres, Temporal and the SMTP sink.

let h: Harness;
before(async () => {
  h = await startReviewHarness();
});
after(async () => {
  await h?.close();
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
    const id = await create(h, small({ review: { expiresAfter: '2 seconds' } }));
    await waitForStatus(h, id, 'awaiting_review');
    const expired = await waitForStatus(h, id, 'expired', 30_000);
    assert.match(expired.error, /no review decision within 2 seconds/);
    assert.equal(messagesFor(h, id).length, 0);
    const late = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {});
    assert.equal(late.status, 409);
  });

  test('review.required false goes straight to sending where the tenant allows skipping review', async () => {
    // Skipping review is the installation admin's call for the tenant, not the creator's.
    const allow = await h.api('PUT', '/api/v1/tenants/default', { review: { skipAllowed: true } });
    assert.equal(allow.status, 200, JSON.stringify(allow.body));
    const id = await create(h, small({ review: { required: false } }));
    await waitForStatus(h, id, 'completed');
    assert.deepEqual(messagesFor(h, id).map((m) => m.to[0]).sort(), ['one@example.com', 'two@example.com']);
  });

  test('a bad review setting is a 422 naming the field', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', small({ review: { expiresAfter: 'soon' } }));
    assert.equal(res.status, 422);
    assert.equal(res.body.problems[0].path, 'review.expiresAfter');
  });
});
