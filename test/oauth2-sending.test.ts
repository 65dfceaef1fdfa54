import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SecretBox } from '../src/crypto/secrets.js';
import { sealContext } from '../src/mail/account-pool.js';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, TEST_MASTER_KEY, type Harness } from './helpers/harness.js';
import { startOAuthMailServers, type OAuthMailServers } from './helpers/oauth-server.js';
import { dsn } from './helpers/inbox.js';
import { ImapFlow } from 'imapflow';

// A Microsoft 365 app registration (client-credentials flow) sends a campaign and files its Sent
// copies over SASL XOAUTH2: the local authorisation server issues short-lived tokens, the SMTP
// sink checks each against the server's JWKS and Dovecot through token introspection.

let h: Harness;
let mail: OAuthMailServers;
const SECRET = 'app-Secret~8Q~kept-sealed';
const MAILBOX = 'billing@contoso.test';
const SCOPE = 'https://outlook.office365.com/.default';

before(async () => {
  h = await startHarness({ imap: false });
  mail = await startOAuthMailServers({ sinkScope: SCOPE });
  mail.auth.clients.set('m365-app', { mailbox: MAILBOX, secret: SECRET, scopes: [SCOPE] });
});
after(async () => {
  await mail?.stop();
  await h?.close();
});

const account = (name: string, limits: Record<string, number>) => ({
  name,
  smtp: { host: '127.0.0.1', port: mail.sink.port, security: 'plain' },
  imap: { host: '127.0.0.1', port: mail.dovecot.port, security: 'plain', append: true },
  oauth2: { provider: 'microsoft', flow: 'client_credentials', tenant: 'contoso.test', clientId: 'm365-app', user: MAILBOX, clientSecret: SECRET, tokenUrl: mail.auth.tokenUrl },
  limits,
});

test('a campaign sends and files Sent copies over OAuth2; tokens expire mid-campaign and are refreshed; nothing is lost or sent twice; the pool reconnects after maxMessagesPerConnection', async (t) => {
  const created = await h.api('POST', '/api/v1/accounts', account('m365', { messagesPerMinute: 60, maxConnections: 1, maxMessagesPerConnection: 2 }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.oauth2, { provider: 'microsoft', flow: 'client_credentials', clientId: 'm365-app', user: MAILBOX, tenant: 'contoso.test', tokenUrl: mail.auth.tokenUrl, secretSet: true });
  assert.equal(created.body.limits.maxMessagesPerConnection, 2);

  // Tokens live 3 s; at one message a second the campaign outlives several of them.
  mail.auth.ttlSeconds = 3;
  const n = 8;
  const id = await createCampaign(h, campaignBody(n, { account: 'm365' }));
  await approve(h, id);
  const done = await waitForStatus(h, id, 'completed', 120_000);
  assert.deepEqual(done.counts, { total: n, pending: 0, sent: n, failed: 0, appended: n });

  const sent = mail.sink.messages.filter((m) => m.messageId?.includes(id));
  assert.equal(sent.length, n, 'each message once at the server');
  assert.equal(new Set(sent.map((m) => m.messageId)).size, n);
  const copies = (await mail.sentIds(MAILBOX)).filter((m) => m.includes(id));
  assert.equal(copies.length, n, 'each Sent copy once');
  assert.equal(new Set(copies).size, n);

  const tokens = mail.auth.issued.filter((t) => t.clientId === 'm365-app');
  assert.ok(tokens.length >= 2, `the token was refreshed during the campaign (${tokens.length} issued)`);
  assert.ok(mail.sink.tokenLogins.accepted >= 4, `XOAUTH2 sign-ins at the SMTP server: ${JSON.stringify(mail.sink.tokenLogins)}`);
  assert.ok(mail.auth.introspections >= 1, 'Dovecot checked the IMAP token by introspection');

  // maxMessagesPerConnection 2: no connection carried more than two, so eight took four or more.
  const perSession = new Map<string, number>();
  for (const m of sent) perSession.set(m.session!, (perSession.get(m.session!) ?? 0) + 1);
  t.diagnostic(`tokens issued ${tokens.length}, XOAUTH2 logins ${JSON.stringify(mail.sink.tokenLogins)}, introspections ${mail.auth.introspections}, SMTP connections ${perSession.size}`);
  assert.ok(perSession.size >= 4, `connections: ${perSession.size}`);
  assert.ok([...perSession.values()].every((c) => c <= 2), `messages per connection: ${[...perSession.values()]}`);

  // The secret is write-only: not in an answer, not at rest in clear, not in workflow history.
  for (const res of [created, await h.api('GET', '/api/v1/accounts/m365'), await h.api('GET', '/api/v1/accounts')]) {
    assert.ok(!JSON.stringify(res.body).includes(SECRET), 'no secret in an answer');
  }
  const [row] = await h.sql`SELECT oauth2_secrets, oauth2::text AS settings FROM accounts WHERE name = 'm365'`;
  assert.match(row!.oauth2Secrets, /^v2:[0-9a-f]{12}:/);
  assert.ok(!row!.oauth2Secrets.includes(SECRET) && !row!.settings.includes(SECRET));
  for await (const wf of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) {
    const history = JSON.stringify(await h.client.workflow.getHandle(wf.workflowId).fetchHistory());
    assert.ok(!history.includes(SECRET), 'no secret in workflow history');
  }
});

test('a refresh token the provider rotates is stored sealed as it arrives: the campaign sends across refreshes and a later sign-in uses the newest', async () => {
  mail.auth.clients.set('m365-delegated', { mailbox: MAILBOX, refreshToken: 'rt-initial', scopes: [SCOPE] });
  mail.auth.rotateRefreshTokens = true;
  mail.auth.ttlSeconds = 2;
  try {
    const body = account('delegated', { messagesPerMinute: 60, maxConnections: 1, maxMessagesPerConnection: 1 });
    body.oauth2 = { provider: 'microsoft', flow: 'refresh_token', tenant: 'contoso.test', clientId: 'm365-delegated', user: MAILBOX, refreshToken: 'rt-initial', scope: SCOPE, tokenUrl: mail.auth.tokenUrl } as never;
    const created = await h.api('POST', '/api/v1/accounts', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = await createCampaign(h, campaignBody(4, { account: 'delegated' }));
    await approve(h, id);
    const done = await waitForStatus(h, id, 'completed', 90_000);
    assert.deepEqual(done.counts, { total: 4, pending: 0, sent: 4, failed: 0, appended: 4 });
    assert.ok(mail.auth.issued.filter((t) => t.clientId === 'm365-delegated').length >= 2, 'refreshed during the campaign');

    const stored = async () => {
      const [row] = await h.sql<{ oauth2Secrets: string; updatedAt: Date }[]>`SELECT oauth2_secrets, updated_at FROM accounts WHERE name = 'delegated'`;
      const secrets = JSON.parse(new SecretBox(TEST_MASTER_KEY).open(row!.oauth2Secrets, sealContext('default', 'delegated', 'oauth2'))) as { refreshToken: string };
      return { refreshToken: secrets.refreshToken, updatedAt: row!.updatedAt.toISOString() };
    };
    const latest = () => mail.auth.clients.get('m365-delegated')!.refreshToken;
    const afterCampaign = await stored();
    assert.equal(afterCampaign.refreshToken, latest(), 'the newest refresh token is stored');
    assert.equal(afterCampaign.updatedAt, new Date(created.body.updatedAt).toISOString(), 'the account itself did not change');
    // The API's verify starts from what is stored: the old token no longer works, the stored one does.
    const verified = await h.api('POST', '/api/v1/accounts/delegated/verify', {});
    assert.deepEqual(verified.body.oauth2, { ok: true });
    assert.equal((await stored()).refreshToken, latest(), 'verify stored the token it was given in turn');
    // The worker's own copy is now stale: its next refresh starts from the stored one.
    const again = await createCampaign(h, campaignBody(2, { account: 'delegated' }));
    await approve(h, again);
    const second = await waitForStatus(h, again, 'completed', 90_000);
    assert.equal(second.counts.sent, 2, JSON.stringify(second));
    assert.equal((await stored()).refreshToken, latest());
  } finally {
    mail.auth.rotateRefreshTokens = false;
  }
});

test('the bounce check of an OAuth2 account signs in to its INBOX with a token and records a genuine bounce', async () => {
  const created = await h.api('POST', '/api/v1/accounts', { ...account('m365-bounces', { messagesPerMinute: 600 }), imap: { host: '127.0.0.1', port: mail.dovecot.port, security: 'plain', append: false } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = await createCampaign(h, campaignBody(2, { account: 'm365-bounces' }));
  await approve(h, id);
  await waitForStatus(h, id, 'completed', 60_000);
  const [first] = mail.sink.messages.filter((m) => m.messageId?.includes(id));
  assert.ok(first?.messageId, 'the campaign sent');
  const rcpt = first.to[0]!;
  // The provider's report lands in the mailbox's INBOX (written there with Dovecot's static password).
  const report = dsn('postfix', rcpt, first.messageId);
  const writer = new ImapFlow({ host: '127.0.0.1', port: mail.dovecot.port, secure: false, auth: { user: MAILBOX, pass: mail.dovecot.password }, logger: false });
  await writer.connect();
  await writer.append('INBOX', report);
  await writer.logout();

  const introspections = mail.auth.introspections;
  const result = await h.client.workflow.execute('bounceCheckWorkflow', { taskQueue: h.taskQueue, workflowId: `bounce-test-m365-${Date.now()}`, args: [{ mailbox: 'default/m365-bounces' }] });
  assert.equal((result as { bounces: number }).bounces, 1, JSON.stringify(result));
  assert.ok(mail.auth.introspections > introspections, 'Dovecot checked the bounce check’s token');
  const items: { email: string; sendStatus: string }[] = (await h.api('GET', `/api/v1/campaigns/${id}/recipients`)).body.items;
  assert.deepEqual(items.map((r) => [r.email, r.sendStatus]).sort(), [[rcpt, 'bounced'], [items.find((r) => r.email !== rcpt)!.email, 'sent']].sort());
});
