import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { campaignBody } from './helpers/campaigns.js';
import { startExtraApi } from './helpers/app.js';
import { bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// What a tenant may send through and to, as the installation's admin sets it: the shared `default`
// account only when allowed, From the domains listed; test messages only to the reviewer's own
// address or the tenant's listed ones. Through the real API, Temporal and SMTP sink.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => h?.close());

const settings = (tenant: string, body: unknown) => h.api('PUT', `/api/v1/tenants/${tenant}`, body);

describe('the default account is the installation’s', () => {
  test('another tenant sends through it only when the admin allows it, and only From the domains listed', async () => {
    const writer = await createKey(h, { name: 'acme-writer', scopes: ['campaigns:write', 'campaigns:read'], tenant: 'acme' });
    const as = bearer(writer.key);
    const refused = await h.api('POST', '/api/v1/campaigns', campaignBody(1), as);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.problems[0].path, 'account');
    assert.match(refused.body.error, /tenant acme may not send through the installation's default account/);
    const [none] = await h.sql`SELECT count(*)::int AS n FROM campaigns WHERE tenant = 'acme'`;
    assert.equal(none!.n, 0, 'nothing stored');

    const put = await settings('acme', { defaultAccount: { allowed: true, fromDomains: ['Acme.Example'] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.defaultAccount, { allowed: true, fromDomains: ['acme.example'] });
    const [audit] = await h.sql`SELECT details FROM audit_log WHERE tenant = 'acme' AND action = 'tenant.update' ORDER BY id DESC LIMIT 1`;
    assert.equal(audit!.details.after.defaultAccountAllowed, true);

    const wrongDomain = await h.api('POST', '/api/v1/campaigns', campaignBody(1), as);
    assert.equal(wrongDomain.status, 403);
    assert.deepEqual(wrongDomain.body.problems, [{ path: 'from', message: 'acme.test is not a From domain tenant acme may use on the default account (acme.example)' }]);

    const fine = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { from: 'Acme <news@acme.example>', review: { required: true } }), as);
    assert.equal(fine.status, 201, JSON.stringify(fine.body));

    // The admin narrows it again: the next campaign is refused.
    assert.equal((await settings('acme', { defaultAccount: { allowed: false } })).status, 200);
    assert.equal((await h.api('POST', '/api/v1/campaigns', campaignBody(1, { from: 'news@acme.example' }), as)).status, 403);
  });

  test('tenant default keeps it unless the admin says otherwise', async () => {
    const read = await h.api('GET', '/api/v1/tenants/default');
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.defaultAccount, { allowed: true, fromDomains: [] });
    assert.equal((await h.api('POST', '/api/v1/campaigns', campaignBody(1))).status, 201);
    assert.equal((await settings('default', { defaultAccount: { allowed: false } })).status, 200);
    try {
      assert.equal((await h.api('POST', '/api/v1/campaigns', campaignBody(1))).status, 403);
    } finally {
      assert.equal((await settings('default', {})).status, 200);
    }
    assert.equal((await h.api('POST', '/api/v1/campaigns', campaignBody(1))).status, 201, 'left out again: allowed for tenant default');
  });

  test('settings that are not domains or addresses are a 422 naming the field', async () => {
    const bad = await settings('acme', { defaultAccount: { allowed: true, fromDomains: ['not a domain'] }, testSend: { recipients: ['nobody'] } });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.problems.map((p: { path: string }) => p.path).sort(), ['defaultAccount.fromDomains.0', 'testSend.recipients.0']);
  });
});

describe('test sends go to test addresses only', () => {
  test("a reviewer's own address and the tenant's listed ones; nothing else is sent (the admin's key sends anywhere: test-send.test.ts)", async () => {
    assert.equal((await settings('beta', { defaultAccount: { allowed: true } })).status, 200);
    const writer = await createKey(h, { name: 'beta-writer', scopes: ['campaigns:write', 'campaigns:read'], tenant: 'beta' });
    const reviewer = await h.api('POST', '/api/v1/keys', { name: 'beta-rita', scopes: ['campaigns:read', 'campaigns:review'], tenant: 'beta', person: 'Rita@Beta.example' });
    assert.equal(reviewer.status, 201, JSON.stringify(reviewer.body));
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { from: 'billing@beta.example' }), bearer(writer.key));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await eventually(async () => (await h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(writer.key))).body.status === 'awaiting_review' || undefined, 60_000, 'awaiting review');
    const testSend = (to: string, key: string) => h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to }, bearer(key));
    const sentTo = (to: string) => h.sink.messages.filter((m) => m.to.includes(to)).length;

    const stranger = await testSend('someone@elsewhere.example', reviewer.body.key);
    assert.equal(stranger.status, 403, JSON.stringify(stranger.body));
    assert.equal(stranger.body.problems[0].path, 'to');
    assert.match(stranger.body.error, /is not a test address of tenant beta/);
    assert.equal(sentTo('someone@elsewhere.example'), 0, 'nothing sent');

    const own = await testSend('rita@beta.example', reviewer.body.key);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(sentTo('rita@beta.example'), 1);

    assert.equal((await testSend('qa1@qa.beta.example', reviewer.body.key)).status, 403);
    assert.equal((await settings('beta', { defaultAccount: { allowed: true }, testSend: { recipients: ['@qa.beta.example', 'Lead@Beta.example'] } })).status, 200);
    assert.equal((await testSend('qa1@qa.beta.example', reviewer.body.key)).status, 200, 'a listed domain');
    assert.equal((await testSend('lead@beta.example', reviewer.body.key)).status, 200, 'a listed address');
    assert.equal((await testSend('other@beta.example', reviewer.body.key)).status, 403, 'the domain of a listed address is not listed');
  });
});

describe('the Temporal UI is operator power', () => {
  test("only the installation's API_KEY is linked to it; a tenant's keys never are", async () => {
    const linked = await startExtraApi(h, { temporalUiUrl: 'http://127.0.0.1:8233' });
    try {
      const tenantKey = await createKey(h, { name: 'gamma-writer', scopes: ['campaigns:write', 'campaigns:read'], tenant: 'gamma' });
      assert.equal((await h.api('PUT', '/api/v1/tenants/gamma', { defaultAccount: { allowed: true } })).status, 200);
      const mine = await linked.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(tenantKey.key));
      assert.equal(mine.status, 201, JSON.stringify(mine.body));
      assert.equal(mine.body.temporalUrl, undefined);
      for (const path of [`/api/v1/campaigns/${mine.body.id}`, '/api/v1/campaigns']) {
        const read = await linked.api('GET', path, undefined, bearer(tenantKey.key));
        assert.equal(read.status, 200);
        assert.doesNotMatch(JSON.stringify(read.body), /8233|temporalUrl/, path);
      }
      const admin = await linked.api('POST', '/api/v1/campaigns', campaignBody(1));
      assert.equal(admin.body.temporalUrl, `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(admin.body.workflowId)}`);
      assert.match((await linked.api('GET', `/api/v1/campaigns/${admin.body.id}`)).body.temporalUrl, /^http:\/\/127\.0\.0\.1:8233\//);
    } finally {
      await linked.close();
    }
  });
});
