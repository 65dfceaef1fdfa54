import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './helpers/harness.js';

// The suppression list through the API, against real Postgres.

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

describe('suppressions', () => {
  test('list, add and delete', async () => {
    const sup = await h.api('POST', '/api/v1/suppressions', { email: 'Sup@Example.com', reason: 'asked to stop' });
    assert.equal(sup.status, 201, JSON.stringify(sup.body));
    const list = await h.api('GET', '/api/v1/suppressions');
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((s: any) => s.email === 'sup@example.com' && s.reason === 'asked to stop'));
    const bad = await h.api('POST', '/api/v1/suppressions', { email: 'nope' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].path, 'email');
    assert.equal((await h.api('POST', '/api/v1/suppressions', { email: 'gone@example.com' })).status, 201);
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/Gone@Example.com')).status, 204);
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/gone@example.com')).status, 404);
  });
});
