import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registeredRoutes, type RegisteredRoute } from '../src/api/route-table.js';
import { SCOPES } from '../src/api/scopes.js';
import { campaignBody } from './helpers/campaigns.js';
import { allowDefaultAccount, bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// Every route Express holds, read from its router stack: a route added later without a declared
// scope, or one that lets a key see another tenant's resources, fails here.

let h: Harness;
let routes: RegisteredRoute[];
const keysA: Record<string, string> = {};
let allA: string;
let allB: string;
let campaignA: string;
let campaignB: string;
let keyB: { id: string; key: string };

/** Routes anyone may call: they hold nothing of any tenant. */
// The one-click unsubscribe link is checked by its HMAC, not a key (src/unsubscribe).
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /api/v1/openapi.json', 'GET /unsubscribe/:token', 'POST /unsubscribe/:token', 'OPTIONS /unsubscribe/:token']);

before(async () => {
  h = await startHarness({ imap: false });
  routes = registeredRoutes(h.app.router);
  allA = (await createKey(h, { name: 'a-all', scopes: [...SCOPES], tenant: 'tenant-a' })).key;
  for (const scope of SCOPES) {
    const others = SCOPES.filter((s) => s !== scope);
    keysA[scope] = (await createKey(h, { name: `a-without-${scope.replace(':', '-')}`, scopes: others, tenant: 'tenant-a' })).key;
  }
  keyB = await createKey(h, { name: 'b-all', scopes: [...SCOPES], tenant: 'tenant-b' });
  allB = keyB.key;
  await allowDefaultAccount(h, 'tenant-a');
  await allowDefaultAccount(h, 'tenant-b');
  const a = await h.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(allA));
  const b = await h.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(allB));
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  const account = await h.api('POST', '/api/v1/accounts', { name: 'acct-b', smtp: { host: 'smtp.b.test', user: 'b', password: 'b-secret' } }, bearer(allB));
  assert.equal(account.status, 201, JSON.stringify(account.body));
  campaignA = a.body.id;
  campaignB = b.body.id;
  await eventually(
    async () => (await h.api('GET', `/api/v1/campaigns/${campaignB}`, undefined, bearer(allB))).body.status === 'awaiting_review',
    60_000,
    "tenant B's campaign to await review",
  );
});
after(async () => {
  await h?.close();
});

/** The route's path with its parameters filled in with `tenant`'s resources, but `one` given its own value. */
function concrete(r: RegisteredRoute, tenant: 'a' | 'b', one?: { name: string; value: string }): string {
  return r.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    if (name === one?.name) return encodeURIComponent(one.value);
    if (name === 'id' && r.path.startsWith('/api/v1/campaigns/')) return tenant === 'a' ? campaignA : campaignB;
    if (name === 'id' && r.path.startsWith('/api/v1/keys/')) return tenant === 'a' ? 'ffffffff-ffff-4fff-8fff-ffffffffffff' : keyB.id;
    if (name === 'name' && r.path.startsWith('/api/v1/accounts/')) return tenant === 'a' ? 'acct-a' : 'acct-b';
    if (name === 'rid' && r.path.startsWith('/api/v1/campaigns/')) return '1';
    if (name === 'email' && r.path.startsWith('/api/v1/suppressions/')) return tenant === 'a' ? 'a@example.com' : 'b@example.com';
    if (name === 'tenant' && r.path.startsWith('/api/v1/tenants/')) return tenant === 'a' ? 'tenant-a' : 'tenant-b';
    assert.fail(`no fixture for :${name} in ${r.method} ${r.path}: add one to this test`);
  });
}

/** Values of a parameter that name nothing of tenant A's (malformed, and well-formed but unknown), and the resource its 404 names. */
function missing(r: RegisteredRoute, name: string): { resource: string; values: string[] } {
  const unknownUuid = '6f1c1d38-3b7e-4f2a-9a53-2b8f5b0b7c11';
  if (name === 'id' && r.path.startsWith('/api/v1/campaigns/')) return { resource: 'campaign', values: ['not-a-uuid', unknownUuid] };
  if (name === 'id' && r.path.startsWith('/api/v1/keys/')) return { resource: 'key', values: ['not-a-uuid', unknownUuid] };
  if (name === 'rid') return { resource: 'recipient', values: ['x', '0', '2147483648', '999999'] };
  if (name === 'name') return { resource: 'account', values: ['Not Valid', 'no-such-account'] };
  if (name === 'email') return { resource: 'suppression', values: ['nobody@example.com'] };
  if (name === 'tenant') return { resource: 'tenant', values: ['Not Valid', 'no-such-tenant'] };
  assert.fail(`no missing values for :${name} in ${r.method} ${r.path}: add them to this test`);
}

const call = (r: RegisteredRoute, path: string, headers: Record<string, string>) =>
  h.api(r.method, path, r.method === 'GET' || r.method === 'DELETE' ? undefined : {}, headers);

describe('the route table', () => {
  test('lists the routes of the API, and every non-public route declares a scope', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      'POST /api/v1/campaigns',
      'GET /api/v1/campaigns',
      'GET /api/v1/campaigns/:id',
      'GET /api/v1/campaigns/:id/recipients',
      'GET /api/v1/campaigns/:id/report.csv',
      'POST /api/v1/campaigns/:id/approve',
      'POST /api/v1/campaigns/:id/reject',
      'POST /api/v1/campaigns/:id/pause',
      'POST /api/v1/campaigns/:id/resume',
      'POST /api/v1/campaigns/:id/cancel',
      'POST /api/v1/campaigns/:id/continue',
      'POST /api/v1/keys',
      'GET /api/v1/keys',
      'DELETE /api/v1/keys/:id',
      'GET /api/v1/audit',
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    const undeclared = routes.filter((r) => !PUBLIC.has(`${r.method} ${r.path}`) && !r.spec);
    assert.deepEqual(undeclared.map((r) => `${r.method} ${r.path}`), [], 'routes without a scope');
  });
});

describe('every route', () => {
  test('answers 401 without a key and with an unknown key', async () => {
    for (const r of routes.filter((r) => r.spec)) {
      for (const headers of [{ authorization: '' }, bearer('cm_not-a-key')]) {
        const res = await call(r, concrete(r, 'a'), headers);
        assert.equal(res.status, 401, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
      }
    }
  });

  test('answers 403 to a key of the same tenant that lacks its scope', async () => {
    for (const r of routes.filter((r) => r.spec)) {
      const res = await call(r, concrete(r, 'a'), bearer(keysA[r.spec!.scope]!));
      assert.equal(res.status, 403, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error, new RegExp(r.spec!.scope));
    }
  });

  test("answers 404 to another tenant's resources, and lists none of them", async () => {
    const foreign = [campaignB, keyB.id, 'acct-b'];
    for (const r of routes.filter((r) => r.spec)) {
      if (r.path.includes(':')) {
        const res = await call(r, concrete(r, 'b'), bearer(allA));
        assert.equal(res.status, 404, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
      } else if (r.method === 'GET') {
        const res = await call(r, r.path, bearer(allA));
        assert.equal(res.status, 200, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
        const text = JSON.stringify(res.body);
        for (const id of foreign) assert.ok(!text.includes(id), `${r.method} ${r.path} shows tenant B's ${id}`);
      }
    }
    // Nothing tenant A tried changed tenant B's campaign or key.
    const b = await h.api('GET', `/api/v1/campaigns/${campaignB}`, undefined, bearer(allB));
    assert.equal(b.body.status, 'awaiting_review');
    assert.equal((await h.api('GET', '/api/v1/accounts/acct-b', undefined, bearer(allB))).status, 200, "tenant B's account is still there");
    const keys = await h.api('GET', '/api/v1/keys', undefined, bearer(allB));
    assert.equal(keys.body.items.find((k: { id: string }) => k.id === keyB.id).revokedAt, undefined);
  });

  test('answers 404 to a malformed or unknown value of every path parameter, as to a foreign one', async () => {
    let checked = 0;
    for (const r of routes.filter((r) => r.spec && r.path.includes(':'))) {
      // One parameter at a time, the others naming tenant A's real resources: the 404 is about that one.
      for (const name of [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)) {
        const { resource, values } = missing(r, name);
        for (const value of values) {
          const res = await call(r, concrete(r, 'a', { name, value }), bearer(allA));
          assert.equal(res.status, 404, `${r.method} ${r.path} with :${name} = ${value}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error, `${resource} not found`, `${r.method} ${r.path} with :${name} = ${value}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 40, `${checked} requests`);
  });

  test("tenant A's own resources are found with the same key (the 404s above are about the tenant)", async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${campaignA}`, undefined, bearer(allA));
    assert.equal(res.status, 200);
    assert.equal(res.body.tenant, 'tenant-a');
    assert.equal(res.body.createdBy, 'key:a-all');
  });
});
