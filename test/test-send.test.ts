import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { TEST_SEND_BUDGET_MS } from '../src/contract/test-send.js';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import type { Harness } from './helpers/harness.js';
import { create, messagesFor, startReviewHarness, waitForStatus } from './helpers/review-fixtures.js';

// A test send reaches only the test address and changes no status; the real send afterwards
// carries every Cc and Bcc, against real Postgres, Temporal and the SMTP sink.

let h: Harness;
before(async () => {
  h = await startReviewHarness();
});
after(async () => {
  await h?.close();
});

describe('test-send', () => {
  test('reaches only the test address and changes no status', async () => {
    const id = await create(h, {
      name: 'Test send',
      from: 'billing@acme.test',
      subject: 'Hello {{ name }}',
      text: 'Hi {{ name }}',
      cc: ['audit@acme.test'],
      bcc: ['archive@acme.test'],
      replyTo: 'help@acme.test',
      recipients: [{ email: 'real@example.com', name: 'Real', cc: ['boss@example.com'] }],
    });
    await waitForStatus(h, id, 'awaiting_review');
    const before = h.sink.messages.length;
    const res = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@acme.test' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [audited] = await h.sql`SELECT details FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.test_send'`;
    assert.equal(audited?.details.to, 'qa@acme.test');
    const fresh = h.sink.messages.slice(before);
    assert.equal(fresh.length, 1);
    assert.deepEqual(fresh[0]!.to, ['qa@acme.test']);
    const parsed = await simpleParser(fresh[0]!.raw);
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '', 'qa@acme.test');
    assert.equal(parsed.cc, undefined);
    assert.ok(!fresh[0]!.raw.toString().includes('real@example.com'));
    assert.equal(parsed.subject, 'Hello Real');
    assert.equal(parsed.messageId, res.body.messageId);
    assert.match(res.body.messageId, new RegExp(`^<campaign-${id}-test-[0-9a-f-]{36}\\.${id}\\.1\\.v1\\.[a-z2-7]{24}@acme\\.test>$`), 'a retry of this test send carries the same id');
    const after = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(after.body.status, 'awaiting_review');
    assert.equal(after.body.counts.sent, 0);

    // the real send carries every Cc and Bcc in the envelope, Bcc never in the header
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    await waitForStatus(h, id, 'completed');
    const [real] = messagesFor(h, id).filter((m) => !m.messageId?.includes('test-'));
    assert.deepEqual(real!.to.sort(), ['archive@acme.test', 'audit@acme.test', 'boss@example.com', 'real@example.com']);
    const realParsed = await simpleParser(real!.raw);
    assert.equal(realParsed.bcc, undefined);
    assert.equal(realParsed.replyTo?.text, 'help@acme.test');
  });

  test('an attempt that stalls inside SMTP is cut and tried again: the answer comes within the budget, not at the API deadline', async () => {
    // An SMTP server that takes the first test message and never answers its DATA (a relay that
    // hangs): the attempt must not use up the whole time the person waits.
    const stalling = new SmtpSink();
    await stalling.start(0);
    try {
      let stalled = 0;
      stalling.faults.dataDelayMs = () => (stalled++ === 0 ? 10 * 60_000 : 0);
      const account = await h.api('POST', '/api/v1/accounts', { name: 'stalling', smtp: { host: '127.0.0.1', port: stalling.port, security: 'plain' } });
      assert.equal(account.status, 201, JSON.stringify(account.body));
      const id = await create(h, { name: 'Test send, stalling relay', account: 'stalling', from: 'billing@acme.test', subject: 'Hi {{ name }}', text: 'Hi', recipients: [{ email: 'r3@example.com', name: 'R' }] });
      await waitForStatus(h, id, 'awaiting_review');
      const started = Date.now();
      const res = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@acme.test' });
      const took = Date.now() - started;
      assert.equal(res.status, 200, `after ${took} ms: ${JSON.stringify(res.body)}`);
      assert.ok(took < TEST_SEND_BUDGET_MS, `answered after ${took} ms`);
      assert.equal(stalled, 2, 'the stalled attempt, then one more');
      assert.deepEqual(stalling.messages.map((m) => m.messageId), [res.body.messageId], 'the retry carried the stalled attempt\'s Message-ID');
    } finally {
      // Cuts the stalled connection, so the stalled attempt ends with the file.
      await stalling.stop();
    }
  });

  test('is part of a review: refused to a suppressed address and once the campaign is decided, nothing sent', async () => {
    const id = await create(h, { name: 'Test send after', from: 'billing@acme.test', subject: 'Hi {{ name }}', text: 'Hi', recipients: [{ email: 'r2@example.com', name: 'R' }] });
    await waitForStatus(h, id, 'awaiting_review');
    const before = h.sink.messages.length;
    assert.equal((await h.api('POST', '/api/v1/suppressions', { email: 'Stopped@Acme.test', reason: 'unsubscribed' })).status, 201);
    const suppressed = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'stopped@acme.test' });
    assert.equal(suppressed.status, 409, JSON.stringify(suppressed.body));
    assert.equal(suppressed.body.error, 'stopped@acme.test is on the suppression list (unsubscribed); nothing was sent');
    assert.equal(suppressed.body.status, 'awaiting_review');

    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/reject`, {})).status, 200);
    await waitForStatus(h, id, 'rejected');
    const late = await h.api('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@acme.test' });
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.deepEqual(late.body, { error: 'the campaign is rejected; test messages are sent only while it awaits review', status: 'rejected' });
    assert.equal(h.sink.messages.length, before, 'nothing reached the SMTP server');
  });
});

