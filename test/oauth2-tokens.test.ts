import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTokenSource, refreshMargin } from '../src/mail/oauth2.js';
import { describeTokenError } from '../src/mail/oauth2-errors.js';
import { classifySmtpError } from '../src/mail/smtp.js';
import { LocalAuthServer } from './helpers/oauth-server.js';

// The token source against the local authorisation server: reuse until shortly before expiry,
// one request for concurrent callers, a fresh token on `renew`; and the meaning of refusals.

let auth: LocalAuthServer;
const SCOPE = 'https://outlook.office365.com/.default';

before(async () => {
  auth = new LocalAuthServer();
  await auth.start();
  auth.clients.set('app', { mailbox: 'box@contoso.test', secret: 's3cret', scopes: [SCOPE] });
});
after(async () => {
  await auth?.stop();
});

const source = (now: () => number, hostPolicy: 'loopback' | 'none' = 'loopback') =>
  createTokenSource(
    { provider: 'microsoft', flow: 'client_credentials', tenant: 'contoso.test', clientId: 'app', user: 'box@contoso.test', tokenUrl: auth.tokenUrl },
    { clientSecret: 's3cret' },
    { hostPolicy, now },
  );

test('a token is reused until shortly before it expires, fetched once for concurrent callers, and fetched anew on renew', async () => {
  auth.ttlSeconds = 100;
  let clock = 1_000_000;
  const tokens = source(() => clock);
  const [a, b, c] = await Promise.all([tokens.get(), tokens.get(), tokens.get()]);
  assert.equal(tokens.requests, 1, 'one request for three concurrent callers');
  assert.equal(a.accessToken, b.accessToken);
  assert.equal(b.accessToken, c.accessToken);
  assert.equal(a.refreshAt, 1_000_000 + 100_000 - refreshMargin(100_000), 'due for refresh 20 s before a 100 s token expires');
  clock = a.refreshAt - 1;
  assert.equal((await tokens.get()).accessToken, a.accessToken, 'reused until refreshAt');
  clock = a.refreshAt;
  const d = await tokens.get();
  assert.equal(tokens.requests, 2);
  assert.notEqual(d.accessToken, a.accessToken);
  const e = await tokens.get(true);
  assert.equal(tokens.requests, 3, 'renew asks again even for an unexpired token');
  assert.notEqual(e.accessToken, d.accessToken);
  assert.equal(refreshMargin(3_600_000), 60_000, 'an hour-long token: one minute before expiry');
});

test('a token endpoint on a blocked address is never asked', async () => {
  const before = auth.issued.length;
  await assert.rejects(source(Date.now, 'none').get(), /127\.0\.0\.1|loopback|blocked|not allowed/i);
  assert.equal(auth.issued.length, before);
});

test('token refusals in words: the AADSTS number first, then the RFC 6749 code', () => {
  const cases: [string, string, RegExp][] = [
    ['invalid_client', 'AADSTS7000222: The provided client secret keys are expired.', /^expired secret/],
    ['invalid_client', 'AADSTS7000215: Invalid client secret provided.', /^wrong secret/],
    ['invalid_client', '', /^wrong or expired secret/],
    ['invalid_grant', 'AADSTS65001: The user or administrator has not consented', /^consent missing/],
    ['consent_required', '', /^consent missing/],
    ['invalid_scope', 'AADSTS70011: The provided value for scope is not valid', /^wrong scope/],
    ['invalid_scope', '', /^wrong scope/],
    ['invalid_grant', 'AADSTS700082: The refresh token has expired due to inactivity.', /^refresh token expired or revoked/],
    ['invalid_grant', 'Token has been expired or revoked.', /^refresh token or grant refused/],
    ['unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method', /domain-wide delegation/],
    ['invalid_request', 'AADSTS90002: Tenant not found.', /^unknown tenant/],
    ['weird <b>code</b>', '', /\(weirdbcodeb\)$/],
  ];
  for (const [error, description, words] of cases) assert.match(describeTokenError(error, description), words, `${error} ${description}`);
});

test('Basic authentication off is an account problem pointing at OAuth2, whatever the reply code; a refused token is told apart', () => {
  const replies = [
    { code: 'EAUTH', responseCode: 535, response: '535 5.7.139 Authentication unsuccessful, basic authentication is disabled.' },
    { code: 'EENVELOPE', responseCode: 550, response: '550 5.7.30 Basic authentication is not supported for Client Submission.' },
    { code: 'EAUTH', responseCode: 535, response: '535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.' },
  ];
  for (const e of replies) {
    const outcome = classifySmtpError({ ...e, authMethod: 'password' });
    assert.equal(outcome.kind, 'account', e.response);
    assert.match(outcome.reason, /Basic authentication \(user name and password\) is off .* OAuth2/, e.response);
  }
  const wrongPassword = classifySmtpError({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Username and Password not accepted', authMethod: 'password' });
  assert.equal(wrongPassword.kind, 'account');
  assert.match(wrongPassword.reason, /^authentication failed: 535 5\.7\.8 .*sign in with OAuth2\)$/);
  const tokenRefused = classifySmtpError({ code: 'EAUTH', responseCode: 535, response: '535 5.7.3 Authentication unsuccessful', authMethod: 'oauth2' });
  assert.match(tokenRefused.reason, /^authentication failed: access token refused by the mail server/);
  const refresh = classifySmtpError(Object.assign(new Error('OAuth2 token refused by the provider: expired secret'), { code: 'EAUTH', oauth2Refused: true }));
  assert.deepEqual(refresh, { kind: 'account', reason: 'authentication failed: OAuth2 token refused by the provider: expired secret' });
  const unreachable = classifySmtpError(Object.assign(new Error('fetch failed'), { code: 'EAUTH', authMethod: 'oauth2', tokenEndpointUnreachable: true }));
  assert.equal(unreachable.kind, 'transient', 'a token endpoint out of reach is retried, not held');
});
