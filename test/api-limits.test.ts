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
let guarded: ExtraApi;
before(async () => {
  // The worker's build applies MAX_RECIPIENTS_PER_CAMPAIGN to every list, S3 and CSV included.
  h = await startHarness({ imap: false, env: { MAX_RECIPIENTS_PER_CAMPAIGN: '3' } });
  limited = await startExtraApi(h, { limits: { requestsPerMinute: 5, requestsPerTenantPerMinute: 8 } });
  capped = await startExtraApi(h, { s3: undefined, allowPrivateHosts: 'loopback', limits: { recipientsPerCampaign: 3, previewAttachmentBytes: 10, pageItems: 10, accountsPerTenant: 2 } });
  guarded = await startExtraApi(h, { limits: { authFailuresPerMinute: 3, publicRequestsPerMinute: 3 } });
});
after(async () => {
  await limited?.close();
  await capped?.close();
  await guarded?.close();
  await h?.close();
});

const smtpAccount = (name: string) => ({ name, smtp: { host: '127.0.0.1', port: 2525, security: 'plain', user: 'u', password: 'p' } });

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

  test("a tenant's keys share one budget: keys minted by an admin key gain nothing; other tenants go on", async () => {
    const minted = await Promise.all(['m1', 'm2', 'm3'].map((name) => createKey(h, { name, scopes: ['campaigns:read'], tenant: 'minting' })));
    const other = await createKey(h, { name: 'other-tenant', scopes: ['campaigns:read'], tenant: 'bystander' });
    const statuses: number[] = [];
    // 3 keys × 4 requests: each key is under its own 5, the tenant's 8 run out.
    for (const k of minted) for (let i = 0; i < 4; i++) statuses.push((await limited.api('GET', '/api/v1/campaigns', undefined, bearer(k.key))).status);
    assert.deepEqual(statuses, [...Array(8).fill(200), 429, 429, 429, 429]);
    const over = await limited.api('GET', '/api/v1/campaigns', undefined, bearer(minted[0]!.key));
    assert.match(over.body.error, /too many requests: at most 8 a minute for the tenant, all its keys together/);
    assert.ok(Number(over.headers.get('retry-after')) > 0);
    assert.equal((await limited.api('GET', '/api/v1/campaigns', undefined, bearer(other.key))).status, 200, 'another tenant is not held back');
  });

  test('an address that keeps failing to authenticate is refused before any key is looked up; valid requests use none of that budget', async () => {
    // Valid keys first: they do not count.
    for (let i = 0; i < 6; i++) assert.equal((await guarded.api('GET', '/api/v1/campaigns')).status, 200);
    const wrong = { authorization: 'Bearer not-a-key-of-anyone-at-all' };
    for (let i = 0; i < 3; i++) assert.equal((await guarded.api('GET', '/api/v1/campaigns', undefined, wrong)).status, 401, `attempt ${i + 1}`);
    const refused = await guarded.api('GET', '/api/v1/campaigns', undefined, wrong);
    assert.equal(refused.status, 429);
    assert.match(refused.body.error, /too many failed authentications: at most 3 a minute from one address/);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await guarded.api('GET', '/api/v1/campaigns')).status, 429, 'the address waits out the minute, whatever key it shows next');
    assert.equal((await guarded.api('GET', '/healthz')).status, 200, 'the liveness check is never limited');
  });

  test('what needs no key (/readyz, /unsubscribe) is limited per address', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await guarded.api('GET', '/readyz')).status);
    assert.deepEqual(seen, [200, 200, 200]);
    const readyz = await guarded.api('GET', '/readyz');
    assert.equal(readyz.status, 429);
    assert.match(readyz.body.error, /at most 3 a minute from one address/);
    const unsubscribe = await guarded.api('POST', '/unsubscribe/forged-token');
    assert.equal(unsubscribe.status, 429, 'the budget is the address\'s, shared by every public path');
  });

  test('accounts per tenant are capped, also against requests at once', async () => {
    const created = await Promise.all(['cap-a', 'cap-b', 'cap-c'].map((name) => capped.api('POST', '/api/v1/accounts', smtpAccount(name))));
    assert.deepEqual(created.map((r) => r.status).sort(), [201, 201, 409]);
    const refused = created.find((r) => r.status === 409)!;
    assert.match(refused.body.error, /the tenant has 2 accounts, the most it may have \(MAX_ACCOUNTS_PER_TENANT is 2\)/);
    const [n] = await h.sql`SELECT count(*)::int AS n FROM accounts WHERE tenant = 'default'`;
    assert.equal(n!.n, 2);
    const gone = created.find((r) => r.status === 201)!.body.name as string;
    assert.equal((await capped.api('DELETE', `/api/v1/accounts/${gone}`)).status, 200);
    assert.equal((await capped.api('POST', '/api/v1/accounts', smtpAccount('cap-d'))).status, 201, 'a place freed is a place again');
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
