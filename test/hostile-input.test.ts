import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_VARS_DEPTH } from '../src/contract/input.js';
import { waitForStatus } from './helpers/campaigns.js';
import { API_KEY, startHarness, type Harness } from './helpers/harness.js';
import { problemPaths } from './helpers/http.js';

// Bad input is always a 4xx: text PostgreSQL cannot store, numbers its columns cannot hold,
// nesting that would overflow a stack, bodies that are not JSON; and an SMTP refusal is a 502.

let h: Harness;
let campaignId: string;
before(async () => {
  h = await startHarness({ imap: false });
  const res = await h.api('POST', '/api/v1/campaigns', valid());
  assert.equal(res.status, 201, JSON.stringify(res.body));
  campaignId = res.body.id;
  await waitForStatus(h, campaignId, 'awaiting_review');
});
after(async () => {
  await h?.close();
});

const valid = (): Record<string, any> => ({
  name: 'Notice',
  from: 'Acme <news@acme.test>',
  subject: 'Hello {{ name }}',
  text: 'Hi {{ name }}, {{ note }}',
  vars: { note: 'see you' },
  recipients: [{ email: 'ann@example.com', name: 'Ann', vars: { note: 'hi' } }],
});


const NUL = '\u0000';
const LONE = '\ud800';

describe('text PostgreSQL cannot store is a 422 naming the field', () => {
  const cases: [string, (b: Record<string, any>) => void, string][] = [
    ['name', (b) => (b.name = `a${NUL}b`), 'name'],
    ['subject', (b) => (b.subject = `Hi ${LONE}`), 'subject'],
    ['text', (b) => (b.text = `x${NUL}`), 'text'],
    ['a vars value', (b) => (b.vars = { note: `a${LONE}` }), 'vars.note'],
    ['a vars key', (b) => (b.vars = { [`k${NUL}`]: 'v' }), `vars.k${NUL}`],
    ['a nested vars value', (b) => (b.vars = { a: [{ b: `\udc00` }] }), 'vars.a.0.b'],
    ['a recipient name', (b) => (b.recipients[0].name = `Ann${NUL}`), 'recipients.0.name'],
    ['a recipient vars value', (b) => (b.recipients[0].vars = { note: LONE }), 'recipients.0.vars.note'],
  ];
  for (const [what, mutate, path] of cases) {
    test(what, async () => {
      const body = valid();
      mutate(body);
      const res = await h.api('POST', '/api/v1/campaigns', body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(problemPaths(res.body).includes(path), `${path} in ${JSON.stringify(res.body)}`);
      assert.match(JSON.stringify(res.body.problems), /NUL characters or unpaired UTF-16 surrogates/);
    });
  }

  test('CSV text', async () => {
    const { recipients: _r, ...body } = valid();
    const res = await h.api('POST', '/api/v1/campaigns', { ...body, recipientsCsv: `email,name\nann@example.com,A${NUL}n\n` });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(problemPaths(res.body), ['recipientsCsv']);
  });

  test('a surrogate pair (an emoji) is text, not a lone surrogate', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', { ...valid(), name: 'Sale 😀' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  test('other routes: suppressions, accounts, keys, decisions, path and query', async () => {
    const answers = await Promise.all([
      h.api('POST', '/api/v1/suppressions', { email: 'x@example.com', reason: `r${NUL}` }),
      h.api('POST', '/api/v1/accounts', { name: 'acme', smtp: { host: 'smtp.example.com', user: `u${LONE}` } }),
      h.api('POST', `/api/v1/campaigns/${campaignId}/reject`, { note: `n${NUL}` }),
      h.api('DELETE', `/api/v1/suppressions/a%00b%40example.com`),
      h.api('GET', `/api/v1/audit?principal=a%00b`),
    ]);
    const paths = answers.map((a) => `${a.status} ${problemPaths(a.body).join(',')}`);
    assert.deepEqual(paths, ['422 reason', '422 smtp.user', '422 note', '422 :email', '422 principal']);
  });
});

describe('numbers are range-checked by their schema', () => {
  for (const [path, field] of [
    ['review?after=3000000000', 'after'],
    ['recipients?cursor=9999999999', 'cursor'],
    ['recipients?limit=1e2', 'limit'],
    ['recipients?limit=0x10', 'limit'],
    ['review?limit=', 'limit'],
  ] as const) {
    test(path, async () => {
      const res = await h.api('GET', `/api/v1/campaigns/${campaignId}/${path}`);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(problemPaths(res.body), [field]);
    });
  }
  test('a query field a route does not take is named as the query\'s; report.csv takes none', async () => {
    for (const [path, field] of [
      ['recipients?replied=true', 'replied'],
      ['report.csv?status=sent', 'status'],
      ['report.csv?limit=abc', 'limit'],
    ] as const) {
      const res = await h.api('GET', `/api/v1/campaigns/${campaignId}/${path}`);
      assert.equal(res.status, 422, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.deepEqual(problemPaths(res.body), ['(query)'], path);
      assert.match(JSON.stringify(res.body), new RegExp(`unknown field\\(s\\): ${field}`), path);
    }
    const plain = await fetch(`${h.baseUrl}/api/v1/campaigns/${campaignId}/report.csv`, { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(plain.status, 200);
    assert.match(await plain.text(), /^recipient_id,email,/);
  });
  test('a bound without a message of its own is said in the API\'s words, not zod\'s', async () => {
    const answers = await Promise.all([
      h.api('POST', `/api/v1/campaigns/${campaignId}/reject`, { note: 'n'.repeat(2001) }),
      h.api('POST', '/api/v1/suppressions', { email: 'x@example.com', reason: 'r'.repeat(501) }),
      h.api('POST', '/api/v1/campaigns', { ...valid(), pilot: { size: 2, sample: 'random', seed: -1 } }),
    ]);
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.problems]),
      [
        [422, [{ path: 'note', message: 'must have at most 2000 characters' }]],
        [422, [{ path: 'reason', message: 'must have at most 500 characters' }]],
        [422, [{ path: 'pilot.seed', message: 'must be at least 0' }]],
      ],
    );
    assert.doesNotMatch(JSON.stringify(answers.map((a) => a.body)), /Too (big|small)/);
  });
  test('audit and campaign cursors beyond a safe integer', async () => {
    for (const path of ['/api/v1/audit?cursor=99999999999999999999', '/api/v1/campaigns?cursor=9007199254740993']) {
      const res = await h.api('GET', path);
      assert.equal(res.status, 422, `${path}: ${JSON.stringify(res.body)}`);
    }
  });
  test('a test send to recipient 2^31 is refused by its schema', async () => {
    const res = await h.api('POST', `/api/v1/campaigns/${campaignId}/test-send`, { to: 'qa@example.com', recipientId: 2 ** 31 });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(problemPaths(res.body), ['recipientId']);
  });
});

describe('nesting', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };

  test(`vars may nest ${MAX_VARS_DEPTH} levels, not one more`, async () => {
    const ok = await h.api('POST', '/api/v1/campaigns', { ...valid(), vars: { top: nested(MAX_VARS_DEPTH) } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const deep = await h.api('POST', '/api/v1/campaigns', { ...valid(), vars: { top: nested(MAX_VARS_DEPTH + 1) } });
    assert.equal(deep.status, 422, JSON.stringify(deep.body));
    assert.match(JSON.stringify(deep.body.problems), /vars\.top(\.a)+".*nested more than 8 levels/);
  });

  test('100,000 levels of vars with an Idempotency-Key is a 422, and the API still answers', async () => {
    const body = `{"name":"n","from":"a@acme.test","subject":"s","text":"t","recipients":[{"email":"a@example.com"}],"vars":{"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`;
    const res = await h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': 'deep-1' });
    assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 500));
    const again = await h.api('GET', `/api/v1/campaigns/${campaignId}`);
    assert.equal(again.status, 200);
  });

  test('deep nesting anywhere in a body is a 422', async () => {
    const body = `{"note":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const res = await h.api('POST', `/api/v1/campaigns/${campaignId}/reject`, body);
    assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 500));
  });
});

describe('bodies and methods', () => {
  test('a body that is not JSON is a documented 400 with a JSON error', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', '{"name": \u0000');
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.match(res.body.error, /not valid JSON/);
    const doc = (await (await fetch(`${h.baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.ok(doc.paths['/api/v1/campaigns']?.post?.responses['400']);
  });

  test('an undeclared method on an existing path is 405 with Allow; OPTIONS lists every router’s methods', async () => {
    const put = await h.api('PUT', '/api/v1/campaigns', {});
    assert.equal(put.status, 405);
    assert.deepEqual(new Set(put.headers.get('allow')!.split(', ')), new Set(['GET', 'HEAD', 'POST', 'OPTIONS']));
    const del = await h.api('DELETE', `/api/v1/campaigns/${campaignId}/approve`);
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'POST, OPTIONS');
    const options = await h.api('OPTIONS', '/api/v1/campaigns');
    assert.equal(options.status, 204);
    assert.deepEqual(new Set(options.headers.get('allow')!.split(', ')), new Set(['GET', 'HEAD', 'POST', 'OPTIONS']));
    const missing = await h.api('PUT', '/api/v1/nothing-here');
    assert.equal(missing.status, 404);
  });
});

describe('a test send the SMTP server refuses', () => {
  test('answers 502 { error, smtpResponse } and sends nothing', async () => {
    h.sink.faults.data = () => ({ code: 550, message: '5.7.1 Relaying denied for test' });
    try {
      const res = await h.api('POST', `/api/v1/campaigns/${campaignId}/test-send`, { to: 'qa@example.com' });
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.match(res.body.error, /refused/);
      assert.match(res.body.smtpResponse, /550.*Relaying denied for test/);
    } finally {
      h.sink.faults.data = undefined;
    }
  });
});

// Hostile text: NUL, lone surrogates of both halves, Liquid openers, line breaks, astral characters.
const hostileText = fc
  .array(fc.oneof(fc.constantFrom(NUL, LONE, '\udfff', '\ud83d', '😀', '{{', '{%', '\r\n', '%00', 'é', ' '), fc.string({ maxLength: 8 })), { maxLength: 12 })
  .map((parts) => parts.join(''));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  fc.constantFrom(3_000_000_000, 9_999_999_999, -1, 1e308, 0.5, Number.MAX_SAFE_INTEGER + 2, true, null),
  fc.array(hostileText, { maxLength: 3 }),
  fc.dictionary(hostileText, hostileText, { maxKeys: 3 }),
  fc.integer({ min: 1, max: 400 }).map((depth) => {
    let v: unknown = 'x';
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
    return v;
  }),
);
const FIELDS = ['name', 'from', 'subject', 'text', 'html', 'vars', 'cc', 'bcc', 'replyTo', 'attachments', 'review', 'account', 'startAt', 'throttle', 'recipients', 'recipientsCsv', 'recipientsFrom', 'vars.note', 'recipients.0.email', 'recipients.0.name', 'recipients.0.vars', 'recipients.0.cc', 'review.expiresAfter', 'throttle.messagesPerMinute'];

function setPath(body: Record<string, any>, path: string, value: unknown) {
  const keys = path.split('.');
  let at: any = body;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === null || typeof at[k] !== 'object') at[k] = {};
    at = at[k];
  }
  at[keys[keys.length - 1]!] = value;
}

describe('property: hostile input never earns a 5xx', () => {
  test('hostile campaign bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...FIELDS), hostileValue), { minLength: 1, maxLength: 4 }), async (edits) => {
        const body = valid();
        for (const [path, value] of edits) setPath(body, path, value);
        const res = await h.api('POST', '/api/v1/campaigns', body, { 'idempotency-key': `k-${Math.random()}` });
        assert.ok(res.status < 500, `${res.status} ${JSON.stringify(res.body)} for ${JSON.stringify(edits)}`);
      }),
      { numRuns: 150, includeErrorInReport: true },
    );
  });

  const routes = () => [
    '/api/v1/campaigns',
    `/api/v1/campaigns/${campaignId}/recipients`,
    `/api/v1/campaigns/${campaignId}/review`,
    `/api/v1/campaigns/${campaignId}/report.csv`,
    '/api/v1/audit',
    '/api/v1/suppressions',
  ];
  const queryValue = fc.oneof(
    fc.constantFrom('3000000000', '9999999999', '99999999999999999999', '-1', '1e3', '0x10', '', ' 5', '1.5', 'NaN', '%00', '%ED%A0%80', '%F0', 'sent', 'blocked'),
    fc.string({ maxLength: 6 }).map(encodeURIComponent),
  );
  test('hostile query strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes()),
        fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'after', 'status', 'buildStatus', 'copyStatus', 'campaign', 'action', 'principal', 'limit[]', 'cursor[a]'), queryValue), { maxLength: 4 }),
        async (path, params) => {
          const qs = params.map(([k, v]) => `${k}=${v}`).join('&');
          const res = await h.api('GET', `${path}?${qs}`);
          assert.ok(res.status < 500, `${res.status} ${JSON.stringify(res.body)} for ${path}?${qs}`);
        },
      ),
      { numRuns: 200, includeErrorInReport: true },
    );
  });
});

describe('template variables keep their names', () => {
  test('snake_case keys and keys ending in "_" are stored and read back as written', async () => {
    const res = await h.api('POST', '/api/v1/campaigns', {
      ...valid(),
      text: 'Customer {{ customer_id }}, account {{ account_no }}, {{ odd_ }}',
      vars: { customer_id: 'C-17', odd_: 'ok' },
      recipients: [{ email: 'ann@example.com', name: 'Ann', vars: { account_no: 42 } }],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const c = await waitForStatus(h, res.body.id, 'awaiting_review');
    assert.equal(c.countsByStatus.build.ready, 1, JSON.stringify(c.countsByStatus));
    const list = await h.api('GET', '/api/v1/campaigns');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const preview = await h.api('GET', `/api/v1/campaigns/${res.body.id}/recipients/1/preview`);
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.match(preview.body.text, /Customer C-17, account 42, ok/);
  });
});
