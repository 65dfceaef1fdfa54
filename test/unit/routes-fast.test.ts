import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import { z } from 'zod';
import { errorMiddleware } from '../../src/api/errors.js';
import { PAGE_LIMIT } from '../../src/api/paging.js';
import { route } from '../../src/api/route-spec.js';
import { registeredRoutes } from '../../src/api/route-table.js';
import { SCOPES, type Caller } from '../../src/api/scopes.js';
import { createLogger } from '../../src/logger.js';
import { createCampaignActivities } from '../../src/activities/campaign.js';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { INVALID_TRANSITION } from '../../src/contract/failures.js';
import { startFastApp, type FastApp } from '../helpers/fast-app.js';
import { problemPaths } from '../helpers/http.js';

// The fast route tier: the real express app and a real PostgreSQL, a stub for the Temporal client.
// It checks the rules every route obeys (scopes, input, conflicts, paging) in seconds.

let f: FastApp;
before(async () => {
  f = await startFastApp();
});
after(async () => {
  await f?.close();
});

const body = (n: number, extra: Record<string, unknown> = {}) => ({
  name: `Fast ${n}`,
  from: 'Acme <billing@acme.test>',
  subject: 'Hello {{ name }}',
  text: 'Dear {{ name }}',
  recipients: Array.from({ length: n }, (_, i) => ({ email: `c${i + 1}@example.com`, name: `C ${i + 1}` })),
  ...extra,
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createCampaign(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await f.api('POST', '/api/v1/campaigns', body(2, extra));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

/** Recipients 1..n of a campaign, as the build writes them. */
async function addRecipients(campaignId: string, n: number, buildStatus: string) {
  await f.sql`INSERT INTO recipients (campaign_id, id, email, build_status)
    SELECT ${campaignId}, g, 'r' || g || '@example.com', ${buildStatus} FROM generate_series(1, ${n}::int) g`;
}

describe('the route table', () => {
  test('every route declares a param for each :name of its path, and its answer', () => {
    const routes = registeredRoutes((f.app as unknown as { router: express.Router }).router).filter((r) => r.spec);
    assert.ok(routes.length > 30, `${routes.length} routes`);
    for (const r of routes) {
      const names = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]).sort();
      assert.deepEqual(Object.keys(r.spec!.params ?? {}).sort(), names, `${r.method} ${r.path}: params`);
      const declared = r.spec!.response !== undefined || r.spec!.produces !== undefined || r.spec!.status === 204;
      assert.ok(declared, `${r.method} ${r.path} declares no response`);
    }
  });
});

describe('route rules', () => {
  test('a key without the scope is refused with 403 naming it, before its input is read', async () => {
    const made = await f.api('POST', '/api/v1/keys', { name: 'reader', scopes: ['campaigns:read'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const res = await f.api('POST', '/api/v1/campaigns', { subject: 42 }, bearer(made.body.key));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.scope, 'campaigns:write');
    assert.equal(f.temporal.started.length, 0, 'no workflow started');
  });

  test('bad input is a 422 naming each field, in the body, the query and a header', async () => {
    const b = await f.api('POST', '/api/v1/campaigns', { ...body(1), subject: 42, from: undefined });
    assert.equal(b.status, 422, JSON.stringify(b.body));
    assert.deepEqual(problemPaths(b.body).sort(), ['from', 'subject']);
    const q = await f.api('GET', '/api/v1/campaigns?limit=0x10&status=nope');
    assert.equal(q.status, 422, JSON.stringify(q.body));
    assert.deepEqual(problemPaths(q.body).sort(), ['limit', 'status']);
    const h = await f.api('POST', '/api/v1/campaigns', body(1), { 'idempotency-key': 'has space' });
    assert.deepEqual([h.status, ...problemPaths(h.body)], [422, 'Idempotency-Key']);
  });

  test('a query field a route does not take is a 422 naming it, on every route, before anything is done', async () => {
    // A typo must not return unfiltered data as if filtered.
    const typo = await f.api('GET', '/api/v1/campaigns?stauts=sent');
    assert.equal(typo.status, 422, JSON.stringify(typo.body));
    assert.deepEqual(problemPaths(typo.body), ['(query)']);
    assert.match(typo.body.problems[0].message, /unknown field\(s\): stauts/);
    assert.equal(typeof typo.body.error, 'string');

    const campaignId = await createCampaign();
    await addRecipients(campaignId, 1, 'ready');
    const values: Record<string, string> = { id: campaignId, rid: '1', tenant: 'default' };
    const routes = registeredRoutes((f.app as unknown as { router: express.Router }).router).filter((r) => r.spec);
    const refused: string[] = [];
    const unloaded: string[] = [];
    for (const r of routes) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => values[name] ?? 'none-such');
      const started = f.temporal.started.length;
      const res = await f.api(r.method, `${path}?stauts=sent`, r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      const at = `${r.method} ${r.path.replace(/^\/api\/v1/, '')}`;
      // A path naming nothing is its 404 first (the resource is looked up before the query is read).
      if (res.status === 404 && r.path.includes(':')) {
        unloaded.push(at);
        continue;
      }
      assert.equal(res.status, 422, `${at}: ${res.status} ${JSON.stringify(res.body)}`);
      // Besides a field it needs and was not given (the attachment's `n`).
      assert.ok(problemPaths(res.body).includes('(query)'), `${at}: ${JSON.stringify(res.body)}`);
      assert.match(JSON.stringify(res.body), /unknown field\(s\): stauts/, at);
      assert.equal(f.temporal.started.length, started, `${at}: no workflow started`);
      refused.push(at);
    }
    assert.ok(refused.length > 25, `refused on ${refused.length} routes; not loaded: ${unloaded.join(', ')}`);
    for (const at of ['GET /campaigns/:id', 'GET /keys', 'GET /me', 'POST /campaigns', 'GET /campaigns/:id/recipients/:rid/preview', 'PUT /tenants/:tenant']) {
      assert.ok(refused.includes(at), `${at} was checked: ${refused.join(', ')}`);
    }
  });

  test('a field of the wrong type is named as that, not as missing', async () => {
    const problems = async (path: string, payload: unknown) => {
      const res = await f.api('POST', path, payload);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      return Object.fromEntries((res.body.problems as { path: string; message: string }[]).map((p) => [p.path, p.message]));
    };
    assert.deepEqual(await problems('/api/v1/campaigns', { ...body(1), name: 5, vars: 'x', pilot: { size: '5' }, from: undefined }), {
      name: 'must be a string, not a number',
      vars: 'must be an object, not a string',
      'pilot.size': 'must be a whole number',
      from: 'is required',
    });
    // A schema's own wording for a wrong type stays.
    assert.deepEqual(await problems('/api/v1/campaigns', { ...body(1), recipients: 'a@example.com' }), { recipients: 'must be a list of recipients' });
    assert.deepEqual(await problems('/api/v1/campaigns', { ...body(1), recipients: ['a@example.com'] }), { 'recipients.0': 'must be an object, not a string' });
    assert.deepEqual(await problems('/api/v1/campaigns', []), { '(body)': 'must be an object, not a list' });
    // JSON of another kind is named as the list is, never answered as "not valid JSON".
    assert.deepEqual(await problems('/api/v1/campaigns', 'null'), { '(body)': 'must be an object, not null' });
    assert.deepEqual(await problems('/api/v1/campaigns', ' 5'), { '(body)': 'must be an object, not a number' });
    assert.deepEqual(await problems('/api/v1/campaigns', '"Dear Ann"'), { '(body)': 'must be an object, not a string' });
    const broken = await f.api('POST', '/api/v1/campaigns', 'nul');
    assert.deepEqual([broken.status, broken.body.error], [400, 'the request body is not valid JSON']);
    const id = await createCampaign();
    assert.deepEqual(await problems(`/api/v1/campaigns/${id}/approve`, 'true'), { '(body)': 'must be an object, not a boolean' });
    assert.deepEqual(await problems(`/api/v1/campaigns/${id}/approve`, { note: 5 }), { note: 'must be a string, not a number' });
    assert.deepEqual(await problems(`/api/v1/campaigns/${id}/continue`, { force: 'yes' }), { force: 'must be true or false' });
    // A value given with the wrong type is never called missing ("is required and must be …").
    await addRecipients(id, 1, 'needs_review');
    assert.deepEqual(await problems(`/api/v1/campaigns/${id}/recipients/1/decision`, { include: 'yes' }), { include: 'must be true or false, not a string' });
    assert.deepEqual(await problems(`/api/v1/campaigns/${id}/recipients/1/decision`, {}), { include: 'is required' });
    assert.deepEqual(await problems('/api/v1/campaigns', { ...body(1), recipients: [{ email: 5 }], pilot: { size: 1, stopIf: { failedShare: '0.2' } } }), {
      'recipients.0.email': 'must be a string, not a number',
      'pilot.stopIf.failedShare': 'must be a number, not a string',
    });
    // A schema's "is required: what" for a wrong type says what it must be; an enum names its values.
    assert.deepEqual(await problems('/api/v1/keys', { name: 'typed', scopes: 'campaigns:read' }), { scopes: 'must be a list of scopes, not a string' });
    const scopes = (await problems('/api/v1/keys', { name: 'typed', scopes: ['campaigns:read', 'campaigns:everything'] }))['scopes.1'];
    assert.match(scopes ?? '', /^must be one of ("[a-z:]+", )+"[a-z:]+"$/);
    assert.doesNotMatch(scopes ?? '', /Invalid option/);
  });

  test('a wrong-typed value is named by its kind, never echoed: not a secret, not odd bytes, not a huge number', async () => {
    const echoed = (res: { body: unknown }) => /sekrit|1e\+308|12345678901234567890/.test(JSON.stringify(res.body));
    const byPath = (res: { body: { problems: { path: string; message: string }[] } }) => Object.fromEntries(res.body.problems.map((p) => [p.path, p.message]));
    // Unpaired surrogates are refused before any schema reads the body, by path, without the text.
    const odd = await f.api('POST', '/api/v1/campaigns', { ...body(1), name: ['sekrit-\ud800-value'], subject: { deep: { deeper: ['sekrit\u0000'] } } });
    assert.equal(odd.status, 422, JSON.stringify(odd.body));
    assert.ok(!echoed(odd), JSON.stringify(odd.body));
    assert.deepEqual(Object.keys(byPath(odd)).sort(), ['name.0', 'subject.deep.deeper.0']);
    const typed = await f.api('POST', '/api/v1/campaigns', { ...body(1), name: ['sekrit-value'], subject: { deep: ['sekrit'] }, vars: 1e308, pilot: { size: 12345678901234567890 } });
    assert.equal(typed.status, 422, JSON.stringify(typed.body));
    assert.ok(!echoed(typed), JSON.stringify(typed.body));
    const problems = byPath(typed);
    assert.equal(problems.name, 'must be a string, not a list');
    assert.equal(problems.subject, 'must be a string, not an object');
    assert.equal(problems.vars, 'must be an object, not a number');
  });

  test('a body sent as something other than JSON is a 415 saying so, not every field missing', async () => {
    const json = JSON.stringify(body(1));
    const started = f.temporal.started.length;
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const res = await f.api('POST', '/api/v1/campaigns', json, { 'content-type': type });
      assert.equal(res.status, 415, `${type}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error, /Content-Type: application\/json/);
    }
    assert.equal(f.temporal.started.length, started, 'no workflow started');
    // No body at all needs no type: an action's body is optional.
    const id = await createCampaign();
    f.temporal.answerUpdates({ status: 'paused' });
    assert.deepEqual((await f.api('POST', `/api/v1/campaigns/${id}/pause`)).body, { status: 'paused' });
  });

  test('a path value that cannot name the resource is its 404, as an unknown one is', async () => {
    for (const path of ['/api/v1/campaigns/not-a-uuid', '/api/v1/campaigns/6f1c1d38-3b7e-4f2a-9a53-2b8f5b0b7c11', '/api/v1/accounts/NO']) {
      const res = await f.api('GET', path);
      assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error, /not found/);
    }
    const key = await f.api('DELETE', '/api/v1/keys/x');
    assert.deepEqual([key.status, key.body.error], [404, 'key not found']);
  });

  test('an unknown campaign is a 404 even when the body is also wrong: the resource is looked up first', async () => {
    const res = await f.api('POST', '/api/v1/campaigns/6f1c1d38-3b7e-4f2a-9a53-2b8f5b0b7c11/test-send', {});
    assert.deepEqual([res.status, res.body.error], [404, 'campaign not found']);
  });

  test('a state conflict is a 409 with the current state: from the API, and from the workflow', async () => {
    const id = await createCampaign();
    await addRecipients(id, 1, 'needs_review');
    const decision = await f.api('POST', `/api/v1/campaigns/${id}/recipients/1/decision`, { include: true });
    assert.equal(decision.status, 409, JSON.stringify(decision.body));
    assert.equal(decision.body.status, 'building');
    f.temporal.answerUpdates(
      new WorkflowUpdateFailedError('refused', ApplicationFailure.create({ type: INVALID_TRANSITION, message: 'the campaign is building, not running', details: [{ status: 'building' }] })),
    );
    const pause = await f.api('POST', `/api/v1/campaigns/${id}/pause`, {});
    assert.equal(pause.status, 409, JSON.stringify(pause.body));
    assert.deepEqual([pause.body.status, pause.body.error], ['building', 'the campaign is building, not running']);
    f.temporal.answerUpdates({ status: 'paused' });
    assert.deepEqual((await f.api('POST', `/api/v1/campaigns/${id}/pause`, {})).body, { status: 'paused' });
  });

  test('an action on a campaign whose workflow has closed is a 409 naming the statuses ACTION_STATUSES allows it in', async () => {
    const id = await createCampaign();
    await f.sql`UPDATE campaigns SET status = 'completed' WHERE id = ${id}`;
    f.temporal.answerUpdates(new WorkflowNotFoundError('closed', `campaign-${id}`, undefined));
    const expected = {
      approve: 'the campaign is completed, not awaiting review',
      reject: 'the campaign is completed, not awaiting review or pilot sent',
      continue: 'the campaign is completed, not pilot sent',
      pause: 'the campaign is completed, not scheduled or sending',
      resume: 'the campaign is completed, not paused',
      cancel: 'the campaign is completed, not building, awaiting review, scheduled, sending, paused or pilot sent',
    };
    for (const [action, error] of Object.entries(expected)) {
      const res = await f.api('POST', `/api/v1/campaigns/${id}/${action}`, {});
      assert.equal(res.status, 409, `${action}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, { error, status: 'completed' }, action);
    }
  });

  test('a decision on a recipient that takes none is a 409 with the campaign\'s status, and the recipient\'s beside it', async () => {
    const id = await createCampaign();
    await addRecipients(id, 1, 'blocked');
    await f.sql`UPDATE campaigns SET status = 'awaiting_review' WHERE id = ${id}`;
    const res = await f.api('POST', `/api/v1/campaigns/${id}/recipients/1/decision`, { include: true });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.deepEqual([res.body.status, res.body.buildStatus], ['awaiting_review', 'blocked']);
  });
});

describe('a campaign paused while its pilot batch went out', () => {
  const acts = () => createCampaignActivities({ sql: f.sql, logger: createLogger('t', 'silent') } as ActivityDeps);
  const decision = (action: 'continue' | 'reject') => ({ action, by: 'bob', via: 'update' as const, auditId: randomUUID() });

  test('GET says the status beneath the pause (pausedIn), only while paused; a continue there is recorded and leaves it paused', async () => {
    const id = await createCampaign({ pilot: { size: 1 } });
    await acts().setCampaignStatus({ campaignId: id, status: 'paused', pausedIn: 'pilot_sent' });
    const paused = await f.api('GET', `/api/v1/campaigns/${id}`);
    assert.deepEqual([paused.status, paused.body.status, paused.body.pausedIn], [200, 'paused', 'pilot_sent']);
    assert.deepEqual(await acts().recordPilotDecision({ campaignId: id, action: 'continue', audit: decision('continue') }), {});
    const continued = await f.api('GET', `/api/v1/campaigns/${id}`);
    assert.deepEqual([continued.body.status, continued.body.pausedIn], ['paused', 'sending']);
    const audit = await f.sql`SELECT action FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.continue'`;
    assert.equal(audit.length, 1, 'the continue is audited');
    await acts().setCampaignStatus({ campaignId: id, status: 'sending' });
    const resumed = await f.api('GET', `/api/v1/campaigns/${id}`);
    assert.deepEqual([resumed.body.status, 'pausedIn' in resumed.body], ['sending', false]);
  });

  test('a continue beneath the pause asks the pilot\'s stop rule again, with the bounces since, as at pilot_sent', async () => {
    const id = await createCampaign({ pilot: { size: 2, stopIf: { failedShare: 0.5 } } });
    await addRecipients(id, 3, 'ready');
    await f.sql`UPDATE recipients SET pilot = (id <= 2), send_status = CASE id WHEN 1 THEN 'sent' WHEN 2 THEN 'bounced' ELSE 'pending' END WHERE campaign_id = ${id}`;
    await acts().setCampaignStatus({ campaignId: id, status: 'paused', pausedIn: 'pilot_sent' });
    f.temporal.answerUpdates({ status: 'paused' });
    const before = f.temporal.updates.length;
    const res = await f.api('POST', `/api/v1/campaigns/${id}/continue`, {});
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(res.body.error, /stopIf share of 50%; continue with force/);
    assert.equal(f.temporal.updates.length, before, 'the workflow was not asked');
  });

  test('a reject beneath the pause ends the campaign rejected, its unsent recipients skipped', async () => {
    const id = await createCampaign({ pilot: { size: 1 } });
    await addRecipients(id, 2, 'ready');
    await acts().setCampaignStatus({ campaignId: id, status: 'paused', pausedIn: 'pilot_sent' });
    assert.deepEqual(await acts().recordPilotDecision({ campaignId: id, action: 'reject', audit: decision('reject') }), {});
    const rejected = await f.api('GET', `/api/v1/campaigns/${id}`);
    assert.deepEqual([rejected.body.status, 'pausedIn' in rejected.body], ['rejected', false]);
    assert.equal(rejected.body.countsByStatus.send.pending, 0, JSON.stringify(rejected.body.countsByStatus.send));
  });
});

describe('the review', () => {
  test('says how many an approval now would send: ready, warning and the needs_review recipients included, never blocked, excluded or undecided ones', async () => {
    const id = await createCampaign();
    await f.sql`INSERT INTO recipients (campaign_id, id, email, build_status, included)
      SELECT ${id}, g, 'r' || g || '@example.com', s.status, s.included
      FROM (VALUES (1, 'ready', NULL::boolean), (2, 'ready', NULL), (3, 'warning', NULL), (4, 'needs_review', true), (5, 'needs_review', false),
                   (6, 'needs_review', NULL), (7, 'blocked', NULL), (8, 'excluded', NULL)) AS s(g, status, included)`;
    const res = await f.api('GET', `/api/v1/campaigns/${id}/review`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.sendable, res.body.undecided], [4, 1]);
    assert.deepEqual(res.body.counts, { ready: 2, warning: 1, needs_review: 3, blocked: 1, excluded: 1 });
  });
});

describe('Idempotency-Key on a campaign action', () => {
  test('a key that is not one is a 422 naming the header, and nothing is asked of the workflow', async () => {
    const id = await createCampaign();
    f.temporal.answerUpdates({ status: 'paused' });
    const before = f.temporal.updates.length;
    for (const key of ['has space', 'x'.repeat(201), 'ünicode']) {
      const res = await f.api('POST', `/api/v1/campaigns/${id}/pause`, {}, { 'idempotency-key': key });
      assert.deepEqual([res.status, ...problemPaths(res.body)], [422, 'Idempotency-Key'], `${key.slice(0, 20)}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(f.temporal.updates.length, before, 'no Update asked for');
    assert.equal((await f.sql`SELECT 1 FROM decision_requests WHERE campaign_id = ${id}`).length, 0, 'no request stored');
  });

  test("the same key is the same Update (its id), another key or none a new one; one caller's key is not another's", async () => {
    const id = await createCampaign();
    f.temporal.answerUpdates({ status: 'paused' });
    const pause = async (headers: Record<string, string> = {}) => {
      const res = await f.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'checking' }, headers);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return f.temporal.updates.at(-1)!;
    };
    const a = await pause({ 'idempotency-key': 'pause-1' });
    const again = await pause({ 'idempotency-key': 'pause-1' });
    const other = await pause({ 'idempotency-key': 'pause-2' });
    const none = [await pause(), await pause()];
    assert.equal(a.name, 'pause');
    assert.ok(a.updateId, 'the Update has an id');
    assert.equal(again.updateId, a.updateId, 'a retry with the key is the same Update');
    assert.notEqual(other.updateId, a.updateId);
    assert.notEqual(none[0]!.updateId, none[1]!.updateId, 'without a key every request is its own Update');
    const created = await f.api('POST', '/api/v1/keys', { name: 'second-operator', scopes: ['campaigns:read', 'campaigns:write'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const theirs = await pause({ 'idempotency-key': 'pause-1', ...bearer(created.body.key) });
    assert.notEqual(theirs.updateId, a.updateId, "another caller's same key is another Update");
  });
});

describe('one paging style', () => {
  test('every list route pages with limit and cursor, and answers items and nextCursor', async () => {
    for (let i = 0; i < 3; i++) await createCampaign();
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
      assert.equal((await f.api('POST', '/api/v1/suppressions', { email })).status, 201);
    }
    for (const list of ['/api/v1/campaigns', '/api/v1/suppressions', '/api/v1/audit']) {
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const res = await f.api('GET', `${list}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.status, 200, `${list}: ${JSON.stringify(res.body)}`);
        assert.ok(res.body.items.length <= 2);
        seen.push(...res.body.items.map((i: { id?: string; email?: string }) => i.id ?? i.email));
        cursor = res.body.nextCursor;
        if (cursor === undefined) break;
        assert.equal(typeof cursor, 'string');
      }
      assert.equal(cursor, undefined, `${list} ends`);
      assert.ok(seen.length >= 3, `${list}: ${seen.length} items`);
      assert.equal(new Set(seen).size, seen.length, `${list}: no item twice`);
    }
  });

  test('the review and recipient lists page the same way; after is the deprecated name of cursor where clients sent it', async () => {
    const id = await createCampaign();
    // As the build would leave it: no worker runs in this tier.
    await f.sql`UPDATE campaigns SET status = 'awaiting_review' WHERE id = ${id}`;
    await addRecipients(id, 5, 'needs_review');
    const first = await f.api('GET', `/api/v1/campaigns/${id}/review?limit=2`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.items.map((r: { id: number }) => r.id), first.body.nextCursor], [[1, 2], '2']);
    assert.equal(typeof first.body.fingerprint, 'string', 'the first page carries the fingerprint');
    const byCursor = await f.api('GET', `/api/v1/campaigns/${id}/review?limit=2&cursor=2`);
    const byAfter = await f.api('GET', `/api/v1/campaigns/${id}/review?limit=2&after=2`);
    assert.deepEqual(byAfter.body, byCursor.body);
    assert.deepEqual(byCursor.body.items.map((r: { id: number }) => r.id), [3, 4]);
    const last = await f.api('GET', `/api/v1/campaigns/${id}/recipients?limit=2&cursor=4`);
    assert.deepEqual([last.body.items.map((r: { id: number }) => r.id), last.body.nextCursor], [[5], undefined]);
    const both = await f.api('GET', `/api/v1/campaigns/${id}/review?limit=2&cursor=2&after=4`);
    assert.deepEqual(both.body.items, byCursor.body.items, 'cursor wins over after');
    const suppressions = await f.api('GET', '/api/v1/suppressions?limit=1&after=a%40example.com');
    assert.equal(suppressions.status, 200, JSON.stringify(suppressions.body));
    assert.ok(suppressions.body.items.every((s: { email: string }) => s.email > 'a@example.com'), 'after works on the suppression list');
    // Where no client ever sent it, `after` is not a name of the query.
    const unknown = await f.api('GET', `/api/v1/campaigns/${id}/recipients?after=2`);
    assert.equal(unknown.status, 422, JSON.stringify(unknown.body));
  });

  test(`one maximum page size, ${PAGE_LIMIT.max}, for every list route`, async () => {
    for (const list of ['/api/v1/campaigns', '/api/v1/suppressions', '/api/v1/audit']) {
      assert.equal((await f.api('GET', `${list}?limit=${PAGE_LIMIT.max}`)).status, 200, list);
      const over = await f.api('GET', `${list}?limit=${PAGE_LIMIT.max + 1}`);
      assert.deepEqual([over.status, ...problemPaths(over.body)], [422, 'limit'], list);
    }
  });
});

describe('answers are checked against their schema outside production', () => {
  const caller: Caller = { tenant: 't', principal: 'p', person: 'p', scopes: new Set(SCOPES), bootstrap: false };
  /** A one-route app whose handler answers `answer`, declared as `{ n: number }`. */
  async function oneRoute(checkResponses: boolean, answer: unknown) {
    const lines: string[] = [];
    const logger = createLogger('t', 'error');
    logger.error = ((obj: { err?: Error }, msg: string) => void lines.push(`${msg}: ${obj.err?.message}`)) as typeof logger.error;
    const app = express();
    app.set('check responses', checkResponses);
    app.use((_req, res, next) => {
      res.locals.auth = caller;
      next();
    });
    app.get('/x', route({ scope: 'campaigns:read', summary: 'x', response: z.object({ n: z.number() }) }, (_input, _req, res) => void res.json(answer)));
    app.use(errorMiddleware(logger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`);
    const result = { status: res.status, body: (await res.json()) as unknown, lines };
    server.close();
    return result;
  }

  test('a mismatch or an undeclared field is a 500 with a log line naming it', async () => {
    const wrong = await oneRoute(true, { n: 'one' });
    assert.deepEqual([wrong.status, wrong.body], [500, { error: 'internal error' }]);
    assert.match(wrong.lines.join('\n'), /GET \/x does not match its declared response schema: n: /);
    const extra = await oneRoute(true, { n: 1, secret: 'x' });
    assert.equal(extra.status, 500);
    assert.match(extra.lines.join('\n'), /secret: is not in the response schema/);
    assert.deepEqual((await oneRoute(true, { n: 1 })).body, { n: 1 });
  });

  test('in production the answer goes out unchecked', async () => {
    const res = await oneRoute(false, { n: 'one' });
    assert.deepEqual([res.status, res.body, res.lines], [200, { n: 'one' }, []]);
  });
});

describe('a route\'s query', () => {
  test('an object schema that does not say strict still refuses a field it does not take', async () => {
    const caller: Caller = { tenant: 't', principal: 'p', person: 'p', scopes: new Set(SCOPES), bootstrap: false };
    const app = express();
    app.use((_req, res, next) => {
      res.locals.auth = caller;
      next();
    });
    const query = z.object({ status: z.enum(['sent', 'failed']).optional() });
    app.get('/x', route({ scope: 'campaigns:read', summary: 'x', query }, ({ query: q }, _req, res) => void res.json(q)));
    app.use(errorMiddleware(createLogger('t', 'silent')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/x`;
      const typo = await fetch(`${base}?stauts=sent`);
      const answer = (await typo.json()) as { error: string; problems: { path: string; message: string }[] };
      assert.equal(typo.status, 422);
      assert.deepEqual(answer.problems.map((p) => p.path), ['(query)']);
      assert.match(answer.problems[0]!.message, /unknown field\(s\): stauts/);
      const ok = await fetch(`${base}?status=sent`);
      assert.deepEqual([ok.status, await ok.json()], [200, { status: 'sent' }]);
    } finally {
      server.close();
    }
  });
});
