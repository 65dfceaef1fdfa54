import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { ensureConsoleBuilt } from './helpers/browser.js';
import { bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// What the console needs from the REST API, through the real API, worker, Temporal and Postgres:
// who the key is, the campaign list's counts, the send rate per minute, the console's own page
// with its CSP, and an approval bound to the review's fingerprint.

let h: Harness;
before(async () => {
  await ensureConsoleBuilt();
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

describe('the console and its API', () => {
  test('GET / serves the console with a Content-Security-Policy that allows nothing remote but images (for a preview the reviewer asks to show them in)', async () => {
    const res = await fetch(`${h.baseUrl}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<div id="root">/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /\*/);
    // Remote sources appear in img-src alone: scripts, styles, fonts, frames and connections stay local.
    const remote = csp.split(';').map((d) => d.trim()).filter((d) => /https?:/.test(d));
    assert.deepEqual(remote, ["img-src 'self' data: blob: https: http:"]);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads its script from this origin');
    const js = await fetch(`${h.baseUrl}${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    // The API is still JSON, and an unknown API path is still the API's 404.
    assert.equal((await h.api('GET', '/api/v1/nope')).status, 404);
  });

  test('GET /me answers the key\'s tenant, principal, person and scopes, and nothing secret', async () => {
    const key = await createKey(h, { name: 'looker', scopes: ['campaigns:read'] });
    const me = await h.api('GET', '/api/v1/me', undefined, bearer(key.key));
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.deepEqual(me.body, { tenant: 'default', principal: 'key:looker', person: 'key:looker', scopes: ['campaigns:read'] });
    assert.ok(!JSON.stringify(me.body).includes(key.key));
    const writer = await createKey(h, { name: 'writer-only', scopes: ['campaigns:write'] });
    assert.equal((await h.api('GET', '/api/v1/me', undefined, bearer(writer.key))).status, 403);
    assert.equal((await h.api('GET', '/api/v1/me', undefined, bearer('cm_nope'))).status, 401);
  });

  test('the campaign list carries counts; sent-per-minute answers the series and the throttle as limit', async () => {
    const id = await createCampaign(h, campaignBody(3, { throttle: { messagesPerMinute: 600 } }));
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    await waitForStatus(h, id, 'completed');
    const list = await h.api('GET', '/api/v1/campaigns?limit=5');
    const item = list.body.items.find((c: { id: string }) => c.id === id);
    assert.deepEqual(item.counts, { total: 3, pending: 0, sent: 3, failed: 0, skipped: 0, cancelled: 0, bounced: 0, appended: 0 });
    const rate = await h.api('GET', `/api/v1/campaigns/${id}/sent-per-minute?minutes=10`);
    assert.equal(rate.status, 200, JSON.stringify(rate.body));
    assert.equal(rate.body.minutes.length, 10);
    assert.equal(rate.body.minutes.reduce((n: number, m: { sent: number }) => n + m.sent, 0), 3);
    assert.deepEqual(rate.body.limit, { messagesPerMinute: 600, from: 'throttle' });
    const bad = await h.api('GET', `/api/v1/campaigns/${id}/sent-per-minute?minutes=0`);
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].path, 'minutes');
  });
});

describe('an approval bound to the review\'s fingerprint', () => {
  test('a decision made after the review was loaded makes the approval a 409; the fresh fingerprint approves', async () => {
    const id = await createCampaign(h, {
      ...campaignBody(2),
      attachments: [{ bucket: h.bucket, key: 'extras/{{ name }}.txt', required: false }],
    });
    await waitForStatus(h, id, 'awaiting_review');
    const first = await h.api('GET', `/api/v1/campaigns/${id}/review`);
    assert.equal(first.status, 200);
    assert.equal(first.body.counts.needs_review, 2);
    assert.match(first.body.fingerprint, /^[A-Za-z0-9_-]{20,}$/);
    // Later pages do not hash the list again.
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}/review?after=1`)).body.fingerprint, undefined);
    // The same state gives the same fingerprint.
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}/review`)).body.fingerprint, first.body.fingerprint);

    // Another tab includes a recipient.
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/recipients/1/decision`, { include: true })).status, 200);
    const stale = await h.api('POST', `/api/v1/campaigns/${id}/approve`, { fingerprint: first.body.fingerprint });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(stale.body.status, 'awaiting_review');
    assert.match(stale.body.error, /changed since this review was loaded/);
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`)).body.status, 'awaiting_review');

    const fresh = await h.api('GET', `/api/v1/campaigns/${id}/review`);
    assert.notEqual(fresh.body.fingerprint, first.body.fingerprint);
    assert.equal(stale.body.fingerprint, fresh.body.fingerprint);
    const ok = await h.api('POST', `/api/v1/campaigns/${id}/approve`, { fingerprint: fresh.body.fingerprint, note: 'checked' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await eventually(async () => (await h.api('GET', `/api/v1/campaigns/${id}`)).body.status === 'completed', 60_000, 'completion');
    const ours = h.sink.messages.filter((m) => m.messageId?.includes(id));
    assert.deepEqual(ours.map((m) => m.to), [['customer1@example.com']], 'the included recipient only; the undecided one is not sent');
  });

  test('a fingerprint is optional, and a malformed one is a 422 naming the field', async () => {
    const id = await createCampaign(h, campaignBody(1));
    await waitForStatus(h, id, 'awaiting_review');
    const bad = await h.api('POST', `/api/v1/campaigns/${id}/approve`, { fingerprint: 42 });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].path, 'fingerprint');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
  });
});
