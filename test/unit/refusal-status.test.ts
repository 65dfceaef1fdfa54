import assert from 'node:assert/strict';
import { test } from 'node:test';
import express from 'express';
import { errorMiddleware } from '../../src/api/errors.js';
import { Refusal, type RefusalKind } from '../../src/contract/refusal.js';
import { createLogger } from '../../src/logger.js';

// The domain refuses without HTTP (src/contract/refusal.ts); the error middleware is the one place
// each kind becomes a status, and a throttled refusal says when to try again.

async function answerTo(refusal: Refusal): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const app = express();
  app.get('/x', () => {
    throw refusal;
  });
  app.use(errorMiddleware(createLogger('test', 'silent')));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  } finally {
    server.close();
  }
}

test('each kind of refusal is answered with its one status, its message and details', async () => {
  const expected: Record<RefusalKind, number> = { invalid: 422, forbidden: 403, not_found: 404, conflict: 409, throttled: 429, upstream: 502, unavailable: 503 };
  for (const [kind, status] of Object.entries(expected) as [RefusalKind, number][]) {
    const res = await answerTo(new Refusal(kind, `refused as ${kind}`, { status: 'awaiting_review' }));
    assert.deepEqual([res.status, res.body], [status, { error: `refused as ${kind}`, status: 'awaiting_review' }], kind);
    assert.equal(res.retryAfter, null, `${kind}: no Retry-After unless one is given`);
  }
});

test('a throttled refusal carries Retry-After, in seconds, as a header and not in the body', async () => {
  const res = await answerTo(new Refusal('throttled', 'the account is at its limit; nothing was sent', {}, 90));
  assert.deepEqual([res.status, res.retryAfter, res.body], [429, '90', { error: 'the account is at its limit; nothing was sent' }]);
});
