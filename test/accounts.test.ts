import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
let sink: SmtpSink;
const SMTP_PASSWORD = 'smtp-Secret-7f3a';
const imapPassword = () => process.env.CM_TEST_IMAP_PASSWORD!;
const imapPort = () => Number(process.env.CM_TEST_IMAP_PORT);

before(async () => {
  h = await startHarness();
  // A second SMTP server that insists on its own credentials: the stored account's.
  sink = new SmtpSink({ user: 'billing', password: SMTP_PASSWORD });
  await sink.start(0);
});
after(async () => {
  await sink?.stop();
  await h?.close();
});

const account = (over: Record<string, unknown> = {}) => ({
  name: 'billing',
  smtp: { host: '127.0.0.1', port: sink.port, security: 'plain', user: 'billing', password: SMTP_PASSWORD },
  imap: { host: '127.0.0.1', port: imapPort(), security: 'plain', user: 'billing-box', password: imapPassword() },
  limits: { messagesPerMinute: 600, maxConnections: 2 },
  ...over,
});

describe('accounts', () => {
  test('are created, shown and listed without their passwords, which are sealed at rest', async () => {
    const created = await h.api('POST', '/api/v1/accounts', account());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.smtp.passwordSet, true);
    assert.equal(created.body.imap.passwordSet, true);
    for (const res of [created, await h.api('GET', '/api/v1/accounts/billing'), await h.api('GET', '/api/v1/accounts')]) {
      assert.equal(res.status, 200 + (res === created ? 1 : 0));
      assert.ok(!JSON.stringify(res.body).includes(SMTP_PASSWORD), 'no password in an answer');
    }
    const [row] = await h.sql`SELECT smtp_password, imap_password, smtp::text AS smtp FROM accounts WHERE name = 'billing'`;
    assert.match(row!.smtpPassword, /^v2:[0-9a-f]{12}:/); // sealed under a named master key
    assert.ok(!row!.smtpPassword.includes(SMTP_PASSWORD) && !row!.smtp.includes(SMTP_PASSWORD));
    const again = await h.api('POST', '/api/v1/accounts', account());
    assert.equal(again.status, 409);
  });

  test('bad input is a 422 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'default' }, 'name'],
      [{ name: 'Bad Name' }, 'name'],
      [{ smtp: { host: '127.0.0.1', port: 'x' } }, 'smtp.port'],
      [{ smtp: { host: '127.0.0.1', security: 'ssl' } }, 'smtp.security'],
      [{ limits: { messagesPerMinute: 0 } }, 'limits.messagesPerMinute'],
    ];
    for (const [over, path] of cases) {
      const res = await h.api('POST', '/api/v1/accounts', account({ name: 'other', ...over }));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.problems.some((p: { path: string }) => p.path === path), `${path} in ${JSON.stringify(res.body.problems)}`);
    }
  });

  test('verify logs in to SMTP and IMAP and reports each', async () => {
    const ok = await h.api('POST', '/api/v1/accounts/billing/verify', {});
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { smtp: { ok: true }, imap: { ok: true, sentFolder: 'Sent' } });
    const wrong = await h.api('POST', '/api/v1/accounts', account({ name: 'wrong', smtp: { host: '127.0.0.1', port: sink.port, security: 'plain', user: 'billing', password: 'nope' } }));
    assert.equal(wrong.status, 201);
    const bad = await h.api('POST', '/api/v1/accounts/wrong/verify', {});
    assert.equal(bad.body.smtp.ok, false);
    // A fixed text per kind of failure: the server's own reply is never passed on.
    assert.equal(bad.body.smtp.error, 'authentication failed: the server refused the user name or password');
    assert.equal(bad.body.imap.ok, true);
  });

  test('a campaign sends through its account, files copies in that account, and no password reaches workflow history', async () => {
    const id = await createCampaign(h, campaignBody(4, { account: 'billing' }));
    await approve(h, id);
    const done = await waitForStatus(h, id, 'completed', 60_000);
    assert.deepEqual(done.counts, { total: 4, pending: 0, sent: 4, failed: 0, appended: 4 });
    assert.equal(sink.messages.filter((m) => m.messageId?.includes(id)).length, 4, 'at the account’s server');
    assert.equal(h.sink.messages.filter((m) => m.messageId?.includes(id)).length, 0, 'nothing at the default server');
    const histories = [];
    for await (const wf of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) {
      histories.push(JSON.stringify(await h.client.workflow.getHandle(wf.workflowId).fetchHistory()));
    }
    assert.ok(histories.length >= 5);
    for (const text of histories) {
      assert.ok(!text.includes(SMTP_PASSWORD) && !text.includes(imapPassword()), 'no password in workflow history');
    }
  });

  test('an unknown account is a 422 at create; an account in use cannot be deleted', async () => {
    const unknown = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { account: 'nobody' }));
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.problems, [{ path: 'account', message: 'no account named nobody' }]);
    const id = await createCampaign(h, campaignBody(1, { account: 'wrong' }));
    await waitForStatus(h, id, 'awaiting_review');
    const inUse = await h.api('DELETE', '/api/v1/accounts/wrong');
    assert.equal(inUse.status, 409);
    await h.api('POST', `/api/v1/campaigns/${id}/reject`, {});
    await waitForStatus(h, id, 'rejected');
    const deleted = await h.api('DELETE', '/api/v1/accounts/wrong');
    assert.equal(deleted.status, 200);
    assert.equal((await h.api('GET', '/api/v1/accounts/wrong')).status, 404);
  });

  test('an update without passwords keeps the stored ones', async () => {
    const { name: _n, ...rest } = account();
    const body = { ...rest, smtp: { ...rest.smtp, password: undefined }, imap: { ...rest.imap, password: undefined } };
    const res = await h.api('PUT', '/api/v1/accounts/billing', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.smtp.passwordSet, true);
    const ok = await h.api('POST', '/api/v1/accounts/billing/verify', {});
    assert.equal(ok.body.smtp.ok, true);
  });

  test('a stored password never follows the account to a new server: a changed host, port, security or user needs it again', async () => {
    // Another server the caller controls: it would log whatever password verify sends it.
    const thief = new SmtpSink({ user: 'billing', password: 'anything' });
    const seen: string[] = [];
    thief.faults.auth = (user) => {
      seen.push(user);
      return undefined;
    };
    await thief.start(0);
    try {
      const { name: _n, ...rest } = account();
      const kept = { ...rest, smtp: { ...rest.smtp, password: undefined }, imap: { ...rest.imap, password: undefined } };
      const cases: [Record<string, unknown>, string[], string][] = [
        [{ ...kept, smtp: { ...kept.smtp, port: thief.port } }, ['smtp.port'], 'smtp.password'],
        [{ ...kept, smtp: { ...kept.smtp, host: 'localhost', user: 'someone-else' } }, ['smtp.host', 'smtp.user'], 'smtp.password'],
        [{ ...kept, smtp: { ...kept.smtp, security: 'tls' } }, ['smtp.security'], 'smtp.password'],
        [{ ...kept, imap: { ...kept.imap, host: 'localhost' } }, ['imap.host'], 'imap.password'],
      ];
      for (const [body, fields, secret] of cases) {
        const res = await h.api('PUT', '/api/v1/accounts/billing', body);
        assert.equal(res.status, 409, JSON.stringify(res.body));
        assert.equal(res.body.status, 'secret_required');
        assert.deepEqual(res.body.fields, fields);
        assert.equal(res.body.secret, secret);
        assert.match(res.body.error, new RegExp(`^${fields.join(', ')} changed, so the stored ${secret} is not sent there`));
      }
      // Nothing changed, and verify still talks to the old server only.
      const shown = await h.api('GET', '/api/v1/accounts/billing');
      assert.equal(shown.body.smtp.port, sink.port);
      assert.equal(shown.body.imap.host, '127.0.0.1');
      assert.equal((await h.api('POST', '/api/v1/accounts/billing/verify', {})).body.smtp.ok, true);
      assert.deepEqual(seen, [], 'no sign-in reached the other server');

      // With the password sent again the change is made, and the audit row records it in full (never the password).
      const moved = await h.api('PUT', '/api/v1/accounts/billing', { ...kept, smtp: { ...kept.smtp, port: thief.port, password: 'anything' }, limits: { messagesPerMinute: 300, maxConnections: 2 } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      const audit = await h.api('GET', '/api/v1/audit?action=account.update');
      const row = audit.body.items.find((a: { details: { changes?: Record<string, unknown> } }) => a.details.changes?.['smtp.port']);
      assert.ok(row, JSON.stringify(audit.body));
      assert.deepEqual(row.details.changes['smtp.port'], { from: sink.port, to: thief.port });
      assert.deepEqual(row.details.changes['limits.messagesPerMinute'], { from: 600, to: 300 });
      assert.deepEqual(row.details.secretsSent, ['smtp.password']);
      assert.ok(!JSON.stringify(audit.body).includes('anything'), 'no password in the audit log');
      // Back to the first server, with its password.
      assert.equal((await h.api('PUT', '/api/v1/accounts/billing', { ...rest })).status, 200);
    } finally {
      await thief.stop();
    }
  });
});

