import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startExtraApi, type ExtraApi } from './helpers/app.js';
import { bearer, createKey, startHarness, type Harness } from './helpers/harness.js';

// Issue 11.10: no caller can starve the rest. Requests per key per minute (429 with
// Retry-After), recipients per campaign, attachment bytes a preview fetches and items per list
// page are capped, each by configuration, each with an error that says which limit.

let h: Harness;
let limited: ExtraApi;
let capped: ExtraApi;
before(async () => {
  // The worker's build applies MAX_RECIPIENTS_PER_CAMPAIGN to every list, S3 and CSV included.
  h = await startHarness({ imap: false, env: { MAX_RECIPIENTS_PER_CAMPAIGN: '3' } });
  limited = await startExtraApi(h, { limits: { requestsPerMinute: 5 } });
  capped = await startExtraApi(h, { s3: undefined, limits: { recipientsPerCampaign: 3, previewAttachmentBytes: 10, pageItems: 10 } });
});
after(async () => {
  await limited?.close();
  await capped?.close();
  await h?.close();
});

describe('API limits', () => {
  test('each key has its own request budget: over it, 429 with Retry-After; other keys go on', async () => {
    const a = await createKey(h, { name: 'flooder', scopes: ['campaigns:read'] });
    const b = await createKey(h, { name: 'neighbour', scopes: ['campaigns:read'] });
    for (let i = 0; i < 5; i++) assert.equal((await limited.api('GET', '/api/v1/campaigns', undefined, bearer(a.key))).status, 200, `request ${i + 1}`);
    const over = await limited.api('GET', '/api/v1/campaigns', undefined, bearer(a.key));
    assert.equal(over.status, 429);
    assert.match(over.body.error, /too many requests: at most 5 a minute per key/);
    const retryAfter = Number(over.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${over.headers.get('retry-after')}`);
    assert.equal((await limited.api('GET', '/api/v1/campaigns', undefined, bearer(b.key))).status, 200, 'another key is not held back');
    assert.equal((await limited.api('GET', '/healthz')).status, 200, 'health checks are not limited');
  });

  test('recipients per campaign: an inline list over the cap is a 422 on recipients; any list over it fails the build', async () => {
    const inline = await capped.api('POST', '/api/v1/campaigns', campaignBody(4));
    assert.equal(inline.status, 422);
    assert.deepEqual(inline.body.problems, [{ path: 'recipients', message: 'has 4 recipients, more than the 3 a campaign may have' }]);
    assert.equal((await capped.api('POST', '/api/v1/campaigns', campaignBody(3))).status, 201);

    const { recipients: _inline, ...rest } = campaignBody(0);
    const csv = ['email,name,balance', ...[1, 2, 3, 4].map((i) => `c${i}@example.com,C ${i},${i}`)].join('\n');
    const id = await createCampaign(h, { ...rest, recipientsCsv: csv });
    const failed = await waitForStatus(h, id, 'failed');
    assert.match(String(failed.error), /^too-many-recipients: the list has more than 3 recipients \(MAX_RECIPIENTS_PER_CAMPAIGN\)/);
    const [n] = await h.sql`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id}`;
    assert.equal(n!.n, 0, 'no half-built list');
  });

  test('a preview fetches at most the configured attachment bytes', async () => {
    await h.putObject('big/C1.pdf', Buffer.alloc(100, 1));
    const id = await createCampaign(h, { ...campaignBody(1), attachments: [{ bucket: h.bucket, key: 'big/C1.pdf' }] });
    await waitForStatus(h, id, 'awaiting_review');
    const [r] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id}`;
    const refused = await capped.api('GET', `/api/v1/campaigns/${id}/recipients/${r!.id}/preview`);
    assert.equal(refused.status, 422);
    assert.match(refused.body.error, /^preview-too-large: this message's attachments are 100 bytes, more than the 10 a preview may fetch \(PREVIEW_MAX_ATTACHMENT_BYTES\)/);
    const fine = await h.api('GET', `/api/v1/campaigns/${id}/recipients/${r!.id}/preview`);
    assert.equal(fine.status, 200, 'under the default limit the same preview is shown');
  });

  test('items per list page are capped', async () => {
    for (const path of ['/api/v1/campaigns?limit=11', '/api/v1/audit?limit=11', '/api/v1/suppressions?limit=11']) {
      const res = await capped.api('GET', path);
      assert.equal(res.status, 422, path);
      assert.deepEqual(res.body.problems, [{ path: 'limit', message: 'must be at most 10' }]);
    }
    assert.equal((await capped.api('GET', '/api/v1/campaigns?limit=10')).status, 200);
  });
});
