import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { startOAuthMailServers, type OAuthMailServers } from './helpers/oauth-server.js';

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
