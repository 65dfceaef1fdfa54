import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'csv-parse/sync';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { allowDefaultAccount, API_KEY, bearer, createKey, startHarness, type Harness } from './helpers/harness.js';
import { randomUUID } from 'node:crypto';
import { registeredRoutes } from '../src/api/route-table.js';
import { insertCampaign } from '../src/db/campaigns.js';
import { insertRecipients } from '../src/db/recipients.js';
import * as responses from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';

// Idempotent create, lists and their pages, the CSV report, API keys, the audit log, OpenAPI.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

describe('Idempotency-Key on POST /campaigns', () => {
  test('the same key and body give the same campaign; another body is a 409', async () => {
    const body = campaignBody(2);
    const first = await h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': 'run-2026-11-a' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assertConforms(responses.campaignCreatedResponse, first.body);
    // Same content, keys in another order: still the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await h.api('POST', '/api/v1/campaigns', reordered, { 'idempotency-key': 'run-2026-11-a' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');

    const other = await h.api('POST', '/api/v1/campaigns', campaignBody(3), { 'idempotency-key': 'run-2026-11-a' });
    assert.equal(other.status, 409);
    assert.match(other.body.error, /different request body/);

    const [row] = await h.sql`SELECT count(*)::int AS n FROM campaigns WHERE name = ${body.name}`;
    const [three] = await h.sql`SELECT count(*)::int AS n FROM campaigns WHERE name = 'Statement run 3'`;
    assert.equal(row!.n, 1, 'one campaign for the key');
    assert.equal(three!.n, 0, 'the conflicting request created nothing');
    const [creates] = await h.sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'campaign.create' AND campaign_id = ${first.body.id}`;
    assert.equal(creates!.n, 1);
  });

  test('concurrent requests with one key create one campaign', async () => {
    const body = campaignBody(1, { name: 'Concurrent' });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': 'concurrent-1' })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
    const [row] = await h.sql`SELECT count(*)::int AS n FROM campaigns WHERE name = 'Concurrent'`;
    assert.equal(row!.n, 1);
  });

  test('keys belong to a tenant: the same key in another tenant is another campaign', async () => {
    const other = await createKey(h, { name: 'idem-other', scopes: ['campaigns:write'], tenant: 'idem-tenant' });
    await allowDefaultAccount(h, 'idem-tenant');
    const body = campaignBody(1, { name: 'Per tenant' });
    const a = await h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': 'shared-key' });
    const b = await h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': 'shared-key', ...bearer(other.key) });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.id, b.body.id);
  });

  test('a malformed key is a 422 naming the header', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', campaignBody(1), { 'idempotency-key': 'has space' });
    assert.equal(res.status, 422);
    assert.equal(res.body.problems[0].path, 'Idempotency-Key');
  });
});

describe('GET /campaigns', () => {
  test('pages newest first with limit and cursor, and filters by status', async () => {
    const tenant = await createKey(h, { name: 'lister', scopes: ['campaigns:write', 'campaigns:read', 'campaigns:review'], tenant: 'lists' });
    await allowDefaultAccount(h, 'lists');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { name: `List ${i}` }), bearer(tenant.key));
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await h.api('GET', `/api/v1/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, bearer(tenant.key));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertConforms(responses.campaignListResponse, res.body);
      assert.ok(res.body.items.length <= 2);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    assert.equal(pages, 3);

    // Reject two, then filter.
    for (const id of ids.slice(0, 2)) {
      await waitForStatusAs(id, tenant.key, 'awaiting_review');
      assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/reject`, {}, bearer(tenant.key))).status, 200);
    }
    const rejected = await h.api('GET', '/api/v1/campaigns?status=rejected', undefined, bearer(tenant.key));
    assert.deepEqual(rejected.body.items.map((c: { id: string }) => c.id).sort(), ids.slice(0, 2).sort());
    for (const c of rejected.body.items) assert.equal(c.status, 'rejected');

    const bad = await h.api('GET', '/api/v1/campaigns?status=nope&limit=0', undefined, bearer(tenant.key));
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.problems.map((p: { path: string }) => p.path).sort(), ['limit', 'status']);
  });
});

async function waitForStatusAs(id: string, key: string, status: string) {
  for (let i = 0; i < 400; i++) {
    const res = await h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(key));
    if (res.body.status === status) return res.body;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`campaign ${id} never became ${status}`);
}

describe('recipients and report.csv of a sent campaign', () => {
  let id: string;
  before(async () => {
    const body = campaignBody(5);
    delete (body.recipients[3] as { vars?: unknown }).vars; // no balance: this one is blocked
    id = await createCampaign(h, body);
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    await waitForStatus(h, id, 'completed');
  });

  test('GET /campaigns/:id counts recipients per build, send and Sent-copy status', async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${id}`);
    assertConforms(responses.campaignResponse, res.body);
    assert.deepEqual(res.body.countsByStatus, {
      build: { ready: 4, warning: 0, needs_review: 0, blocked: 1, excluded: 0 },
      send: { pending: 0, sending: 0, sent: 4, failed: 0, cancelled: 0, skipped: 1, bounced: 0 },
      copy: { not_requested: 5, pending: 0, appended: 0, failed: 0 },
    });
  });

  test('GET /campaigns/:id/recipients pages in list order and filters by each status', async () => {
    const first = await h.api('GET', `/api/v1/campaigns/${id}/recipients?limit=3`);
    assert.equal(first.status, 200);
    assertConforms(responses.recipientListResponse, first.body);
    assert.deepEqual(first.body.items.map((r: { id: number }) => r.id), [1, 2, 3]);
    const second = await h.api('GET', `/api/v1/campaigns/${id}/recipients?limit=3&cursor=${first.body.nextCursor}`);
    assert.deepEqual(second.body.items.map((r: { id: number }) => r.id), [4, 5]);
    assert.equal(second.body.nextCursor, undefined);
    assert.equal(first.body.items[0].email, 'customer1@example.com');
    assert.equal(first.body.items[0].sendStatus, 'sent');
    assert.match(first.body.items[0].messageId, new RegExp(id));

    const sent = await h.api('GET', `/api/v1/campaigns/${id}/recipients?status=sent`);
    assert.deepEqual(sent.body.items.map((r: { id: number }) => r.id), [1, 2, 3, 5]);
    const blocked = await h.api('GET', `/api/v1/campaigns/${id}/recipients?buildStatus=blocked`);
    assert.deepEqual(blocked.body.items.map((r: { id: number }) => r.id), [4]);
    assert.equal(blocked.body.items[0].sendStatus, 'skipped');
    const copies = await h.api('GET', `/api/v1/campaigns/${id}/recipients?copyStatus=appended`);
    assert.deepEqual(copies.body.items, []);
  });

  test('report.csv has one row per recipient with statuses, Message-ID, SMTP reply and times', async () => {
    const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 5);
    const byId = new Map(rows.map((r) => [r.recipient_id, r]));
    const db = await h.sql`SELECT id, message_id, smtp_response, sent_at FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
    for (const r of db) {
      const row = byId.get(String(r.id))!;
      assert.equal(row.email, `customer${r.id}@example.com`);
      assert.equal(row.message_id, r.messageId ?? '');
      assert.equal(row.smtp_response, r.smtpResponse ?? '');
      assert.equal(row.sent_at, r.sentAt ? (r.sentAt as Date).toISOString() : '');
    }
    assert.equal(byId.get('1')!.send_status, 'sent');
    assert.match(byId.get('1')!.smtp_response ?? '', /^250/);
    assert.ok(byId.get('1')!.sent_at);
    assert.equal(byId.get('4')!.build_status, 'blocked');
    assert.equal(byId.get('4')!.send_status, 'skipped');
    assert.match(byId.get('4')!.build_reasons ?? '', /balance/);
    assert.equal(byId.get('1')!.copy_status, 'not_requested');
  });
});

test('report.csv streams a 20,000-recipient campaign, every row once, in list order', async (t) => {
  const id = randomUUID();
  await insertCampaign(h.sql, {
    id,
    name: 'Large report',
    definition: { from: { address: 'a@acme.test' }, subject: 's', text: 't', account: 'default' },
    source: { type: 'inline', recipients: [] },
    workflowId: `campaign-${id}`,
  });
  const n = 20_000;
  for (let start = 1; start <= n; start += 5000) {
    await insertRecipients(h.sql, id, Array.from({ length: 5000 }, (_, i) => ({
      id: start + i,
      email: `r${start + i}@example.com`,
      name: `Name, with "quotes" ${start + i}`,
      vars: {},
      buildStatus: 'ready' as const,
      buildReasons: [],
    })));
  }
  const started = performance.now();
  const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
  const text = await res.text();
  const ms = performance.now() - started;
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  t.diagnostic(`report.csv of ${n} recipients: ${Math.round(ms)} ms, ${text.length} bytes`);
  assert.equal(rows.length, n);
  assert.deepEqual(rows.map((r) => Number(r.recipient_id)), Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(rows[41]!.name, 'Name, with "quotes" 42');
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
    const creates = await h.api('GET', '/api/v1/audit?action=campaign.create&limit=2');
    assert.equal(creates.status, 200);
    assertConforms(responses.auditListResponse, creates.body);
    assert.equal(creates.body.items.length, 2);
    for (const r of creates.body.items) assert.equal(r.action, 'campaign.create');
    assert.ok(Number(creates.body.items[0].id) > Number(creates.body.items[1].id));
    const next = await h.api('GET', `/api/v1/audit?action=campaign.create&limit=2&cursor=${creates.body.nextCursor}`);
    assert.ok(Number(next.body.items[0].id) < Number(creates.body.items[1].id));
    const byKey = await h.api('GET', '/api/v1/audit?principal=key:key-admin');
    assert.deepEqual(byKey.body.items.map((r: { action: string }) => r.action), ['key.create']);
    const bad = await h.api('GET', '/api/v1/audit?action=campaign.explode');
    assert.equal(bad.status, 422);
  });
});

describe('GET /api/v1/openapi.json', () => {
  test('is public, OpenAPI 3.1, and lists every route with its scope and schemas', async () => {
    const res = await fetch(`${h.baseUrl}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, any>> };
    assert.equal(doc.openapi, '3.1.0');
    const validation = await new Validator().validate(doc as never);
    assert.equal(validation.valid, true, JSON.stringify(validation.errors));
    const routes = registeredRoutes(h.app.router).filter((r) => r.spec);
    assert.ok(routes.length >= 14);
    for (const r of routes) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${path} in the document`);
      assert.equal(op['x-scope'], r.spec!.scope);
    }
    const create = doc.paths['/api/v1/campaigns']!.post.requestBody.content['application/json'].schema;
    // exactly one recipient source is required; the schema's refinement enforces that. A campaign
    // needs name, from and subject; a follow-up (recipientsFrom.campaign) takes them from its original.
    assert.deepEqual(create.anyOf[1].required, ['name', 'from', 'subject']);
    assert.deepEqual(create.anyOf[0].properties.recipientsFrom.required, ['campaign']);
    for (const source of ['recipients', 'recipientsCsv', 'recipientsFrom']) assert.ok(create.properties[source], source);
    assert.equal(create.properties.review.properties.distinctReviewer.type, 'boolean');
    const answer = doc.paths['/api/v1/campaigns/{id}']!.get.responses['200'].content['application/json'].schema;
    assert.ok(answer.properties.countsByStatus && answer.properties.temporalUrl);
    assert.ok(doc.paths['/api/v1/keys']!.post.responses['201'].content['application/json'].schema.properties.key);
    const list = doc.paths['/api/v1/campaigns']!.get.parameters.map((p: { name: string }) => p.name);
    assert.deepEqual(list.sort(), ['cursor', 'limit', 'status']);
  });
});
