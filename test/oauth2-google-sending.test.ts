import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { approve, campaignBody, createCampaign } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { startOAuthMailServers, type OAuthMailServers } from './helpers/oauth-server.js';

// Google accounts send a campaign as the Microsoft 365 one does (oauth2-sending.test.ts): a
// Workspace service account through the JWT-bearer grant (domain-wide delegation for one
// mailbox) and an OAuth client with a user's refresh token. The local authorisation server checks
// the service account's assertion as Google does (its signature with the registered public key,
// iss, sub, aud and scope) and issues tokens that expire mid-campaign; the SMTP sink accepts only
// its tokens carrying Google's mail scope, and Dovecot files the Sent copies signed in by XOAUTH2.

let h: Harness;
let mail: OAuthMailServers;
const GOOGLE_SCOPE = 'https://mail.google.com/';
const SERVICE_ACCOUNT = 'mailer@campaigns-project.iam.gserviceaccount.com';
const WORKSPACE_MAILBOX = 'statements@workspace.test';
const WEB_CLIENT = '1234567890-web.apps.googleusercontent.com';
const WEB_SECRET = 'GOCSPX-kept-sealed';
const GMAIL_MAILBOX = 'billing.desk@gmail.test';
let privateKey: string;

before(async () => {
  h = await startHarness({ imap: false });
  // The sink refuses a token without Google's mail scope: the accounts below name no scope of their own.
  mail = await startOAuthMailServers({ sinkScope: GOOGLE_SCOPE });
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = await exportPKCS8(pair.privateKey);
  mail.auth.clients.set(SERVICE_ACCOUNT, { mailbox: WORKSPACE_MAILBOX, publicKey: await exportSPKI(pair.publicKey), scopes: [GOOGLE_SCOPE] });
  mail.auth.clients.set(WEB_CLIENT, { mailbox: GMAIL_MAILBOX, secret: WEB_SECRET, refreshToken: '1//0g-refresh-token', scopes: [GOOGLE_SCOPE] });
});
after(async () => {
  await mail?.stop();
  await h?.close();
});

/** An account on the local sink and Dovecot, one message per SMTP connection so each sends after a fresh sign-in. */
const account = (name: string, oauth2: Record<string, unknown>) => ({
  name,
  smtp: { host: '127.0.0.1', port: mail.sink.port, security: 'plain' },
  imap: { host: '127.0.0.1', port: mail.dovecot.port, security: 'plain', append: true },
  oauth2: { provider: 'google', tokenUrl: mail.auth.tokenUrl, ...oauth2 },
  limits: { messagesPerMinute: 60, maxConnections: 1, maxMessagesPerConnection: 1 },
});

/**
 * Sends a campaign of `n` through the account while its tokens live 3 s, and checks: completed,
 * every recipient exactly once at the SMTP server, each Sent copy exactly once in the mailbox's
 * Sent folder, a token issued by `grant` between the first and the last message, and Dovecot's
 * introspection of the mailbox's token.
 */
async function sendsThroughExpiringTokens(t: TestContext, o: { name: string; clientId: string; mailbox: string; grant: string; n: number }) {
  const issuedBefore = mail.auth.issued.length;
  const introspectedBefore = mail.auth.introspected.length;
  const loginsBefore = mail.sink.tokenLogins.accepted;
  mail.auth.ttlSeconds = 3;
  try {
    const id = await createCampaign(h, campaignBody(o.n, { account: o.name }));
    await approve(h, id);
    // A token the server refuses holds the account: say so at once, with the provider's answer.
    const done = await eventually(
      async () => {
        const c = (await h.api('GET', `/api/v1/campaigns/${id}`)).body;
        return c.status === 'completed' || c.status === 'paused' ? c : undefined;
      },
      120_000,
      `campaign ${id} to complete`,
    );
    assert.equal(done.status, 'completed', `held: ${done.account?.holdReason}`);
    assert.deepEqual(done.counts, { total: o.n, pending: 0, sent: o.n, failed: 0, appended: o.n });

    const sent = mail.sink.messages.filter((m) => m.messageId?.includes(id));
    const recipients = sent.flatMap((m) => m.to).sort();
    assert.deepEqual(recipients, campaignBody(o.n).recipients.map((r) => r.email).sort(), 'every recipient exactly once at the SMTP server');
    assert.equal(new Set(sent.map((m) => m.messageId)).size, o.n);
    const copies = (await mail.sentIds(o.mailbox)).filter((m) => m.includes(id));
    assert.deepEqual(copies.sort(), sent.map((m) => m.messageId!).sort(), "each Sent copy exactly once, in the mailbox's Sent folder");

    const tokens = mail.auth.issued.slice(issuedBefore).filter((i) => i.clientId === o.clientId);
    assert.ok(tokens.length >= 2, `tokens issued: ${tokens.length}`);
    assert.ok(
      tokens.every((i) => i.grant === o.grant),
      `grants: ${tokens.map((i) => i.grant)}`,
    );
    const first = Math.min(...sent.map((m) => m.receivedAt.getTime()));
    const last = Math.max(...sent.map((m) => m.receivedAt.getTime()));
    assert.ok(
      tokens.some((i) => i.at > first && i.at < last),
      'a token expired mid-campaign and a new one was issued between the first and the last message',
    );
    assert.ok(mail.sink.tokenLogins.accepted - loginsBefore >= o.n, `XOAUTH2 sign-ins at the SMTP server: ${JSON.stringify(mail.sink.tokenLogins)}`);
    const introspected = mail.auth.introspected.slice(introspectedBefore);
    assert.ok(introspected.includes(o.mailbox), `Dovecot accepted a token for ${o.mailbox} by introspection (${introspected})`);
    t.diagnostic(`tokens ${tokens.length} over ${last - first} ms of sending, XOAUTH2 logins ${mail.sink.tokenLogins.accepted - loginsBefore}, introspections ${introspected.length}`);
  } finally {
    mail.auth.ttlSeconds = 3600;
  }
}

test('a Google Workspace service account (JWT-bearer grant, domain-wide delegation) sends a campaign across expiring tokens and files its Sent copies over XOAUTH2', async (t) => {
  const created = await h.api('POST', '/api/v1/accounts', account('workspace', { flow: 'service_account', clientId: SERVICE_ACCOUNT, user: WORKSPACE_MAILBOX, privateKey }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.oauth2, { provider: 'google', flow: 'service_account', clientId: SERVICE_ACCOUNT, user: WORKSPACE_MAILBOX, tokenUrl: mail.auth.tokenUrl, secretSet: true });
  await sendsThroughExpiringTokens(t, { name: 'workspace', clientId: SERVICE_ACCOUNT, mailbox: WORKSPACE_MAILBOX, grant: 'urn:ietf:params:oauth:grant-type:jwt-bearer', n: 6 });
  assert.ok(!JSON.stringify((await h.api('GET', '/api/v1/accounts/workspace')).body).includes('PRIVATE KEY'), 'the key is write-only');
});

test('a Google OAuth client with a refresh token sends a campaign across expiring tokens and files its Sent copies over XOAUTH2', async (t) => {
  const created = await h.api(
    'POST',
    '/api/v1/accounts',
    account('gmail', { flow: 'refresh_token', clientId: WEB_CLIENT, user: GMAIL_MAILBOX, clientSecret: WEB_SECRET, refreshToken: '1//0g-refresh-token' }),
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await sendsThroughExpiringTokens(t, { name: 'gmail', clientId: WEB_CLIENT, mailbox: GMAIL_MAILBOX, grant: 'refresh_token', n: 6 });
  const shown = JSON.stringify((await h.api('GET', '/api/v1/accounts/gmail')).body);
  assert.ok(!shown.includes(WEB_SECRET) && !shown.includes('1//0g'), 'the secret and refresh token are write-only');
});
