import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { startOAuthMailServers, type OAuthMailServers } from './helpers/oauth-server.js';

// What goes wrong with OAuth2 accounts and with providers that turned passwords off: a refused
// token refresh holds the account with the provider's answer, verify says each problem in words,
// and a 535 5.7.139 reply holds the account pointing at OAuth2.

let h: Harness;
let mail: OAuthMailServers;
const SCOPE = 'https://outlook.office365.com/.default';
const SECRET = 'app-Secret~3x~sealed';
const MAILBOX = 'notices@contoso.test';
let serviceKey: string;

before(async () => {
  h = await startHarness({ imap: false });
  mail = await startOAuthMailServers({ sinkScope: SCOPE });
  mail.auth.clients.set('m365-app', { mailbox: MAILBOX, secret: SECRET, scopes: [SCOPE, 'https://outlook.office.com/Mail.Read'] });
  // A Google Workspace service account with domain-wide delegation for one mailbox.
  const pair = await generateKeyPair('RS256', { extractable: true });
  serviceKey = await exportPKCS8(pair.privateKey);
  mail.auth.clients.set('sender@project.iam.gserviceaccount.com', { mailbox: MAILBOX, publicKey: await exportSPKI(pair.publicKey), scopes: [SCOPE] });
  mail.auth.clients.set('google-web-app', { mailbox: MAILBOX, secret: 'GOCSPX-web-secret', refreshToken: '1//g-refresh', scopes: [SCOPE] });
});
after(async () => {
  await mail?.stop();
  await h?.close();
});

const account = (name: string, oauth2: Record<string, unknown>, limits: Record<string, number> = {}) => ({
  name,
  smtp: { host: '127.0.0.1', port: mail.sink.port, security: 'plain' },
  imap: { host: '127.0.0.1', port: mail.dovecot.port, security: 'plain', append: false },
  oauth2: { tokenUrl: mail.auth.tokenUrl, user: MAILBOX, ...oauth2 },
  limits,
});
const m365 = (over: Record<string, unknown> = {}) => ({ provider: 'microsoft', flow: 'client_credentials', tenant: 'contoso.test', clientId: 'm365-app', clientSecret: SECRET, ...over });

async function create(body: unknown): Promise<void> {
  const res = await h.api('POST', '/api/v1/accounts', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
}
const verify = async (name: string) => (await h.api('POST', `/api/v1/accounts/${name}/verify`, {})).body;

test("a token refresh the provider refuses mid-campaign holds the account with the provider's answer; after a resume nothing is lost or sent twice", async () => {
  await create(account('expiring', m365(), { messagesPerMinute: 30, maxConnections: 1, maxMessagesPerConnection: 1 }));
  mail.auth.ttlSeconds = 2;
  const id = await createCampaign(h, campaignBody(4, { account: 'expiring' }));
  await approve(h, id);
  const atSink = () => mail.sink.messages.filter((m) => m.messageId?.includes(id));
  await eventually(async () => atSink().length >= 1, 60_000, 'the first message');
  mail.auth.refuse = { status: 401, error: 'invalid_client', error_description: "AADSTS7000222: The provided client secret keys for app 'm365-app' are expired." };
  const held = await waitForStatus(h, id, 'paused', 60_000);
  assert.match(held.account.holdReason, /expired secret/);
  assert.match(held.account.holdReason, /AADSTS7000222: The provided client secret keys/, "the provider's answer");
  const sentBeforeHold = atSink().length;
  assert.ok(sentBeforeHold < 4, `${sentBeforeHold} sent before the hold`);

  const words = await verify('expiring');
  assert.equal(words.oauth2.ok, false);
  assert.match(words.oauth2.error, /^expired secret: .*\(invalid_client, AADSTS7000222\)$/);
  assert.equal(words.smtp.ok, false);

  mail.auth.refuse = undefined;
  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/resume`, {})).status, 200);
  const done = await waitForStatus(h, id, 'completed', 90_000);
  assert.equal(done.counts.sent, 4);
  assert.equal(atSink().length, 4, 'each message once');
  assert.equal(new Set(atSink().map((m) => m.messageId)).size, 4);
});

test('verify reports token problems in words: expired or wrong secret, consent missing, wrong scope, revoked refresh token, delegation missing, a token the server refuses', async () => {
  await create(account('wrong-secret', m365({ clientSecret: 'not-the-secret' })));
  await create(account('wrong-scope', m365({ scope: 'https://outlook.office.com/IMAP.AccessAsUser.All' })));
  await create(account('mail-read', m365({ scope: 'https://outlook.office.com/Mail.Read' })));
  await create(account('revoked', { provider: 'google', flow: 'refresh_token', clientId: 'google-web-app', clientSecret: 'GOCSPX-web-secret', refreshToken: '1//revoked', scope: SCOPE }));
  // The service account is delegated for one mailbox only, not this one.
  await create({ ...account('undelegated', { provider: 'google', flow: 'service_account', clientId: 'sender@project.iam.gserviceaccount.com', privateKey: serviceKey, scope: SCOPE, user: 'ceo@contoso.test' }), imap: undefined });

  assert.match((await verify('wrong-secret')).oauth2.error, /^wrong secret: .*\(invalid_client, AADSTS7000215\)$/);
  assert.match((await verify('wrong-scope')).oauth2.error, /^wrong scope: .*\(invalid_scope, AADSTS70011\)$/);
  assert.match((await verify('revoked')).oauth2.error, /^refresh token or grant refused: .*\(invalid_grant\)$/);
  assert.match((await verify('undelegated')).oauth2.error, /domain-wide delegation .* missing .*\(unauthorized_client\)$/);
  // The provider issued the token, but not for sending: the mail server refuses it.
  const refused = await verify('mail-read');
  assert.deepEqual(refused.oauth2, { ok: true });
  assert.match(refused.smtp.error, /^access token refused by the mail server: .*SMTP\.SendAsApp/);

  mail.auth.refuse = { status: 400, error: 'invalid_grant', error_description: 'AADSTS65001: The user or administrator has not consented to use the application.' };
  try {
    const consent = await verify('wrong-secret');
    assert.match(consent.oauth2.error, /^consent missing: .*\(invalid_grant, AADSTS65001\)$/);
    assert.doesNotMatch(JSON.stringify(consent), /has not consented to use/, "the provider's free text is not passed on");
  } finally {
    mail.auth.refuse = undefined;
  }
});

test('Google accounts sign in with a service account (JWT-bearer grant) and with a refresh token; their secrets are write-only and kept on update', async () => {
  await create(account('gsuite', { provider: 'google', flow: 'service_account', clientId: 'sender@project.iam.gserviceaccount.com', privateKey: serviceKey, scope: SCOPE }));
  await create(account('gmail', { provider: 'google', flow: 'refresh_token', clientId: 'google-web-app', clientSecret: 'GOCSPX-web-secret', refreshToken: '1//g-refresh', scope: SCOPE }));
  for (const name of ['gsuite', 'gmail']) {
    assert.deepEqual(await verify(name), { oauth2: { ok: true }, smtp: { ok: true }, imap: { ok: true, sentFolder: 'Sent' } }, name);
  }
  const shown = await h.api('GET', '/api/v1/accounts');
  for (const secret of ['PRIVATE KEY', serviceKey.slice(40, 80), '1//g-refresh', 'GOCSPX-web-secret', SECRET]) {
    assert.ok(!JSON.stringify(shown.body).includes(secret), `no ${secret.slice(0, 12)}… in an answer`);
  }
  assert.equal(shown.body.items.find((a: { name: string }) => a.name === 'gsuite').oauth2.secretSet, true);

  // An update that leaves the key out keeps it; one that switches to a flow whose secret is not stored is a conflict.
  const { name: _n, ...rest } = account('gsuite', { provider: 'google', flow: 'service_account', clientId: 'sender@project.iam.gserviceaccount.com', scope: SCOPE });
  assert.equal((await h.api('PUT', '/api/v1/accounts/gsuite', rest)).status, 200);
  assert.equal((await verify('gsuite')).oauth2.ok, true);
  const switched = await h.api('PUT', '/api/v1/accounts/gsuite', { ...rest, oauth2: { ...rest.oauth2, flow: 'refresh_token', clientId: 'google-web-app' } });
  assert.equal(switched.status, 409, JSON.stringify(switched.body));
  assert.deepEqual(switched.body, { error: 'no oauth2.refreshToken is stored for this account: send one for the refresh_token flow', status: 'no_stored_secret' });
});

test('OAuth2 settings that cannot work are a 422 naming the field', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ oauth2: m365({ tenant: undefined }) }, 'oauth2.tenant'],
    [{ oauth2: m365({ flow: 'service_account' }) }, 'oauth2.flow'],
    [{ oauth2: m365({ clientSecret: undefined, tokenUrl: mail.auth.tokenUrl }) }, 'oauth2.clientSecret'],
    [{ oauth2: m365({ tokenUrl: 'http://login.example.com/token' }) }, 'oauth2.tokenUrl'],
    [{ oauth2: { provider: 'other', flow: 'client_credentials', clientId: 'x', clientSecret: 'y' } }, 'oauth2.tokenUrl'],
    [{ oauth2: m365({ user: undefined, tokenUrl: mail.auth.tokenUrl }) }, 'oauth2.user'],
    [{ oauth2: m365({ provider: 'yahoo' }) }, 'oauth2.provider'],
    [{ oauth2: m365({ clientSecret: 'x', privateKey: 'y' }) }, 'oauth2'],
    [{ limits: { maxMessagesPerConnection: 0 } }, 'limits.maxMessagesPerConnection'],
  ];
  for (const [over, path] of cases) {
    const res = await h.api('POST', '/api/v1/accounts', { ...account('bad', m365()), ...over });
    assert.equal(res.status, 422, `${path}: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.problems.some((p: { path: string }) => p.path === path), `${path} in ${JSON.stringify(res.body.problems)}`);
  }
});

test('a 535 5.7.139 reply (Basic authentication off) holds a password account with a reason that points at OAuth2', async () => {
  const legacy = new SmtpSink({ user: 'old@contoso.test', password: 'pw' });
  legacy.faults.auth = () => ({ code: 535, message: '5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN0PR04CA0131.namprd04.prod.outlook.com]' });
  await legacy.start(0);
  try {
    await create({ name: 'legacy', smtp: { host: '127.0.0.1', port: legacy.port, security: 'plain', user: 'old@contoso.test', password: 'pw' } });
    const id = await createCampaign(h, campaignBody(2, { account: 'legacy' }));
    await approve(h, id);
    const held = await waitForStatus(h, id, 'paused', 60_000);
    assert.match(held.account.holdReason, /Basic authentication \(user name and password\) is off .* sign in with OAuth2/);
    assert.match(held.account.holdReason, /535 5\.7\.139/);
    assert.equal(legacy.messages.length, 0);
    assert.match((await verify('legacy')).smtp.error, /^authentication failed: Basic authentication .* is off/);
  } finally {
    await legacy.stop();
  }
});

test('the OpenAPI document shows the OAuth2 settings: secrets write-only in, only secretSet out', async () => {
  const doc = (await (await fetch(`${h.baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
  assert.equal((await new Validator().validate(doc as never)).valid, true);
  const input = doc.paths['/api/v1/accounts']!.post.requestBody.content['application/json'].schema;
  // One shape per provider and flow, each naming the secret it needs.
  const shapes = JSON.stringify(input.properties.oauth2);
  for (const secret of ['clientSecret', 'refreshToken', 'privateKey']) assert.match(shapes, new RegExp(`"${secret}":\\{[^}]*"writeOnly":true`), secret);
  for (const flow of ['client_credentials', 'refresh_token', 'service_account']) assert.ok(shapes.includes(`"const":"${flow}"`), flow);
  assert.ok(input.properties.limits.properties.maxMessagesPerConnection);
  const out = doc.paths['/api/v1/accounts/{name}']!.get.responses['200'].content['application/json'].schema.properties.oauth2;
  assert.deepEqual(Object.keys(out.properties).sort(), ['clientId', 'flow', 'provider', 'scope', 'secretSet', 'tenant', 'tokenUrl', 'user']);
  const verified = doc.paths['/api/v1/accounts/{name}/verify']!.post.responses['200'].content['application/json'].schema;
  assert.ok(verified.properties.oauth2);
});
