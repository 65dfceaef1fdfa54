import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { campaignBody } from './helpers/campaigns.js';
import { allowDefaultAccount, bearer, createKey, startHarness, type Harness } from './helpers/harness.js';
import { registeredRoutes } from '../src/api/route-table.js';
import * as responses from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';

// Idempotent create, the campaign list and its pages, and the OpenAPI document.

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
