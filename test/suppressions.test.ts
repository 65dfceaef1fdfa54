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

  test('adding and removing are audited, and a removal says why the address was there', async () => {
    assert.equal((await h.api('POST', '/api/v1/suppressions', { email: 'Audit@Example.com', reason: 'unsubscribed by phone' })).status, 201);
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/audit@example.com')).status, 204);
    const added = await h.api('GET', '/api/v1/audit?action=suppression.add');
    const removed = await h.api('GET', '/api/v1/audit?action=suppression.remove');
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const add = added.body.items.find((a: { subject: string }) => a.subject === 'audit@example.com');
    const remove = removed.body.items.find((a: { subject: string }) => a.subject === 'audit@example.com');
    assert.ok(add && remove, JSON.stringify({ added: added.body, removed: removed.body }));
    assert.deepEqual(add.details, { reason: 'unsubscribed by phone' });
    assert.equal(remove.details.reason, 'unsubscribed by phone');
    assert.ok(remove.principal, 'the remover is named');
    // A removal that finds nothing writes nothing.
    assert.equal((await h.api('DELETE', '/api/v1/suppressions/audit@example.com')).status, 404);
    const after = await h.api('GET', '/api/v1/audit?action=suppression.remove');
    assert.equal(after.body.items.filter((a: { subject: string }) => a.subject === 'audit@example.com').length, 1);
  });
});

