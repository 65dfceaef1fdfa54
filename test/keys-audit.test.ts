import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, createKey, startHarness, type Harness } from './helpers/harness.js';
import { campaignBody, createCampaign } from './helpers/campaigns.js';
import * as responses from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';

// API keys (shown once, stored hashed, scoped) and the append-only audit log.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

describe('API keys', () => {
  test('the secret is shown once, stored only as a hash, never listed; a revoked key is refused', async () => {
    const created = await h.api('POST', '/api/v1/keys', { name: 'ci-bot', scopes: ['campaigns:read'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assertConforms(responses.keyCreatedResponse, created.body);
    const secret: string = created.body.key;
    assert.match(secret, /^cm_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.principal, 'key:ci-bot');
    assert.equal(created.body.tenant, 'default');

    const stored = await h.sql`SELECT * FROM api_keys WHERE id = ${created.body.id}`;
    assert.ok(!JSON.stringify(stored).includes(secret), 'the plaintext key is not in the database');
    const list = await h.api('GET', '/api/v1/keys');
    assertConforms(responses.keyListResponse, list.body);
    assert.ok(!JSON.stringify(list.body).includes(secret), 'the list holds no secret');
    assert.ok(!JSON.stringify(list.body).includes(stored[0]!.keyHash as string), 'nor its hash');
    assert.ok(list.body.items.some((k: { id: string }) => k.id === created.body.id));

    assert.equal((await h.api('GET', '/api/v1/campaigns', undefined, bearer(secret))).status, 200);
    const revoke = await h.api('DELETE', `/api/v1/keys/${created.body.id}`);
    assert.equal(revoke.status, 200);
    assertConforms(responses.keyResponse, revoke.body);
    assert.ok(revoke.body.revokedAt);
    const refused = await h.api('GET', '/api/v1/campaigns', undefined, bearer(secret));
    assert.equal(refused.status, 401);

    const audit = await h.api('GET', `/api/v1/audit?principal=admin&limit=500`);
    const rows = audit.body.items.filter((r: { subject?: string }) => r.subject === created.body.id);
    assert.deepEqual(rows.map((r: { action: string }) => r.action), ['key.revoke', 'key.create']);
  });

  test('a key cannot grant scopes it lacks, nor create keys for another tenant', async () => {
    const keyAdmin = await createKey(h, { name: 'key-admin', scopes: ['keys:admin', 'campaigns:read'] });
    const escalate = await h.api('POST', '/api/v1/keys', { name: 'x', scopes: ['campaigns:write'] }, bearer(keyAdmin.key));
    assert.equal(escalate.status, 403);
    assert.match(escalate.body.error, /campaigns:write/);
    const elsewhere = await h.api('POST', '/api/v1/keys', { name: 'y', scopes: ['campaigns:read'], tenant: 'other' }, bearer(keyAdmin.key));
    assert.equal(elsewhere.status, 403);
    const ok = await h.api('POST', '/api/v1/keys', { name: 'z', scopes: ['campaigns:read'] }, bearer(keyAdmin.key));
    assert.equal(ok.status, 201);
    assert.equal(ok.body.createdBy, 'key:key-admin');
  });

  test('bad input is a 422 per field; a duplicate name is a 409', async () => {
    const bad = await h.api('POST', '/api/v1/keys', { name: 'has space', scopes: ['campaigns:fly'] });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.problems.map((p: { path: string }) => p.path).sort(), ['name', 'scopes.0']);
    await createKey(h, { name: 'twice', scopes: ['campaigns:read'] });
    const dup = await h.api('POST', '/api/v1/keys', { name: 'twice', scopes: ['campaigns:read'] });
    assert.equal(dup.status, 409);
  });
});

describe('the audit log', () => {
  test('is append-only in the database itself', async () => {
    await assert.rejects(h.sql`UPDATE audit_log SET principal = 'someone else'`, /append-only/);
    await assert.rejects(h.sql`DELETE FROM audit_log`, /append-only/);
    await assert.rejects(h.sql`TRUNCATE audit_log`, /append-only/);
  });

  test('pages newest first and filters by action and principal', async () => {
    // What this test reads, it makes: three campaigns, and a key that mints one key.
    for (let i = 0; i < 3; i++) await createCampaign(h, campaignBody(1));
    const auditor = await createKey(h, { name: 'audit-minter', scopes: ['keys:admin', 'campaigns:read'] });
    assert.equal((await h.api('POST', '/api/v1/keys', { name: 'minted-by-auditor', scopes: ['campaigns:read'] }, bearer(auditor.key))).status, 201);
    const creates = await h.api('GET', '/api/v1/audit?action=campaign.create&limit=2');
    assert.equal(creates.status, 200);
    assertConforms(responses.auditListResponse, creates.body);
    assert.equal(creates.body.items.length, 2);
    for (const r of creates.body.items) assert.equal(r.action, 'campaign.create');
    assert.ok(Number(creates.body.items[0].id) > Number(creates.body.items[1].id));
    const next = await h.api('GET', `/api/v1/audit?action=campaign.create&limit=2&cursor=${creates.body.nextCursor}`);
    assert.ok(Number(next.body.items[0].id) < Number(creates.body.items[1].id));
    const byKey = await h.api('GET', '/api/v1/audit?principal=key:audit-minter');
    assert.deepEqual(byKey.body.items.map((r: { action: string }) => r.action), ['key.create']);
    const bad = await h.api('GET', '/api/v1/audit?action=campaign.explode');
    assert.equal(bad.status, 422);
  });
});
