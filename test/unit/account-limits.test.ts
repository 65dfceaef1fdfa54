import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFastApp, type FastApp } from '../helpers/fast-app.js';

// The per-minute limit a campaign is held to, as the console's rate chart shows it: one rule, and
// the configured `default` account's limit (from the environment) is known to the API too.

let f: FastApp;
before(async () => {
  f = await startFastApp({ defaultAccountLimits: { messagesPerMinute: 30 } });
});
after(async () => {
  await f?.close();
});

async function limitOf(extra: Record<string, unknown>) {
  const created = await f.api('POST', '/api/v1/campaigns', {
    name: 'Limits',
    from: 'Acme <billing@acme.test>',
    subject: 'Hello',
    text: 'Hi',
    recipients: [{ email: 'a@example.com' }],
    ...extra,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const res = await f.api('GET', `/api/v1/campaigns/${created.body.id}/sent-per-minute?minutes=5`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.limit;
}

test("the default account's SMTP_MESSAGES_PER_MINUTE is the campaign's limit when it has no lower throttle of its own", async () => {
  assert.deepEqual(await limitOf({}), { messagesPerMinute: 30, from: 'account' });
  assert.deepEqual(await limitOf({ throttle: { messagesPerMinute: 10 } }), { messagesPerMinute: 10, from: 'throttle' });
  assert.deepEqual(await limitOf({ throttle: { messagesPerMinute: 50 } }), { messagesPerMinute: 30, from: 'account' });
});
