import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

const valid = () => ({
  name: 'Notice',
  from: { name: 'Acme', address: 'news@acme.test' },
  subject: 'Hello {{ name }}',
  text: 'Hi {{ name }}',
  recipients: [{ email: 'ann@example.com', name: 'Ann' }],
});

async function countCampaigns(): Promise<number> {
  const [row] = await h.sql`SELECT count(*)::int AS n FROM campaigns`;
  return row!.n as number;
}

function problem(body: { problems?: { path: string; message: string }[] }, path: string) {
  return body.problems?.find((p) => p.path === path || p.path.startsWith(`${path}.`));
}

describe('authentication', () => {
  test('no key is a 401 with a JSON error', async () => {
    const res = await h.api('GET', '/api/v1/campaigns/00000000-0000-0000-0000-000000000000', undefined, { authorization: '' });
    assert.equal(res.status, 401);
    assert.match(res.body.error, /missing API key/);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  });

  test('a wrong key is a 401, and creates nothing', async () => {
    const before = await countCampaigns();
    const res = await h.api('POST', '/api/v1/campaigns', valid(), { authorization: 'Bearer not-the-key' });
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid API key');
    assert.equal(await countCampaigns(), before);
  });

  test('health endpoints need no key; readiness checks Temporal and Postgres', async () => {
    const health = await fetch(`${h.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${h.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', postgres: 'ok', temporal: 'ok' });
  });
});

describe('creating a campaign with bad input is a 422 naming each problem, and stores nothing', () => {
  const cases: [string, (b: any) => unknown, string, RegExp][] = [
    ['missing subject', (b) => { delete b.subject; }, 'subject', /required/],
    ['empty subject', (b) => { b.subject = '  '; }, 'subject', /must not be empty/],
    ['invalid recipient address', (b) => { b.recipients[0].email = 'not-an-address'; }, 'recipients.0.email', /not a valid email address/],
    ['invalid from address', (b) => { b.from = 'Acme <nope>'; }, 'from', /address|must be/],
    ['empty recipient list', (b) => { b.recipients = []; }, 'recipients', /at least one recipient/],
    ['no recipients field', (b) => { delete b.recipients; }, 'recipients', /required/],
    ['neither text nor html', (b) => { delete b.text; }, 'text', /either text or html/],
    ['a template that does not parse', (b) => { b.text = 'Hi {{ name '; }, 'text', /not a valid template/],
    ['a line break in the subject', (b) => { b.subject = 'a\nBcc: x@evil.test'; }, 'subject', /line breaks/],
    ['an unknown field', (b) => { b.recipientz = []; }, '(body)', /unknown field/],
  ];
  for (const [name, mutate, path, message] of cases) {
    test(name, async () => {
      const body = valid();
      mutate(body);
      const before = await countCampaigns();
      const res = await h.api('POST', '/api/v1/campaigns', body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const p = problem(res.body, path);
      assert.ok(p, `a problem at ${path} in ${JSON.stringify(res.body.problems)}`);
      assert.match(p.message, message);
      assert.equal(await countCampaigns(), before);
    });
  }

  test('every problem is listed at once', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', { name: 'x', from: 'bad', recipients: [{ email: 'a' }, { email: 'b@example.com' }, { email: 'c' }] });
    assert.equal(res.status, 422);
    const paths = res.body.problems.map((p: { path: string }) => p.path);
    for (const p of ['from', 'subject', 'recipients.0.email', 'recipients.2.email']) assert.ok(paths.includes(p), `${p} in ${paths}`);
  });

  test('a body that is not JSON is a 400, not a 500', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', '{"name": ');
    assert.equal(res.status, 400);
    assert.match(res.body.error, /not valid JSON/);
  });

  test('JSON that is not an object is a 422 on (body), not called "not valid JSON", and stores nothing', async () => {
    const before = await countCampaigns();
    for (const [text, kind] of [['null', 'null'], ['42', 'a number'], ['"November statements"', 'a string']]) {
      const res = await h.api('POST', '/api/v1/campaigns', text);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(res.body.problems, [{ path: '(body)', message: `must be an object, not ${kind}` }]);
    }
    assert.equal(await countCampaigns(), before);
  });
});

describe('unknown campaigns', () => {
  for (const [method, path] of [
    ['GET', ''],
    ['POST', '/approve'],
    ['POST', '/reject'],
  ] as const) {
    test(`${method} /campaigns/:id${path} is a 404 for an unknown or malformed id`, async () => {
      for (const id of ['6f1c1d38-3b7e-4f2a-9a53-2b8f5b0b7c11', 'not-a-uuid']) {
        const res = await h.api(method, `/api/v1/campaigns/${id}${path}`, method === 'POST' ? {} : undefined);
        assert.equal(res.status, 404);
        assert.equal(res.body.error, 'campaign not found');
      }
    });
  }

  test('an unknown route under /api/v1 is a JSON 404', async () => {
    const res = await h.api('GET', '/api/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'no such route');
  });
});

test('a decision body with an unknown field is a 422', async () => {
  const created = await h.api('POST', '/api/v1/campaigns', valid());
  assert.equal(created.status, 201);
  const res = await h.api('POST', `/api/v1/campaigns/${created.body.id}/approve`, { note: 'ok', force: true });
  assert.equal(res.status, 422);
});
