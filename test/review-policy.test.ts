import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { campaignWorkflowId } from '../src/contract/workflow-ids.js';
import { approveUpdate } from '../src/contract/messages.js';
import { campaignBody, waitForStatus } from './helpers/campaigns.js';
import { allowDefaultAccount, bearer, createKey, startHarness, type Harness } from './helpers/harness.js';

// Whether review may be skipped and whether four eyes is required are the tenant's settings,
// set by the installation's admin; a creator can only make review stricter. Four eyes compares
// the people behind the keys, so a creator's second key is still the creator.

let h: Harness;
const ALL = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'keys:admin'];

before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

async function settings(tenant: string, review: { skipAllowed?: boolean; fourEyesRequired?: boolean }) {
  await allowDefaultAccount(h, tenant, { review });
}

describe('skipping review is a tenant setting', () => {
  test('a new tenant (and the default one) may not skip review: 403 naming the setting, nothing created', async () => {
    const key = (await createKey(h, { name: 'creator', scopes: ALL, tenant: 'strict' })).key;
    await allowDefaultAccount(h, 'strict');
    for (const k of [key, undefined]) {
      const res = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { required: false } }), k ? bearer(k) : {});
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.setting, 'review.skipAllowed');
      assert.match(res.body.error, /review\.required: false is not allowed/);
    }
    assert.equal((await h.api('GET', '/api/v1/campaigns', undefined, bearer(key))).body.items.length, 0);
    const strict = await h.api('GET', '/api/v1/tenants/strict');
    assert.deepEqual(strict.body.review, { skipAllowed: false, fourEyesRequired: false });
    // asking for more review is always allowed
    const stricter = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { required: true, distinctReviewer: true } }), bearer(key));
    assert.equal(stricter.status, 201, JSON.stringify(stricter.body));
    assert.equal((await waitForStatus(h, stricter.body.id, 'awaiting_review', { key: key })).reviewPolicy.distinctReviewer, true);
  });

  test('where the admin allows it, review.required false goes straight to sending', async () => {
    await settings('relaxed', { skipAllowed: true });
    const key = (await createKey(h, { name: 'creator', scopes: ALL, tenant: 'relaxed' })).key;
    const res = await h.api('POST', '/api/v1/campaigns', campaignBody(2, { review: { required: false } }), bearer(key));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const done = await waitForStatus(h, res.body.id, 'completed', { key: key });
    assert.equal(done.counts.sent, 2);
  });

  test('a tenant that requires four eyes may not skip review, and its campaigns need a second person', async () => {
    await settings('careful', { skipAllowed: true, fourEyesRequired: true });
    const author = (await createKey(h, { name: 'author', scopes: ALL, tenant: 'careful' })).key;
    const reviewer = (await createKey(h, { name: 'reviewer', scopes: ['campaigns:review', 'campaigns:read'], tenant: 'careful' })).key;
    const skip = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { required: false } }), bearer(author));
    assert.equal(skip.status, 403, JSON.stringify(skip.body));
    assert.equal(skip.body.setting, 'review.fourEyesRequired');

    // the creator did not ask for four eyes; the tenant's setting gives it anyway
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(author));
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal((await waitForStatus(h, id, 'awaiting_review', { key: author })).reviewPolicy.distinctReviewer, true);
    const own = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(author));
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.match(own.body.error, /four-eyes rule/);
    const other = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(reviewer));
    assert.equal(other.status, 200, JSON.stringify(other.body));
    await waitForStatus(h, id, 'completed', { key: author });
  });

  test('four eyes turned on after a campaign was created still holds for it', async () => {
    const author = (await createKey(h, { name: 'author', scopes: ALL, tenant: 'later' })).key;
    await allowDefaultAccount(h, 'later');
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(author));
    const id = created.body.id as string;
    await waitForStatus(h, id, 'awaiting_review', { key: author });
    await settings('later', { fourEyesRequired: true });
    const own = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(author));
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(author))).body.status, 'awaiting_review');
  });
});

describe('four eyes compares people, not keys', () => {
  test("a creator's second key acts for the creator: its approval is refused", async () => {
    const alice = await createKey(h, { name: 'alice', scopes: ALL, tenant: 'people' });
    await allowDefaultAccount(h, 'people');
    const bob = await createKey(h, { name: 'bob', scopes: ['campaigns:review', 'campaigns:read'], tenant: 'people' });
    // alice mints herself a reviewer key
    const minted = await h.api('POST', '/api/v1/keys', { name: 'alice-reviewer', scopes: ['campaigns:review', 'campaigns:read'] }, bearer(alice.key));
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    assert.equal(minted.body.person, 'key:alice', 'a key made by a key acts for its maker');
    assert.equal(minted.body.principal, 'key:alice-reviewer');
    // nor can she say it is someone else's
    const claimed = await h.api('POST', '/api/v1/keys', { name: 'not-alice', scopes: ['campaigns:review'], person: 'bob' }, bearer(alice.key));
    assert.equal(claimed.status, 403, JSON.stringify(claimed.body));

    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { distinctReviewer: true } }), bearer(alice.key));
    const id = created.body.id as string;
    await waitForStatus(h, id, 'awaiting_review', { key: alice.key });
    const second = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(minted.body.key));
    assert.equal(second.status, 403, JSON.stringify(second.body));
    assert.match(second.body.error, /four-eyes rule: .*key:alice-reviewer acts for key:alice/);
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(alice.key))).body.status, 'awaiting_review');

    const ok = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(bob.key));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const rows = await h.api('GET', `/api/v1/audit?campaign=${id}&action=campaign.approve`, undefined, bearer(alice.key));
    assert.deepEqual(rows.body.items.map((r: { principal: string }) => r.principal), ['key:bob']);
    assert.equal(rows.body.items[0].details.person, 'key:bob');
  });

  test('an approve Update sent straight to Temporal cannot get round four eyes', async () => {
    const carol = await createKey(h, { name: 'carol', scopes: ALL, tenant: 'direct' });
    await allowDefaultAccount(h, 'direct');
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { distinctReviewer: true } }), bearer(carol.key));
    const id = created.body.id as string;
    await waitForStatus(h, id, 'awaiting_review', { key: carol.key });
    const handle = h.client.workflow.getHandle(campaignWorkflowId(id));
    await assert.rejects(
      handle.executeUpdate(approveUpdate, { args: [{ by: 'key:dave', note: 'trust me' }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /four-eyes rule/.test(String((err.cause as Error)?.message)),
    );
    const after = await h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(carol.key));
    assert.equal(after.body.status, 'awaiting_review');
    assert.equal(h.sink.messages.filter((m) => m.messageId?.includes(id)).length, 0);
    const refused = await h.api('GET', `/api/v1/audit?campaign=${id}&action=campaign.approve_refused`, undefined, bearer(carol.key));
    assert.equal(refused.body.items.length, 1, JSON.stringify(refused.body));
    assert.equal(refused.body.items[0].principal, 'update:key:dave');
    assert.equal(refused.body.items[0].details.via, 'temporal-update');
  });
});
