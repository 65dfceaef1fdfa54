import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// A test send goes through the account like any send: it cannot be used to get round the
// account's daily cap or a hold after a quota or authentication refusal.
const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

const testMessages = (h: Harness) => h.sink.messages.filter((m) => m.to.includes('reviewer@acme.test'));

test('a test send counts against the account daily cap: past it, 429 with Retry-After and nothing sent', async () => {
  const h = await startHarness({ imap: false, env: { SMTP_MESSAGES_PER_DAY: '1' } });
  harnesses.push(h);
  const id = await createCampaign(h, campaignBody(2));
  await waitForStatus(h, id, 'awaiting_review');
  const first = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'reviewer@acme.test' });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const second = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'reviewer@acme.test' });
  assert.equal(second.status, 429, JSON.stringify(second.body));
  assert.match(second.body.error, /daily limit of 1 reached; .*nothing was sent/);
  const retryAfter = Number(second.headers.get('retry-after'));
  assert.ok(retryAfter > 23 * 3600 && retryAfter <= 24 * 3600 + 5, `Retry-After ${retryAfter} s: when the day's first send leaves the window`);
  assert.equal(testMessages(h).length, 1, 'the refused test send reached no server');
  // And the campaign's own sends find the day's one message used by the test send.
  await approve(h, id);
  const [row] = await h.sql`SELECT count(*)::int AS n FROM send_slot_log WHERE key = 'account:default'`;
  assert.equal(row!.n, 1);
});

test('a test send is refused while the account is held after a quota refusal, and goes once a resume releases the hold', async () => {
  const h = await startHarness({ imap: false });
  harnesses.push(h);
  const id = await createCampaign(h, campaignBody(1));
  // A second campaign on the same account, still in review: test messages are sent only there.
  const reviewing = await createCampaign(h, campaignBody(1, { name: 'in review' }));
  h.sink.faults.data = (m) =>
    m.messageId?.includes(id) && !m.to.includes('reviewer@acme.test') ? { code: 554, message: '5.2.0 SubmissionQuotaExceeded: daily limit' } : undefined;
  await approve(h, id);
  const paused = await waitForStatus(h, id, 'paused', 60_000);
  assert.ok(paused.account.heldSince, JSON.stringify(paused.account));
  await waitForStatus(h, reviewing, 'awaiting_review');

  const refused = await h.api('POST', `/api/v1/campaigns/${reviewing}/test-send`, { to: 'reviewer@acme.test' });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.account, 'held');
  assert.equal(refused.body.status, 'awaiting_review');
  assert.match(refused.body.error, /account default is on hold since \S+: .*SubmissionQuotaExceeded.*; nothing was sent/);
  assert.equal(testMessages(h).length, 0, 'the held account sent no test message');

  h.sink.faults = {};
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/resume`, {})).status, 200);
  await waitForStatus(h, id, 'completed', 60_000);
  const sent = await h.api('POST', `/api/v1/campaigns/${reviewing}/test-send`, { to: 'reviewer@acme.test' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.equal(testMessages(h).length, 1);
});
